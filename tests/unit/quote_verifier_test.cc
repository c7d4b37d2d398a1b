// Quote verification against the real bundles (Windows/GCE, COS/GCE, three QEMU+swtpm boots),
// and one test per rejection reason made by changing one field or byte of a real bundle.
#include "attest/quote/quote_verifier.h"

#include <string>
#include <vector>

#include "attest/tpm/attest_structs.h"
#include "attest/tpm/public_area.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::ReadExpectedPcrs;
using ::bootgate::testing::ReadTestData;
using ::bootgate::testing::ReadTestDataString;
using ::testing::HasSubstr;

struct Bundle {
  std::string label;
  Bytes ak;
  Bytes attest;
  Bytes signature;
  Bytes nonce;
  PcrValues pcrs;
  QuoteVerifyOptions options;  // the least relaxation the bundle needs
};

Bytes NonceFromHexFile(const std::string& path) {
  auto nonce = HexDecode(ReadTestDataString(path));
  EXPECT_TRUE(nonce.ok()) << path << ": " << nonce.status();
  return nonce.ok() ? *nonce : Bytes{};
}

// go-attestation's test (attest/eventlog_test.go) verifies this quote with the bundle's
// Quote.Nonce, which is empty: extraData is a zero-length TPM2B_DATA.
Bundle Windows() {
  const std::string dir = "bundles/go-attestation__windows_gcp_shielded_vm/";
  Bundle b{"windows_gcp",
           ReadTestData(dir + "ak.Public"),
           ReadTestData(dir + "quote.Quote"),
           ReadTestData(dir + "quote.Signature"),
           Bytes{},
           ReadExpectedPcrs(dir + "expected-pcrs.json"),
           {}};
  b.options.ak.allow_sha1_signing = true;  // the AK pins RSASSA-SHA1
  return b;
}

Bundle Cos(int index) {
  static const char* kNames[] = {"quote0.sha1", "quote1.sha256", "quote2.sha384"};
  const std::string dir = "bundles/go-tpm-tools__gce-cos-85-nonce9009/";
  return Bundle{std::string("cos_") + kNames[index],
                ReadTestData(dir + "ak.tpm2b"),
                ReadTestData(dir + kNames[index] + ".msg"),
                ReadTestData(dir + kNames[index] + ".sig"),
                Bytes{0x90, 0x09},
                ReadExpectedPcrs(dir + "expected-pcrs.json"),
                {}};
}

Bundle Qemu(const std::string& name) {
  const std::string dir = "qemu/" + name + "/";
  return Bundle{name,
                ReadTestData(dir + "ak.tpm2b"),
                ReadTestData(dir + "quote.msg"),
                ReadTestData(dir + "quote.sig"),
                NonceFromHexFile(dir + "nonce"),
                ReadExpectedPcrs(dir + "expected-pcrs.json"),
                {}};
}

std::vector<Bundle> AllBundles() {
  return {Windows(),
          Cos(0),
          Cos(1),
          Cos(2),
          Qemu("qemu-ovmf-directkernel"),
          Qemu("qemu-ovmf-uki-systemdstub"),
          Qemu("qemu-ovmf-secureboot-shim-grub")};
}

QuoteInput InputFor(const Bundle& b) {
  QuoteInput in;
  in.ak_public = b.ak;
  in.attest = b.attest;
  in.signature = b.signature;
  in.nonce = b.nonce;
  in.pcr_values = &b.pcrs;
  in.options = b.options;
  return in;
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
  EXPECT_EQ(failure->finding, finding);
  EXPECT_THAT(failure->detail, HasSubstr(substring)) << Describe(r);
  // Fail closed: nothing after the first failure ran or passed.
  bool after = false;
  for (const QuoteCheck& c : r.checks) {
    if (after) {
      EXPECT_EQ(c.state, CheckState::kNotRun) << c.name;
      EXPECT_THAT(c.detail, HasSubstr("not run: " + check + " failed"));
    }
    if (&c == failure) after = true;
  }
}

