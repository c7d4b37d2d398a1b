// Audit bundles (docs/audit.md): `bootgate audit export` copies every attestation of a time window
// with its raw evidence, the nodes' enrollment data, the exact policies and the stored results
// into a directory and signs a manifest of SHA-256 digests with the verifier's ES256 key;
// `bootgate audit verify` re-checks all of it offline and names every result that does not
// reproduce.
//
// Layout of a bundle directory:
//   manifest.json    {"format", "created_at", "key_id", "files": [{"path", "sha256", "bytes"}]}
//   manifest.jws     ES256 JWT over {"bootgate.manifest-sha256": SHA-256(manifest.json), ...}
//   index.json       nodes, enrollments, policies, attestations (stored results, nonce records,
//                    tokens) and the names of the binary files below
//   policies/N.policy                       policy content exactly as the verifier loaded it
//   nodes/NODE/{ak.pub,ek.pub,ek-cert.der}  TPM2B_PUBLIC x2, DER
//   nodes/NODE/enrollment-ID.bin            the StartEnrollmentRequest exactly as received
//   attestations/ID/{quote.msg,quote.sig,pcrs.json,eventlog.bin,ima.log,ear.jwt}
#ifndef BOOTGATE_VERIFIER_AUDIT_AUDIT_H_
#define BOOTGATE_VERIFIER_AUDIT_AUDIT_H_

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "verifier/enroll/ek_trust.h"
#include "verifier/store/audit_queries.h"
#include "verifier/store/records.h"
#include "verifier/tokens/ear.h"

namespace bootgate::verifier::audit {

inline constexpr char kBundleFormat[] = "bootgate-audit-bundle/1";
inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kSignatureFile[] = "manifest.jws";
inline constexpr char kIndexFile[] = "index.json";

struct ExportOptions {
  std::string store_path;
  TimeWindow window;
  std::string node_id;  // "" = every node
  std::string out_dir;  // must not exist
  const EarSigner* signer = nullptr;
  std::string verifier_id;
  // Policies known besides the store's policies table (the configuration's current policy), for
  // stores written before policy content was recorded.
  std::vector<PolicyRecord> extra_policies;
  absl::Time now;
};

struct ExportSummary {
  size_t attestations = 0;
  size_t baselines = 0;  // earlier attestations included for their clock state
  size_t nodes = 0;
  size_t policies = 0;
  size_t files = 0;  // listed in the manifest (manifest.json and manifest.jws not counted)
};

// FailedPrecondition when an attestation's policy content is unknown (the export would not be
// verifiable); AlreadyExists when out_dir exists.
absl::StatusOr<ExportSummary> ExportBundle(const ExportOptions& options);

// One result that does not reproduce (or a bundle problem). `subject` names what it is about:
// "bundle", "file PATH", "policy ID", "node ID", "attestation ID".
struct AuditProblem {
  std::string subject;
  std::string code;
  std::string detail;
};

struct VerifyOptions {
  std::string bundle_dir;
  const EkTrustStore* ek_trust = nullptr;
  EVP_PKEY* verifier_key = nullptr;  // the public half of the verifier's ES256 key
  // Trusted policy-signing keys (PEM): recorded golden-image policies must carry a signature
  // verifying under one of them. Empty: policy signatures are not checked (and the report says so).
  std::vector<std::string> policy_keys_pem;
};

struct VerifyReport {
  size_t files = 0;
  size_t policies = 0;
  size_t nodes = 0;
  size_t attestations = 0;
  size_t reproduced = 0;  // attestations whose stored result was recomputed identically
  std::vector<AuditProblem> problems;
  bool ok() const { return problems.empty(); }
};

// Problems are results (exit 1); a Status error means the bundle could not be read at all
// (not a directory, no manifest).
absl::StatusOr<VerifyReport> VerifyBundle(const VerifyOptions& options);

// Problem codes.
inline constexpr char kBundleSignatureInvalid[] = "BUNDLE_SIGNATURE_INVALID";
inline constexpr char kBundleManifestMalformed[] = "BUNDLE_MANIFEST_MALFORMED";
inline constexpr char kBundleFileModified[] = "BUNDLE_FILE_MODIFIED";
inline constexpr char kBundleFileMissing[] = "BUNDLE_FILE_MISSING";
inline constexpr char kBundleFileUnlisted[] = "BUNDLE_FILE_UNLISTED";
inline constexpr char kBundleIndexMalformed[] = "BUNDLE_INDEX_MALFORMED";
inline constexpr char kPolicyUnparsable[] = "POLICY_UNPARSABLE";
inline constexpr char kPolicyIdMismatch[] = "POLICY_ID_MISMATCH";
inline constexpr char kPolicyMissing[] = "POLICY_MISSING";
inline constexpr char kNodeEkUntrusted[] = "NODE_EK_UNTRUSTED";
inline constexpr char kNodeEkMismatch[] = "NODE_EK_MISMATCH";
inline constexpr char kNodeAkInvalid[] = "NODE_AK_INVALID";
inline constexpr char kNodeIdMismatch[] = "NODE_ID_MISMATCH";
inline constexpr char kNodeEnrollmentMismatch[] = "NODE_ENROLLMENT_MISMATCH";
inline constexpr char kVerdictNotReproduced[] = "VERDICT_NOT_REPRODUCED";
inline constexpr char kFindingsNotReproduced[] = "FINDINGS_NOT_REPRODUCED";
inline constexpr char kStagesNotReproduced[] = "STAGES_NOT_REPRODUCED";
inline constexpr char kClockNotReproduced[] = "CLOCK_NOT_REPRODUCED";
inline constexpr char kPolicyIdNotReproduced[] = "POLICY_ID_NOT_REPRODUCED";
inline constexpr char kClockBaselineUnverified[] = "CLOCK_BASELINE_UNVERIFIED";
inline constexpr char kNonceReused[] = "NONCE_REUSED";
inline constexpr char kNonceRecordInconsistent[] = "NONCE_RECORD_INCONSISTENT";
inline constexpr char kEarInvalid[] = "EAR_INVALID";
inline constexpr char kEarMismatch[] = "EAR_MISMATCH";
inline constexpr char kTokenWithoutAffirming[] = "TOKEN_WITHOUT_AFFIRMING";
inline constexpr char kNodeMissing[] = "NODE_MISSING";

}  // namespace bootgate::verifier::audit

#endif  // BOOTGATE_VERIFIER_AUDIT_AUDIT_H_
