// Quote verification with software keys standing in for the TPM: covers the paths the real
// bundles cannot (ECDSA, RSAPSS with both salt lengths, AKs without a pinned scheme, weak keys)
// and structure checks that run only after a valid signature (bad magic, wrong type, truncated or
// trailing TPMS_ATTEST). TPMT_PUBLIC, TPMS_ATTEST and TPMT_SIGNATURE are built with tss2-mu.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include <string>

#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"
#include "attest/quote/quote_verifier.h"
#include "attest/tpm/attest_structs.h"
#include "attest/tpm/public_area.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bootgate::attest {
namespace {

using ::testing::HasSubstr;

constexpr TPMA_OBJECT kAkAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;

struct SoftAk {
  EvpPkeyPtr key;
  TPMT_PUBLIC pub = {};
  Bytes public_bytes;  // bare TPMT_PUBLIC
};

void Remarshal(SoftAk* ak) {
  auto bytes = MarshalPublicArea(ak->pub);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  ak->public_bytes = *bytes;
}

SoftAk MakeRsaAk(int bits, uint16_t scheme, uint16_t hash) {
  SoftAk ak;
  ak.key.reset(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  EXPECT_NE(ak.key, nullptr);
  BIGNUM* raw_n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(ak.key.get(), OSSL_PKEY_PARAM_RSA_N, &raw_n), 1);
  BignumPtr n(raw_n);
  ak.pub.type = TPM2_ALG_RSA;
  ak.pub.nameAlg = TPM2_ALG_SHA256;
  ak.pub.objectAttributes = kAkAttributes;
  TPMS_RSA_PARMS& rsa = ak.pub.parameters.rsaDetail;
  rsa.symmetric.algorithm = TPM2_ALG_NULL;
  rsa.scheme.scheme = scheme;
  rsa.scheme.details.anySig.hashAlg = hash;
  rsa.keyBits = static_cast<uint16_t>(bits);
  rsa.exponent = 0;
  ak.pub.unique.rsa.size = static_cast<uint16_t>(bits / 8);
  EXPECT_EQ(BN_bn2binpad(n.get(), ak.pub.unique.rsa.buffer, bits / 8), bits / 8);
  Remarshal(&ak);
  return ak;
}

SoftAk MakeEccAk(const char* group, TPMI_ECC_CURVE curve, size_t coord, uint16_t scheme,
                 uint16_t hash) {
  SoftAk ak;
  ak.key.reset(EVP_EC_gen(group));
  EXPECT_NE(ak.key, nullptr);
  uint8_t point[1 + 2 * 66];
  size_t len = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(ak.key.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                            sizeof(point), &len),
            1);
  EXPECT_EQ(len, 1 + 2 * coord);
  ak.pub.type = TPM2_ALG_ECC;
  ak.pub.nameAlg = TPM2_ALG_SHA256;
  ak.pub.objectAttributes = kAkAttributes;
  TPMS_ECC_PARMS& ecc = ak.pub.parameters.eccDetail;
  ecc.symmetric.algorithm = TPM2_ALG_NULL;
  ecc.scheme.scheme = scheme;
  ecc.scheme.details.anySig.hashAlg = hash;
  ecc.curveID = curve;
  ecc.kdf.scheme = TPM2_ALG_NULL;
  ak.pub.unique.ecc.x.size = static_cast<uint16_t>(coord);
  ak.pub.unique.ecc.y.size = static_cast<uint16_t>(coord);
  std::copy(point + 1, point + 1 + coord, ak.pub.unique.ecc.x.buffer);
  std::copy(point + 1 + coord, point + 1 + 2 * coord, ak.pub.unique.ecc.y.buffer);
  Remarshal(&ak);
  return ak;
}

