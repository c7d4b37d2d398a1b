#include "verifier/tokens/join_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "attest/crypto/ossl.h"
#include "attest/tpm/make_credential.h"
#include "attest/util/status_macros.h"

namespace bootgate::verifier {

using attest::Bytes;
using attest::ByteSpan;

namespace {

constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr unsigned kAlphabetSize = 36;
// Largest multiple of 36 that fits a byte: bytes at or above it are redrawn (no modulo bias).
constexpr unsigned kRejectAt = 252;

absl::StatusOr<std::string> RandomChars(attest::RandomSource& rng, size_t n) {
  std::string out;
  uint8_t buf[32];
  while (out.size() < n) {
    RETURN_IF_ERROR(rng.Fill(absl::MakeSpan(buf)));
    for (uint8_t b : buf) {
      if (b >= kRejectAt || out.size() == n) continue;
      out.push_back(kAlphabet[b % kAlphabetSize]);
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return out;
}

bool IsTokenChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

absl::StatusOr<BootstrapToken> GenerateBootstrapToken(attest::RandomSource& rng) {
  BootstrapToken t;
  ASSIGN_OR_RETURN(t.id, RandomChars(rng, 6));
  ASSIGN_OR_RETURN(t.secret, RandomChars(rng, 16));
  return t;
}

bool IsBootstrapToken(absl::string_view token) {
  if (token.size() != 23 || token[6] != '.') return false;
  for (size_t i = 0; i < token.size(); ++i) {
    if (i != 6 && !IsTokenChar(token[i])) return false;
  }
  return true;
}

Bytes JoinTokenAad(absl::string_view attestation_id, absl::string_view node_id) {
  Bytes aad = attest::ToBytes("bootgate-join-token-v1");
  aad.push_back(0);
  aad.insert(aad.end(), attestation_id.begin(), attestation_id.end());
  aad.push_back(0);
  aad.insert(aad.end(), node_id.begin(), node_id.end());
  return aad;
}

absl::Status AesGcmEncrypt(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan plaintext,
                           Bytes* ciphertext, Bytes* tag) {
  if (key.size() != 32 || iv.size() != kGcmIvBytes) {
    return absl::InvalidArgumentError("AES-256-GCM: key must be 32 bytes and IV 12 bytes");
  }
  attest::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  ciphertext->assign(plaintext.size(), 0);
  tag->assign(kGcmTagBytes, 0);
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ciphertext->data(), &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ciphertext->data() + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                          tag->data()) != 1) {
    return attest::OpenSslError("AES-256-GCM encrypt");
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> AesGcmDecrypt(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan ciphertext,
                                    ByteSpan tag) {
  if (key.size() != 32 || iv.size() != kGcmIvBytes || tag.size() != kGcmTagBytes) {
    return absl::InvalidArgumentError(
        "AES-256-GCM: key must be 32 bytes, IV 12 bytes and tag 16 bytes");
  }
  attest::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes plain(ciphertext.size());
  int len = 0;
  Bytes tag_copy(tag.begin(), tag.end());  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), iv.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), plain.data(), &len, ciphertext.data(),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                          tag_copy.data()) != 1) {
    return attest::OpenSslError("AES-256-GCM decrypt");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &len) != 1) {
    attest::OpenSslError("AES-256-GCM tag").IgnoreError();  // drain the queue
    return absl::PermissionDeniedError("AES-256-GCM: authentication tag does not verify");
  }
  return plain;
}

absl::StatusOr<WrappedJoinToken> WrapJoinToken(const TPMT_PUBLIC& ek, ByteSpan ak_name,
                                               absl::string_view token, ByteSpan aad,
                                               attest::RandomSource& rng) {
  Bytes key(kJoinTokenKeyBytes);
  auto wipe = absl::MakeCleanup([&key] { OPENSSL_cleanse(key.data(), key.size()); });
  RETURN_IF_ERROR(rng.Fill(absl::MakeSpan(key)));
  ASSIGN_OR_RETURN(attest::MadeCredential made, attest::MakeCredential(ek, key, ak_name, rng));
  WrappedJoinToken out;
  out.credential_blob = std::move(made.credential_blob);
  out.encrypted_secret = std::move(made.secret);
  out.iv.resize(kGcmIvBytes);
  RETURN_IF_ERROR(rng.Fill(absl::MakeSpan(out.iv)));
  out.aad.assign(aad.begin(), aad.end());
  RETURN_IF_ERROR(
      AesGcmEncrypt(key, out.iv, aad, attest::AsSpan(token), &out.ciphertext, &out.tag));
  return out;
}

absl::StatusOr<std::string> UnwrapJoinToken(ByteSpan key, const WrappedJoinToken& wrapped) {
  ASSIGN_OR_RETURN(Bytes plain,
                   AesGcmDecrypt(key, wrapped.iv, wrapped.aad, wrapped.ciphertext, wrapped.tag));
  return std::string(plain.begin(), plain.end());
}

}  // namespace bootgate::verifier
