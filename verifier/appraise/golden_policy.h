// Golden-image policies (policy/, docs/policy.md) behind the verifier's Policy interface.
//
// A policy directory holds one or more policy files; each file must carry a valid signature from
// one of the trusted keys (detached FILE.sig or an embedded PolicySignature document) over its
// canonical bytes, unless the verifier was started with --allow-unsigned-policies. A present but
// invalid signature is refused even then: it means the file was changed after signing. The files
// are merged into one set that must validate (exactly one Policy, every referenced image and
// platform present). The recorded policy id is the set's version id, so an attestation record
// names exactly the documents it was judged by.
#ifndef BOOTGATE_VERIFIER_APPRAISE_GOLDEN_POLICY_H_
#define BOOTGATE_VERIFIER_APPRAISE_GOLDEN_POLICY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/model.h"
#include "verifier/appraise/policy.h"
#include "verifier/appraise/policy_files.h"

namespace bootgate::verifier {

// content(): {"format": kPolicyFilesFormat, "files": [{"name", "content", "signature"}]}.
inline constexpr char kPolicyFilesFormat[] = "bootgate-policy-files/v1";

struct GoldenPolicyOptions {
  std::string path;                           // the directory (for listings and errors)
  std::vector<std::string> trusted_keys_pem;  // public keys (PEM) whose signatures count
  bool allow_unsigned = false;                // development only
  // Audits without a policy key: signatures are not looked at (the auditor is told so).
  bool skip_signature_check = false;
};

class GoldenPolicy final : public Policy {
 public:
  static absl::StatusOr<std::unique_ptr<GoldenPolicy>> Build(const std::vector<PolicyFile>& files,
                                                             const GoldenPolicyOptions& options);
  // From content() as the store records it (audit re-evaluation): the files with their detached
  // signatures, re-verified under `options` (the auditor's policy keys). The id is recomputed from
  // the documents, so a caller that compares it with the recorded id knows the content is the one
  // the decisions used.
  static absl::StatusOr<std::unique_ptr<GoldenPolicy>> FromContent(
      absl::string_view content, const GoldenPolicyOptions& options);

  const std::string& id() const override { return id_; }
  const char* kind() const override { return "golden-images"; }
  const std::string& content() const override { return content_; }
  const std::string& path() const override { return path_; }
  std::vector<std::string> signed_by() const override { return signed_by_; }
  attest::PcrSet RequiredPcrs() const override;
  PolicyOutcome Evaluate(const attest::PcrValues& quoted, const attest::VerifiedEventLog& events,
                         const PolicyContext& context) const override;

  const policy::PolicySet& set() const { return set_; }

 private:
  GoldenPolicy() = default;
  std::string id_;
  std::string content_;
  std::string path_;
  std::vector<std::string> signed_by_;
  policy::PolicySet set_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_APPRAISE_GOLDEN_POLICY_H_