TEST(QuoteVerifierRealBundles, EveryBundleVerifies) {
  for (const Bundle& b : AllBundles()) {
    SCOPED_TRACE(b.label);
    const QuoteResult r = VerifyQuote(InputFor(b));
    EXPECT_TRUE(r.verdict) << Describe(r);
    EXPECT_EQ(r.finding, QuoteFinding::kOk);
    ASSERT_EQ(r.checks.size(), 10u);
    for (const QuoteCheck& c : r.checks) EXPECT_TRUE(c.passed()) << c.name << ": " << c.detail;
    ASSERT_TRUE(r.quote.has_value());
    EXPECT_EQ(r.quote->extra_data, b.nonce);
    EXPECT_FALSE(r.quoted_pcrs.empty());
  }
}

TEST(QuoteVerifierRealBundles, ChecksAreNamedInOrder) {
  const QuoteResult r = VerifyQuote(InputFor(Cos(1)));
  std::vector<std::string> names;
  for (const QuoteCheck& c : r.checks) names.push_back(c.name);
  EXPECT_THAT(names, ::testing::ElementsAre("ak_public", "ak_attributes", "signature", "magic",
                                            "type", "attest_structure", "nonce", "pcr_selection",
                                            "pcr_values", "pcr_digest"));
}

// The pcrDigest is computed with the signing scheme's hash, not the AK's nameAlg: the Windows AK
// has nameAlg SHA-256, pins RSASSA-SHA1, and its quote carries a 20-byte digest that verifies.
TEST(QuoteVerifierRealBundles, PcrDigestUsesTheSigningHash) {
  const Bundle b = Windows();
  auto ak = ParsePublicArea(b.ak);
  ASSERT_TRUE(ak.ok());
  EXPECT_EQ(ak->nameAlg, TPM2_ALG_SHA256);
  const QuoteResult r = VerifyQuote(InputFor(b));
  ASSERT_TRUE(r.verdict) << Describe(r);
  EXPECT_EQ(r.signature_hash, TPM2_ALG_SHA1);
  EXPECT_EQ(r.quote->pcr_digest.size(), 20u);
  EXPECT_THAT(r.checks[9].detail, HasSubstr("sha1 over 24 PCRs"));
}

TEST(QuoteVerifierRealBundles, WindowsStrictFailsOnlyOnSha1Signing) {
  Bundle b = Windows();
  b.options = {};
  const QuoteResult r = VerifyQuote(InputFor(b));
  ExpectFinding(r, QuoteFinding::kAkAttributes, "ak_attributes", "signing scheme hash sha1");
  EXPECT_THAT(r.checks[1].detail, ::testing::Not(HasSubstr("is not set")));
}

TEST(QuoteVerifierRealBundles, CosAndQemuNeedNoRelaxation) {
  for (const Bundle& b : AllBundles()) {
    if (b.label == "windows_gcp") continue;
    SCOPED_TRACE(b.label);
    EXPECT_FALSE(b.options.ak.allow_sha1_signing || b.options.ak.allow_sha1_name_alg);
    EXPECT_TRUE(VerifyQuote(InputFor(b)).verdict);
  }
}

TEST(QuoteVerifierRealBundles, ParsedFieldsAreReported) {
  const QuoteResult r = VerifyQuote(InputFor(Qemu("qemu-ovmf-directkernel")));
  ASSERT_TRUE(r.verdict) << Describe(r);
  EXPECT_EQ(r.quote->clock.clock, 22560u);
  EXPECT_EQ(r.quote->clock.reset_count, 2u);
  EXPECT_EQ(r.quote->clock.restart_count, 0u);
  EXPECT_TRUE(r.quote->clock.safe);
  EXPECT_EQ(r.quote->firmware_version, 0x2019102300163636ULL);
  EXPECT_EQ(FormatPcrSelectionSpec(r.quote->selection), "sha256:0-14+sha1:0-14");
  EXPECT_EQ(r.quote->qualified_signer.size(), 34u);
  EXPECT_EQ(HexEncode(r.ak_name), HexEncode(ReadTestData("qemu/qemu-ovmf-directkernel/ak.name")));
  EXPECT_EQ(r.signature_scheme, TPM2_ALG_RSASSA);
  EXPECT_EQ(r.signature_hash, TPM2_ALG_SHA256);
  EXPECT_EQ(r.quoted_pcrs.size(), 2u);
}

// COS quotes cover one bank each; the other banks in expected-pcrs.json are not covered by the
// quote and are left out of quoted_pcrs.
TEST(QuoteVerifierRealBundles, UnquotedBanksAreNotReportedAsQuoted) {
  const QuoteResult r = VerifyQuote(InputFor(Cos(0)));
  ASSERT_TRUE(r.verdict) << Describe(r);
  EXPECT_EQ(r.quoted_pcrs.size(), 1u);
  EXPECT_EQ(r.quoted_pcrs.count(TPM2_ALG_SHA1), 1u);
  EXPECT_THAT(r.checks[8].detail, HasSubstr("not covered by it: sha256, sha384"));
}

