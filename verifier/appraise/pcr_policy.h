// The PCR-value policy: expected values per bank and PCR, several allowed values per PCR (e.g. two
// firmware versions during a rollout). YAML or JSON (JSON is read as YAML):
//
//   id: ovmf-2026-11            # required: [A-Za-z0-9._:-]{1,64}
//   description: anything       # optional
//   pcrs:                       # required, at least one PCR
//     sha256:
//       0: 2b1f...              # one allowed value
//       4: [9a3c..., 77d0...]   # or a list of them
//
// The recorded policy id is "<id>@sha256:<first 16 hex digits of SHA-256(file)>", so any edit of
// the file shows in the audit records.
#ifndef BOOTGATE_VERIFIER_APPRAISE_PCR_POLICY_H_
#define BOOTGATE_VERIFIER_APPRAISE_PCR_POLICY_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "verifier/appraise/policy.h"

namespace bootgate::verifier {

class PcrValuePolicy final : public Policy {
 public:
  static absl::StatusOr<std::unique_ptr<PcrValuePolicy>> Parse(absl::string_view text,
                                                               const std::string& path);
  static absl::StatusOr<std::unique_ptr<PcrValuePolicy>> LoadFile(const std::string& path);

  const std::string& id() const override { return id_; }
  const char* kind() const override { return "pcr-values"; }
  const std::string& content() const override { return content_; }
  const std::string& path() const override { return path_; }
  attest::PcrSet RequiredPcrs() const override;
  PolicyOutcome Evaluate(const attest::PcrValues& quoted, const attest::VerifiedEventLog& events,
                         const PolicyContext& context) const override;

 private:
  PcrValuePolicy() = default;
  std::string id_;
  std::string content_;
  std::string path_;
  std::map<std::pair<uint16_t, uint32_t>, std::vector<attest::Bytes>> allowed_;
};

// A policy file allowing exactly `values` (e.g. a known-good replay restricted to a selection).
std::string PcrPolicyYaml(const std::string& id, const attest::PcrValues& values);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_APPRAISE_PCR_POLICY_H_