// Signs like a TPM would: the digest of `message` with `hash`, in the given scheme.
Bytes Sign(const SoftAk& ak, uint16_t scheme, uint16_t hash, ByteSpan message,
           int pss_salt = RSA_PSS_SALTLEN_DIGEST) {
  const EVP_MD* md = EvpMdForAlg(hash);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, ak.key.get()), 1);
  if (scheme == TPM2_ALG_RSASSA) EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
  if (scheme == TPM2_ALG_RSAPSS) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt);
  }
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()), 1);
  Bytes raw(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), raw.data(), &len, message.data(), message.size()), 1);
  raw.resize(len);

  TPMT_SIGNATURE sig = {};
  sig.sigAlg = scheme;
  if (scheme == TPM2_ALG_ECDSA) {
    const uint8_t* p = raw.data();
    EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(raw.size())));
    EXPECT_NE(ecdsa, nullptr);
    const int coord = (EVP_PKEY_get_bits(ak.key.get()) + 7) / 8;
    sig.signature.ecdsa.hash = hash;
    sig.signature.ecdsa.signatureR.size = static_cast<uint16_t>(coord);
    sig.signature.ecdsa.signatureS.size = static_cast<uint16_t>(coord);
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), sig.signature.ecdsa.signatureR.buffer, coord);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), sig.signature.ecdsa.signatureS.buffer, coord);
  } else {
    sig.signature.rsassa.hash = hash;
    sig.signature.rsassa.sig.size = static_cast<uint16_t>(raw.size());
    std::copy(raw.begin(), raw.end(), sig.signature.rsassa.sig.buffer);
  }
  auto bytes = MarshalTpmtSignature(sig);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : Bytes{};
}

const Bytes kNonce = {0x6e, 0x6f, 0x6e, 0x63, 0x65, 0x2d, 0x31, 0x36,
                      0x2d, 0x62, 0x79, 0x74, 0x65, 0x73, 0x21, 0x21};

PcrValues SomePcrs() {
  PcrValues values;
  for (uint32_t i = 0; i < 8; ++i) {
    values[TPM2_ALG_SHA256][i] = Bytes(32, static_cast<uint8_t>(0x10 + i));
    values[TPM2_ALG_SHA1][i] = Bytes(20, static_cast<uint8_t>(0x40 + i));
  }
  return values;
}

TPMS_ATTEST MakeQuote(uint16_t digest_hash, const PcrValues& values, const std::string& spec) {
  TPMS_ATTEST attest = {};
  attest.magic = TPM2_GENERATED_VALUE;
  attest.type = TPM2_ST_ATTEST_QUOTE;
  attest.qualifiedSigner.size = 34;
  attest.qualifiedSigner.name[1] = 0x0b;
  attest.extraData.size = static_cast<uint16_t>(kNonce.size());
  std::copy(kNonce.begin(), kNonce.end(), attest.extraData.buffer);
  attest.clockInfo = {123456, 7, 1, 1};
  attest.firmwareVersion = 0x0102030405060708ULL;
  auto selection = ParsePcrSelectionSpec(spec);
  EXPECT_TRUE(selection.ok());
  auto tpml = PcrSelectionToTpml(*selection);
  EXPECT_TRUE(tpml.ok());
  attest.attested.quote.pcrSelect = *tpml;
  auto digest = ComputePcrDigest(digest_hash, *selection, values);
  EXPECT_TRUE(digest.ok()) << digest.status();
  attest.attested.quote.pcrDigest.size = static_cast<uint16_t>(digest->size());
  std::copy(digest->begin(), digest->end(), attest.attested.quote.pcrDigest.buffer);
  return attest;
}

Bytes Marshal(const TPMS_ATTEST& attest) {
  auto bytes = MarshalTpmsAttest(attest);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : Bytes{};
}

struct Case {
  Bytes ak;
  Bytes attest;
  Bytes signature;
  PcrValues pcrs = SomePcrs();
};

QuoteResult Verify(const Case& c, QuoteVerifyOptions options = {}) {
  QuoteInput in;
  in.ak_public = c.ak;
  in.attest = c.attest;
  in.signature = c.signature;
  in.nonce = kNonce;
  in.pcr_values = &c.pcrs;
  in.options = options;
  return VerifyQuote(in);
}

