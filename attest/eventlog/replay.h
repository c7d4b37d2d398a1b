// Event-log replay: recomputes PCR values from an UnverifiedEventLog, and keeps only the events
// whose PCRs replay to the values a TPM quoted.
#ifndef BOOTGATE_ATTEST_EVENTLOG_REPLAY_H_
#define BOOTGATE_ATTEST_EVENTLOG_REPLAY_H_

#include <cstdint>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/eventlog/event_log.h"
#include "attest/pcr/pcr_values.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// Replays every bank of the log that OpenSSL can hash (sha1, sha256, sha384, sha512, sm3_256,
// sha3_*); banks of other algorithms are skipped. EV_NO_ACTION records are never extended; PCRs
// start from InitialPcrValue (so a StartupLocality event sets PCR 0 to 0x00..03 / 0x00..04 before
// the first extend). The result holds every
// PCR that at least one event extended. Errors (an event without a digest for a replayed bank, a
// PCR index above 23) can only come from hand-built logs: ParseEventLog rejects both.
absl::StatusOr<PcrValues> ReplayEventLog(const UnverifiedEventLog& log);

// The value a PCR holds before any extend: zeros; 0x00..03 / 0x00..04 for PCR 0 after a
// StartupLocality event; all-ones for PCRs 17-22 (reset to zero only by a dynamic launch).
Bytes InitialPcrValue(const UnverifiedEventLog& log, uint16_t alg, uint32_t pcr);

// A quoted PCR whose value differs from the replay.
struct PcrMismatch {
  uint16_t alg = 0;
  uint32_t pcr = 0;
  Bytes replayed;  // the initial value when the log has no event for this PCR
  Bytes quoted;
  bool log_has_events = false;
};

// The part of a log that the quoted PCRs vouch for.
struct VerifiedEventLog {
  LogFormat format = LogFormat::kCryptoAgile;
  std::optional<uint8_t> startup_locality;
  // Events (in log order) whose PCR replayed to the quoted value in every quoted bank. Never
  // contains EV_NO_ACTION records (they are not measured).
  std::vector<Event> events;
  // PCRs with at least one event that replayed in every quoted bank.
  std::set<uint32_t> verified_pcrs;
  // Quoted PCRs whose replay differs (their events are left out).
  std::vector<PcrMismatch> mismatches;
  // PCRs with events that are missing from at least one quoted bank (their events are left out).
  std::set<uint32_t> unquoted_pcrs;
};

// Verifies `log` against `quoted` (bank -> PCR -> value, as from a checked quote). Every quoted
// bank must be a bank of the log that can be replayed, else an error: a bank the log does not
// cover cannot vouch for anything. Mismatches are not errors; they are reported and their PCRs'
// events dropped.
absl::StatusOr<VerifiedEventLog> VerifyEventLog(const UnverifiedEventLog& log,
                                                const PcrValues& quoted);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_EVENTLOG_REPLAY_H_
