// TPMS_ATTEST / TPMT_SIGNATURE decoding against every real quote in tests/data, and the strictness
// rules (truncation at every length, trailing bytes) on the same bytes.
#include "attest/tpm/attest_structs.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::ReadTestData;
using ::testing::HasSubstr;

struct RealQuote {
  std::string attest;
  std::string signature;
};

std::vector<RealQuote> RealQuotes() {
  const std::string cos = "bundles/go-tpm-tools__gce-cos-85-nonce9009/";
  return {
      {"bundles/go-attestation__windows_gcp_shielded_vm/quote.Quote",
       "bundles/go-attestation__windows_gcp_shielded_vm/quote.Signature"},
      {cos + "quote0.sha1.msg", cos + "quote0.sha1.sig"},
      {cos + "quote1.sha256.msg", cos + "quote1.sha256.sig"},
      {cos + "quote2.sha384.msg", cos + "quote2.sha384.sig"},
      {"qemu/qemu-ovmf-directkernel/quote.msg", "qemu/qemu-ovmf-directkernel/quote.sig"},
      {"qemu/qemu-ovmf-uki-systemdstub/quote.msg", "qemu/qemu-ovmf-uki-systemdstub/quote.sig"},
      {"qemu/qemu-ovmf-secureboot-shim-grub/quote.msg",
       "qemu/qemu-ovmf-secureboot-shim-grub/quote.sig"},
  };
}

TEST(TpmsAttest, ParsesAndRemarshalsEveryRealQuote) {
  for (const RealQuote& q : RealQuotes()) {
    SCOPED_TRACE(q.attest);
    const Bytes bytes = ReadTestData(q.attest);
    auto attest = ParseTpmsAttest(bytes);
    ASSERT_TRUE(attest.ok()) << attest.status();
    EXPECT_EQ(attest->magic, TPM2_GENERATED_VALUE);
    EXPECT_EQ(attest->type, TPM2_ST_ATTEST_QUOTE);
    EXPECT_GT(attest->attested.quote.pcrSelect.count, 0u);
    auto again = MarshalTpmsAttest(*attest);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, bytes);  // the decoder keeps every byte's meaning
  }
}

TEST(TpmsAttest, KnownFieldsOfTheCosQuote) {
  auto attest =
      ParseTpmsAttest(ReadTestData("bundles/go-tpm-tools__gce-cos-85-nonce9009/quote1.sha256.msg"));
  ASSERT_TRUE(attest.ok());
  EXPECT_EQ(HexEncode(ByteSpan(attest->extraData.buffer, attest->extraData.size)), "9009");
  EXPECT_EQ(attest->qualifiedSigner.size, 34);
  EXPECT_EQ(attest->clockInfo.resetCount, 10u);
  EXPECT_EQ(attest->attested.quote.pcrSelect.pcrSelections[0].hash, TPM2_ALG_SHA256);
  EXPECT_EQ(attest->attested.quote.pcrDigest.size, 32);
}

TEST(TpmsAttest, EveryTruncationIsAnErrorNamingTheStructure) {
  const Bytes bytes = ReadTestData("qemu/qemu-ovmf-directkernel/quote.msg");
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto attest = ParseTpmsAttest(ByteSpan(bytes.data(), n));
    ASSERT_FALSE(attest.ok()) << n;
    EXPECT_EQ(attest.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(attest.status().message(), HasSubstr("TPMS_ATTEST")) << n;
  }
}

TEST(TpmsAttest, TrailingBytesAreRejected) {
  Bytes bytes = ReadTestData("qemu/qemu-ovmf-directkernel/quote.msg");
  bytes.insert(bytes.end(), {0, 0, 0});
  EXPECT_THAT(ParseTpmsAttest(bytes).status().message(),
              HasSubstr("TPMS_ATTEST: 3 trailing bytes"));
}

TEST(TpmsAttest, UnknownAttestationTypeIsRejected) {
  Bytes bytes = ReadTestData("qemu/qemu-ovmf-directkernel/quote.msg");
  bytes[4] = 0x12;  // type 0x1218
  auto attest = ParseTpmsAttest(bytes);
  ASSERT_FALSE(attest.ok());
  EXPECT_THAT(attest.status().message(), HasSubstr("TPMS_ATTEST"));
}

TEST(TpmsAttest, OversizedTpm2bIsRejected) {
  Bytes bytes = ReadTestData("qemu/qemu-ovmf-directkernel/quote.msg");
  bytes[6] = 0xff;  // qualifiedSigner.size = 0xff22, more than TPM2B_NAME holds
  EXPECT_THAT(ParseTpmsAttest(bytes).status().message(), HasSubstr("TPMS_ATTEST"));
}

TEST(AttestHeader, ReadsMagicAndTypeOnly) {
  auto header = ReadAttestHeader(*HexDecode("ff5443478018"));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->magic, TPM2_GENERATED_VALUE);
  EXPECT_EQ(header->type, TPM2_ST_ATTEST_QUOTE);
  EXPECT_THAT(ReadAttestHeader(*HexDecode("ff544347")).status().message(),
              HasSubstr("TPMS_ATTEST.type: truncated"));
}

TEST(TpmtSignature, ParsesAndRemarshalsEveryRealSignature) {
  for (const RealQuote& q : RealQuotes()) {
    SCOPED_TRACE(q.signature);
    const Bytes bytes = ReadTestData(q.signature);
    auto sig = ParseTpmtSignature(bytes);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_EQ(sig->sigAlg, TPM2_ALG_RSASSA);
    EXPECT_EQ(sig->signature.rsassa.sig.size, 256);
    auto again = MarshalTpmtSignature(*sig);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, bytes);
  }
}

TEST(TpmtSignature, TruncatedTrailingAndUnknownSchemes) {
  const Bytes bytes = ReadTestData("qemu/qemu-ovmf-directkernel/quote.sig");
  for (size_t n = 0; n < bytes.size(); ++n) {
    ASSERT_FALSE(ParseTpmtSignature(ByteSpan(bytes.data(), n)).ok()) << n;
  }
  Bytes longer = bytes;
  longer.push_back(1);
  EXPECT_THAT(ParseTpmtSignature(longer).status().message(),
              HasSubstr("TPMT_SIGNATURE: 1 trailing bytes"));
  Bytes unknown = bytes;
  unknown[1] = 0x99;
  EXPECT_THAT(ParseTpmtSignature(unknown).status().message(), HasSubstr("TPMT_SIGNATURE"));
  Bytes oversized = bytes;
  oversized[4] = 0x02;  // RSA signature size 0x0200 > TPM2_MAX_RSA_KEY_BYTES
  EXPECT_THAT(ParseTpmtSignature(oversized).status().message(), HasSubstr("TPMT_SIGNATURE"));
}

TEST(TpmtSignature, EcdsaRoundTrip) {
  TPMT_SIGNATURE sig = {};
  sig.sigAlg = TPM2_ALG_ECDSA;
  sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
  sig.signature.ecdsa.signatureR.size = 2;
  sig.signature.ecdsa.signatureR.buffer[0] = 0x12;
  sig.signature.ecdsa.signatureS.size = 1;
  sig.signature.ecdsa.signatureS.buffer[0] = 0x34;
  auto bytes = MarshalTpmtSignature(sig);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(HexEncode(*bytes),
            "0018000b000212000001"
            "34");
  auto back = ParseTpmtSignature(*bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->signature.ecdsa.signatureR.size, 2);
}

}  // namespace
}  // namespace bootgate::attest
