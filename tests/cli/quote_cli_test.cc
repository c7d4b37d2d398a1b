// `bootgate quote verify` on the real bundles: pass cases, rejections with their exit code and
// JSON, usage errors and unreadable input.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace bootgate::cli {
namespace {

using ::bootgate::testing::CommandResult;
using ::bootgate::testing::ReadTestData;
using ::bootgate::testing::ReadTestDataString;
using ::bootgate::testing::RunBinary;
using ::bootgate::testing::TestDataPath;
using ::bootgate::testing::WriteTempFile;
using ::testing::HasSubstr;

const std::string kCos = "bundles/go-tpm-tools__gce-cos-85-nonce9009/";
const std::string kWindows = "bundles/go-attestation__windows_gcp_shielded_vm/";
const char* const kQemu[] = {"qemu-ovmf-directkernel", "qemu-ovmf-uki-systemdstub",
                             "qemu-ovmf-secureboot-shim-grub"};

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> QemuArgs(const std::string& name) {
  const std::string dir = "qemu/" + name + "/";
  return {"quote",       "verify",
          "--ak",        TestDataPath(dir + "ak.tpm2b"),
          "--quote",     TestDataPath(dir + "quote.msg"),
          "--signature", TestDataPath(dir + "quote.sig"),
          "--nonce",     Trimmed(ReadTestDataString(dir + "nonce"))};
}

std::vector<std::string> CosArgs(const std::string& quote) {
  return {"quote",       "verify",
          "--ak",        TestDataPath(kCos + "ak.tpm2b"),
          "--quote",     TestDataPath(kCos + quote + ".msg"),
          "--signature", TestDataPath(kCos + quote + ".sig"),
          "--nonce",     "9009"};
}

std::vector<std::string> WindowsArgs() {
  return {"quote",       "verify",
          "--ak",        TestDataPath(kWindows + "ak.Public"),
          "--quote",     TestDataPath(kWindows + "quote.Quote"),
          "--signature", TestDataPath(kWindows + "quote.Signature"),
          "--nonce=",    "--allow-sha1-signing"};
}

std::vector<std::string> With(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string Show(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

nlohmann::json Json(const CommandResult& r) {
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << Show(r);
  return j;
}

const nlohmann::json* Check(const nlohmann::json& j, const std::string& name) {
  for (const auto& c : j["checks"]) {
    if (c["name"] == name) return &c;
  }
  return nullptr;
}

TEST(QuoteCli, QemuCapturesPassWithPcrs) {
  for (const char* q : kQemu) {
    const CommandResult r =
        RunBinary("bootgate", With(QemuArgs(q), {"--pcrs", TestDataPath(std::string("qemu/") + q +
                                                                        "/expected-pcrs.json")}));
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    EXPECT_THAT(r.out, HasSubstr("PASS signature        rsassa-sha256"));
    EXPECT_THAT(r.out, HasSubstr("verdict: PASS (QUOTE_OK)"));
  }
}

TEST(QuoteCli, QemuCapturesPassWithEventLogAndPcrs) {
  for (const char* q : kQemu) {
    const std::string dir = std::string("qemu/") + q + "/";
    const CommandResult r = RunBinary(
        "bootgate", With(QemuArgs(q), {"--eventlog", TestDataPath(dir + "binary_bios_measurements"),
                                       "--pcrs", TestDataPath(dir + "expected-pcrs.json"),
                                       "--selection", "sha256:0-14+sha1:0-14"}));
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    EXPECT_THAT(r.out, HasSubstr("PASS eventlog_replay"));
    EXPECT_THAT(r.out, HasSubstr("PASS pcr_selection    sha256:0-14+sha1:0-14 (as requested)"));
  }
}

TEST(QuoteCli, CosQuotesPassWithPcrsAndWithEventLog) {
  for (const char* quote : {"quote0.sha1", "quote1.sha256", "quote2.sha384"}) {
    const CommandResult pcrs = RunBinary(
        "bootgate", With(CosArgs(quote), {"--pcrs", TestDataPath(kCos + "expected-pcrs.json")}));
    EXPECT_EQ(pcrs.exit_code, 0) << Show(pcrs);
    const CommandResult both =
        RunBinary("bootgate",
                  With(CosArgs(quote), {"--eventlog", TestDataPath(kCos + "eventlog.bin"), "--pcrs",
                                        TestDataPath(kCos + "expected-pcrs.json"), "--json"}));
    EXPECT_EQ(both.exit_code, 0) << Show(both);
    const nlohmann::json j = Json(both);
    EXPECT_EQ(j["verdict"], "pass");
    EXPECT_EQ(j["finding"], "QUOTE_OK");
    ASSERT_NE(Check(j, "eventlog_replay"), nullptr);
    EXPECT_EQ((*Check(j, "eventlog_replay"))["passed"], true);
  }
}

TEST(QuoteCli, WindowsPassesWithEventLogAloneAndWithPcrs) {
  const CommandResult log = RunBinary(
      "bootgate", With(WindowsArgs(), {"--eventlog", TestDataPath(kWindows + "rawlog.bin")}));
  EXPECT_EQ(log.exit_code, 0) << Show(log);
  EXPECT_THAT(log.out, HasSubstr("replayed from the event log"));
  const CommandResult pcrs = RunBinary(
      "bootgate", With(WindowsArgs(), {"--pcrs", TestDataPath(kWindows + "expected-pcrs.json")}));
  EXPECT_EQ(pcrs.exit_code, 0) << Show(pcrs);
  EXPECT_THAT(pcrs.out, HasSubstr("PASS signature        rsassa-sha1"));
}

TEST(QuoteCli, JsonNamesEveryCheckAndReportsTheQuote) {
  const CommandResult r = RunBinary(
      "bootgate",
      With(QemuArgs("qemu-ovmf-directkernel"),
           {"--pcrs", TestDataPath("qemu/qemu-ovmf-directkernel/expected-pcrs.json"), "--json"}));
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const nlohmann::json j = Json(r);
  EXPECT_EQ(j["verdict"], "pass");
  std::vector<std::string> names;
  for (const auto& c : j["checks"]) {
    names.push_back(c["name"]);
    EXPECT_EQ(c["passed"], true);
    EXPECT_EQ(c["state"], "passed");
  }
  EXPECT_THAT(names, ::testing::ElementsAre("ak_public", "ak_attributes", "signature", "magic",
                                            "type", "attest_structure", "nonce", "pcr_selection",
                                            "pcr_values", "pcr_digest"));
  EXPECT_EQ(j["clock"]["clock"], 22560);
  EXPECT_EQ(j["clock"]["reset_count"], 2);
  EXPECT_EQ(j["clock"]["safe"], true);
  EXPECT_EQ(j["selection"]["sha256"].size(), 15u);
  EXPECT_EQ(j["selection_spec"], "sha256:0-14+sha1:0-14");
  EXPECT_EQ(j["signature"]["scheme"], "rsassa");
  EXPECT_EQ(j["ak_name"], "000b995c67d1fb1d40fb35b38e4831110a2aacbf331cd6eec67b1c3e6bf2f2233d41");
  EXPECT_EQ(j["pcrs"]["sha256"].size(), 15u);
}

TEST(QuoteCli, WrongNonceIsRejectedAndNamed) {
  std::vector<std::string> args = CosArgs("quote1.sha256");
  args.back() = "900a";
  const CommandResult r = RunBinary(
      "bootgate", With(args, {"--pcrs", TestDataPath(kCos + "expected-pcrs.json"), "--json"}));
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  const nlohmann::json j = Json(r);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["finding"], "QUOTE_NONCE_MISMATCH");
  const nlohmann::json* nonce = Check(j, "nonce");
  ASSERT_NE(nonce, nullptr);
  EXPECT_EQ((*nonce)["passed"], false);
  EXPECT_EQ((*nonce)["finding"], "QUOTE_NONCE_MISMATCH");
  EXPECT_THAT((*nonce)["detail"].get<std::string>(), HasSubstr("expected 900a"));
  const nlohmann::json* digest = Check(j, "pcr_digest");
  ASSERT_NE(digest, nullptr);
  EXPECT_EQ((*digest)["state"], "not_run");
  EXPECT_EQ((*digest)["passed"], false);
  EXPECT_FALSE(j.contains("pcrs"));

  const CommandResult text =
      RunBinary("bootgate", With(args, {"--pcrs", TestDataPath(kCos + "expected-pcrs.json")}));
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_THAT(text.out, HasSubstr("FAIL nonce            expected 900a (2 bytes) got 9009"));
  EXPECT_THAT(text.out, HasSubstr("SKIP pcr_digest       not run: nonce failed"));
  EXPECT_THAT(text.out, HasSubstr("verdict: FAIL (QUOTE_NONCE_MISMATCH)"));
}

TEST(QuoteCli, RejectionsExitOne) {
  const std::string pcrs = TestDataPath(kCos + "expected-pcrs.json");
  // Windows' SHA-1 signing scheme without the relaxation.
  std::vector<std::string> strict = WindowsArgs();
  strict.pop_back();
  CommandResult r = RunBinary(
      "bootgate", With(strict, {"--pcrs", TestDataPath(kWindows + "expected-pcrs.json")}));
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("verdict: FAIL (QUOTE_AK_ATTRIBUTES)"));
  // Requested selection differs from the signed one.
  r = RunBinary("bootgate",
                With(CosArgs("quote0.sha1"), {"--pcrs", pcrs, "--selection", "sha1:0-23,7"}));
  EXPECT_EQ(r.exit_code, 2) << Show(r);  // PCR 7 twice: a usage error
  r = RunBinary("bootgate",
                With(CosArgs("quote0.sha1"), {"--pcrs", pcrs, "--selection", "sha1:0-7"}));
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("not requested: sha1:8-23"));
  // The firmware log alone cannot reproduce a quote over the IMA PCR 10.
  r = RunBinary(
      "bootgate",
      With(QemuArgs("qemu-ovmf-directkernel"),
           {"--eventlog", TestDataPath("qemu/qemu-ovmf-directkernel/binary_bios_measurements")}));
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("verdict: FAIL (EVENTLOG_REPLAY_MISMATCH)"));
  // A flipped signature byte.
  attest::Bytes sig = ReadTestData(kCos + "quote1.sha256.sig");
  sig[100] ^= 0x01;
  std::vector<std::string> args = CosArgs("quote1.sha256");
  args[7] = WriteTempFile("flipped.sig", sig);
  r = RunBinary("bootgate", With(args, {"--pcrs", pcrs}));
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("verdict: FAIL (QUOTE_SIGNATURE_INVALID)"));
}

