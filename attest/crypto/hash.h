// TPM hash algorithms: identifiers, names, sizes, and hashing through OpenSSL's EVP API.
#ifndef BOOTGATE_ATTEST_CRYPTO_HASH_H_
#define BOOTGATE_ATTEST_CRYPTO_HASH_H_

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// TPM_ALG_ID values (TPM 2.0 Part 2, table 9) for the hashes found in PCR banks.
enum class HashAlg : uint16_t {
  kSha1 = 0x0004,
  kSha256 = 0x000B,
  kSha384 = 0x000C,
  kSha512 = 0x000D,
  kSm3_256 = 0x0012,
  kSha3_256 = 0x0027,
  kSha3_384 = 0x0028,
  kSha3_512 = 0x0029,
};

// Digest size in bytes of a known TPM hash algorithm, or nullopt for an unknown id.
std::optional<size_t> KnownDigestSize(uint16_t alg_id);
// Bank name used in JSON and on the command line: sha1, sha256, sha384, sha512, sm3_256,
// sha3_256...; unknown ids render as "alg_0x1234".
std::string HashAlgName(uint16_t alg_id);
// Inverse of HashAlgName for known algorithms (also accepts "sm3" for sm3_256).
absl::StatusOr<uint16_t> HashAlgFromName(absl::string_view name);
// OpenSSL digest for an algorithm, or nullptr when this OpenSSL cannot compute it.
const EVP_MD* EvpMdForAlg(uint16_t alg_id);

// One-shot digest. Error for algorithms OpenSSL cannot compute.
absl::StatusOr<Bytes> Hash(uint16_t alg_id, ByteSpan data);

// Incremental hashing with a reusable context (hot paths such as replay).
class Hasher {
 public:
  // `md` must be non-null (from EvpMdForAlg).
  explicit Hasher(const EVP_MD* md);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(ByteSpan data);
  // Writes the digest to `out` (resized) and resets the context for reuse.
  void Final(Bytes* out);
  size_t size() const { return size_; }

 private:
  const EVP_MD* md_;
  EVP_MD_CTX* ctx_;
  size_t size_;
};

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_CRYPTO_HASH_H_
