// bootgate policy learn|sign|verify|check: golden-measurement policies offline (docs/policy.md).
// The policy library is pure; this file owns the files, the clock and the output.
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "attest/pcr/pcr_json.h"
#include "nlohmann/json.hpp"
#include "policy/evaluate.h"
#include "policy/learn.h"
#include "policy/loader.h"
#include "policy/signing.h"
#include "verifier/cli/args.h"
#include "verifier/cli/commands.h"

namespace bootgate::cli {

namespace {

constexpr char kPolicyUsage[] = R"(Usage:
  bootgate policy learn --eventlog LOG [--name N] [--version V] [--out FILE]
                                   learn a GoldenImage, PlatformReference and Policy from a
                                   known-good event log
  bootgate policy sign --key KEY.pem [--detached] [--out FILE] POLICY
                                   sign a policy file (ECDSA P-256 or Ed25519)
  bootgate policy verify --pub PUB.pem [--sig FILE.sig] [--json] POLICY
                                   check a policy file's schema and signature
  bootgate policy check --policy P (--pub PUB.pem | --allow-unsigned) --eventlog LOG
                        [--pcrs PCRS.json] [--labels k=v,...] [--at TIME] [--json]
                                   explain the verdict of a policy on an event log, offline
  bootgate policy from-image --efi FILE... [--kernel F] [--initrd F] [--cmdline S] [--uki F]
                                   compute a GoldenImage from image files without booting
  bootgate policy SUBCOMMAND --help

Schema, finding codes and the signing workflow: docs/policy.md.
)";

constexpr char kLearnUsage[] =
    R"(Usage: bootgate policy learn --eventlog LOG [--name N] [--version V]
         [--platform-name N] [--platform-version V] [--policy-name N] [--out FILE]

Learns golden measurements from a known-good TCG event log (binary_bios_measurements): a
GoldenImage N@V (PCR 4 boot chain, grub commands and files, kernel command line, Linux EFI-stub
load options and initrd, UKI sections, Secure Boot PK/KEK/db/dbx, authorities, SBAT level, MOK),
a PlatformReference (PCR 0-3 and 6 events, S-CRTM version) and a Policy that accepts both for
every node (group "default"), enforcing PCRs 0-9, 11, 14 in the sha256 bank. Digests of every
bank in the log are kept. Writes multi-document YAML to FILE (or stdout).

Defaults: --name learned-image, --version 1, --platform-name platform-<PCR 0 prefix>,
--platform-version 1, --policy-name learned-policy.

Exit codes: 0 written, 2 usage error, 3 log unreadable, malformed or not learnable.
)";

constexpr char kSignUsage[] =
    R"(Usage: bootgate policy sign --key KEY.pem [--detached] [--out FILE] POLICY

Signs the canonical bytes of POLICY's documents (docs/policy.md) with a PEM private key: ECDSA
P-256 (SHA-256) or Ed25519. The file must load (strict schema). Without --detached, a
PolicySignature document is appended to POLICY (or written with the policy to --out); the
author's formatting is kept and the signature covers content, not formatting. With --detached,
the PolicySignature document is written to POLICY.sig (or --out).

Create a key:   openssl genpkey -algorithm ed25519 -out key.pem
                openssl pkey -in key.pem -pubout -out pub.pem

Exit codes: 0 signed, 2 usage error, 3 policy or key unreadable or invalid.
)";

constexpr char kVerifyUsage[] =
    R"(Usage: bootgate policy verify --pub PUB.pem [--sig FILE.sig] [--json] POLICY

Loads POLICY (strict schema; a set with a Policy document must also resolve every image and
platform it names) and verifies its embedded signature, or the detached one in --sig, against
the trusted public key PUB.pem (SubjectPublicKeyInfo PEM). Prints the policy version id
(name@sha256:<16 hex>) and the signing key id.

Exit codes: 0 signature valid, 1 unsigned, tampered or signed by another key, 2 usage error,
3 policy, signature or key unreadable or schema-invalid.
)";