std::string Describe(const QuoteResult& r) {
  std::string out = QuoteFindingName(r.finding);
  for (const QuoteCheck& c : r.checks) {
    out += "\n  " + c.name + (c.passed() ? " PASS " : " FAIL ") + c.detail;
  }
  return out;
}

void ExpectFinding(const QuoteResult& r, QuoteFinding finding, const std::string& check,
                   const std::string& substring) {
  EXPECT_FALSE(r.verdict) << Describe(r);
  EXPECT_EQ(r.finding, finding) << Describe(r);
  const QuoteCheck* failure = r.FirstFailure();
  ASSERT_NE(failure, nullptr) << Describe(r);
  EXPECT_EQ(failure->name, check) << Describe(r);
  EXPECT_THAT(failure->detail, HasSubstr(substring)) << Describe(r);
}

// One 2048-bit key per scheme for the whole suite: generation is the slow part.
const SoftAk& RsaAk(uint16_t scheme) {
  static const SoftAk* rsassa = new SoftAk(MakeRsaAk(2048, TPM2_ALG_RSASSA, TPM2_ALG_SHA256));
  static const SoftAk* rsapss = new SoftAk(MakeRsaAk(2048, TPM2_ALG_RSAPSS, TPM2_ALG_SHA256));
  return scheme == TPM2_ALG_RSAPSS ? *rsapss : *rsassa;
}

Case SignedCase(const SoftAk& ak, uint16_t scheme, uint16_t hash, const TPMS_ATTEST& attest,
                int pss_salt = RSA_PSS_SALTLEN_DIGEST) {
  Case c;
  c.ak = ak.public_bytes;
  c.attest = Marshal(attest);
  c.signature = Sign(ak, scheme, hash, c.attest, pss_salt);
  return c;
}

TEST(QuoteSynthetic, RsassaPasses) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSASSA);
  const Case c = SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256,
                            MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7+sha1:0-7"));
  const QuoteResult r = Verify(c);
  EXPECT_TRUE(r.verdict) << Describe(r);
  EXPECT_EQ(r.quote->clock.reset_count, 7u);
  EXPECT_EQ(r.quote->firmware_version, 0x0102030405060708ULL);
}

TEST(QuoteSynthetic, RsapssWithDigestLengthSaltPasses) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSAPSS);
  const Case c =
      SignedCase(ak, TPM2_ALG_RSAPSS, TPM2_ALG_SHA256,
                 MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"), RSA_PSS_SALTLEN_DIGEST);
  const QuoteResult r = Verify(c);
  EXPECT_TRUE(r.verdict) << Describe(r);
  EXPECT_THAT(r.checks[2].detail, HasSubstr("rsapss-sha256 (scheme pinned by the AK)"));
}

// TPMs built to spec revisions before 1.38 use the largest salt; one PSS verification with the
// salt length read from the encoding accepts both.
TEST(QuoteSynthetic, RsapssWithMaximumSaltPasses) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSAPSS);
  const Case c =
      SignedCase(ak, TPM2_ALG_RSAPSS, TPM2_ALG_SHA256,
                 MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"), RSA_PSS_SALTLEN_MAX);
  EXPECT_TRUE(Verify(c).verdict) << Describe(Verify(c));
}

