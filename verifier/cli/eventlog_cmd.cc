// bootgate eventlog show|replay: decode a TCG event log, or replay it into PCR values.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_render.h"
#include "attest/eventlog/replay.h"
#include "attest/pcr/pcr_json.h"
#include "nlohmann/json.hpp"
#include "verifier/cli/args.h"
#include "verifier/cli/commands.h"

namespace bootgate::cli {

namespace {

constexpr char kEventlogUsage[] = R"(Usage:
  bootgate eventlog show FILE [--json]     decode a TCG event log (binary_bios_measurements)
  bootgate eventlog replay FILE [--json]   replay the log into PCR values per bank
  bootgate eventlog SUBCOMMAND --help      help for one subcommand
)";

constexpr char kShowUsage[] = R"(Usage: bootgate eventlog show FILE [--json]

Decodes a TCG PC Client event log, SHA-1 legacy or crypto-agile. Prints one line per event:
index, PCR, event type, digests (first 8 hex digits) and the decoded event data. With --json,
prints every field in full:
  {"format", "algorithms", "startup_locality", "trailing_zero_bytes",
   "events": [{"index", "offset", "pcr", "type", "type_name", "digests": {"sha256": hex},
               "data": hex, "decoded": {...} | "undecodable": reason}]}
Nothing in the log is verified: event types and data are whatever the attester sent.

Exit codes: 0 decoded, 2 usage error, 3 file unreadable or log malformed.
)";

constexpr char kReplayUsage[] = R"(Usage: bootgate eventlog replay FILE [--json]

Replays a TCG event log: extends every measured event's digest into its PCR, per bank, for every
bank OpenSSL can hash. EV_NO_ACTION records are not extended; a StartupLocality event sets PCR 0's
initial value. Prints every PCR that at least one event extended. With --json prints exactly
  {"format": "crypto-agile" | "sha1-legacy", "events": N,
   "pcrs": {"sha256": {"0": "<hex>", ...}, "sha1": {...}}}
where N counts every record including the header.

Exit codes: 0 replayed, 2 usage error, 3 file unreadable or log malformed.
)";

int Usage(const char* text, const std::string& error) {
  std::fprintf(stderr, "bootgate eventlog: %s\n%s", error.c_str(), text);
  return kExitUsage;
}

std::string Dump(const nlohmann::ordered_json& j) {
  // Replace, not throw, should invalid UTF-8 ever reach the output.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// Reads and parses FILE; on failure prints the one-line error and sets *exit_code.
std::optional<attest::UnverifiedEventLog> LoadLog(const std::string& path, int* exit_code) {
  absl::StatusOr<std::string> data = ReadFileToString(path);
  if (!data.ok()) {
    std::fprintf(stderr, "bootgate: %s\n", std::string(data.status().message()).c_str());
    *exit_code = kExitBadInput;
    return std::nullopt;
  }
  absl::StatusOr<attest::UnverifiedEventLog> log = attest::ParseEventLog(attest::AsSpan(*data));
  if (!log.ok()) {
    std::fprintf(stderr, "bootgate: %s: %s\n", path.c_str(),
                 std::string(log.status().message()).c_str());
    *exit_code = kExitBadInput;
    return std::nullopt;
  }
  return *std::move(log);
}

int RunShow(const ParsedArgs& args) {
  int exit_code = kExitOk;
  auto log = LoadLog(args.positional[0], &exit_code);
  if (!log.has_value()) return exit_code;
  if (args.Has("json")) {
    nlohmann::json j = attest::EventLogToJson(*log);
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputs(attest::FormatEventLogText(*log).c_str(), stdout);
  }
  return kExitOk;
}

int RunReplay(const ParsedArgs& args) {
  const std::string& path = args.positional[0];
  int exit_code = kExitOk;
  auto log = LoadLog(path, &exit_code);
  if (!log.has_value()) return exit_code;
  absl::StatusOr<attest::PcrValues> pcrs = attest::ReplayEventLog(*log);
  if (!pcrs.ok()) {
    std::fprintf(stderr, "bootgate: %s: %s\n", path.c_str(),
                 std::string(pcrs.status().message()).c_str());
    return kExitBadInput;
  }
  if (args.Has("json")) {
    nlohmann::ordered_json j;
    j["format"] = attest::LogFormatName(log->format);
    j["events"] = log->events.size();
    // Same shape as PcrValuesToJson (the quote verify --pcrs input), with "format" first.
    j["pcrs"] = nlohmann::ordered_json::parse(attest::PcrValuesToJson(*pcrs).dump(), nullptr,
                                              /*allow_exceptions=*/false);
    std::printf("%s\n", Dump(j).c_str());
    return kExitOk;
  }
  std::printf("%s log, %zu events\n", attest::LogFormatName(log->format), log->events.size());
  for (const auto& [alg, bank] : *pcrs) {
    std::printf("%s:\n", attest::HashAlgName(alg).c_str());
    for (const auto& [index, value] : bank) {
      std::printf("  %2u  %s\n", index, attest::HexEncode(value).c_str());
    }
  }
  return kExitOk;
}

}  // namespace

int RunEventlogCommand(const std::vector<std::string>& args) {
  if (args.empty()) return Usage(kEventlogUsage, "missing subcommand");
  const std::string& sub = args[0];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(kEventlogUsage, stdout);
    return kExitOk;
  }
  const char* usage = sub == "show" ? kShowUsage : sub == "replay" ? kReplayUsage : nullptr;
  if (usage == nullptr) {
    return Usage(kEventlogUsage, absl::StrCat("unknown subcommand '", sub, "'"));
  }
  absl::StatusOr<ParsedArgs> parsed =
      ParseArgs(std::vector<std::string>(args.begin() + 1, args.end()), {}, {"json"});
  if (!parsed.ok()) return Usage(usage, std::string(parsed.status().message()));
  if (parsed->help) {
    std::fputs(usage, stdout);
    return kExitOk;
  }
  if (parsed->positional.size() != 1) {
    return Usage(usage, parsed->positional.empty() ? "missing FILE" : "expected exactly one FILE");
  }
  return sub == "show" ? RunShow(*parsed) : RunReplay(*parsed);
}

}  // namespace bootgate::cli