TEST(QuoteVerifierRealBundles, BareTpmtPublicAndTpm2bPublicBothAccepted) {
  Bundle b = Cos(1);
  ASSERT_GT(b.ak.size(), 2u);
  const Bytes bare(b.ak.begin() + 2, b.ak.end());  // strip the TPM2B size
  const QuoteResult with_tpm2b = VerifyQuote(InputFor(b));
  b.ak = bare;
  const QuoteResult with_bare = VerifyQuote(InputFor(b));
  EXPECT_TRUE(with_tpm2b.verdict) << Describe(with_tpm2b);
  EXPECT_TRUE(with_bare.verdict) << Describe(with_bare);
  EXPECT_EQ(with_tpm2b.ak_name, with_bare.ak_name);

  // And the other way round: the Windows AK is a bare TPMT_PUBLIC; wrap it in a TPM2B.
  Bundle w = Windows();
  Bytes wrapped = {static_cast<uint8_t>(w.ak.size() >> 8), static_cast<uint8_t>(w.ak.size())};
  wrapped.insert(wrapped.end(), w.ak.begin(), w.ak.end());
  w.ak = wrapped;
  EXPECT_TRUE(VerifyQuote(InputFor(w)).verdict);
}

TEST(QuoteVerifierRealBundles, RequestedSelectionEqualToSignedPasses) {
  const Bundle b = Qemu("qemu-ovmf-uki-systemdstub");
  auto requested = ParsePcrSelectionSpec("sha1:0-14+sha256:0-14");  // order does not matter
  ASSERT_TRUE(requested.ok());
  QuoteInput in = InputFor(b);
  in.requested_selection = &*requested;
  const QuoteResult r = VerifyQuote(in);
  EXPECT_TRUE(r.verdict) << Describe(r);
  EXPECT_THAT(r.checks[7].detail, HasSubstr("as requested"));
}

// --- One rejection per reason, each from a single change to a real bundle ---

TEST(QuoteVerifierRejects, WrongNonce) {
  Bundle b = Cos(1);
  b.nonce = {0x90, 0x0a};
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kNonceMismatch, "nonce",
                "expected 900a (2 bytes) got 9009 (2 bytes)");
}

TEST(QuoteVerifierRejects, NonceThatIsAPrefix) {
  Bundle b = Qemu("qemu-ovmf-directkernel");
  b.nonce.pop_back();
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kNonceMismatch, "nonce", "(15 bytes)");
}

TEST(QuoteVerifierRejects, FlippedSignatureByte) {
  Bundle b = Qemu("qemu-ovmf-directkernel");
  b.signature[b.signature.size() / 2] ^= 0x01;
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureInvalid, "signature",
                "rsassa-sha256 signature does not verify");
}

TEST(QuoteVerifierRejects, FlippedAttestByte) {
  Bundle b = Cos(2);
  b.attest[b.attest.size() - 1] ^= 0x80;  // inside pcrDigest
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureInvalid, "signature",
                "does not verify");
}

// The Keylime gap: a quote over sha256:16,23 (resettable) must not be accepted for sha256:7.
TEST(QuoteVerifierRejects, RequestedSelectionDiffersFromSigned) {
  const Bundle b = Qemu("qemu-ovmf-secureboot-shim-grub");
  auto requested = ParsePcrSelectionSpec("sha256:0-15+sha1:0-14");
  ASSERT_TRUE(requested.ok());
  QuoteInput in = InputFor(b);
  in.requested_selection = &*requested;
  ExpectFinding(VerifyQuote(in), QuoteFinding::kSelectionMismatch, "pcr_selection",
                "not signed: sha256:15");
}

TEST(QuoteVerifierRejects, RequestedBankNotSigned) {
  const Bundle b = Cos(0);
  auto requested = ParsePcrSelectionSpec("sha256:0-23");
  ASSERT_TRUE(requested.ok());
  QuoteInput in = InputFor(b);
  in.requested_selection = &*requested;
  ExpectFinding(VerifyQuote(in), QuoteFinding::kSelectionMismatch, "pcr_selection",
                "signed sha1:0-23, requested sha256:0-23");
}

