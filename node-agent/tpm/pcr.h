// PCR reads and extends.
#ifndef BOOTGATE_NODE_AGENT_TPM_PCR_H_
#define BOOTGATE_NODE_AGENT_TPM_PCR_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attest/eventlog/event_log.h"
#include "attest/pcr/pcr_values.h"
#include "attest/tpm/pcr_selection.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

struct PcrReadResult {
  attest::PcrValues values;
  // The TPM's pcrUpdateCounter of the first TPM2_PCR_Read.
  uint32_t update_counter = 0;
  // False when the counter moved between the reads that made up this result (an extend raced
  // the read; the values may mix before and after).
  bool consistent = true;
};

// Reads every selected PCR. TPM2_PCR_Read returns at most 8 digests per call, so this loops until
// the whole selection is read; a TPM that returns nothing for part of the selection (a bank that is
// not active) is an error naming it.
absl::StatusOr<PcrReadResult> ReadPcrs(TpmConnection& tpm, const attest::PcrSelection& selection);

// TPM2_PCR_Extend of `pcr` with one digest per bank (TPML_DIGEST_VALUES), from locality 0 with the
// PCR's empty auth.
absl::Status ExtendPcr(TpmConnection& tpm, uint32_t pcr,
                       const std::vector<attest::EventDigest>& digests);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_PCR_H_
