// bootgate quote verify: checks a TPM2 quote, check by check, against PCR values and/or an event
// log's replay.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "attest/pcr/pcr_json.h"
#include "attest/quote/quote_verifier.h"
#include "attest/tpm/pcr_selection.h"
#include "attest/tpm/tpm_signature.h"
#include "nlohmann/json.hpp"
#include "verifier/cli/args.h"
#include "verifier/cli/commands.h"

namespace bootgate::cli {

namespace {

using attest::QuoteCheck;
using attest::QuoteResult;

constexpr char kQuoteUsage[] = R"(Usage:
  bootgate quote verify --ak AK --quote QUOTE --signature SIG --nonce HEX
                        [--eventlog LOG] [--pcrs PCRS.json] [--selection SPEC] [--json]
  bootgate quote verify --help
)";

constexpr char kVerifyUsage[] =
    R"(Usage: bootgate quote verify --ak AK --quote QUOTE --signature SIG --nonce HEX
                             [--eventlog LOG] [--pcrs PCRS.json] [--selection SPEC]
                             [--allow-sha1-signing] [--allow-sha1-name-alg] [--json]

Verifies a TPM2_Quote. Inputs:
  --ak FILE          the attestation key's public area: TPM2B_PUBLIC or bare TPMT_PUBLIC
  --quote FILE       the TPMS_ATTEST bytes exactly as the TPM signed them
  --signature FILE   the TPMT_SIGNATURE
  --nonce HEX        the expected extraData, in hex (e.g. 9009; '' for an empty nonce)
  --pcrs FILE        PCR values {"sha256": {"0": "<hex>", ...}, ...} (the shape `bootgate
                     eventlog replay --json` prints under "pcrs")
  --eventlog FILE    a TCG event log (binary_bios_measurements); it is replayed
  --selection SPEC   the PCR selection that was requested, e.g. sha256:0-7,14+sha1:0-7; the
                     signed selection must equal it
At least one of --pcrs and --eventlog is required. With --eventlog alone, the quote is checked
against the log's replay (PCRs the log never extended take their reset value). With both, the
values are checked against the quote and the replay against the values.

Checks, in order; the first failure stops the rest (reported as SKIP / not run):
  ak_public, ak_attributes, signature, magic, type, attest_structure, nonce, pcr_selection,
  pcr_values, pcr_digest, eventlog_replay (with --pcrs and --eventlog)
The AK must be a restricted signing key (fixedTPM, fixedParent, sensitiveDataOrigin, restricted,
sign, not decrypt), nameAlg SHA-256 or better, RSA >= 2048 or ECC P-256+, signing with SHA-256 or
better. Relaxations, for keys that need them (Windows AKs pin RSASSA-SHA1):
  --allow-sha1-signing    accept a SHA-1 signing scheme
  --allow-sha1-name-alg   accept an AK whose nameAlg is SHA-1

Output: one line per check (PASS/FAIL/SKIP, name, detail) and a final verdict line. --json prints
  {"verdict": "pass"|"fail", "finding": "QUOTE_...", "checks": [{"name", "passed", "state",
   "finding", "detail"}], "ak_name", "signature": {"scheme", "hash"}, "clock": {"clock",
   "reset_count", "restart_count", "safe"}, "firmware_version", "qualified_signer",
   "selection": {"sha256": [0, ...]}, "selection_spec", "pcr_digest", "pcrs": {...}}
where "pcrs" (the quoted PCR values) is present only when the verdict is pass.

Exit codes: 0 every check passed; 1 the quote was checked and rejected; 2 usage error; 3 a file
is unreadable or does not parse (AK, signature, quote structure, PCR JSON, event log).
)";

int Usage(const char* text, const std::string& error) {
  std::fprintf(stderr, "bootgate quote: %s\n%s", error.c_str(), text);
  return kExitUsage;
}

int BadInput(const std::string& error) {
  std::fprintf(stderr, "bootgate quote verify: %s\n", error.c_str());
  return kExitBadInput;
}

const char* StateName(attest::CheckState state) {
  switch (state) {
    case attest::CheckState::kPassed:
      return "passed";
    case attest::CheckState::kFailed:
      return "failed";
    case attest::CheckState::kNotRun:
      return "not_run";
  }
  return "failed";
}

const char* StateLabel(attest::CheckState state) {
  switch (state) {
    case attest::CheckState::kPassed:
      return "PASS";
    case attest::CheckState::kFailed:
      return "FAIL";
    case attest::CheckState::kNotRun:
      return "SKIP";
  }
  return "FAIL";
}

