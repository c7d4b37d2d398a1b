// TPM2_ReadClock: the TPM's clockInfo (clock, resetCount, restartCount, safe). resetCount grows
// with every TPM Reset (a reboot: TPM2_Startup(CLEAR) after _TPM_Init), which is how the agent
// daemon notices a new boot and attests at once.
#ifndef BOOTGATE_NODE_AGENT_TPM_CLOCK_H_
#define BOOTGATE_NODE_AGENT_TPM_CLOCK_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

struct TpmClock {
  uint64_t clock = 0;  // milliseconds the TPM has been powered
  uint32_t reset_count = 0;
  uint32_t restart_count = 0;
  bool safe = false;
};

absl::StatusOr<TpmClock> ReadTpmClock(TpmConnection& tpm);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_CLOCK_H_