TEST(QuoteVerifierRejects, ExtraPcrSupplied) {
  Bundle b = Qemu("qemu-ovmf-directkernel");
  b.pcrs[TPM2_ALG_SHA256][15] = Bytes(32, 0);
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kPcrValuesMismatchSelection, "pcr_values",
                "supplied but not selected: sha256:15");
}

TEST(QuoteVerifierRejects, MissingPcr) {
  Bundle b = Windows();
  b.pcrs[TPM2_ALG_SHA1].erase(7);
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kPcrValuesMismatchSelection, "pcr_values",
                "selected but not supplied: sha1:7");
}

TEST(QuoteVerifierRejects, MissingBank) {
  Bundle b = Qemu("qemu-ovmf-uki-systemdstub");
  b.pcrs.erase(TPM2_ALG_SHA1);
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kPcrValuesMismatchSelection, "pcr_values",
                "selected but not supplied: sha1:0-14");
}

TEST(QuoteVerifierRejects, NoPcrValuesAtAll) {
  const Bundle b = Cos(1);
  QuoteInput in = InputFor(b);
  in.pcr_values = nullptr;
  ExpectFinding(VerifyQuote(in), QuoteFinding::kPcrValuesMismatchSelection, "pcr_values",
                "no PCR values");
}

TEST(QuoteVerifierRejects, PcrValueChanged) {
  Bundle b = Cos(1);
  b.pcrs[TPM2_ALG_SHA256][7][0] ^= 0x01;
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kPcrDigestMismatch, "pcr_digest",
                "sha256 over 24 PCRs");
}

// Changing magic or type breaks the signature first (the TPM signed the original bytes)...
TEST(QuoteVerifierRejects, BadMagicBreaksTheSignature) {
  Bundle b = Qemu("qemu-ovmf-directkernel");
  b.attest[3] ^= 0x01;
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureInvalid, "signature",
                "does not verify");
}

TEST(QuoteVerifierRejects, WrongTypeBreaksTheSignature) {
  Bundle b = Cos(1);
  b.attest[5] = 0x17;  // TPM_ST_ATTEST_CERTIFY
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureInvalid, "signature",
                "does not verify");
}

// ... so the magic and type checks are also exercised on their own (and end to end with a signed
// synthetic quote in quote_synthetic_test.cc).
TEST(QuoteVerifierRejects, MagicAndTypeChecksDirectly) {
  Bytes attest = Cos(1).attest;
  EXPECT_TRUE(CheckMagic(attest).passed());
  EXPECT_TRUE(CheckQuoteType(attest).passed());

  Bytes bad_magic = attest;
  bad_magic[0] = 0xfe;
  QuoteCheck magic = CheckMagic(bad_magic);
  EXPECT_FALSE(magic.passed());
  EXPECT_EQ(magic.finding, QuoteFinding::kBadMagic);
  EXPECT_THAT(magic.detail, HasSubstr("magic 0xfe544347"));

  Bytes certify = attest;
  certify[5] = 0x17;
  QuoteCheck type = CheckQuoteType(certify);
  EXPECT_FALSE(type.passed());
  EXPECT_EQ(type.finding, QuoteFinding::kNotAQuote);
  EXPECT_THAT(type.detail, HasSubstr("type 0x8017 (certify)"));

  const Bytes short_header = {0xff, 0x54, 0x43};
  EXPECT_EQ(CheckMagic(short_header).finding, QuoteFinding::kAttestMalformed);
  EXPECT_THAT(CheckQuoteType(short_header).detail, HasSubstr("truncated"));
}

TEST(QuoteVerifierRejects, AkNotRestricted) {
  Bundle b = Qemu("qemu-ovmf-directkernel");
  auto original = ParsePublicArea(b.ak);
  ASSERT_TRUE(original.ok());
  // TPM2B size (2) + type (2) + nameAlg (2) + objectAttributes (4, big-endian): byte 7 holds bits
  // 16-23, restricted is 0x00010000.
  ASSERT_EQ(b.ak[7], 0x05);
  b.ak[7] ^= 0x01;
  auto flipped = ParsePublicArea(b.ak);
  ASSERT_TRUE(flipped.ok());
  EXPECT_EQ(flipped->objectAttributes & TPMA_OBJECT_RESTRICTED, 0u);
  EXPECT_NE(*ObjectName(*original), *ObjectName(*flipped));  // a different key to the TPM
  const QuoteResult r = VerifyQuote(InputFor(b));
  ExpectFinding(r, QuoteFinding::kAkAttributes, "ak_attributes", "attribute restricted is not set");
  EXPECT_NE(r.ak_name, *ObjectName(*original));
}