nlohmann::ordered_json SelectionJson(const attest::PcrSelection& selection) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const attest::PcrBankSelection& bank : selection) {
    out[attest::HashAlgName(bank.alg)] =
        nlohmann::ordered_json(std::vector<uint32_t>(bank.pcrs.begin(), bank.pcrs.end()));
  }
  return out;
}

void PrintJson(const QuoteResult& r) {
  nlohmann::ordered_json j;
  j["verdict"] = r.verdict ? "pass" : "fail";
  j["finding"] = attest::QuoteFindingName(r.finding);
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const QuoteCheck& c : r.checks) {
    nlohmann::ordered_json check;
    check["name"] = c.name;
    check["passed"] = c.passed();
    check["state"] = StateName(c.state);
    check["finding"] = attest::QuoteFindingName(c.finding);
    check["detail"] = c.detail;
    checks.push_back(std::move(check));
  }
  j["checks"] = std::move(checks);
  j["ak_name"] = r.ak_name.empty() ? nlohmann::ordered_json()
                                   : nlohmann::ordered_json(attest::HexEncode(r.ak_name));
  if (r.signature_scheme != TPM2_ALG_NULL) {
    j["signature"] = {{"scheme", attest::SigSchemeName(r.signature_scheme)},
                      {"hash", attest::HashAlgName(r.signature_hash)}};
  } else {
    j["signature"] = nullptr;
  }
  if (r.quote.has_value()) {
    const attest::QuotedInfo& q = *r.quote;
    j["clock"] = {{"clock", q.clock.clock},
                  {"reset_count", q.clock.reset_count},
                  {"restart_count", q.clock.restart_count},
                  {"safe", q.clock.safe}};
    j["firmware_version"] = absl::StrFormat("0x%016x", q.firmware_version);
    j["qualified_signer"] = attest::HexEncode(q.qualified_signer);
    j["selection"] = SelectionJson(q.selection);
    j["selection_spec"] = attest::FormatPcrSelectionSpec(q.selection);
    j["pcr_digest"] = attest::HexEncode(q.pcr_digest);
  } else {
    j["clock"] = nullptr;
    j["selection"] = nullptr;
  }
  if (r.verdict) {
    nlohmann::ordered_json pcrs = nlohmann::ordered_json::object();
    for (const auto& [alg, bank] : r.quoted_pcrs) {
      nlohmann::ordered_json values = nlohmann::ordered_json::object();
      for (const auto& [index, value] : bank)
        values[std::to_string(index)] = attest::HexEncode(value);
      pcrs[attest::HashAlgName(alg)] = std::move(values);
    }
    j["pcrs"] = std::move(pcrs);
  }
  std::printf("%s\n",
              j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
}

void PrintText(const QuoteResult& r) {
  for (const QuoteCheck& c : r.checks) {
    std::printf("%s %-16s %s\n", StateLabel(c.state), c.name.c_str(), c.detail.c_str());
  }
  if (r.quote.has_value()) {
    const attest::QuotedInfo& q = *r.quote;
    std::printf(
        "quote: selection %s, clock %llu, resetCount %u, restartCount %u, safe %s, "
        "firmware 0x%016llx\n",
        attest::FormatPcrSelectionSpec(q.selection).c_str(),
        static_cast<unsigned long long>(q.clock.clock),  // NOLINT(runtime/int)
        q.clock.reset_count, q.clock.restart_count, q.clock.safe ? "yes" : "no",
        static_cast<unsigned long long>(q.firmware_version));  // NOLINT(runtime/int)
  }
  std::printf("verdict: %s (%s)\n", r.verdict ? "PASS" : "FAIL",
              attest::QuoteFindingName(r.finding));
}

// Structures that do not decode are bad input (exit 3), not a rejected quote.
bool IsMalformedInput(attest::QuoteFinding finding) {
  return finding == attest::QuoteFinding::kAkMalformed ||
         finding == attest::QuoteFinding::kSignatureMalformed ||
         finding == attest::QuoteFinding::kAttestMalformed;
}

