// TCG PC Client event logs (binary_bios_measurements): SHA-1 legacy (TPM 1.2 format) and
// crypto-agile (TPM 2.0) formats. Everything here is UNVERIFIED data straight from the attester:
// nothing in an EventLog may be trusted until replay against quoted PCRs says so (see replay.h).
#ifndef BOOTGATE_ATTEST_EVENTLOG_EVENT_LOG_H_
#define BOOTGATE_ATTEST_EVENTLOG_EVENT_LOG_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

enum class LogFormat { kCryptoAgile, kSha1Legacy };

// Caps applied before any allocation; real logs are far below them.
inline constexpr size_t kMaxEventLogBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxEventDataBytes = 1024 * 1024;
inline constexpr size_t kMaxEvents = 100000;
inline constexpr uint32_t kMaxDigestsPerEvent = 16;

struct EventDigest {
  uint16_t alg = 0;  // TPM_ALG_ID
  Bytes digest;
};

struct Event {
  size_t index = 0;   // position in the log, 0 = the first (header) record
  size_t offset = 0;  // byte offset of the record in the log
  uint32_t pcr = 0;
  uint32_t type = 0;  // EV_* value; NOT covered by the digest
  std::vector<EventDigest> digests;
  Bytes data;  // event data, unverified
};

struct SpecIdAlgorithm {
  uint16_t alg = 0;
  uint16_t digest_size = 0;
};

struct UnverifiedEventLog {
  LogFormat format = LogFormat::kCryptoAgile;
  // Crypto-agile: the Spec ID event's algorithm list (in log order). Legacy: {sha1, 20}.
  std::vector<SpecIdAlgorithm> algorithms;
  // StartupLocality from an EV_NO_ACTION "StartupLocality" event, when present.
  std::optional<uint8_t> startup_locality;
  // Every record including the header record (index 0).
  std::vector<Event> events;
  // Zero bytes after the last record (firmware that hands over its whole log buffer; quirks.h).
  size_t trailing_zero_bytes = 0;
};

// Parses a whole log. Strict: any malformed record is an InvalidArgument error naming the event
// index and field ("event 57: event size 4294967295 exceeds cap 1048576"); trailing zero padding
// after the last record is accepted. Beyond the record framing it checks what replay relies on:
// the Spec ID event comes first and only there, every crypto-agile record carries exactly one
// digest per Spec ID algorithm (sized from the Spec ID event), measured events target PCRs 0-23,
// and a StartupLocality event (at most one, locality 0, 3 or 4) follows a Spec ID header and
// precedes every PCR 0 measurement.
absl::StatusOr<UnverifiedEventLog> ParseEventLog(ByteSpan data);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_EVENTLOG_EVENT_LOG_H_
