// The boot player: extends a recorded TCG event log's digests into a fresh TPM's PCRs, so that a
// software TPM quotes PCR values consistent with a real machine's log.
//
// Only logs a TPM can reproduce from software are played: a log whose PCR 0 starts from a
// StartupLocality other than 0 (H-CRTM, or firmware that starts at locality 3), or that extends a
// PCR the TPM does not let locality 0 extend (the DRTM PCRs 17-22), is refused with the reason.
#ifndef BOOTGATE_SWTPM_FIXTURES_BOOT_PLAYER_BOOT_PLAYER_H_
#define BOOTGATE_SWTPM_FIXTURES_BOOT_PLAYER_BOOT_PLAYER_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/eventlog/event_log.h"
#include "attest/pcr/pcr_values.h"
#include "attest/util/bytes.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

struct PlayPlan {
  attest::UnverifiedEventLog log;
  std::vector<uint16_t> banks;          // banks of both the log and the TPM, in log order
  std::vector<uint16_t> skipped_banks;  // banks of the log the TPM does not have active
  std::set<uint32_t> pcrs;              // PCRs the log extends
  size_t extends = 0;                   // events to extend (every record but EV_NO_ACTION)
  // Non-empty when the log cannot be reproduced on this TPM; then nothing may be played.
  std::string refusal;
};

// Parses the log (InvalidArgument when malformed) and decides what to play on this TPM: refuses a
// StartupLocality other than 0, PCRs not extendable from locality 0, a log with no bank in common
// with the TPM, and a TPM whose PCRs are not at their reset values (playing needs a fresh TPM).
absl::StatusOr<PlayPlan> PlanPlay(TpmConnection& tpm, attest::ByteSpan log_bytes);

struct PlayReport {
  size_t extended = 0;     // TPM2_PCR_Extend calls made
  attest::PcrValues pcrs;  // after playing: the played banks, every PCR the log extends
};

// Plays a plan without refusal, then reads the PCRs back and checks them against the log's replay
// (attest::ReplayEventLog): a difference is an INTERNAL error naming the bank and PCR.
absl::StatusOr<PlayReport> Play(TpmConnection& tpm, const PlayPlan& plan);

}  // namespace bootgate::agent

#endif  // BOOTGATE_SWTPM_FIXTURES_BOOT_PLAYER_BOOT_PLAYER_H_