constexpr char kCheckUsage[] =
    R"(Usage: bootgate policy check --policy P (--pub PUB.pem | --allow-unsigned) [--sig FILE.sig]
         --eventlog LOG [--pcrs PCRS.json] [--labels k=v,...] [--at TIME] [--json]

Evaluates the policy P on an event log as the verifier would and explains the verdict: the
golden image and platform reference that matched, or for each candidate the first differing
event (PCR, event index, expected and actual digest, decoded event) and the finding codes.

  --pub PUB.pem       trusted policy-signing key; the policy's signature must verify
  --allow-unsigned    skip the signature check (development only; says so on stderr)
  --sig FILE.sig      detached signature (default: the policy's embedded signature)
  --pcrs PCRS.json    quoted PCR values {"sha256": {"0": "<hex>"}}: only events that replay
                      to them are evaluated. Without --pcrs the log's own replay is used (the
                      output says so): that checks the log's content, not that a TPM vouched
                      for it.
  --labels k=v,...    the node's enrollment labels (selects the policy group)
  --at TIME           evaluation time, RFC 3339 (default: now); decides notBefore/notAfter
  --json              print the evaluation as JSON

Exit codes: 0 accepted, 1 rejected (findings printed), 2 usage error, 3 policy, key, log or PCR
file unreadable, invalid or untrusted.
)";

int Usage(const char* text, const std::string& error) {
  std::fprintf(stderr, "bootgate policy: %s\n%s", error.c_str(), text);
  return kExitUsage;
}

int BadInput(const std::string& message) {
  std::fprintf(stderr, "bootgate policy: %s\n", message.c_str());
  return kExitBadInput;
}

absl::Status WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open for writing"));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return absl::InvalidArgumentError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Reads and parses a policy file; on failure prints the error and returns nullopt.
std::optional<policy::PolicySet> LoadPolicyFile(const std::string& path, std::string* text_out) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    BadInput(std::string(text.status().message()));
    return std::nullopt;
  }
  absl::StatusOr<policy::PolicySet> set = policy::ParsePolicyDocuments(*text, path);
  if (!set.ok()) {
    BadInput(absl::StrCat("policy refused: ", set.status().message()));
    return std::nullopt;
  }
  if (text_out != nullptr) *text_out = *std::move(text);
  return *std::move(set);
}

// The signatures to check: --sig's detached one, else the embedded ones.
absl::StatusOr<std::vector<policy::PolicySignature>> SignaturesFor(const ParsedArgs& args,
                                                                   const policy::PolicySet& set) {
  if (!args.Has("sig")) return set.signatures;
  const std::string path = args.Get("sig");
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<policy::PolicySignature> sig = policy::ParseDetachedSignature(*text, path);
  if (!sig.ok()) return sig.status();
  return std::vector<policy::PolicySignature>{*std::move(sig)};
}

// ---- learn -----------------------------------------------------------------------------------

int RunLearn(const ParsedArgs& args) {
  if (!args.Has("eventlog")) return Usage(kLearnUsage, "--eventlog is required");
  if (!args.positional.empty()) return Usage(kLearnUsage, "unexpected argument");
  const std::string path = args.Get("eventlog");
  absl::StatusOr<std::string> data = ReadFileToString(path);
  if (!data.ok()) return BadInput(std::string(data.status().message()));
  absl::StatusOr<attest::UnverifiedEventLog> log = attest::ParseEventLog(attest::AsSpan(*data));
  if (!log.ok()) return BadInput(absl::StrCat(path, ": ", log.status().message()));
  policy::LearnOptions options;
  options.image_name = args.Get("name", options.image_name);
  options.image_version = args.Get("version", options.image_version);
  options.platform_name = args.Get("platform-name", options.platform_name);
  options.platform_version = args.Get("platform-version", options.platform_version);
  options.policy_name = args.Get("policy-name", options.policy_name);
  absl::StatusOr<policy::PolicySet> set = policy::LearnPolicy(*log, options);
  if (!set.ok()) return BadInput(absl::StrCat(path, ": ", set.status().message()));
  const std::string yaml =
      absl::StrCat("# Learned by `bootgate policy learn` from ", path,
                   ". Review, then sign: bootgate policy sign --key KEY.pem FILE\n",
                   policy::SerializeYaml(*set));
  if (args.Has("out")) {
    absl::Status st = WriteFile(args.Get("out"), yaml);
    if (!st.ok()) return BadInput(std::string(st.message()));
    std::fprintf(stderr, "bootgate policy: wrote %s (%s)\n", args.Get("out").c_str(),
                 policy::PolicyVersionId(*set).c_str());
  } else {
    std::fputs(yaml.c_str(), stdout);
  }
  return kExitOk;
}

