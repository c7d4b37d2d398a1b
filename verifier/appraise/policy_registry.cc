#include "verifier/appraise/policy_registry.h"

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "verifier/appraise/golden_policy.h"
#include "verifier/appraise/pcr_policy.h"

namespace bootgate::verifier {

namespace {

using Parser = std::function<absl::StatusOr<std::unique_ptr<Policy>>(
    absl::string_view, const std::vector<std::string>&)>;

const std::vector<std::pair<std::string, Parser>>& Registry() {
  static const auto* registry = new std::vector<std::pair<std::string, Parser>>{
      {"pcr-values",
       [](absl::string_view content,
          const std::vector<std::string>&) -> absl::StatusOr<std::unique_ptr<Policy>> {
         auto p = PcrValuePolicy::Parse(content, "");
         if (!p.ok()) return p.status();
         return std::unique_ptr<Policy>(*std::move(p));
       }},
      {"golden-images",
       [](absl::string_view content,
          const std::vector<std::string>& keys) -> absl::StatusOr<std::unique_ptr<Policy>> {
         GoldenPolicyOptions options;
         options.trusted_keys_pem = keys;
         options.skip_signature_check = keys.empty();
         auto p = GoldenPolicy::FromContent(content, options);
         if (!p.ok()) return p.status();
         return std::unique_ptr<Policy>(*std::move(p));
       }},
  };
  return *registry;
}

}  // namespace

std::vector<std::string> KnownPolicyKinds() {
  std::vector<std::string> out;
  for (const auto& [kind, parser] : Registry()) out.push_back(kind);
  return out;
}

absl::StatusOr<std::unique_ptr<Policy>> ParsePolicy(
    absl::string_view kind, absl::string_view content,
    const std::vector<std::string>& policy_keys_pem) {
  for (const auto& [name, parser] : Registry()) {
    if (name == kind) return parser(content, policy_keys_pem);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown policy kind '", kind, "' (known: ", absl::StrJoin(KnownPolicyKinds(), ", "), ")"));
}

}  // namespace bootgate::verifier
