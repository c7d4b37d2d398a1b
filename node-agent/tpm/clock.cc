#include "node-agent/tpm/clock.h"

#include "attest/util/status_macros.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {

absl::StatusOr<TpmClock> ReadTpmClock(TpmConnection& tpm) {
  EsysOut<TPMS_TIME_INFO> time;
  const TSS2_RC rc =
      Esys_ReadClock(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, time.out());
  RETURN_IF_ERROR(TssStatus(rc, "TPM2_ReadClock"));
  const TPMS_CLOCK_INFO& c = time->clockInfo;
  return TpmClock{c.clock, c.resetCount, c.restartCount, c.safe == TPM2_YES};
}

}  // namespace bootgate::agent
