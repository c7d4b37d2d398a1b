// bootgate audit export|verify (docs/audit.md).
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "verifier/appraise/pcr_policy.h"
#include "verifier/audit/audit.h"
#include "verifier/cli/args.h"
#include "verifier/cli/commands.h"
#include "verifier/cli/window_args.h"
#include "verifier/config/config.h"
#include "verifier/enroll/ek_trust.h"
#include "verifier/tokens/ear.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"

namespace bootgate::cli {

namespace {

constexpr char kUsage[] = R"(Usage:
  bootgate audit export --config FILE|DIR --out BUNDLE_DIR [--store DB] [--since T] [--until T]
                        [--node NODE_ID] [--json]
  bootgate audit verify BUNDLE_DIR --ca EK-CA-BUNDLE --verifier-pub PEM [--policy-key PUB]
                        [--json]

export: reads the verifier's SQLite store read-only (one consistent snapshot, also while the
verifier runs) and writes a bundle directory with every attestation of the window (raw quote,
signature, PCR values, event log, IMA log, EAR, stored result, nonce record, tokens), the
nodes' enrollment data (AK/EK public, EK certificate, raw enrollment requests) and the exact
policies used, and signs a manifest of SHA-256 digests with the verifier's ES256 key
(ear_signing_key). --config is the verifier configuration (database, ear_signing_key,
verifier_id, policy); --store overrides its database. T is RFC 3339 or an age (90m, 24h, 7d).

verify: checks the bundle offline: the manifest signature and every file digest, each node's
EK certificate chain against --ca (at enrollment time), EK and AK, and re-runs every
attestation's appraisal (quote signature, nonce use, clock, event-log replay, policy with the
recorded policy content) and compares it with the stored verdict, findings, stages and clock,
and with the signed EAR. --verifier-pub is the verifier's public key (ear-signing.pub.pem).
--policy-key is the trusted policy-signing public key: every recorded golden-image policy file
must carry a signature that verifies under it (POLICY_UNPARSABLE otherwise).

Exit codes: 0 everything reproduces; 1 a problem was found (each is printed with the
attestation, node, policy or file it concerns and the reason); 2 usage; 3 input unreadable.
)";

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "bootgate audit: %s\n", std::string(s.message()).c_str());
  return kExitBadInput;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "bootgate audit: %s (see bootgate audit --help)\n", message.c_str());
  return kExitUsage;
}

int RunExport(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {"config", "store", "since", "until", "node", "out"}, {"json"});
  if (!args.ok()) return Usage(std::string(args.status().message()));
  if (args->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!args->positional.empty()) return Usage("unexpected argument " + args->positional[0]);
  if (!args->Has("config")) return Usage("--config is required (the signing key and policy)");
  if (!args->Has("out")) return Usage("--out BUNDLE_DIR is required");
  const absl::Time now = absl::Now();
  auto window = WindowFromArgs(*args, now);
  if (!window.ok()) return Usage(std::string(window.status().message()));

  auto config = verifier::LoadConfigFile(args->Get("config"));
  if (!config.ok()) return Fail(config.status());
  auto signer = verifier::EarSigner::FromPemFile(config->ear_signing_key);
  if (!signer.ok()) return Fail(signer.status());
  verifier::audit::ExportOptions o;
  o.store_path = args->Has("store") ? args->Get("store") : config->database;
  o.window = *window;
  o.node_id = args->Get("node");
  o.out_dir = args->Get("out");
  o.signer = signer->get();
  o.verifier_id = config->verifier_id;
  o.now = now;
  // The configuration's current policy, for stores that predate recorded policy content.
  if (auto policy = verifier::PcrValuePolicy::LoadFile(config->policy); policy.ok()) {
    o.extra_policies.push_back(
        verifier::PolicyRecord{(*policy)->id(), (*policy)->kind(), (*policy)->content(), now});
  }
  auto summary = verifier::audit::ExportBundle(o);
  if (!summary.ok()) return Fail(summary.status());
  if (args->Has("json")) {
    std::cout << nlohmann::json({{"bundle", o.out_dir},
                                 {"attestations", summary->attestations},
                                 {"clock_baselines", summary->baselines},
                                 {"nodes", summary->nodes},
                                 {"policies", summary->policies},
                                 {"files", summary->files}})
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << "exported " << summary->attestations << " attestations (" << summary->baselines
              << " clock baselines), " << summary->nodes << " nodes, " << summary->policies
              << " policies to " << o.out_dir << " (" << summary->files
              << " files, manifest signed)\n";
  }
  return kExitOk;
}

int RunVerify(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {"ca", "verifier-pub", "policy-key"}, {"json"});
  if (!args.ok()) return Usage(std::string(args.status().message()));
  if (args->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (args->positional.size() != 1) return Usage("verify takes exactly one BUNDLE_DIR");
  if (!args->Has("ca")) return Usage("--ca EK-CA-BUNDLE is required");
  if (!args->Has("verifier-pub")) return Usage("--verifier-pub PEM is required");
  auto trust = verifier::EkTrustStore::Load(args->Get("ca"));
  if (!trust.ok()) return Fail(trust.status());
  auto pem = verifier::ReadFile(args->Get("verifier-pub"), 1 << 16);
  if (!pem.ok()) return Fail(pem.status());
  auto key = verifier::ParsePublicKeyPem(*pem);
  if (!key.ok()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(args->Get("verifier-pub"), ": ", key.status().message())));
  }
  verifier::audit::VerifyOptions o;
  o.bundle_dir = args->positional[0];
  o.ek_trust = trust->get();
  o.verifier_key = key->get();
  if (args->Has("policy-key")) {
    auto policy_key = verifier::ReadFile(args->Get("policy-key"), 1 << 16);
    if (!policy_key.ok()) return Fail(policy_key.status());
    o.policy_keys_pem.push_back(*std::move(policy_key));
  } else {
    std::cerr << "bootgate audit verify: no --policy-key: the signatures of golden-image policies "
                 "are not checked\n";
  }
  auto report = verifier::audit::VerifyBundle(o);
  if (!report.ok()) return Fail(report.status());

  if (args->Has("json")) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : report->problems) {
      problems.push_back({{"subject", p.subject}, {"code", p.code}, {"detail", p.detail}});
    }
    std::cout << nlohmann::json({{"ok", report->ok()},
                                 {"files", report->files},
                                 {"policies", report->policies},
                                 {"nodes", report->nodes},
                                 {"attestations", report->attestations},
                                 {"reproduced", report->reproduced},
                                 {"problems", problems}})
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    for (const auto& p : report->problems) {
      std::cout << p.subject << ": " << p.code << ": " << p.detail << "\n";
    }
    std::cout << (report->ok() ? "OK" : "FAILED") << ": " << report->files << " files, "
              << report->policies << " policies, " << report->nodes << " nodes, "
              << report->reproduced << " of " << report->attestations
              << " attestations reproduced, " << report->problems.size() << " problems\n";
  }
  return report->ok() ? kExitOk : kExitRejected;
}

}  // namespace

int RunAuditCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  if (args[0] == "-h" || args[0] == "--help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "export") return RunExport(rest);
  if (args[0] == "verify") return RunVerify(rest);
  return Usage("unknown subcommand '" + args[0] + "'");
}

}  // namespace bootgate::cli
