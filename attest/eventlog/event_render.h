// Human-readable and JSON renderings of event logs, shared by `bootgate eventlog show`, the
// verifier's evidence records and the fuzz target. Every string in the output went through
// EscapeForDisplay: safe for terminals and valid UTF-8 for JSON.
#ifndef BOOTGATE_ATTEST_EVENTLOG_EVENT_RENDER_H_
#define BOOTGATE_ATTEST_EVENTLOG_EVENT_RENDER_H_

#include <string>

#include "attest/eventlog/event_data.h"
#include "attest/eventlog/event_log.h"
#include "nlohmann/json.hpp"

namespace bootgate::attest {

// "crypto-agile" / "sha1-legacy" (the `format` member of `bootgate eventlog replay --json`).
const char* LogFormatName(LogFormat format);

// One line (no newline) describing an event's decoded data, or "undecodable: <reason>".
std::string DescribeEvent(const Event& event);
std::string DescribeEventDetails(const EventDetails& details);

// {"kind": "...", ...fields...} with every decoded field, digests and hashes in full hex.
nlohmann::json EventDetailsToJson(const EventDetails& details);
// {"index", "offset", "pcr", "type", "type_name", "digests": {"sha256": hex}, "data": hex,
//  "decoded": {...}} or "undecodable": "<reason>" in place of "decoded".
nlohmann::json EventToJson(const Event& event);
// {"format", "algorithms": [{"alg", "digest_size"}], "startup_locality", "trailing_zero_bytes",
//  "events": [...]}
nlohmann::json EventLogToJson(const UnverifiedEventLog& log);

// The `show` text: a header line, then one line per event with index, PCR, type name, digests
// shortened to 8 hex digits, and the decoded data.
std::string FormatEventLogText(const UnverifiedEventLog& log);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_EVENTLOG_EVENT_RENDER_H_
