// Fuzz target for the policy loader: YAML/JSON parsing, the strict schema, set validation,
// canonical serialization, YAML output, signature verification and the detached-signature
// parser. Policy files come from operators and the admin API; none of this may crash or hang,
// and whatever loads must serialize to something that loads again with the same canonical bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "policy/loader.h"
#include "policy/signing.h"

namespace bootgate::policy {
namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// The Ed25519 key that signed the seed learned-signed.yaml (and detached.sig), so both the
// success and the failure paths of verification run.
constexpr char kPublicKey[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA9cwRXQ89MQyVs+dHdCyZvJlvKLgBQcdp/HRi2ZmExOQ=\n"
    "-----END PUBLIC KEY-----\n";

}  // namespace
}  // namespace bootgate::policy

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootgate::policy;  // NOLINT(build/namespaces)
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ParseDetachedSignature(text, "fuzz.sig");
  absl::StatusOr<PolicySet> set = ParsePolicyDocuments(text, "fuzz.yaml");
  if (!set.ok()) return 0;
  (void)ValidatePolicySet(*set);
  const std::string canonical = CanonicalBytes(*set);
  (void)PolicyVersionId(*set);
  (void)VerifyPolicySet(*set, {kPublicKey});
  // What loads, round-trips.
  absl::StatusOr<PolicySet> again = ParsePolicyDocuments(SerializeYaml(*set), "roundtrip.yaml");
  Check(again.ok());
  Check(CanonicalBytes(*again) == canonical);
  return 0;
}
