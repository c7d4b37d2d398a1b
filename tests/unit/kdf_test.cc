// KDFa / KDFe against published vectors and against OpenSSL's independent SP 800-108 (KBKDF) and
// SP 800-56C (SSKDF) implementations.
#include "attest/crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <tss2/tss2_tpm2_types.h>

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fixed_random.h"

namespace bootgate::testing {
namespace {

using attest::Bytes;
using attest::ByteSpan;
using attest::HexDecode;
using attest::HexEncode;
using attest::KdfA;
using attest::KdfE;
using ::testing::HasSubstr;

Bytes Hex(const std::string& hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes();
}

// The TPM reference implementation's KDFa self-test vectors (TCG TPM 2.0 reference code,
// KdfTestData.h as shipped in libtpms): key, label "KDFSELFTESTLABEL", contextU, contextV, 160
// bits, one expected output per hash.
constexpr char kKdfaKey[] = "271fa08bbdc5060ec3dfa928ff9b73123a12da0c";
constexpr char kKdfaContextU[] = "ce244f395dca7391";
constexpr char kKdfaContextV[] = "da504031ddf12e83";

struct KdfaVector {
  uint16_t alg;
  const char* expected;
};

class KdfaReferenceTest : public ::testing::TestWithParam<KdfaVector> {};

TEST_P(KdfaReferenceTest, MatchesTpmSelfTestVector) {
  const KdfaVector& v = GetParam();
  auto out =
      KdfA(v.alg, Hex(kKdfaKey), "KDFSELFTESTLABEL", Hex(kKdfaContextU), Hex(kKdfaContextV), 160);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(HexEncode(*out), v.expected);
}

TEST_P(KdfaReferenceTest, LabelWithExplicitNulIsNotDoubled) {
  const KdfaVector& v = GetParam();
  auto out = KdfA(v.alg, Hex(kKdfaKey), absl::string_view("KDFSELFTESTLABEL\0", 17),
                  Hex(kKdfaContextU), Hex(kKdfaContextV), 160);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(HexEncode(*out), v.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Tpm, KdfaReferenceTest,
    ::testing::Values(KdfaVector{TPM2_ALG_SHA1, "55b5a7184aa07423c47dae766c26a2377d7cf851"},
                      KdfaVector{TPM2_ALG_SHA256, "bb0259e1c8ba607e6a2cd704b69a902e9ade84c4"},
                      KdfaVector{TPM2_ALG_SHA384, "1dce70c9113eb2dba47bd9cfc72bf46f45b09312"},
                      KdfaVector{TPM2_ALG_SHA512, "8be2c1b85b78569b9fa759f5857c56d684810fd3"}));

// KDFe vectors from github.com/chrisfenner/tpm-test-vectors (vectors/kdfe.json, generated with
// go-tpm's KDFe): chosen to cover every hash, empty Z / partyUInfo / partyVInfo, outputs shorter
// than one block, several blocks, and bit counts that are not a multiple of 8 (masked first byte).
struct KdfeVector {
  const char* name;
  uint16_t alg;
  const char* z;
  const char* use;
  const char* party_u;
  const char* party_v;
  uint32_t bits;
  const char* expected;
};

class KdfeVectorTest : public ::testing::TestWithParam<KdfeVector> {};

TEST_P(KdfeVectorTest, MatchesPublishedVector) {
  const KdfeVector& v = GetParam();
  auto out = KdfE(v.alg, Hex(v.z), v.use, Hex(v.party_u), Hex(v.party_v), v.bits);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(HexEncode(*out), v.expected) << v.name;
}

INSTANTIATE_TEST_SUITE_P(
    GoTpm, KdfeVectorTest,
    ::testing::Values(
        KdfeVector{"04_SHA1_253", TPM2_ALG_SHA1, "", "STORAGE", "", "c0227aff", 253,
                   "0f10d821af67e1ec776b390f3b4572bb433efd2b94fa7842d879d24d825ed2f9"},
        KdfeVector{"06_SHA1_32", TPM2_ALG_SHA1, "9b050039c8e5ca60deeb978f2faf573c94af61",
                   "IDENTITY", "ff1a1852db7b60a5c963f17eb306f3a905d100ae",
                   "0047ee45771a256d58b091b6d6", 32, "94c3c160"},
        KdfeVector{"22_SHA1_7", TPM2_ALG_SHA1, "356f9d00d61b54cf010580b1755d1975905c00", "CFB",
                   "006c5c2bcdd650f6c836dba98c4734", "8849bd3d05d69f", 7, "58"},
        KdfeVector{"31_SHA256_13", TPM2_ALG_SHA256, "739245447ead0deea5f834f06e043159c6ff",
                   "IDENTITY", "ad503e36c2314ec9afa2f4047bf19ce7fbc6fe2def32c58459c0fc828c00",
                   "ba6dd80b788034161743c95e8ef7a9486fbd69d3ff", 13, "0956"},
        KdfeVector{"37_SHA256_431", TPM2_ALG_SHA256,
                   "e89fc5304cf46c1cf7d1f5de5d3d1ec7eddc80b0386700", "SECRET",
                   "e602bc959fd97af0405649e0c80e02e9dd64e9d79e698292b043c79dfa9f9261", "", 431,
                   "3a8e893b8b76cdddbf87845b2567fa7152577829f6a55b73cb82d4a1f0342a051d6e50e20ec2f9"
                   "6bc4de38d7d0d79a9caf99e1d574b9"},
        KdfeVector{"44_SHA256_659", TPM2_ALG_SHA256, "ffe8361b9fdfe01398db23a1b2a1bc35ffe737",
                   "IDENTITY", "", "ff26e2f76cb6fbf1", 659,
                   "007d2cb3d906980fbce09d1bfe42b8d3c827c2d9fed082e0344e40c80f08c0a9eb629068d66164"
                   "fbf03b3e18124f8ae3400647cf06f6c43be3740a49ec96c25f9115cff6625822878a451c601fa6"
                   "bf749d2321"},
        KdfeVector{"53_SHA384_1", TPM2_ALG_SHA384,
                   "ffffa7ff65fe5f1357df95d3a7ec5a6c5519963b8a6086c89f289b80c039e8eaabf136", "ATH",
                   "b3c402f9bf969dae90efefb297f4852f7edb",
                   "ffca1be2402405eab6741da32ec8d6348934c64c3bbeed44b4", 1, "00"},
        KdfeVector{"58_SHA384_232", TPM2_ALG_SHA384,
                   "ff1f419e5f1dbb2077d6a82e82a928a56bedf5c8c223a10c6646ca5f0db99f91f0", "XOR",
                   "6dcf4b9a62a0438b83c7e27d18ecd75075341ae7bd1d3a2615ff09885363abcef324eb1396816c"
                   "3bb196",
                   "004352c8abc6f41bc955e09f9eeab29e83b3451f", 232,
                   "af807b1ff3cf665c976579e765cb93d6c1f35159364fb8e5b6f1742015"},
        KdfeVector{"82_SHA512_362", TPM2_ALG_SHA512, "1e96a2a831f31911fe66cc6bb1ee75ff", "IDENTITY",
                   "d9c8bc5935890f3a1b87400b2fbe74e00f86f510f76c5cb81a882100d08aae8d633631ad39bc4c"
                   "f8762c01ea15",
                   "ffd57df8b2b81776a91500da46767c", 362,
                   "0293d05682dfa66e5f6244c66336a5f52f707e897bfa5663ca0c0b306086d58df95613da2b1508"
                   "da362e2a05ce73"},
        KdfeVector{"86_SHA512_448", TPM2_ALG_SHA512, "0048", "INTEGRITY", "ffd90bea6538b482",
                   "16081c5d5baebb66c438df9589183bff", 448,
                   "d352ed321afa378d1c313eaa8ee136eb09e960d01a09bebcecfe448a43b83bbeaf1c0fe35a862f"
                   "6ea8fc7376c1076d464be54dd89e6c2168"}),
    [](const ::testing::TestParamInfo<KdfeVector>& param_info) {
      return "v" + std::string(param_info.param.name);
    });

// --- Cross-checks against OpenSSL's KDF implementations (byte-aligned outputs only: both
// OpenSSL KDFs work in whole bytes and KBKDF puts the byte length, not the requested bits, in L).

struct EvpKdfDeleter {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct EvpKdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};

Bytes OpenSslKdf(const char* kdf_name, std::vector<OSSL_PARAM> params, size_t out_len) {
  std::unique_ptr<EVP_KDF, EvpKdfDeleter> kdf(EVP_KDF_fetch(nullptr, kdf_name, nullptr));
  std::unique_ptr<EVP_KDF_CTX, EvpKdfCtxDeleter> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  params.push_back(OSSL_PARAM_construct_end());
  Bytes out(out_len);
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    ADD_FAILURE() << kdf_name << " derive failed";
    return {};
  }
  return out;
}

OSSL_PARAM OctetParam(const char* key, Bytes& b) {
  return OSSL_PARAM_construct_octet_string(key, b.data(), b.size());
}

const char* DigestName(uint16_t alg) {
  switch (alg) {
    case TPM2_ALG_SHA1:
      return "SHA1";
    case TPM2_ALG_SHA256:
      return "SHA256";
    case TPM2_ALG_SHA384:
      return "SHA384";
    default:
      return "SHA512";
  }
}

class KdfCrossCheckTest : public ::testing::TestWithParam<uint16_t> {};

TEST_P(KdfCrossCheckTest, KdfaEqualsOpenSslKbkdfCounterMode) {
  const uint16_t alg = GetParam();
  FixedRandom rng(alg);
  for (uint32_t bytes : {1u, 16u, 20u, 32u, 48u, 64u, 65u, 100u, 257u}) {
    Bytes key(bytes % 2 == 0 ? 32 : 20), u(bytes % 7), v(bytes % 5 + 1);
    ASSERT_TRUE(rng.Fill(absl::MakeSpan(key)).ok());
    ASSERT_TRUE(rng.Fill(absl::MakeSpan(u)).ok());
    ASSERT_TRUE(rng.Fill(absl::MakeSpan(v)).ok());
    auto ours = KdfA(alg, key, "STORAGE", u, v, bytes * 8);
    ASSERT_TRUE(ours.ok()) << ours.status();

    Bytes label = attest::ToBytes("STORAGE");  // KBKDF adds the 0x00 separator itself.
    Bytes context = u;
    context.insert(context.end(), v.begin(), v.end());
    std::string digest = DigestName(alg);
    std::string mode = "counter", mac = "HMAC";
    Bytes theirs =
        OpenSslKdf("KBKDF",
                   {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, mode.data(), 0),
                    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, mac.data(), 0),
                    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
                    OctetParam(OSSL_KDF_PARAM_KEY, key), OctetParam(OSSL_KDF_PARAM_SALT, label),
                    OctetParam(OSSL_KDF_PARAM_INFO, context)},
                   bytes);
    EXPECT_EQ(HexEncode(*ours), HexEncode(theirs)) << bytes << " bytes";
  }
}