TEST(QuoteVerifierRejects, AkWithDecryptSet) {
  Bundle b = Cos(1);
  b.ak[7] |= 0x02;  // decrypt = 0x00020000
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kAkAttributes, "ak_attributes",
                "attribute decrypt is set");
}

TEST(QuoteVerifierRejects, SignatureSchemeDiffersFromPinned) {
  Bundle b = Qemu("qemu-ovmf-directkernel");
  // TPMT_SIGNATURE: sigAlg u16, then hash u16. The AK pins RSASSA-SHA256.
  b.signature[1] = 0x16;  // RSAPSS
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSchemeMismatch, "signature",
                "signature is rsapss-sha256 but the key pins rsassa-sha256");
}

TEST(QuoteVerifierRejects, SignatureHashDiffersFromPinned) {
  Bundle b = Cos(1);
  b.signature[3] = 0x04;  // SHA-1
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSchemeMismatch, "signature",
                "signature is rsassa-sha1 but the key pins rsassa-sha256");
}

TEST(QuoteVerifierRejects, TruncatedSignature) {
  Bundle b = Cos(1);
  b.signature.resize(b.signature.size() - 1);
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureMalformed, "signature",
                "TPMT_SIGNATURE: truncated");
}

TEST(QuoteVerifierRejects, SignatureWithTrailingBytes) {
  Bundle b = Cos(1);
  b.signature.push_back(0);
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureMalformed, "signature",
                "TPMT_SIGNATURE: 1 trailing bytes");
}

// With the TPM's signature, any change to the attest bytes fails the signature first; the
// structure checks on signed-but-malformed bytes are in quote_synthetic_test.cc.
TEST(QuoteVerifierRejects, TruncatedAttest) {
  Bundle b = Cos(1);
  b.attest.resize(b.attest.size() - 3);
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureInvalid, "signature",
                "does not verify");
  auto parsed = ParseTpmsAttest(b.attest);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("TPMS_ATTEST: truncated"));
}

TEST(QuoteVerifierRejects, AttestWithTrailingBytes) {
  Bundle b = Cos(1);
  b.attest.push_back(0);
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureInvalid, "signature",
                "does not verify");
  auto parsed = ParseTpmsAttest(b.attest);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("TPMS_ATTEST: 1 trailing bytes"));
}

TEST(QuoteVerifierRejects, MalformedAk) {
  Bundle b = Cos(1);
  b.ak.resize(b.ak.size() - 5);
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kAkMalformed, "ak_public", "truncated");
}

TEST(QuoteVerifierRejects, AkFromAnotherTpm) {
  Bundle b = Qemu("qemu-ovmf-directkernel");
  b.ak = Qemu("qemu-ovmf-uki-systemdstub").ak;
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureInvalid, "signature",
                "does not verify");
}

TEST(QuoteVerifierRejects, SwappedQuoteFromAnotherBank) {
  // quote0's attest with quote1's signature: same AK, same nonce, different bytes.
  Bundle b = Cos(0);
  b.signature = Cos(1).signature;
  ExpectFinding(VerifyQuote(InputFor(b)), QuoteFinding::kSignatureInvalid, "signature",
                "does not verify");
}

TEST(QuoteFindingNames, AreStableAndRoundTrip) {
  EXPECT_STREQ(QuoteFindingName(QuoteFinding::kSignatureInvalid), "QUOTE_SIGNATURE_INVALID");
  EXPECT_STREQ(QuoteFindingName(QuoteFinding::kEventLogReplayMismatch), "EVENTLOG_REPLAY_MISMATCH");
  for (int i = 0; i <= static_cast<int>(QuoteFinding::kEventLogReplayMismatch); ++i) {
    const auto f = static_cast<QuoteFinding>(i);
    EXPECT_EQ(QuoteFindingFromName(QuoteFindingName(f)), f) << QuoteFindingName(f);
  }
  EXPECT_FALSE(QuoteFindingFromName("QUOTE_NOPE").has_value());
}

}  // namespace
}  // namespace bootgate::attest