int RunVerify(const std::vector<std::string>& args) {
  auto parsed =
      ParseArgs(args, {"ak", "quote", "signature", "nonce", "eventlog", "pcrs", "selection"},
                {"json", "allow-sha1-signing", "allow-sha1-name-alg"});
  if (!parsed.ok()) return Usage(kVerifyUsage, std::string(parsed.status().message()));
  if (parsed->help) {
    std::fputs(kVerifyUsage, stdout);
    return kExitOk;
  }
  if (!parsed->positional.empty()) {
    return Usage(kVerifyUsage, absl::StrCat("unexpected argument '", parsed->positional[0], "'"));
  }
  for (const char* required : {"ak", "quote", "signature", "nonce"}) {
    if (!parsed->values.count(required)) {
      return Usage(kVerifyUsage, absl::StrCat("--", required, " is required"));
    }
  }
  if (!parsed->values.count("pcrs") && !parsed->values.count("eventlog")) {
    return Usage(kVerifyUsage, "--pcrs or --eventlog (or both) is required for the PCR checks");
  }
  auto nonce = attest::HexDecode(parsed->Get("nonce"));
  if (!nonce.ok()) return Usage(kVerifyUsage, absl::StrCat("--nonce: ", nonce.status().message()));
  std::optional<attest::PcrSelection> requested;
  if (parsed->values.count("selection")) {
    auto selection = attest::ParsePcrSelectionSpec(parsed->Get("selection"));
    if (!selection.ok()) {
      return Usage(kVerifyUsage, absl::StrCat("--selection: ", selection.status().message()));
    }
    requested = *std::move(selection);
  }

  std::string files[3];
  const char* file_flags[3] = {"ak", "quote", "signature"};
  for (int i = 0; i < 3; ++i) {
    auto data = ReadFileToString(parsed->Get(file_flags[i]));
    if (!data.ok()) return BadInput(std::string(data.status().message()));
    files[i] = *std::move(data);
  }

  std::optional<attest::PcrValues> pcrs;
  if (parsed->values.count("pcrs")) {
    const std::string path = parsed->Get("pcrs");
    auto text = ReadFileToString(path);
    if (!text.ok()) return BadInput(std::string(text.status().message()));
    auto values = attest::ParsePcrValuesJson(*text);
    if (!values.ok()) return BadInput(absl::StrCat(path, ": ", values.status().message()));
    pcrs = *std::move(values);
  }
  std::optional<attest::PcrValues> replayed;
  if (parsed->values.count("eventlog")) {
    const std::string path = parsed->Get("eventlog");
    auto data = ReadFileToString(path);
    if (!data.ok()) return BadInput(std::string(data.status().message()));
    auto log = attest::ParseEventLog(attest::AsSpan(*data));
    if (!log.ok()) return BadInput(absl::StrCat(path, ": ", log.status().message()));
    auto replay = attest::ReplayEventLog(*log);
    if (!replay.ok()) return BadInput(absl::StrCat(path, ": ", replay.status().message()));
    replayed = *std::move(replay);
  }

  attest::QuoteInput input;
  input.ak_public = attest::AsSpan(files[0]);
  input.attest = attest::AsSpan(files[1]);
  input.signature = attest::AsSpan(files[2]);
  input.nonce = *nonce;
  input.requested_selection = requested.has_value() ? &*requested : nullptr;
  input.pcr_values = pcrs.has_value() ? &*pcrs : nullptr;
  input.replayed_pcrs = replayed.has_value() ? &*replayed : nullptr;
  input.options.ak.allow_sha1_signing = parsed->switches.count("allow-sha1-signing") > 0;
  input.options.ak.allow_sha1_name_alg = parsed->switches.count("allow-sha1-name-alg") > 0;

  const QuoteResult result = attest::VerifyQuote(input);
  if (parsed->switches.count("json")) {
    PrintJson(result);
  } else {
    PrintText(result);
  }
  if (result.verdict) return kExitOk;
  if (IsMalformedInput(result.finding)) {
    const QuoteCheck* failure = result.FirstFailure();
    std::fprintf(stderr, "bootgate quote verify: %s: %s\n", failure->name.c_str(),
                 failure->detail.c_str());
    return kExitBadInput;
  }
  return kExitRejected;
}

}  // namespace

int RunQuoteCommand(const std::vector<std::string>& args) {
  // tss2-mu logs every decoding failure to stderr; the checks already report them, once.
  setenv("TSS2_LOG", "all+none", /*overwrite=*/0);
  if (args.empty()) return Usage(kQuoteUsage, "missing subcommand");
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kQuoteUsage, stdout);
    return kExitOk;
  }
  if (args[0] == "verify") return RunVerify(std::vector<std::string>(args.begin() + 1, args.end()));
  return Usage(kQuoteUsage, absl::StrCat("unknown subcommand '", args[0], "'"));
}

}  // namespace bootgate::cli