// ---- sign ------------------------------------------------------------------------------------

int RunSign(const ParsedArgs& args) {
  if (!args.Has("key")) return Usage(kSignUsage, "--key is required");
  if (args.positional.size() != 1) return Usage(kSignUsage, "expected exactly one POLICY");
  const std::string path = args.positional[0];
  std::string text;
  std::optional<policy::PolicySet> set = LoadPolicyFile(path, &text);
  if (!set) return kExitBadInput;
  if (!set->policies.empty()) {
    absl::Status st = policy::ValidatePolicySet(*set);
    if (!st.ok()) return BadInput(absl::StrCat(path, ": policy refused: ", st.message()));
  }
  absl::StatusOr<std::string> key = ReadFileToString(args.Get("key"));
  if (!key.ok()) return BadInput(std::string(key.status().message()));
  absl::StatusOr<policy::PolicySignature> sig = policy::SignPolicySet(*set, *key);
  if (!sig.ok()) return BadInput(absl::StrCat(args.Get("key"), ": ", sig.status().message()));
  const std::string sig_doc = policy::SerializeSignatureYaml(*sig);
  std::string out_path;
  std::string out_text;
  if (args.Has("detached")) {
    out_path = args.Get("out", path + ".sig");
    out_text = sig_doc;
  } else {
    out_path = args.Get("out", path);
    out_text = text;
    if (!out_text.empty() && out_text.back() != '\n') out_text.push_back('\n');
    if (sig_doc.rfind("---", 0) != 0) out_text += "---\n";
    out_text += sig_doc;
  }
  absl::Status st = WriteFile(out_path, out_text);
  if (!st.ok()) return BadInput(std::string(st.message()));
  std::printf("signed %s (%s) with %s key %s -> %s\n", path.c_str(),
              policy::PolicyVersionId(*set).c_str(), sig->algorithm.c_str(), sig->key_id.c_str(),
              out_path.c_str());
  return kExitOk;
}

// ---- verify ----------------------------------------------------------------------------------

int RunVerify(const ParsedArgs& args) {
  if (!args.Has("pub")) return Usage(kVerifyUsage, "--pub is required");
  if (args.positional.size() != 1) return Usage(kVerifyUsage, "expected exactly one POLICY");
  const std::string path = args.positional[0];
  std::optional<policy::PolicySet> set = LoadPolicyFile(path, nullptr);
  if (!set) return kExitBadInput;
  if (!set->policies.empty()) {
    absl::Status st = policy::ValidatePolicySet(*set);
    if (!st.ok()) return BadInput(absl::StrCat(path, ": policy refused: ", st.message()));
  }
  absl::StatusOr<std::string> pub = ReadFileToString(args.Get("pub"));
  if (!pub.ok()) return BadInput(std::string(pub.status().message()));
  absl::StatusOr<std::vector<policy::PolicySignature>> sigs = SignaturesFor(args, *set);
  if (!sigs.ok()) return BadInput(std::string(sigs.status().message()));
  absl::StatusOr<policy::SignatureCheck> check =
      policy::VerifyPolicySignatures(*set, *sigs, {*pub});
  const std::string version = policy::PolicyVersionId(*set);
  if (!check.ok()) {
    if (check.status().code() == absl::StatusCode::kInvalidArgument) {
      return BadInput(absl::StrCat(args.Get("pub"), ": ", check.status().message()));
    }
    if (args.Has("json")) {
      std::printf("%s\n", Dump({{"valid", false},
                                {"policyVersion", version},
                                {"error", std::string(check.status().message())}})
                              .c_str());
    }
    std::fprintf(stderr, "bootgate policy: %s: policy refused: %s\n", path.c_str(),
                 std::string(check.status().message()).c_str());
    return kExitRejected;
  }
  if (args.Has("json")) {
    std::printf("%s\n", Dump({{"valid", true},
                              {"policyVersion", version},
                              {"keyId", check->key_id},
                              {"algorithm", check->algorithm}})
                            .c_str());
  } else {
    std::printf("%s: signature valid (%s by %s); policy version %s\n", path.c_str(),
                check->algorithm.c_str(), check->key_id.c_str(), version.c_str());
  }
  return kExitOk;
}

