// Quotes checked against real event logs: ParseEventLog + ReplayEventLog feed the verifier, with
// and without separately supplied PCR values.
#include <string>

#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "attest/quote/quote_verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::ReadExpectedPcrs;
using ::bootgate::testing::ReadTestData;
using ::bootgate::testing::ReadTestDataString;
using ::testing::HasSubstr;

struct Capture {
  Bytes ak;
  Bytes attest;
  Bytes signature;
  Bytes nonce;
  PcrValues pcrs;
  PcrValues replayed;
  QuoteVerifyOptions options;
};

PcrValues Replay(const std::string& path) {
  auto log = ParseEventLog(ReadTestData(path));
  EXPECT_TRUE(log.ok()) << path << ": " << log.status();
  if (!log.ok()) return {};
  auto replayed = ReplayEventLog(*log);
  EXPECT_TRUE(replayed.ok()) << path << ": " << replayed.status();
  return replayed.ok() ? *replayed : PcrValues{};
}

Capture Qemu(const std::string& name) {
  const std::string dir = "qemu/" + name + "/";
  auto nonce = HexDecode(ReadTestDataString(dir + "nonce"));
  return Capture{ReadTestData(dir + "ak.tpm2b"),
                 ReadTestData(dir + "quote.msg"),
                 ReadTestData(dir + "quote.sig"),
                 nonce.ok() ? *nonce : Bytes{},
                 ReadExpectedPcrs(dir + "expected-pcrs.json"),
                 Replay(dir + "binary_bios_measurements"),
                 {}};
}

Capture Cos(const std::string& quote) {
  const std::string dir = "bundles/go-tpm-tools__gce-cos-85-nonce9009/";
  return Capture{ReadTestData(dir + "ak.tpm2b"),
                 ReadTestData(dir + quote + ".msg"),
                 ReadTestData(dir + quote + ".sig"),
                 Bytes{0x90, 0x09},
                 ReadExpectedPcrs(dir + "expected-pcrs.json"),
                 Replay(dir + "eventlog.bin"),
                 {}};
}

Capture Windows() {
  const std::string dir = "bundles/go-attestation__windows_gcp_shielded_vm/";
  Capture c{ReadTestData(dir + "ak.Public"),
            ReadTestData(dir + "quote.Quote"),
            ReadTestData(dir + "quote.Signature"),
            Bytes{},
            ReadExpectedPcrs(dir + "expected-pcrs.json"),
            Replay(dir + "rawlog.bin"),
            {}};
  c.options.ak.allow_sha1_signing = true;
  return c;
}

QuoteInput Input(const Capture& c, bool with_pcrs, bool with_log) {
  QuoteInput in;
  in.ak_public = c.ak;
  in.attest = c.attest;
  in.signature = c.signature;
  in.nonce = c.nonce;
  in.pcr_values = with_pcrs ? &c.pcrs : nullptr;
  in.replayed_pcrs = with_log ? &c.replayed : nullptr;
  in.options = c.options;
  return in;
}

std::string Describe(const QuoteResult& r) {
  std::string out = QuoteFindingName(r.finding);
  for (const QuoteCheck& c : r.checks) {
    out += "\n  " + c.name + (c.passed() ? " PASS " : " FAIL ") + c.detail;
  }
  return out;
}