// Never tries a second padding: a PKCS#1 v1.5 signature does not pass for an RSAPSS-pinned AK,
// even when relabelled as RSAPSS.
TEST(QuoteSynthetic, PkcsSignatureRelabelledAsPssFails) {
  const SoftAk& pss = RsaAk(TPM2_ALG_RSAPSS);
  Case c = SignedCase(pss, TPM2_ALG_RSASSA, TPM2_ALG_SHA256,
                      MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  ExpectFinding(Verify(c), QuoteFinding::kSchemeMismatch, "signature",
                "signature is rsassa-sha256 but the key pins rsapss-sha256");
  c.signature[1] = 0x16;  // relabel RSASSA -> RSAPSS
  ExpectFinding(Verify(c), QuoteFinding::kSignatureInvalid, "signature",
                "rsapss-sha256 signature does not verify");
}

TEST(QuoteSynthetic, EcdsaP256Passes) {
  const SoftAk ak = MakeEccAk("P-256", TPM2_ECC_NIST_P256, 32, TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
  const Case c = SignedCase(ak, TPM2_ALG_ECDSA, TPM2_ALG_SHA256,
                            MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  const QuoteResult r = Verify(c);
  EXPECT_TRUE(r.verdict) << Describe(r);
  EXPECT_EQ(r.signature_scheme, TPM2_ALG_ECDSA);
}

TEST(QuoteSynthetic, EcdsaP384WithSha384Passes) {
  const SoftAk ak = MakeEccAk("P-384", TPM2_ECC_NIST_P384, 48, TPM2_ALG_ECDSA, TPM2_ALG_SHA384);
  const Case c = SignedCase(ak, TPM2_ALG_ECDSA, TPM2_ALG_SHA384,
                            MakeQuote(TPM2_ALG_SHA384, SomePcrs(), "sha1:0-7"));
  EXPECT_TRUE(Verify(c).verdict) << Describe(Verify(c));
}

TEST(QuoteSynthetic, EcdsaFlippedSBreaksTheSignature) {
  const SoftAk ak = MakeEccAk("P-256", TPM2_ECC_NIST_P256, 32, TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
  Case c = SignedCase(ak, TPM2_ALG_ECDSA, TPM2_ALG_SHA256,
                      MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  c.signature.back() ^= 0x01;
  ExpectFinding(Verify(c), QuoteFinding::kSignatureInvalid, "signature",
                "ecdsa-sha256 signature does not verify");
}

TEST(QuoteSynthetic, EcdsaEmptyRIsMalformed) {
  const SoftAk ak = MakeEccAk("P-256", TPM2_ECC_NIST_P256, 32, TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
  const Bytes attest = Marshal(MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  TPMT_SIGNATURE sig = {};
  sig.sigAlg = TPM2_ALG_ECDSA;
  sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
  sig.signature.ecdsa.signatureS.size = 1;
  sig.signature.ecdsa.signatureS.buffer[0] = 1;
  Case c{ak.public_bytes, attest, *MarshalTpmtSignature(sig)};
  ExpectFinding(Verify(c), QuoteFinding::kSignatureMalformed, "signature", "empty or unusable r/s");
}

// An AK with scheme TPM_ALG_NULL lets the signer choose; the choice must fit the key type and
// use an allowed hash, and the pcrDigest uses the chosen hash.
TEST(QuoteSynthetic, NullSchemeAkAcceptsAFittingScheme) {
  const SoftAk ak = MakeRsaAk(2048, TPM2_ALG_NULL, TPM2_ALG_NULL);
  const Case c = SignedCase(ak, TPM2_ALG_RSAPSS, TPM2_ALG_SHA384,
                            MakeQuote(TPM2_ALG_SHA384, SomePcrs(), "sha256:0-7"));
  const QuoteResult r = Verify(c);
  EXPECT_TRUE(r.verdict) << Describe(r);
  EXPECT_THAT(r.checks[2].detail, HasSubstr("AK pins no scheme"));
  EXPECT_THAT(r.checks[1].detail, HasSubstr("no pinned signing scheme"));
}

TEST(QuoteSynthetic, NullSchemeAkRejectsSha1UnlessAllowed) {
  const SoftAk ak = MakeRsaAk(2048, TPM2_ALG_NULL, TPM2_ALG_NULL);
  const Case c = SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA1,
                            MakeQuote(TPM2_ALG_SHA1, SomePcrs(), "sha256:0-7"));
  ExpectFinding(Verify(c), QuoteFinding::kSchemeNotAllowed, "signature",
                "signature hash sha1 is not allowed");
  QuoteVerifyOptions relaxed;
  relaxed.ak.allow_sha1_signing = true;
  EXPECT_TRUE(Verify(c, relaxed).verdict);
}

TEST(QuoteSynthetic, NullSchemeEccAkRejectsAnRsaScheme) {
  const SoftAk ak = MakeEccAk("P-256", TPM2_ECC_NIST_P256, 32, TPM2_ALG_NULL, TPM2_ALG_NULL);
  const Bytes attest = Marshal(MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  TPMT_SIGNATURE sig = {};
  sig.sigAlg = TPM2_ALG_RSASSA;
  sig.signature.rsassa.hash = TPM2_ALG_SHA256;
  sig.signature.rsassa.sig.size = 64;
  Case c{ak.public_bytes, attest, *MarshalTpmtSignature(sig)};
  ExpectFinding(Verify(c), QuoteFinding::kSchemeMismatch, "signature",
                "signature scheme rsassa does not fit a key of type ECC");
}

TEST(QuoteSynthetic, PcrDigestWithAnotherHashThanTheSignatureFails) {
  // A quote whose pcrDigest was made with the nameAlg-like SHA-256 but signed with SHA-384.
  const SoftAk ak = MakeRsaAk(2048, TPM2_ALG_NULL, TPM2_ALG_NULL);
  const Case c = SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA384,
                            MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  ExpectFinding(Verify(c), QuoteFinding::kPcrDigestMismatch, "pcr_digest", "sha384 over 8 PCRs");
}

TEST(QuoteSynthetic, BadMagicAfterAValidSignature) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSASSA);
  TPMS_ATTEST attest = MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7");
  attest.magic = 0x12345678;
  ExpectFinding(Verify(SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, attest)),
                QuoteFinding::kBadMagic, "magic", "magic 0x12345678, expected TPM_GENERATED_VALUE");
}

TEST(QuoteSynthetic, CertifyStructureIsNotAQuote) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSASSA);
  TPMS_ATTEST attest = MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7");
  attest.type = TPM2_ST_ATTEST_CERTIFY;
  attest.attested.certify = {};
  attest.attested.certify.name.size = 2;
  ExpectFinding(Verify(SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, attest)),
                QuoteFinding::kNotAQuote, "type", "type 0x8017 (certify)");
}

TEST(QuoteSynthetic, SignedTruncatedAttestIsMalformed) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSASSA);
  Case c;
  c.ak = ak.public_bytes;
  c.attest = Marshal(MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  c.attest.resize(c.attest.size() - 4);
  c.signature = Sign(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, c.attest);
  ExpectFinding(Verify(c), QuoteFinding::kAttestMalformed, "attest_structure",
                "TPMS_ATTEST: truncated");
}

