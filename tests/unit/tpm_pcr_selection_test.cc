#include "attest/tpm/pcr_selection.h"

#include <string>

#include "attest/crypto/hash.h"
#include "attest/tpm/attest_structs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::ReadExpectedPcrs;
using ::bootgate::testing::ReadTestData;
using ::testing::HasSubstr;

PcrSelection Spec(const std::string& text) {
  auto s = ParsePcrSelectionSpec(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status();
  return s.ok() ? *s : PcrSelection{};
}

TEST(PcrSelectionSpec, ParsesBanksRangesAndLists) {
  const PcrSelection s = Spec("sha256:0-9,11,14+sha1:0-7");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].alg, TPM2_ALG_SHA256);
  EXPECT_EQ(s[0].pcrs, (std::set<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14}));
  EXPECT_EQ(s[1].alg, TPM2_ALG_SHA1);
  EXPECT_EQ(s[1].pcrs.size(), 8u);
  EXPECT_EQ(FormatPcrSelectionSpec(s), "sha256:0-9,11,14+sha1:0-7");
}

TEST(PcrSelectionSpec, AllMeansZeroToTwentyThree) {
  const PcrSelection s = Spec("sha384:all");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].pcrs.size(), 24u);
  EXPECT_EQ(FormatPcrSelectionSpec(s), "sha384:0-23");
}

TEST(PcrSelectionSpec, FormatCompactsRunsAndSkipsEmptyBanks) {
  PcrSelection s = {{TPM2_ALG_SHA1, {}}, {TPM2_ALG_SHA256, {0, 2, 3, 4, 7, 9, 10}}};
  EXPECT_EQ(FormatPcrSelectionSpec(s), "sha256:0,2-4,7,9-10");
  EXPECT_EQ(FormatPcrSelectionSpec({}), "");
}

TEST(PcrSelectionSpec, RejectsMalformedSpecs) {
  const struct {
    const char* spec;
    const char* message;
  } kCases[] = {
      {"", "empty"},
      {"sha256", "is not BANK:PCRS"},
      {"sha999:0", "unknown bank 'sha999'"},
      {"sha256:", "lists no PCRs"},
      {"sha256:0-", "'' is not a PCR index"},
      {"sha256:5-3", "empty range '5-3'"},
      {"sha256:24", "PCR 24 out of range 0-23"},
      {"sha256:1,1", "PCR 1 listed twice"},
      {"sha256:0-3,2", "PCR 2 listed twice"},
      {"sha256:0+sha256:1", "bank sha256 given twice"},
      {"sha256: 1", "' 1' is not a PCR index"},
      {"sha256:-1", "'' is not a PCR index"},
      {"sha256:x1", "'x1' is not a PCR index"},
      {"sha256:0,,1", "'' is not a PCR index"},
      {"sha256:0+", "'' is not BANK:PCRS"},
      {"sha256:00007", "'00007' is not a PCR index"},
  };
  for (const auto& c : kCases) {
    auto s = ParsePcrSelectionSpec(c.spec);
    ASSERT_FALSE(s.ok()) << c.spec;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(c.message)) << c.spec;
  }
}

