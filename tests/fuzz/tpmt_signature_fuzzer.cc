// Fuzzes TPMT_SIGNATURE decoding and VerifyTpmSignature's scheme pinning, ECDSA (r, s) -> DER
// conversion and RSA/ECDSA verification, against four fixed keys: the COS/GCE AK (pins
// RSASSA-SHA256), the same key with scheme TPM_ALG_NULL, and an ECC P-256 key (the curve's
// generator as public point) with ECDSA-SHA256 pinned and with TPM_ALG_NULL. The message is the
// COS bundle's SHA-256 quote, so its real signature (a seed) verifies.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "attest/tpm/attest_structs.h"
#include "attest/tpm/public_area.h"
#include "attest/tpm/tpm_signature.h"

namespace {

using bootgate::attest::Bytes;
using bootgate::attest::ByteSpan;
using bootgate::attest::EvpPkeyPtr;

constexpr char kCosAk[] =
    "01180001000b00050072000000100014000b0800000000000100cbad6f089c698224431f4a08869b56bb6996"
    "5d554959fe600fae2b318de9c1744d18122d45551bbf38080809a274045d7c1e34f92278b35903420318308c"
    "e98848a4b64f398de838fb7b67d818f56eb6265802e42a0a1b23a4adee1b025e74f6bd1ae3629df6123eff94"
    "eb208a8945c93539e11393626812d4f5f7198b7aa168a215d88861868cef9dad68f9bf59e17159703cdba1c4"
    "90cd729734489e5f05d0e79aebef43653e025d56f26f12c67556450d8a10cacf529ac9f1a6c71f4d33b359fa"
    "5477005763e00db3d10a8a783e015534ba02415e5c4904446911a7e7bb9d80153f016a42d733b11f5c0220fd"
    "39324405d8c3a35d99b1240e874d58e63d67";
constexpr char kCosQuote[] =
    "ff54434780180022000bde01fe4b4ade2f8b7ae19b8a8897e0cb77ae417731d8ce38697ec4f6c095030a0002"
    "900900000001e9e66c000000000a0000000001201605110016280000000001000b03ffffff0020048937cbaa"
    "f28af85a5b0c0997e725097a0d94e05fcda104a82ee3fb6b2e1808";
// NIST P-256 generator G: a valid public point with no private key anyone should care about.
constexpr char kP256Gx[] = "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
constexpr char kP256Gy[] = "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

struct Key {
  TPMT_PUBLIC pub;
  EvpPkeyPtr pkey;
};

struct Fixture {
  std::vector<Key> keys;
  Bytes message;
};

Key MakeKey(const TPMT_PUBLIC& pub) {
  auto pkey = bootgate::attest::PublicKeyFromPublicArea(pub);
  if (!pkey.ok()) std::abort();
  return Key{pub, *std::move(pkey)};
}

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    auto ak = bootgate::attest::ParsePublicArea(*bootgate::attest::HexDecode(kCosAk));
    if (!ak.ok()) std::abort();
    f->keys.push_back(MakeKey(*ak));
    TPMT_PUBLIC null_scheme = *ak;
    null_scheme.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    f->keys.push_back(MakeKey(null_scheme));
    TPMT_PUBLIC ecc = {};
    ecc.type = TPM2_ALG_ECC;
    ecc.nameAlg = TPM2_ALG_SHA256;
    ecc.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    ecc.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    ecc.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    ecc.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    ecc.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    const Bytes gx = *bootgate::attest::HexDecode(kP256Gx);
    const Bytes gy = *bootgate::attest::HexDecode(kP256Gy);
    ecc.unique.ecc.x.size = 32;
    ecc.unique.ecc.y.size = 32;
    std::copy(gx.begin(), gx.end(), ecc.unique.ecc.x.buffer);
    std::copy(gy.begin(), gy.end(), ecc.unique.ecc.y.buffer);
    f->keys.push_back(MakeKey(ecc));
    ecc.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    f->keys.push_back(MakeKey(ecc));
    f->message = *bootgate::attest::HexDecode(kCosQuote);
    return f;
  }();
  return *fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootgate::attest;  // NOLINT(build/namespaces): fuzz entry point
  const ByteSpan input(data, size);
  auto sig = ParseTpmtSignature(input);
  if (sig.ok()) {
    auto bytes = MarshalTpmtSignature(*sig);
    if (!bytes.ok() || *bytes != Bytes(data, data + size)) std::abort();
  }
  const Fixture& f = GetFixture();
  for (const Key& key : f.keys) {
    for (bool allow_sha1 : {false, true}) {
      const SignatureCheck check =
          VerifyTpmSignature(key.pub, key.pkey.get(), input, f.message, allow_sha1);
      // Only a decodable signature in a scheme that fits the key can ever be valid.
      if (check.ok() && (!sig.ok() || !SchemeFitsKey(key.pub.type, sig->sigAlg))) std::abort();
    }
  }
  return 0;
}
