// IETF RATS EAR (EAT Attestation Results, draft-fv-rats-ear) as a JWT signed with ES256, so any
// relying party can check a bootgate verdict with the verifier's public key alone.
//
// Claims: eat_profile "tag:github.com,2023:veraison/ear", iat, eat_nonce (base64url of the quote
// nonce), ear.verifier-id {developer, build}, and one submod per node:
//   submods.<node_id> = { ear.status: "affirming" | "contraindicated",
//                         ear.appraisal-policy-id, bootgate.attestation-id, bootgate.findings,
//                         bootgate.node {ak_name, ek_public_sha256, tpm_manufacturer, ...} }
#ifndef BOOTGATE_VERIFIER_TOKENS_EAR_H_
#define BOOTGATE_VERIFIER_TOKENS_EAR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attest/crypto/ossl.h"
#include "attest/util/bytes.h"
#include "nlohmann/json.hpp"
#include "verifier/codes.h"

namespace bootgate::verifier {

inline constexpr char kEarProfile[] = "tag:github.com,2023:veraison/ear";

struct EarInput {
  std::string verifier_id;
  absl::Time issued_at;
  attest::Bytes nonce;
  std::string node_id;
  std::string status;  // kVerdictAffirming / kVerdictContraindicated
  std::string policy_id;
  std::string attestation_id;
  Findings findings;
  attest::Bytes ak_name;
  std::string ek_public_sha256;
  std::string tpm_manufacturer;
  bool new_boot = false;
};

nlohmann::json BuildEarClaims(const EarInput& input);

class EarSigner {
 public:
  // An EC P-256 private key in PEM (what `bootgate-verifier init` writes).
  static absl::StatusOr<std::unique_ptr<EarSigner>> FromPem(absl::string_view pem);
  static absl::StatusOr<std::unique_ptr<EarSigner>> FromPemFile(const std::string& path);

  // header.payload.signature, header {"alg":"ES256","typ":"JWT","kid":...}.
  absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const;
  const EVP_PKEY* key() const { return key_.get(); }
  const std::string& key_id() const { return kid_; }

 private:
  EarSigner(attest::EvpPkeyPtr key, std::string kid) : key_(std::move(key)), kid_(std::move(kid)) {}
  attest::EvpPkeyPtr key_;
  std::string kid_;  // first 16 hex digits of SHA-256(SubjectPublicKeyInfo DER)
};

// Checks an ES256 JWT against `public_key` and returns its claims (for relying parties and the
// CLI). InvalidArgument for a malformed token, PermissionDenied for a bad signature.
absl::StatusOr<nlohmann::json> VerifyEs256Jwt(absl::string_view jwt, EVP_PKEY* public_key);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_TOKENS_EAR_H_