TEST(PcrSelectionTpml, RoundTripsThroughTss2Mu) {
  const PcrSelection s = Spec("sha256:0-7,16,23+sha1:0,1");
  auto tpml = PcrSelectionToTpml(s);
  ASSERT_TRUE(tpml.ok());
  EXPECT_EQ(tpml->count, 2u);
  EXPECT_EQ(tpml->pcrSelections[0].sizeofSelect, 3);
  EXPECT_EQ(tpml->pcrSelections[0].pcrSelect[0], 0xff);
  EXPECT_EQ(tpml->pcrSelections[0].pcrSelect[1], 0x00);
  EXPECT_EQ(tpml->pcrSelections[0].pcrSelect[2], 0x81);
  auto bytes = MarshalTpmlPcrSelection(*tpml);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(HexEncode(*bytes), "00000002000b03ff0081000403030000");
  auto parsed = ParseTpmlPcrSelection(*bytes);
  ASSERT_TRUE(parsed.ok());
  auto back = PcrSelectionFromTpml(*parsed);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

TEST(PcrSelectionTpml, HighPcrsWidenTheBitmap) {
  PcrSelection s = {{TPM2_ALG_SHA256, {31}}};
  auto tpml = PcrSelectionToTpml(s);
  ASSERT_TRUE(tpml.ok());
  EXPECT_EQ(tpml->pcrSelections[0].sizeofSelect, 4);
  EXPECT_EQ(tpml->pcrSelections[0].pcrSelect[3], 0x80);
  s[0].pcrs = {32};
  EXPECT_THAT(PcrSelectionToTpml(s).status().message(), HasSubstr("sha256:32 out of range"));
}

TEST(PcrSelectionTpml, RejectsDuplicateBanks) {
  const PcrSelection dup = {{TPM2_ALG_SHA256, {1}}, {TPM2_ALG_SHA256, {2}}};
  EXPECT_THAT(PcrSelectionToTpml(dup).status().message(), HasSubstr("bank sha256 listed twice"));
  TPML_PCR_SELECTION tpml = {};
  tpml.count = 2;
  tpml.pcrSelections[0] = {TPM2_ALG_SHA1, 3, {1, 0, 0}};
  tpml.pcrSelections[1] = {TPM2_ALG_SHA1, 3, {2, 0, 0}};
  EXPECT_THAT(PcrSelectionFromTpml(tpml).status().message(), HasSubstr("bank sha1 listed twice"));
}

TEST(PcrSelectionTpml, TruncatedAndTrailingBytesAreErrors) {
  const Bytes good = *HexDecode("00000001000b03ff0000");
  EXPECT_TRUE(ParseTpmlPcrSelection(good).ok());
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_THAT(ParseTpmlPcrSelection(longer).status().message(),
              HasSubstr("TPML_PCR_SELECTION: 1 trailing bytes"));
  const Bytes shorter(good.begin(), good.end() - 1);
  EXPECT_THAT(ParseTpmlPcrSelection(shorter).status().message(),
              HasSubstr("TPML_PCR_SELECTION: truncated"));
  // sizeofSelect 5 exceeds TPM2_PCR_SELECT_MAX.
  EXPECT_FALSE(ParseTpmlPcrSelection(*HexDecode("00000001000b05ffffffffff")).ok());
  // 17 banks exceed TPM2_NUM_PCR_BANKS.
  EXPECT_FALSE(ParseTpmlPcrSelection(*HexDecode("00000011")).ok());
}

TEST(PcrSelectionSets, EqualityIgnoresOrderAndEmptyBanks) {
  const PcrSelection a = Spec("sha256:0-3+sha1:7");
  PcrSelection b = Spec("sha1:7+sha256:0-3");
  EXPECT_TRUE(SameSelection(a, b));
  b.push_back({TPM2_ALG_SHA384, {}});
  EXPECT_TRUE(SameSelection(a, b));
  EXPECT_FALSE(SameSelection(a, Spec("sha256:0-3+sha1:6")));
  EXPECT_FALSE(SameSelection(a, Spec("sha256:0-3")));
  const PcrSet set = ToPcrSet(a);
  EXPECT_EQ(set.size(), 5u);
  EXPECT_TRUE(set.count({TPM2_ALG_SHA1, 7}));
  // Back from the set: banks by ascending algorithm id.
  EXPECT_EQ(FormatPcrSelectionSpec(FromPcrSet(set)), "sha1:7+sha256:0-3");
  EXPECT_EQ(SelectedPcrCount(b), 5u);
}

// The digest the TPM signed in the COS bundle's SHA-384-bank quote, recomputed from the bundle's
// PCR values with the signing hash (SHA-256).
TEST(PcrDigest, MatchesRealQuotes) {
  const std::string dir = "bundles/go-tpm-tools__gce-cos-85-nonce9009/";
  const PcrValues values = ReadExpectedPcrs(dir + "expected-pcrs.json");
  for (const char* name : {"quote0.sha1.msg", "quote1.sha256.msg", "quote2.sha384.msg"}) {
    SCOPED_TRACE(name);
    auto attest = ParseTpmsAttest(ReadTestData(dir + name));
    ASSERT_TRUE(attest.ok());
    auto selection = PcrSelectionFromTpml(attest->attested.quote.pcrSelect);
    ASSERT_TRUE(selection.ok());
    auto digest = ComputePcrDigest(TPM2_ALG_SHA256, *selection, values);
    ASSERT_TRUE(digest.ok());
    const TPM2B_DIGEST& signed_digest = attest->attested.quote.pcrDigest;
    EXPECT_EQ(HexEncode(*digest), HexEncode(ByteSpan(signed_digest.buffer, signed_digest.size)));
  }
}

TEST(PcrDigest, OrderFollowsTheSelection) {
  PcrValues values;
  values[TPM2_ALG_SHA1][0] = Bytes(20, 1);
  values[TPM2_ALG_SHA256][0] = Bytes(32, 2);
  auto ab = ComputePcrDigest(TPM2_ALG_SHA256, Spec("sha1:0+sha256:0"), values);
  auto ba = ComputePcrDigest(TPM2_ALG_SHA256, Spec("sha256:0+sha1:0"), values);
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_NE(*ab, *ba);
  Bytes concat(20, 1);
  concat.insert(concat.end(), 32, 2);
  EXPECT_EQ(*ab, *Hash(TPM2_ALG_SHA256, concat));
}

TEST(PcrDigest, NamesTheMissingOrMisSizedPcr) {
  PcrValues values;
  values[TPM2_ALG_SHA256][0] = Bytes(32, 0);
  EXPECT_THAT(ComputePcrDigest(TPM2_ALG_SHA256, Spec("sha256:0,1"), values).status().message(),
              HasSubstr("sha256:1 not supplied"));
  EXPECT_THAT(ComputePcrDigest(TPM2_ALG_SHA256, Spec("sha1:0"), values).status().message(),
              HasSubstr("no values for bank sha1"));
  values[TPM2_ALG_SHA256][1] = Bytes(20, 0);
  EXPECT_THAT(ComputePcrDigest(TPM2_ALG_SHA256, Spec("sha256:0,1"), values).status().message(),
              HasSubstr("sha256:1 has 20 bytes, expected 32"));
  EXPECT_THAT(ComputePcrDigest(0x0099, Spec("sha256:0"), values).status().message(),
              HasSubstr("not supported"));
}

}  // namespace
}  // namespace bootgate::attest
