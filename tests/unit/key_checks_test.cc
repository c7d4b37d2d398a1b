// AK and EK public-area checks on the real keys in tests/data and on single-field changes.
#include "attest/tpm/key_checks.h"

#include <string>
#include <vector>

#include "attest/tpm/public_area.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::ReadTestData;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TPMT_PUBLIC Load(const std::string& path) {
  auto pub = ParsePublicArea(ReadTestData(path));
  EXPECT_TRUE(pub.ok()) << path << ": " << pub.status();
  return pub.ok() ? *pub : TPMT_PUBLIC{};
}

const char* const kQemu[] = {"qemu-ovmf-directkernel", "qemu-ovmf-uki-systemdstub",
                             "qemu-ovmf-secureboot-shim-grub"};

TEST(AkChecks, QemuAndCosAksPassStrict) {
  std::vector<std::string> paths = {"bundles/go-tpm-tools__gce-cos-85-nonce9009/ak.tpm2b"};
  for (const char* q : kQemu) paths.push_back(std::string("qemu/") + q + "/ak.tpm2b");
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    const TPMT_PUBLIC ak = Load(path);
    EXPECT_EQ(ak.objectAttributes, 0x00050072u);
    const KeyCheckReport report = CheckAkPublic(ak);
    EXPECT_TRUE(report.ok()) << report.Summary();
    EXPECT_THAT(report.notes, IsEmpty());
    EXPECT_EQ(DescribeKey(ak), "RSA-2048");
  }
}

// The Windows AK (created under the SRK by Windows' PCP provider) has every attribute, noDA
// included, but pins RSASSA-SHA1: strict fails on exactly that; allow_sha1_signing passes.
TEST(AkChecks, WindowsAkNeedsSha1Signing) {
  const TPMT_PUBLIC ak = Load("bundles/go-attestation__windows_gcp_shielded_vm/ak.Public");
  EXPECT_EQ(DescribeObjectAttributes(ak.objectAttributes),
            "fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|restricted|sign");
  const KeyCheckReport strict = CheckAkPublic(ak);
  EXPECT_THAT(strict.failures,
              ElementsAre("signing scheme hash sha1 (need sha256, sha384 or sha512)"));
  AkCheckOptions options;
  options.allow_sha1_signing = true;
  const KeyCheckReport relaxed = CheckAkPublic(ak, options);
  EXPECT_TRUE(relaxed.ok()) << relaxed.Summary();
  EXPECT_THAT(relaxed.notes, ElementsAre(HasSubstr("allow_sha1_signing")));
}

TEST(AkChecks, EveryRequiredAttributeIsChecked) {
  const TPMT_PUBLIC good = Load("qemu/qemu-ovmf-directkernel/ak.tpm2b");
  const struct {
    TPMA_OBJECT bit;
    const char* message;
  } kRequired[] = {
      {TPMA_OBJECT_FIXEDTPM, "attribute fixedTPM is not set"},
      {TPMA_OBJECT_FIXEDPARENT, "attribute fixedParent is not set"},
      {TPMA_OBJECT_SENSITIVEDATAORIGIN, "attribute sensitiveDataOrigin is not set"},
      {TPMA_OBJECT_RESTRICTED, "attribute restricted is not set"},
      {TPMA_OBJECT_SIGN_ENCRYPT, "attribute sign is not set"},
  };
  for (const auto& c : kRequired) {
    TPMT_PUBLIC ak = good;
    ak.objectAttributes &= ~c.bit;
    EXPECT_THAT(CheckAkPublic(ak).failures, ElementsAre(c.message));
  }
  TPMT_PUBLIC decrypt = good;
  decrypt.objectAttributes |= TPMA_OBJECT_DECRYPT;
  EXPECT_THAT(CheckAkPublic(decrypt).failures, ElementsAre("attribute decrypt is set"));
}

