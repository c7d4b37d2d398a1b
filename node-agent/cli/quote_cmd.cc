// bootgate-agent quote: a quote, the PCR values it covers and the event logs, as files.
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "node-agent/cli/commands.h"
#include "node-agent/io/event_logs.h"
#include "node-agent/io/files.h"
#include "node-agent/output/quote_files.h"

namespace bootgate::agent::cli {
namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent quote --nonce HEX --pcrs SPEC --out DIR [options] [common flags]\n"
    "\n"
    "Quotes the nonce over the PCR selection with the AK (created first when missing), reads the\n"
    "PCRs and re-checks them against the quote's pcrDigest (retaking both when an extend raced\n"
    "the quote), and writes into DIR:\n"
    "  quote.msg (TPMS_ATTEST)  quote.sig (TPMT_SIGNATURE)  quote.pcrs (tpm2-tools serialized)\n"
    "  pcrs.json  ak.pub (TPM2B_PUBLIC)  ak.pem  ak.name  nonce (hex)\n"
    "  eventlog.bin (firmware event log)  ima.log (with --ima-log)\n"
    "Check with:  bootgate quote verify --ak DIR/ak.pub --quote DIR/quote.msg \\\n"
    "               --signature DIR/quote.sig --nonce HEX --pcrs DIR/pcrs.json\n"
    "       or:   tpm2_checkquote -u DIR/ak.pem -m DIR/quote.msg -s DIR/quote.sig \\\n"
    "               -f DIR/quote.pcrs -g sha256 -q HEX\n"
    "\n"
    "  --nonce HEX        1-64 bytes, from the verifier\n"
    "  --pcrs SPEC        e.g. sha256:0-9,11,14+sha1:0-7 (every bank must be active)\n"
    "  --out DIR          output directory (created)\n"
    "  --ak-alg rsa|ecc   algorithm of a new AK; an existing AK of the other algorithm is an "
    "error\n"
    "  --eventlog PATH    firmware event log to copy; default\n"
    "                     /sys/kernel/security/tpm0/binary_bios_measurements (skipped with a note\n"
    "                     when that default is absent)\n"
    "  --no-eventlog      do not copy a firmware event log\n"
    "  --ima-log PATH     also copy an IMA log (e.g.\n"
    "                     /sys/kernel/security/ima/binary_runtime_measurements)\n"
    "  --attempts N       quote + PCR read attempts before giving up (default 5)\n"
    "  --json             print a JSON summary\n";

// Copies the firmware event log (and the IMA log when asked) next to the quote; returns the file
// names written. A missing log at the default path is a note, a missing log that was asked for an
// error.
absl::StatusOr<std::vector<std::string>> CopyEventLogs(const Settings& settings,
                                                       const std::string& out_dir) {
  std::vector<std::string> written;
  if (!settings.flags().Has("no-eventlog")) {
    const std::string path = settings.Get("eventlog", "eventlog", kDefaultFirmwareLogPath);
    absl::StatusOr<attest::Bytes> log = ReadFirmwareEventLog(path);
    if (log.ok()) {
      RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/eventlog.bin", *log, 0644));
      written.push_back("eventlog.bin");
    } else if (settings.Has("eventlog", "eventlog") || !absl::IsNotFound(log.status())) {
      return log.status();
    } else {
      std::cerr << "bootgate-agent: note: no firmware event log at " << path << "; none written\n";
    }
  }
  const std::string ima_path = settings.Get("ima-log", "ima_log", "");
  if (!ima_path.empty()) {
    ASSIGN_OR_RETURN(attest::Bytes ima, ReadImaLog(ima_path));
    RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/ima.log", ima, 0644));
    written.push_back("ima.log");
  }
  return written;
}

}  // namespace

int RunQuote(const std::vector<std::string>& args) {
  FlagSpec spec;
  spec.value_flags.insert({"nonce", "pcrs", "out", "ak-alg", "eventlog", "ima-log", "attempts"});
  spec.bool_flags.insert({"no-eventlog", "json"});
  CommandStart start = StartCommand(args, spec, "quote", kUsage);
  if (!start.settings.has_value()) return start.exit_code;
  const Settings& settings = *start.settings;
  const Flags& flags = settings.flags();

  for (const char* required : {"nonce", "pcrs", "out"}) {
    if (!flags.Has(required)) {
      return UsageError(absl::StrCat("--", required, " is required"), "quote");
    }
  }
  absl::StatusOr<attest::Bytes> nonce = attest::HexDecode(flags.Get("nonce"));
  if (!nonce.ok()) return UsageError(absl::StrCat("--nonce: ", nonce.status().message()), "quote");
  if (nonce->empty() || nonce->size() > kMaxNonceBytes) {
    return UsageError(absl::StrCat("--nonce must be 1-", kMaxNonceBytes, " bytes"), "quote");
  }
  absl::StatusOr<attest::PcrSelection> selection = attest::ParsePcrSelectionSpec(flags.Get("pcrs"));
  if (!selection.ok()) {
    return UsageError(absl::StrCat("--pcrs: ", selection.status().message()), "quote");
  }
  if (flags.Has("attempts") &&
      (!absl::SimpleAtoi(flags.Get("attempts"), &start.options.quote_attempts) ||
       start.options.quote_attempts < 1 || start.options.quote_attempts > 100)) {
    return UsageError("--attempts must be 1-100", "quote");
  }
  if (flags.Has("no-eventlog") && flags.Has("eventlog")) {
    return UsageError("--eventlog and --no-eventlog exclude each other", "quote");
  }
  const std::string out_dir = flags.Get("out");

  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Connect(start.options);
  if (!agent.ok()) return ReportError(agent.status());
  absl::StatusOr<AgentQuote> quote = (*agent)->Quote(*nonce, *selection);
  if (!quote.ok()) return ReportError(quote.status());
  if (absl::Status s = WriteQuoteFiles(out_dir, *quote); !s.ok()) return ReportError(s);

  nlohmann::json files = {"quote.msg", "quote.sig", "quote.pcrs", "pcrs.json",
                          "ak.pub",    "ak.pem",    "ak.name",    "nonce"};
  absl::StatusOr<std::vector<std::string>> logs = CopyEventLogs(settings, out_dir);
  if (!logs.ok()) return ReportError(logs.status());
  for (const std::string& f : *logs) files.push_back(f);

  if (flags.Has("json")) {
    const nlohmann::json j = {
        {"out", out_dir},
        {"ak_name", attest::HexEncode(quote->ak_name)},
        {"nonce", attest::HexEncode(quote->nonce)},
        {"pcrs", attest::FormatPcrSelectionSpec(quote->quote.selection)},
        {"attempts", quote->quote.attempts},
        {"files", files},
    };
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "quote of " << attest::FormatPcrSelectionSpec(quote->quote.selection)
              << " written to " << out_dir << " (AK " << attest::HexEncode(quote->ak_name) << ", "
              << quote->quote.attempts << " attempt" << (quote->quote.attempts == 1 ? "" : "s")
              << ")\n";
  }
  return kExitOk;
}

}  // namespace bootgate::agent::cli
