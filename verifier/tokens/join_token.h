// kubeadm bootstrap tokens and their TPM-bound wrapping.
//
// Token: `[a-z0-9]{6}.[a-z0-9]{16}` (kubeadm's format: token id . token secret), characters drawn
// uniformly from the RandomSource by rejection sampling.
//
// Wrapping (only the attested TPM can unwrap):
//   key        = 32 fresh random bytes
//   credential = TPM2_MakeCredential(EK public, key, AK name)       (software, attest/)
//   ciphertext, tag = AES-256-GCM(key, iv = 12 fresh random bytes, aad, token)
//   aad        = "bootgate-join-token-v1" || 0x00 || attestation_id || 0x00 || node_id
// The agent recovers `key` with TPM2_ActivateCredential (needs both the EK and the AK in the same
// TPM) and decrypts. The AAD binds the ciphertext to the attestation it was issued for.
#ifndef BOOTGATE_VERIFIER_TOKENS_JOIN_TOKEN_H_
#define BOOTGATE_VERIFIER_TOKENS_JOIN_TOKEN_H_

#include <tss2/tss2_tpm2_types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/crypto/random.h"
#include "attest/util/bytes.h"

namespace bootgate::verifier {

struct BootstrapToken {
  std::string id;      // 6 characters, public (recorded)
  std::string secret;  // 16 characters, never recorded

  std::string ToString() const { return id + "." + secret; }
};

absl::StatusOr<BootstrapToken> GenerateBootstrapToken(attest::RandomSource& rng);
// True for exactly `[a-z0-9]{6}\.[a-z0-9]{16}`.
bool IsBootstrapToken(absl::string_view token);

inline constexpr size_t kJoinTokenKeyBytes = 32;
inline constexpr size_t kGcmIvBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

struct WrappedJoinToken {
  attest::Bytes credential_blob;   // TPM2B_ID_OBJECT
  attest::Bytes encrypted_secret;  // TPM2B_ENCRYPTED_SECRET
  attest::Bytes ciphertext;
  attest::Bytes iv;
  attest::Bytes tag;
  attest::Bytes aad;
};

attest::Bytes JoinTokenAad(absl::string_view attestation_id, absl::string_view node_id);

// Randomness drawn in this order: the 32-byte key, MakeCredential's, then the IV.
absl::StatusOr<WrappedJoinToken> WrapJoinToken(const TPMT_PUBLIC& ek, attest::ByteSpan ak_name,
                                               absl::string_view token, attest::ByteSpan aad,
                                               attest::RandomSource& rng);

// The agent's second step, given the key ActivateCredential returned. PermissionDenied when the
// tag does not verify (wrong key, wrong AAD or tampered ciphertext).
absl::StatusOr<std::string> UnwrapJoinToken(attest::ByteSpan key, const WrappedJoinToken& wrapped);

// AES-256-GCM primitives (OpenSSL EVP).
absl::Status AesGcmEncrypt(attest::ByteSpan key, attest::ByteSpan iv, attest::ByteSpan aad,
                           attest::ByteSpan plaintext, attest::Bytes* ciphertext,
                           attest::Bytes* tag);
absl::StatusOr<attest::Bytes> AesGcmDecrypt(attest::ByteSpan key, attest::ByteSpan iv,
                                            attest::ByteSpan aad, attest::ByteSpan ciphertext,
                                            attest::ByteSpan tag);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_TOKENS_JOIN_TOKEN_H_