TEST(QuoteCli, UsageErrorsExitTwo) {
  const std::string pcrs = TestDataPath(kCos + "expected-pcrs.json");
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  std::vector<std::string> no_nonce = CosArgs("quote1.sha256");
  no_nonce.resize(no_nonce.size() - 2);
  std::vector<std::string> bad_nonce = CosArgs("quote1.sha256");
  bad_nonce.back() = "90g9";
  const Case cases[] = {
      {{"quote"}, "missing subcommand"},
      {{"quote", "sign"}, "unknown subcommand 'sign'"},
      {With(no_nonce, {"--pcrs", pcrs}), "--nonce is required"},
      {CosArgs("quote1.sha256"), "--pcrs or --eventlog"},
      {With(bad_nonce, {"--pcrs", pcrs}), "--nonce: non-hex character"},
      {With(CosArgs("quote1.sha256"), {"--pcrs", pcrs, "--selection", "sha256:0-99"}),
       "--selection: PCR selection: sha256: PCR 99 out of range"},
      {With(CosArgs("quote1.sha256"), {"--pcrs", pcrs, "--frobnicate"}),
       "unknown flag --frobnicate"},
      {With(CosArgs("quote1.sha256"), {"--pcrs", pcrs, "extra"}), "unexpected argument 'extra'"},
  };
  for (const Case& c : cases) {
    const CommandResult r = RunBinary("bootgate", c.args);
    EXPECT_EQ(r.exit_code, 2) << Show(r);
    EXPECT_THAT(r.err, HasSubstr(c.message)) << Show(r);
  }
}