TEST_P(KdfCrossCheckTest, KdfeEqualsOpenSslSingleStepKdf) {
  const uint16_t alg = GetParam();
  FixedRandom rng(alg + 1000);
  for (uint32_t bytes : {1u, 20u, 32u, 48u, 64u, 66u, 129u}) {
    Bytes z(bytes % 3 == 0 ? 48 : 32), u(32), v(bytes % 4 + 30);
    ASSERT_TRUE(rng.Fill(absl::MakeSpan(z)).ok());
    ASSERT_TRUE(rng.Fill(absl::MakeSpan(u)).ok());
    ASSERT_TRUE(rng.Fill(absl::MakeSpan(v)).ok());
    auto ours = KdfE(alg, z, "IDENTITY", u, v, bytes * 8);
    ASSERT_TRUE(ours.ok()) << ours.status();

    Bytes info = attest::ToBytes(absl::string_view("IDENTITY\0", 9));
    info.insert(info.end(), u.begin(), u.end());
    info.insert(info.end(), v.begin(), v.end());
    std::string digest = DigestName(alg);
    Bytes theirs =
        OpenSslKdf("SSKDF",
                   {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
                    OctetParam(OSSL_KDF_PARAM_KEY, z), OctetParam(OSSL_KDF_PARAM_INFO, info)},
                   bytes);
    EXPECT_EQ(HexEncode(*ours), HexEncode(theirs)) << bytes << " bytes";
  }
}

