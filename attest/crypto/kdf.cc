#include "attest/crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"

namespace bootgate::attest {
namespace {

std::array<uint8_t, 4> U32Be(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// The label as hashed: with exactly one terminating NUL (an empty label is a lone NUL).
Bytes LabelWithNul(absl::string_view label) {
  Bytes out(label.begin(), label.end());
  if (out.empty() || out.back() != 0) out.push_back(0);
  return out;
}

absl::StatusOr<const EVP_MD*> KdfDigest(const char* kdf, uint16_t hash_alg, uint32_t bits) {
  const EVP_MD* md = EvpMdForAlg(hash_alg);
  if (md == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(kdf, ": unsupported hash algorithm ", HashAlgName(hash_alg)));
  }
  if (bits == 0 || bits > kMaxKdfBits) {
    return absl::InvalidArgumentError(
        absl::StrCat(kdf, ": requested ", bits, " bits, want 1..", kMaxKdfBits));
  }
  return md;
}

// Truncates the concatenated blocks to the requested size and clears the excess high-order bits.
void Finish(uint32_t bits, Bytes* stream) {
  stream->resize((bits + 7) / 8);
  if (bits % 8 != 0) (*stream)[0] &= static_cast<uint8_t>((1u << (bits % 8)) - 1);
}

}  // namespace

absl::StatusOr<Bytes> KdfA(uint16_t hash_alg, ByteSpan key, absl::string_view label,
                           ByteSpan context_u, ByteSpan context_v, uint32_t bits) {
  auto md = KdfDigest("KDFa", hash_alg, bits);
  if (!md.ok()) return md.status();
  const size_t block = static_cast<size_t>(EVP_MD_get_size(*md));

  EvpMacPtr mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (!mac) return OpenSslError("KDFa: EVP_MAC_fetch(HMAC)");
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return OpenSslError("KDFa: EVP_MAC_CTX_new");
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                             OSSL_MAC_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(*md)), 0),
                         OSSL_PARAM_construct_end()};
  // A zero-length HMAC key is legal; OpenSSL treats a null key pointer as "keep the old key".
  static constexpr uint8_t kEmptyKey[1] = {0};
  const uint8_t* key_data = key.empty() ? kEmptyKey : key.data();

  const Bytes label_nul = LabelWithNul(label);
  const std::array<uint8_t, 4> bits_be = U32Be(bits);
  Bytes stream;
  stream.reserve(((bits + 7) / 8 + block - 1) / block * block);
  Bytes mac_out(block);
  for (uint32_t counter = 1; stream.size() * 8 < bits; ++counter) {
    const std::array<uint8_t, 4> counter_be = U32Be(counter);
    size_t out_len = 0;
    if (EVP_MAC_init(ctx.get(), key_data, key.size(), params) != 1 ||
        EVP_MAC_update(ctx.get(), counter_be.data(), counter_be.size()) != 1 ||
        EVP_MAC_update(ctx.get(), label_nul.data(), label_nul.size()) != 1 ||
        EVP_MAC_update(ctx.get(), context_u.data(), context_u.size()) != 1 ||
        EVP_MAC_update(ctx.get(), context_v.data(), context_v.size()) != 1 ||
        EVP_MAC_update(ctx.get(), bits_be.data(), bits_be.size()) != 1 ||
        EVP_MAC_final(ctx.get(), mac_out.data(), &out_len, mac_out.size()) != 1 ||
        out_len != block) {
      return OpenSslError("KDFa: HMAC");
    }
    stream.insert(stream.end(), mac_out.begin(), mac_out.end());
  }
  Finish(bits, &stream);
  return stream;
}

absl::StatusOr<Bytes> KdfE(uint16_t hash_alg, ByteSpan z, absl::string_view label,
                           ByteSpan party_u_info, ByteSpan party_v_info, uint32_t bits) {
  auto md = KdfDigest("KDFe", hash_alg, bits);
  if (!md.ok()) return md.status();
  const Bytes label_nul = LabelWithNul(label);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("KDFe: EVP_MD_CTX_new");
  Bytes stream;
  Bytes digest(static_cast<size_t>(EVP_MD_get_size(*md)));
  for (uint32_t counter = 1; stream.size() * 8 < bits; ++counter) {
    const std::array<uint8_t, 4> counter_be = U32Be(counter);
    unsigned int len = 0;
    if (EVP_DigestInit_ex(ctx.get(), *md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), counter_be.data(), counter_be.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), z.data(), z.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), label_nul.data(), label_nul.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), party_u_info.data(), party_u_info.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), party_v_info.data(), party_v_info.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1 || len != digest.size()) {
      return OpenSslError("KDFe: digest");
    }
    stream.insert(stream.end(), digest.begin(), digest.end());
  }
  Finish(bits, &stream);
  return stream;
}

}  // namespace bootgate::attest
