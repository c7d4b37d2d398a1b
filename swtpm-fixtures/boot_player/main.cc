// bootgate-boot-player: plays a recorded event log into a fresh TPM's PCRs. main only wires.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/pcr/pcr_json.h"
#include "nlohmann/json.hpp"
#include "node-agent/cli/flags.h"
#include "node-agent/io/event_logs.h"
#include "node-agent/tpm/esys.h"
#include "swtpm-fixtures/boot_player/boot_player.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRefused = 3;

constexpr char kUsage[] =
    "Usage: bootgate-boot-player --tcti CONF --eventlog LOG [--json]\n"
    "\n"
    "Extends every event of a recorded TCG event log (EV_NO_ACTION excepted) into the TPM's\n"
    "PCRs, in every bank present in both the log and the TPM, then reads the PCRs back and\n"
    "checks them against the log's replay. Needs a freshly started TPM (PCRs at reset values).\n"
    "Refuses logs it cannot reproduce: StartupLocality other than 0, PCRs the TPM does not let\n"
    "locality 0 extend (17-22), no bank in common.\n"
    "\n"
    "  --tcti CONF     e.g. swtpm:host=127.0.0.1,port=2321 (never a TPM that matters: its PCRs\n"
    "                  are extended)\n"
    "  --eventlog LOG  binary_bios_measurements file\n"
    "  --json          print {format, events, extended, banks, skipped_banks, pcrs}\n"
    "\n"
    "Exit codes: 0 played and verified; 1 failed (malformed log, TPM error, PCRs differ from the\n"
    "replay); 2 bad command line; 3 refused (the log cannot be reproduced on this TPM).\n";

int Fail(const std::string& message, int code) {
  std::cerr << "bootgate-boot-player: " << message << "\n";
  return code;
}

std::vector<std::string> BankNames(const std::vector<uint16_t>& banks) {
  std::vector<std::string> names;
  for (uint16_t alg : banks) names.push_back(bootgate::attest::HashAlgName(alg));
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  namespace agent = bootgate::agent;
  // tpm2-tss logs failed commands to stderr itself; errors are reported once, as one line, by us.
  // An operator's own TSS2_LOG setting wins.
  setenv("TSS2_LOG", "all+NONE", /*overwrite=*/0);
  agent::cli::FlagSpec spec;
  spec.value_flags = {"tcti", "eventlog"};
  spec.bool_flags = {"json"};
  absl::StatusOr<agent::cli::Flags> flags =
      agent::cli::ParseFlags(std::vector<std::string>(argv + 1, argv + argc), spec);
  if (!flags.ok()) return Fail(absl::StrCat(flags.status().message(), "\n", kUsage), kExitUsage);
  if (flags->help) {
    std::cout << kUsage;
    return kExitOk;
  }
  if (!flags->Has("tcti") || !flags->Has("eventlog")) {
    return Fail(absl::StrCat("--tcti and --eventlog are required\n", kUsage), kExitUsage);
  }

  absl::StatusOr<bootgate::attest::Bytes> log = agent::ReadFirmwareEventLog(flags->Get("eventlog"));
  if (!log.ok()) return Fail(std::string(log.status().message()), kExitFailed);
  absl::StatusOr<std::unique_ptr<agent::TpmConnection>> tpm =
      agent::TpmConnection::Open(flags->Get("tcti"));
  if (!tpm.ok()) return Fail(std::string(tpm.status().message()), kExitFailed);

  absl::StatusOr<agent::PlayPlan> plan = agent::PlanPlay(**tpm, *log);
  if (!plan.ok()) {
    return Fail(absl::StrCat(flags->Get("eventlog"), ": ", plan.status().message()), kExitFailed);
  }
  if (!plan->refusal.empty()) {
    return Fail(absl::StrCat("refusing ", flags->Get("eventlog"), ": ", plan->refusal),
                kExitRefused);
  }
  absl::StatusOr<agent::PlayReport> report = agent::Play(**tpm, *plan);
  if (!report.ok()) return Fail(std::string(report.status().message()), kExitFailed);

  const bool legacy = plan->log.format == bootgate::attest::LogFormat::kSha1Legacy;
  if (flags->Has("json")) {
    const nlohmann::json j = {
        {"format", legacy ? "sha1-legacy" : "crypto-agile"},
        {"events", plan->log.events.size()},
        {"extended", report->extended},
        {"banks", BankNames(plan->banks)},
        {"skipped_banks", BankNames(plan->skipped_banks)},
        {"pcrs", bootgate::attest::PcrValuesToJson(report->pcrs)},
    };
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "played " << report->extended << " events of " << flags->Get("eventlog")
              << " into " << plan->pcrs.size() << " PCRs (banks:";
    for (const std::string& b : BankNames(plan->banks)) std::cout << " " << b;
    std::cout << "); PCRs match the log's replay\n";
    for (const std::string& b : BankNames(plan->skipped_banks)) {
      std::cout << "note: the TPM has no active " << b << " bank; not played\n";
    }
  }
  return kExitOk;
}
