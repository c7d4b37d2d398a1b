#include "attest/crypto/hash.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/ossl.h"

namespace bootgate::attest {

namespace {
struct AlgInfo {
  uint16_t id;
  const char* name;
  size_t size;
};
constexpr AlgInfo kAlgs[] = {
    {0x0004, "sha1", 20},      {0x000B, "sha256", 32},   {0x000C, "sha384", 48},
    {0x000D, "sha512", 64},    {0x0012, "sm3_256", 32},  {0x0027, "sha3_256", 32},
    {0x0028, "sha3_384", 48},  {0x0029, "sha3_512", 64},
};
const AlgInfo* Find(uint16_t id) {
  for (const auto& a : kAlgs) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

// OpenSSL's fetched digests, looked up once: EVP_get_digestbynid is cheap but the explicit list
// keeps "which algorithms we hash" in one place.
const EVP_MD* LookupMd(uint16_t id) {
  switch (id) {
    case 0x0004: return EVP_sha1();
    case 0x000B: return EVP_sha256();
    case 0x000C: return EVP_sha384();
    case 0x000D: return EVP_sha512();
    case 0x0012: return EVP_sm3();
    case 0x0027: return EVP_sha3_256();
    case 0x0028: return EVP_sha3_384();
    case 0x0029: return EVP_sha3_512();
    default: return nullptr;
  }
}
}  // namespace

std::optional<size_t> KnownDigestSize(uint16_t alg_id) {
  const AlgInfo* a = Find(alg_id);
  if (a == nullptr) return std::nullopt;
  return a->size;
}

std::string HashAlgName(uint16_t alg_id) {
  const AlgInfo* a = Find(alg_id);
  if (a != nullptr) return a->name;
  return absl::StrFormat("alg_0x%04x", alg_id);
}

absl::StatusOr<uint16_t> HashAlgFromName(absl::string_view name) {
  if (name == "sm3") return static_cast<uint16_t>(0x0012);
  for (const auto& a : kAlgs) {
    if (name == a.name) return a.id;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown hash algorithm '", name, "'"));
}

const EVP_MD* EvpMdForAlg(uint16_t alg_id) { return LookupMd(alg_id); }

absl::StatusOr<Bytes> Hash(uint16_t alg_id, ByteSpan data) {
  const EVP_MD* md = EvpMdForAlg(alg_id);
  if (md == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("hash algorithm ", HashAlgName(alg_id), " is not supported"));
  }
  Bytes out(EVP_MD_get_size(md));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1) {
    return OpenSslError(absl::StrCat("EVP_Digest(", HashAlgName(alg_id), ")"));
  }
  out.resize(len);
  return out;
}

Hasher::Hasher(const EVP_MD* md)
    : md_(md), ctx_(EVP_MD_CTX_new()), size_(static_cast<size_t>(EVP_MD_get_size(md))) {
  EVP_DigestInit_ex(ctx_, md_, nullptr);
}

Hasher::~Hasher() { EVP_MD_CTX_free(ctx_); }

void Hasher::Update(ByteSpan data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

void Hasher::Final(Bytes* out) {
  out->resize(size_);
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out->data(), &len);
  EVP_DigestInit_ex(ctx_, md_, nullptr);
}

}  // namespace bootgate::attest