TEST(QuoteSynthetic, SignedAttestWithTrailingBytesIsMalformed) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSASSA);
  Case c;
  c.ak = ak.public_bytes;
  c.attest = Marshal(MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  c.attest.insert(c.attest.end(), {0xde, 0xad});
  c.signature = Sign(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, c.attest);
  ExpectFinding(Verify(c), QuoteFinding::kAttestMalformed, "attest_structure",
                "TPMS_ATTEST: 2 trailing bytes");
}

TEST(QuoteSynthetic, SignedSelectionWithABankTwiceIsMalformed) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSASSA);
  TPMS_ATTEST attest = MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7");
  TPML_PCR_SELECTION& sel = attest.attested.quote.pcrSelect;
  sel.pcrSelections[1] = sel.pcrSelections[0];
  sel.count = 2;
  ExpectFinding(Verify(SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, attest)),
                QuoteFinding::kAttestMalformed, "attest_structure", "bank sha256 listed twice");
}

TEST(QuoteSynthetic, EmptySelectionIsRejected) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSASSA);
  TPMS_ATTEST attest = MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7");
  attest.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0;  // still lists the bank
  Case c = SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, attest);
  ExpectFinding(Verify(c), QuoteFinding::kSelectionMismatch, "pcr_selection",
                "the quote selects no PCR");
}

