// Signatures over a policy set's canonical bytes (loader.h CanonicalBytes): ECDSA P-256 with
// SHA-256 (DER signature) or Ed25519. Keys come in as PEM bytes (no file access here).
//
// Embedded: the PolicySignature documents of the set itself (they are not part of the signed
// bytes). Detached: a FILE.sig holding one PolicySignature document (loader.h
// ParseDetachedSignature). Either way, a set is accepted only if a signature verifies under one
// of the trusted public keys; there is no unsigned fallback here (the CLI's --allow-unsigned and
// the verifier's development flag are explicit decisions of the caller).
#ifndef BOOTGATE_POLICY_SIGNING_H_
#define BOOTGATE_POLICY_SIGNING_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/model.h"

namespace bootgate::policy {

// "sha256:<hex>" of the SubjectPublicKeyInfo DER of a PEM public or private key.
absl::StatusOr<std::string> KeyIdFromPem(absl::string_view pem);

// Signs the set's canonical bytes with a PEM private key (PKCS#8 or traditional EC; P-256 or
// Ed25519; other key types are InvalidArgument). The signature is NOT added to the set.
absl::StatusOr<PolicySignature> SignPolicySet(const PolicySet& set,
                                              absl::string_view private_key_pem);

// What verified: the key and algorithm of the signature that matched.
struct SignatureCheck {
  std::string key_id;
  std::string algorithm;
};

// Verifies `signatures` over the set's canonical bytes against the trusted PEM public keys
// (SubjectPublicKeyInfo). OK when at least one signature verifies under one trusted key.
// Errors: no signature (FailedPrecondition "policy is not signed"), no trusted key,
// malformed key, or no signature verifying (PermissionDenied naming the key ids tried).
absl::StatusOr<SignatureCheck> VerifyPolicySignatures(
    const PolicySet& set, const std::vector<PolicySignature>& signatures,
    const std::vector<std::string>& trusted_public_keys_pem);

// Embedded signatures of the set (set.signatures).
absl::StatusOr<SignatureCheck> VerifyPolicySet(
    const PolicySet& set, const std::vector<std::string>& trusted_public_keys_pem);

}  // namespace bootgate::policy

#endif  // BOOTGATE_POLICY_SIGNING_H_
