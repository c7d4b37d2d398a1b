// Fuzz target for the event-log parser, replay, every decoder and the show renderings. Untrusted
// bytes from any attester reach all of these, so none may crash, hang or emit invalid UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include "attest/eventlog/device_path.h"
#include "attest/eventlog/event_data.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_render.h"
#include "attest/eventlog/event_types.h"
#include "attest/eventlog/replay.h"
#include "nlohmann/json.hpp"

namespace bootgate::attest {
namespace {

// Crash loudly on a broken invariant so libFuzzer reports it.
void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Strict: throws (and so crashes the fuzzer) on invalid UTF-8 in any rendered string.
void Render(const nlohmann::json& j) {
  (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

// Every decoder straight on the input, so they see arbitrary bytes even when the log framing
// would reject them.
void DecodeRaw(ByteSpan data) {
  (void)DevicePathToText(data);
  (void)DevicePathListToText(data);
  (void)DecodeEfiSignatureLists(data);
  (void)DecodeEfiLoadOption(data);
  (void)SummarizeX509(data);
  static constexpr uint32_t kTypes[] = {
      kEvNoAction,
      kEvEfiVariableDriverConfig,
      kEvEfiVariableBoot,
      kEvEfiVariableAuthority,
      kEvEfiBootServicesApplication,
      kEvEfiGptEvent,
      kEvEfiHandoffTables,
      kEvEfiHandoffTables2,
      kEvEfiPlatformFirmwareBlob2,
      kEvEventTag,
      kEvIpl,
      kEvPostCode,
      kEvSCrtmVersion,
      kEvSeparator,
      kEvEfiAction,
  };
  Event e;
  e.pcr = 11;
  e.data.assign(data.begin(), data.end());
  for (uint32_t type : kTypes) {
    e.type = type;
    (void)DescribeEvent(e);
  }
  // JSON rendering is the slow part; one type per input keeps executions fast.
  e.type = kTypes[data.size() % (sizeof(kTypes) / sizeof(kTypes[0]))];
  Render(EventToJson(e));
  // The structured EV_NO_ACTION records behind their signatures.
  for (const char* sig : {"Spec ID Event03", "StartupLocality", "SP800-155 Event3"}) {
    Bytes d(sig, sig + 16);
    if (d.back() != '3') d.back() = 0;
    d.insert(d.end(), data.begin(), data.end());
    e.type = kEvNoAction;
    e.data = d;
    (void)DescribeEvent(e);
  }
  // Variables under the names whose contents get interpreted.
  for (const auto& [guid, name, type] :
       {std::tuple{kEfiImageSecurityDatabaseGuid, "db", kEvEfiVariableDriverConfig},
        std::tuple{kEfiGlobalVariableGuid, "Boot0001", kEvEfiVariableBoot},
        std::tuple{kEfiGlobalVariableGuid, "BootOrder", kEvEfiVariableBoot2},
        std::tuple{kShimLockGuid, "MokListRT", kEvEfiVariableAuthority}}) {
    Bytes d(guid.bytes.begin(), guid.bytes.end());
    const std::string n = name;
    for (int i = 0; i < 8; ++i) d.push_back(i == 0 ? static_cast<uint8_t>(n.size()) : 0);
    for (int i = 0; i < 8; ++i) d.push_back(static_cast<uint8_t>(data.size() >> (8 * i)));
    for (char c : n) {
      d.push_back(static_cast<uint8_t>(c));
      d.push_back(0);
    }
    d.insert(d.end(), data.begin(), data.end());
    e.type = type;
    e.data = d;
    (void)DescribeEvent(e);
  }
}

void FuzzOne(ByteSpan input) {
  if (input.size() <= 4096) DecodeRaw(input);

  absl::StatusOr<UnverifiedEventLog> log = ParseEventLog(input);
  if (!log.ok()) return;
  Check(!log->events.empty());

  // What the parser accepted, replay must be able to replay.
  absl::StatusOr<PcrValues> pcrs = ReplayEventLog(*log);
  Check(pcrs.ok());
  (void)FormatEventLogText(*log);
  Render(EventLogToJson(*log));

  // A log verified against its own replay verifies completely.
  if (!pcrs->empty()) {
    absl::StatusOr<VerifiedEventLog> verified = VerifyEventLog(*log, *pcrs);
    Check(verified.ok());
    size_t measured = 0;
    for (const Event& e : log->events) measured += e.type != kEvNoAction;
    Check(verified->events.size() == measured);
    Check(verified->unquoted_pcrs.empty());
    Check(verified->mismatches.empty());
  }
}

}  // namespace
}  // namespace bootgate::attest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bootgate::attest::FuzzOne(bootgate::attest::ByteSpan(data, size));
  return 0;
}