// ---- check -----------------------------------------------------------------------------------

int RunCheck(const ParsedArgs& args) {
  if (!args.Has("policy")) return Usage(kCheckUsage, "--policy is required");
  if (!args.Has("eventlog")) return Usage(kCheckUsage, "--eventlog is required");
  if (args.Has("pub") == args.Has("allow-unsigned")) {
    return Usage(kCheckUsage, "exactly one of --pub and --allow-unsigned is required");
  }
  if (!args.positional.empty()) return Usage(kCheckUsage, "unexpected argument");
  std::map<std::string, std::string> labels;
  if (args.Has("labels") && !args.Get("labels").empty()) {
    for (absl::string_view kv : absl::StrSplit(args.Get("labels"), ',')) {
      std::vector<std::string> parts = absl::StrSplit(kv, absl::MaxSplits('=', 1));
      if (parts.size() != 2 || parts[0].empty()) {
        return Usage(kCheckUsage, absl::StrCat("--labels: '", kv, "' is not key=value"));
      }
      labels[parts[0]] = parts[1];
    }
  }
  absl::Time now = absl::Now();
  if (args.Has("at")) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, args.Get("at"), &now, &err)) {
      return Usage(kCheckUsage, absl::StrCat("--at: '", args.Get("at"),
                                             "' is not an RFC 3339 time (", err, ")"));
    }
  }

  const std::string policy_path = args.Get("policy");
  std::optional<policy::PolicySet> set = LoadPolicyFile(policy_path, nullptr);
  if (!set) return kExitBadInput;
  absl::Status valid = policy::ValidatePolicySet(*set);
  if (!valid.ok()) {
    return BadInput(absl::StrCat(policy_path, ": policy refused: ", valid.message()));
  }
  std::string trust_note;
  if (args.Has("pub")) {
    absl::StatusOr<std::string> pub = ReadFileToString(args.Get("pub"));
    if (!pub.ok()) return BadInput(std::string(pub.status().message()));
    absl::StatusOr<std::vector<policy::PolicySignature>> sigs = SignaturesFor(args, *set);
    if (!sigs.ok()) return BadInput(std::string(sigs.status().message()));
    absl::StatusOr<policy::SignatureCheck> check =
        policy::VerifyPolicySignatures(*set, *sigs, {*pub});
    if (!check.ok()) {
      return BadInput(absl::StrCat(policy_path, ": policy refused: ", check.status().message()));
    }
    trust_note = absl::StrCat("signed (", check->algorithm, " by ", check->key_id, ")");
  } else {
    std::fprintf(stderr,
                 "bootgate policy: WARNING: --allow-unsigned: the policy's signature was NOT "
                 "checked\n");
    trust_note = "NOT CHECKED (--allow-unsigned)";
  }

  const std::string log_path = args.Get("eventlog");
  absl::StatusOr<std::string> data = ReadFileToString(log_path);
  if (!data.ok()) return BadInput(std::string(data.status().message()));
  absl::StatusOr<attest::UnverifiedEventLog> log = attest::ParseEventLog(attest::AsSpan(*data));
  if (!log.ok()) return BadInput(absl::StrCat(log_path, ": ", log.status().message()));
  attest::PcrValues quoted;
  std::string pcr_source;
  if (args.Has("pcrs")) {
    const std::string path = args.Get("pcrs");
    absl::StatusOr<std::string> text = ReadFileToString(path);
    if (!text.ok()) return BadInput(std::string(text.status().message()));
    absl::StatusOr<attest::PcrValues> values = attest::ParsePcrValuesJson(*text);
    if (!values.ok()) return BadInput(absl::StrCat(path, ": ", values.status().message()));
    quoted = *std::move(values);
    pcr_source = absl::StrCat("quoted values from ", path,
                              " (only events that replay to them are evaluated)");
  } else {
    absl::StatusOr<attest::PcrValues> replay = attest::ReplayEventLog(*log);
    if (!replay.ok()) return BadInput(absl::StrCat(log_path, ": ", replay.status().message()));
    quoted = *std::move(replay);
    // As a TPM would quote them: PCRs no event extended hold their initial value.
    for (auto& [alg, bank] : quoted) {
      for (uint32_t pcr = 0; pcr <= attest::kMaxPcrIndex; ++pcr) {
        if (!bank.count(pcr)) bank[pcr] = attest::InitialPcrValue(*log, alg, pcr);
      }
    }
    pcr_source = "the log's own replay (no --pcrs: no TPM quote vouches for these events)";
  }
  absl::StatusOr<attest::VerifiedEventLog> verified = attest::VerifyEventLog(*log, quoted);
  if (!verified.ok()) return BadInput(absl::StrCat(log_path, ": ", verified.status().message()));

  absl::StatusOr<policy::Evaluation> eval =
      policy::EvaluatePolicy(*set, quoted, *verified, labels, now);
  if (!eval.ok()) return BadInput(absl::StrCat(policy_path, ": ", eval.status().message()));
  if (args.Has("json")) {
    nlohmann::json j = policy::EvaluationToJson(*eval);
    j["pcrSource"] = args.Has("pcrs") ? "pcrs" : "eventlog-replay";
    j["policySignature"] = trust_note;
    j["evaluatedAt"] = absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone());
    std::printf("%s\n", Dump(j).c_str());
  } else {
    std::printf("policy signature: %s\n", trust_note.c_str());
    std::printf("PCR values: %s\n", pcr_source.c_str());
    std::printf("evaluated at: %s\n",
                absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone()).c_str());
    std::fputs(policy::FormatEvaluation(*eval).c_str(), stdout);
  }
  return eval->verdict == policy::Verdict::kAccepted ? kExitOk : kExitRejected;
}

}  // namespace