TEST(AkChecks, ReportsEveryFailureNotOnlyTheFirst) {
  TPMT_PUBLIC ak = Load("qemu/qemu-ovmf-directkernel/ak.tpm2b");
  ak.objectAttributes = TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT;
  ak.nameAlg = TPM2_ALG_SHA1;
  const KeyCheckReport report = CheckAkPublic(ak);
  EXPECT_EQ(report.failures.size(), 6u) << report.Summary();
  EXPECT_THAT(report.Summary(), HasSubstr("nameAlg sha1 is weaker than sha256"));
}

TEST(AkChecks, KeySizeCurveAndSchemeRules) {
  const TPMT_PUBLIC good = Load("qemu/qemu-ovmf-directkernel/ak.tpm2b");

  TPMT_PUBLIC small = good;
  small.parameters.rsaDetail.keyBits = 1024;
  small.unique.rsa.size = 128;
  EXPECT_THAT(CheckAkPublic(small).failures, ElementsAre("RSA key of 1024 bits (need >= 2048)"));

  TPMT_PUBLIC lying = good;
  lying.unique.rsa.size = 128;  // a 1024-bit modulus under keyBits 2048
  EXPECT_THAT(CheckAkPublic(lying).failures,
              ElementsAre("RSA modulus is 1024 bits but keyBits says 2048"));

  TPMT_PUBLIC ecdsa_on_rsa = good;
  ecdsa_on_rsa.parameters.rsaDetail.scheme.scheme = TPM2_ALG_ECDSA;
  EXPECT_THAT(CheckAkPublic(ecdsa_on_rsa).Summary(),
              HasSubstr("signing scheme ecdsa is not supported for RSA-2048"));

  TPMT_PUBLIC sym = good;
  sym.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
  EXPECT_THAT(CheckAkPublic(sym).failures, ElementsAre("a signing key has a symmetric algorithm"));

  TPMT_PUBLIC ecc = {};
  ecc.type = TPM2_ALG_ECC;
  ecc.nameAlg = TPM2_ALG_SHA256;
  ecc.objectAttributes = good.objectAttributes;
  ecc.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  ecc.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  ecc.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  ecc.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  ecc.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  EXPECT_TRUE(CheckAkPublic(ecc).ok()) << CheckAkPublic(ecc).Summary();
  EXPECT_EQ(DescribeKey(ecc), "ECC-P256");
  ecc.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
  EXPECT_THAT(CheckAkPublic(ecc).failures,
              ElementsAre("ECC curve BN256 (need NIST P256, P384 or P521)"));
  ecc.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
  ecc.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDAA;
  EXPECT_THAT(CheckAkPublic(ecc).Summary(), HasSubstr("signing scheme ecdaa is not supported"));
  ecc.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  ecc.nameAlg = TPM2_ALG_SHA1;
  EXPECT_THAT(CheckAkPublic(ecc).failures, ElementsAre("nameAlg sha1 is weaker than sha256"));
  AkCheckOptions options;
  options.allow_sha1_name_alg = true;
  EXPECT_TRUE(CheckAkPublic(ecc, options).ok());
}

TEST(EkChecks, QemuRsaEksMatchTemplateL1) {
  for (const char* q : kQemu) {
    SCOPED_TRACE(q);
    const TPMT_PUBLIC ek = Load(std::string("qemu/") + q + "/ek.tpm2b");
    EXPECT_EQ(DescribeObjectAttributes(ek.objectAttributes),
              "fixedTPM|fixedParent|sensitiveDataOrigin|adminWithPolicy|restricted|decrypt");
    const KeyCheckReport report = CheckEkPublic(ek);
    EXPECT_TRUE(report.ok()) << report.Summary();
    EXPECT_THAT(report.notes, IsEmpty());  // default authPolicy
  }
}

TEST(EkChecks, AnAkIsNotAnEkAndViceVersa) {
  const TPMT_PUBLIC ak = Load("qemu/qemu-ovmf-directkernel/ak.tpm2b");
  const TPMT_PUBLIC ek = Load("qemu/qemu-ovmf-directkernel/ek.tpm2b");
  EXPECT_THAT(CheckEkPublic(ak).Summary(), HasSubstr("attribute decrypt is not set"));
  EXPECT_THAT(CheckEkPublic(ak).Summary(), HasSubstr("attribute sign is set"));
  EXPECT_THAT(CheckAkPublic(ek).Summary(), HasSubstr("attribute sign is not set"));
  EXPECT_THAT(CheckAkPublic(ek).Summary(), HasSubstr("attribute decrypt is set"));
}