TEST(QuoteCli, HelpExitsZero) {
  CommandResult r = RunBinary("bootgate", {"quote", "verify", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--nonce HEX"));
  EXPECT_THAT(r.out, HasSubstr("e.g. 9009"));
  r = RunBinary("bootgate", {"quote", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("bootgate quote verify"));
}

TEST(QuoteCli, UnreadableOrMalformedInputExitsThree) {
  const std::string pcrs = TestDataPath(kCos + "expected-pcrs.json");
  std::vector<std::string> missing = CosArgs("quote1.sha256");
  missing[3] = TestDataPath("no/such/ak");
  CommandResult r = RunBinary("bootgate", With(missing, {"--pcrs", pcrs}));
  EXPECT_EQ(r.exit_code, 3) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("cannot open"));

  r = RunBinary("bootgate",
                With(CosArgs("quote1.sha256"),
                     {"--pcrs", WriteTempFile("bad.json", attest::AsSpan("{\"sha256\": 1}"))}));
  EXPECT_EQ(r.exit_code, 3) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("bank sha256 is not an object"));

  attest::Bytes ak = ReadTestData(kCos + "ak.tpm2b");
  ak.resize(40);
  std::vector<std::string> short_ak = CosArgs("quote1.sha256");
  short_ak[3] = WriteTempFile("short.ak", ak);
  r = RunBinary("bootgate", With(short_ak, {"--pcrs", pcrs, "--json"}));
  EXPECT_EQ(r.exit_code, 3) << Show(r);
  EXPECT_EQ(Json(r)["finding"], "QUOTE_AK_MALFORMED");
  EXPECT_THAT(r.err, HasSubstr("ak_public"));

  attest::Bytes sig = ReadTestData(kCos + "quote1.sha256.sig");
  sig.push_back(0);
  std::vector<std::string> long_sig = CosArgs("quote1.sha256");
  long_sig[7] = WriteTempFile("long.sig", sig);
  r = RunBinary("bootgate", With(long_sig, {"--pcrs", pcrs}));
  EXPECT_EQ(r.exit_code, 3) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("TPMT_SIGNATURE: 1 trailing bytes"));

  r = RunBinary(
      "bootgate",
      With(CosArgs("quote1.sha256"),
           {"--eventlog", TestDataPath("eventlogs/go-attestation__short_no_action_eventlog")}));
  EXPECT_EQ(r.exit_code, 3) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("short_no_action_eventlog"));
}

}  // namespace
}  // namespace bootgate::cli