INSTANTIATE_TEST_SUITE_P(Hashes, KdfCrossCheckTest,
                         ::testing::Values(TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
                                           TPM2_ALG_SHA512));

TEST(KdfTest, NonByteAlignedOutputKeepsOnlyTheLowBitsOfTheFirstByte) {
  Bytes key(32, 0x5a);
  auto full = KdfA(TPM2_ALG_SHA256, key, "X", {}, {}, 16);
  auto part = KdfA(TPM2_ALG_SHA256, key, "X", {}, {}, 12);
  ASSERT_TRUE(full.ok() && part.ok());
  ASSERT_EQ(part->size(), 2u);
  // `bits` is hashed into every block, so the values differ; only the mask is checked here.
  EXPECT_EQ((*part)[0] & 0xf0, 0);
}

TEST(KdfTest, EmptyKeyIsAccepted) {
  auto out = KdfA(TPM2_ALG_SHA256, {}, "INTEGRITY", {}, {}, 256);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->size(), 32u);
}

TEST(KdfTest, RejectsUnknownHash) {
  auto a = KdfA(0x0099, Bytes(16), "L", {}, {}, 128);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("KDFa: unsupported hash algorithm alg_0x0099"));
  auto e = KdfE(0x0099, Bytes(16), "L", {}, {}, 128);
  EXPECT_THAT(e.status().message(), HasSubstr("KDFe: unsupported hash algorithm"));
}

TEST(KdfTest, RejectsZeroAndHugeBitCounts) {
  EXPECT_THAT(KdfA(TPM2_ALG_SHA256, Bytes(16), "L", {}, {}, 0).status().message(),
              HasSubstr("requested 0 bits"));
  EXPECT_THAT(
      KdfE(TPM2_ALG_SHA256, Bytes(16), "L", {}, {}, attest::kMaxKdfBits + 1).status().message(),
      HasSubstr("requested 65537 bits"));
  EXPECT_TRUE(KdfE(TPM2_ALG_SHA256, Bytes(16), "L", {}, {}, attest::kMaxKdfBits).ok());
}

}  // namespace
}  // namespace bootgate::testing