TEST(EkChecks, TemplateRules) {
  const TPMT_PUBLIC good = Load("qemu/qemu-ovmf-directkernel/ek.tpm2b");

  TPMT_PUBLIC no_policy_admin = good;
  no_policy_admin.objectAttributes &= ~TPMA_OBJECT_ADMINWITHPOLICY;
  EXPECT_THAT(CheckEkPublic(no_policy_admin).failures,
              ElementsAre("attribute adminWithPolicy is not set"));

  TPMT_PUBLIC aes192 = good;
  aes192.parameters.rsaDetail.symmetric.keyBits.aes = 192;
  EXPECT_THAT(CheckEkPublic(aes192).Summary(), HasSubstr("AES-128-CFB or AES-256-CFB"));

  TPMT_PUBLIC ctr = good;
  ctr.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CTR;
  EXPECT_FALSE(CheckEkPublic(ctr).ok());

  TPMT_PUBLIC with_scheme = good;
  with_scheme.parameters.rsaDetail.scheme.scheme = TPM2_ALG_OAEP;
  EXPECT_THAT(CheckEkPublic(with_scheme).Summary(), HasSubstr("EK has scheme"));

  TPMT_PUBLIC rsa1024 = good;
  rsa1024.parameters.rsaDetail.keyBits = 1024;
  rsa1024.unique.rsa.size = 128;
  EXPECT_THAT(CheckEkPublic(rsa1024).Summary(), HasSubstr("RSA key of 1024 bits"));

  // A different authPolicy is reported, not failed.
  TPMT_PUBLIC other_policy = good;
  other_policy.authPolicy.buffer[0] ^= 0xff;
  const KeyCheckReport report = CheckEkPublic(other_policy);
  EXPECT_TRUE(report.ok());
  EXPECT_THAT(report.notes, ElementsAre(HasSubstr("differs from the default PolicySecret")));
}

// Template H-3 (high range, ECC P-384, SHA-384, AES-256-CFB, PolicyOR authPolicy).
TEST(EkChecks, HighRangeEccP384Template) {
  TPMT_PUBLIC ek = {};
  ek.type = TPM2_ALG_ECC;
  ek.nameAlg = TPM2_ALG_SHA384;
  ek.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                        TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                        TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  ek.authPolicy.size = 48;
  ek.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  ek.parameters.eccDetail.symmetric.keyBits.aes = 256;
  ek.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  ek.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  ek.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
  ek.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  const KeyCheckReport report = CheckEkPublic(ek);
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_THAT(report.notes, ElementsAre(HasSubstr("8bbf2266537c171c")));
  EXPECT_EQ(DescribeKey(ek), "ECC-P384");
}

TEST(EkChecks, DefaultAuthPolicyDigests) {
  EXPECT_EQ(HexEncode(*DefaultEkAuthPolicy(TPM2_ALG_SHA256)),
            "837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa");
  EXPECT_EQ(HexEncode(*DefaultEkAuthPolicy(TPM2_ALG_SHA384)),
            "8bbf2266537c171cb56e403c4dc1d4b64f432611dc386e6f532050c3278c930e"
            "143e8bb1133824ccb431053871c6db53");
  EXPECT_FALSE(DefaultEkAuthPolicy(0x0099).ok());
}

TEST(KeyDescriptions, AttributesAndUnknownBits) {
  EXPECT_EQ(DescribeObjectAttributes(0), "none");
  EXPECT_EQ(DescribeObjectAttributes(TPMA_OBJECT_RESTRICTED | 0x80000000u),
            "restricted|0x80000000");
}

}  // namespace
}  // namespace bootgate::attest