const QuoteCheck* Find(const QuoteResult& r, const std::string& name) {
  for (const QuoteCheck& c : r.checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// Windows' log explains every quoted PCR (the rest are at their reset values, PCRs 17-22 at
// all-ones), so the log alone verifies the quote.
TEST(QuoteWithEventLog, WindowsLogAloneVerifiesTheQuote) {
  const Capture c = Windows();
  const QuoteResult r = VerifyQuote(Input(c, /*with_pcrs=*/false, /*with_log=*/true));
  EXPECT_TRUE(r.verdict) << Describe(r);
  EXPECT_THAT(Find(r, "pcr_values")->detail,
              HasSubstr("never extended by the log, reset value used: sha1:1-3,6,8-10,15-23"));
  EXPECT_THAT(Find(r, "pcr_digest")->detail, HasSubstr("replayed from the event log"));
  EXPECT_EQ(r.quoted_pcrs.at(TPM2_ALG_SHA1).at(17), Bytes(20, 0xff));
  EXPECT_EQ(r.quoted_pcrs, c.pcrs);
}

TEST(QuoteWithEventLog, ValuesAndLogTogether) {
  for (const Capture& c : {Qemu("qemu-ovmf-directkernel"), Qemu("qemu-ovmf-uki-systemdstub"),
                           Qemu("qemu-ovmf-secureboot-shim-grub"), Cos("quote0.sha1"),
                           Cos("quote1.sha256"), Cos("quote2.sha384"), Windows()}) {
    const QuoteResult r = VerifyQuote(Input(c, true, true));
    EXPECT_TRUE(r.verdict) << Describe(r);
    ASSERT_EQ(r.checks.size(), 11u);
    EXPECT_EQ(r.checks.back().name, "eventlog_replay");
  }
}

// QEMU's and COS's PCR 10 is extended by the kernel's IMA, not by the firmware: the firmware log
// cannot vouch for it. Alone, the log cannot reproduce the quote; with the PCR values, the check
// passes and names PCR 10 as extended outside the log.
TEST(QuoteWithEventLog, Pcr10IsExtendedOutsideTheFirmwareLog) {
  const Capture c = Qemu("qemu-ovmf-directkernel");
  const QuoteResult alone = VerifyQuote(Input(c, false, true));
  EXPECT_FALSE(alone.verdict);
  EXPECT_EQ(alone.finding, QuoteFinding::kEventLogReplayMismatch) << Describe(alone);
  EXPECT_EQ(alone.FirstFailure()->name, "pcr_digest");

  const QuoteResult both = VerifyQuote(Input(c, true, true));
  ASSERT_TRUE(both.verdict) << Describe(both);
  EXPECT_THAT(Find(both, "eventlog_replay")->detail,
              HasSubstr("not in the log but extended (outside this log, not vouched for by it): "
                        "sha1:10+sha256:10"));
}

TEST(QuoteWithEventLog, ReplayDifferingFromQuotedValuesFails) {
  Capture c = Qemu("qemu-ovmf-secureboot-shim-grub");
  c.replayed[TPM2_ALG_SHA256][7][0] ^= 0x01;  // as if the log's PCR 7 events were altered
  const QuoteResult r = VerifyQuote(Input(c, true, true));
  EXPECT_FALSE(r.verdict);
  EXPECT_EQ(r.finding, QuoteFinding::kEventLogReplayMismatch);
  ASSERT_NE(r.FirstFailure(), nullptr);
  EXPECT_EQ(r.FirstFailure()->name, "eventlog_replay");
  EXPECT_THAT(r.FirstFailure()->detail, HasSubstr("1 PCRs differ: sha256:7 replay"));
}

TEST(QuoteWithEventLog, QuotedBankMissingFromTheLog) {
  Capture c = Cos("quote2.sha384");
  c.replayed.erase(TPM2_ALG_SHA384);
  const QuoteResult alone = VerifyQuote(Input(c, false, true));
  EXPECT_EQ(alone.finding, QuoteFinding::kEventLogBankMissing) << Describe(alone);
  EXPECT_THAT(alone.FirstFailure()->detail,
              HasSubstr("the event log has no sha384 digests, but the quote selects sha384:0-23"));
  const QuoteResult both = VerifyQuote(Input(c, true, true));
  EXPECT_EQ(both.finding, QuoteFinding::kEventLogBankMissing) << Describe(both);
  EXPECT_EQ(both.FirstFailure()->name, "eventlog_replay");
}

TEST(RestrictReplay, UsesResetValuesForPcrsTheLogNeverExtended) {
  PcrValues replayed;
  replayed[TPM2_ALG_SHA256][0] = Bytes(32, 0x11);
  replayed[TPM2_ALG_SHA256][9] = Bytes(32, 0x99);  // not selected: left out
  auto selection = ParsePcrSelectionSpec("sha256:0,16,17,22,23");
  ASSERT_TRUE(selection.ok());
  const ReplayRestriction r = RestrictReplayToSelection(replayed, *selection);
  ASSERT_EQ(r.finding, QuoteFinding::kOk);
  const PcrBank& bank = r.values.at(TPM2_ALG_SHA256);
  EXPECT_EQ(bank.size(), 5u);
  EXPECT_EQ(bank.at(0), Bytes(32, 0x11));
  EXPECT_EQ(bank.at(16), Bytes(32, 0x00));
  EXPECT_EQ(bank.at(17), Bytes(32, 0xff));
  EXPECT_EQ(bank.at(22), Bytes(32, 0xff));
  EXPECT_EQ(bank.at(23), Bytes(32, 0x00));
  EXPECT_EQ(r.not_extended.size(), 4u);
  EXPECT_THAT(r.detail, HasSubstr("reset value used: sha256:16-17,22-23"));
}

TEST(RestrictReplay, EmptyBanksInTheSelectionNeedNoLogBank) {
  PcrValues replayed;
  replayed[TPM2_ALG_SHA256][0] = Bytes(32, 0x11);
  const PcrSelection selection = {{TPM2_ALG_SHA1, {}}, {TPM2_ALG_SHA256, {0}}};
  EXPECT_EQ(RestrictReplayToSelection(replayed, selection).finding, QuoteFinding::kOk);
}

}  // namespace
}  // namespace bootgate::attest