int RunPolicyCommand(const std::vector<std::string>& args) {
  if (args.empty()) return Usage(kPolicyUsage, "missing subcommand");
  const std::string& sub = args[0];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(kPolicyUsage, stdout);
    return kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "from-image") return RunPolicyFromImageCommand(rest);
  const char* usage = nullptr;
  std::set<std::string> value_flags, bool_flags;
  if (sub == "learn") {
    usage = kLearnUsage;
    value_flags = {"eventlog",         "name",        "version", "platform-name",
                   "platform-version", "policy-name", "out"};
  } else if (sub == "sign") {
    usage = kSignUsage;
    value_flags = {"key", "out"};
    bool_flags = {"detached"};
  } else if (sub == "verify") {
    usage = kVerifyUsage;
    value_flags = {"pub", "sig"};
    bool_flags = {"json"};
  } else if (sub == "check") {
    usage = kCheckUsage;
    value_flags = {"policy", "pub", "sig", "eventlog", "pcrs", "labels", "at"};
    bool_flags = {"allow-unsigned", "json"};
  } else {
    return Usage(kPolicyUsage, absl::StrCat("unknown subcommand '", sub, "'"));
  }
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(rest, value_flags, bool_flags);
  if (!parsed.ok()) return Usage(usage, std::string(parsed.status().message()));
  if (parsed->help) {
    std::fputs(usage, stdout);
    return kExitOk;
  }
  if (sub == "learn") return RunLearn(*parsed);
  if (sub == "sign") return RunSign(*parsed);
  if (sub == "verify") return RunVerify(*parsed);
  return RunCheck(*parsed);
}

}  // namespace bootgate::cli
