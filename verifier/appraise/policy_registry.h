// Builds a Policy from what the store records about it (Policy::kind() + Policy::content()), so
// that `bootgate audit verify` re-runs every decision with the policy that made it. A new policy
// kind (golden images) registers its parser here; nothing else in the audit path knows the kinds.
#ifndef BOOTGATE_VERIFIER_APPRAISE_POLICY_REGISTRY_H_
#define BOOTGATE_VERIFIER_APPRAISE_POLICY_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "verifier/appraise/policy.h"

namespace bootgate::verifier {

// InvalidArgument for an unknown kind (naming the known ones) or content that does not parse.
// `policy_keys_pem`: trusted policy-signing keys; signed kinds (golden images) must verify under
// one of them. Empty: signatures are not checked (the caller says so).
absl::StatusOr<std::unique_ptr<Policy>> ParsePolicy(
    absl::string_view kind, absl::string_view content,
    const std::vector<std::string>& policy_keys_pem = {});
std::vector<std::string> KnownPolicyKinds();

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_APPRAISE_POLICY_REGISTRY_H_