// The Keylime relabelling: a quote over the resettable PCRs 16 and 23 offered as PCR 7.
TEST(QuoteSynthetic, ResettablePcrsRelabelledAsPcr7AreRejected) {
  const SoftAk& ak = RsaAk(TPM2_ALG_RSASSA);
  PcrValues resettable;
  resettable[TPM2_ALG_SHA256][16] = Bytes(32, 0xaa);
  resettable[TPM2_ALG_SHA256][23] = Bytes(32, 0xbb);
  Case c = SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256,
                      MakeQuote(TPM2_ALG_SHA256, resettable, "sha256:16,23"));
  c.pcrs.clear();
  c.pcrs[TPM2_ALG_SHA256][7] = Bytes(32, 0xaa);
  ExpectFinding(Verify(c), QuoteFinding::kPcrValuesMismatchSelection, "pcr_values",
                "selected but not supplied: sha256:16,23; supplied but not selected: sha256:7");
  auto requested = ParsePcrSelectionSpec("sha256:7");
  QuoteInput in;
  in.ak_public = c.ak;
  in.attest = c.attest;
  in.signature = c.signature;
  in.nonce = kNonce;
  in.requested_selection = &*requested;
  in.pcr_values = &c.pcrs;
  ExpectFinding(VerifyQuote(in), QuoteFinding::kSelectionMismatch, "pcr_selection",
                "not signed: sha256:7; not requested: sha256:16,23");
}

TEST(QuoteSynthetic, Rsa1024AkIsRejected) {
  const SoftAk ak = MakeRsaAk(1024, TPM2_ALG_RSASSA, TPM2_ALG_SHA256);
  const Case c = SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256,
                            MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  ExpectFinding(Verify(c), QuoteFinding::kAkAttributes, "ak_attributes",
                "RSA key of 1024 bits (need >= 2048)");
}

TEST(QuoteSynthetic, EccAkWithSha1NameAlgIsRejectedUnlessAllowed) {
  SoftAk ak = MakeEccAk("P-256", TPM2_ECC_NIST_P256, 32, TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
  ak.pub.nameAlg = TPM2_ALG_SHA1;
  Remarshal(&ak);
  const Case c = SignedCase(ak, TPM2_ALG_ECDSA, TPM2_ALG_SHA256,
                            MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  ExpectFinding(Verify(c), QuoteFinding::kAkAttributes, "ak_attributes",
                "nameAlg sha1 is weaker than sha256");
  QuoteVerifyOptions relaxed;
  relaxed.ak.allow_sha1_name_alg = true;
  const QuoteResult r = Verify(c, relaxed);
  EXPECT_TRUE(r.verdict) << Describe(r);
  EXPECT_EQ(r.ak_name.size(), 22u);  // alg id + SHA-1 digest
}

TEST(QuoteSynthetic, EccP224AkIsRejected) {
  SoftAk ak = MakeEccAk("P-256", TPM2_ECC_NIST_P256, 32, TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
  ak.pub.parameters.eccDetail.curveID = TPM2_ECC_NIST_P224;
  Remarshal(&ak);
  Case c{ak.public_bytes, {}, {}};
  // P-224 cannot even become an OpenSSL key through PublicKeyFromPublicArea.
  ExpectFinding(Verify(c), QuoteFinding::kAkMalformed, "ak_public", "unsupported curve");
}

TEST(QuoteSynthetic, UnrestrictedSigningKeyCannotQuote) {
  // An unrestricted key can sign any bytes that start with TPM_GENERATED_VALUE, so a quote from
  // it proves nothing; the signature is valid, the AK check fails first.
  SoftAk ak = MakeRsaAk(2048, TPM2_ALG_RSASSA, TPM2_ALG_SHA256);
  ak.pub.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
  Remarshal(&ak);
  const Case c = SignedCase(ak, TPM2_ALG_RSASSA, TPM2_ALG_SHA256,
                            MakeQuote(TPM2_ALG_SHA256, SomePcrs(), "sha256:0-7"));
  ExpectFinding(Verify(c), QuoteFinding::kAkAttributes, "ak_attributes",
                "attribute restricted is not set");
}

}  // namespace
}  // namespace bootgate::attest
