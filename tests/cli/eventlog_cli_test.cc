// `bootgate eventlog show|replay`: the JSON contract, text output and exit codes of the built
// binary.
#include <algorithm>
#include <string>
#include <vector>

#include "attest/crypto/hash.h"
#include "attest/pcr/pcr_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace bootgate {
namespace {

using ::bootgate::testing::CommandResult;
using ::bootgate::testing::ReadExpectedPcrs;
using ::bootgate::testing::RunBinary;
using ::bootgate::testing::TestDataPath;
using ::bootgate::testing::WriteTempFile;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kOk = 0;
constexpr int kUsage = 2;
constexpr int kBadInput = 3;

const std::string kGlinux = TestDataPath("eventlogs/go-tpm-tools__glinux-alex.bin");
const std::string kWindows =
    TestDataPath("bundles/go-attestation__windows_gcp_shielded_vm/rawlog.bin");
const std::string kShimGrub =
    TestDataPath("qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements");
const std::string kFragment = TestDataPath("eventlogs/go-attestation__short_no_action_eventlog");

nlohmann::json ParseJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

size_t Lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(EventlogReplay, JsonContractCryptoAgile) {
  CommandResult r = RunBinary("bootgate", {"eventlog", "replay", kGlinux, "--json"});
  ASSERT_EQ(r.exit_code, kOk) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  nlohmann::json j = ParseJson(r.out);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), 3u);  // exactly format, events, pcrs
  EXPECT_EQ(j["format"], "crypto-agile");
  EXPECT_EQ(j["events"], 29);
  // Same shape as the expected-pcrs files and `quote verify --pcrs`.
  auto pcrs = attest::PcrValuesFromJson(j["pcrs"]);
  ASSERT_TRUE(pcrs.ok()) << pcrs.status();
  const attest::PcrValues expected =
      ReadExpectedPcrs("expected/go-tpm-tools__glinux-alex.bin.json");
  for (const auto& [alg, bank] : expected) {
    for (const auto& [pcr, value] : bank) {
      EXPECT_EQ(pcrs->at(alg).at(pcr), value) << attest::HashAlgName(alg) << " PCR " << pcr;
    }
  }
  // Lower-case hex, decimal PCR keys, bank names.
  EXPECT_EQ(j["pcrs"]["sha256"]["0"],
            "0e5ea849d7647a1ac1becc096fee4df98f00f8015f934afadaab0b8aa20b38a5");
  EXPECT_TRUE(j["pcrs"].contains("sha1"));
}

TEST(EventlogReplay, JsonContractSha1Legacy) {
  CommandResult r = RunBinary("bootgate", {"eventlog", "replay", "--json", kWindows});
  ASSERT_EQ(r.exit_code, kOk) << r.err;
  nlohmann::json j = ParseJson(r.out);
  EXPECT_EQ(j["format"], "sha1-legacy");
  EXPECT_EQ(j["events"], 21);
  ASSERT_EQ(j["pcrs"].size(), 1u);
  auto pcrs = attest::PcrValuesFromJson(j["pcrs"]);
  ASSERT_TRUE(pcrs.ok()) << pcrs.status();
  const attest::PcrValues expected =
      ReadExpectedPcrs("bundles/go-attestation__windows_gcp_shielded_vm/expected-pcrs.json");
  for (const auto& [pcr, value] : pcrs->at(0x0004)) {
    EXPECT_EQ(value, expected.at(0x0004).at(pcr)) << "PCR " << pcr;
  }
  // Only PCRs that events extended.
  EXPECT_EQ(j["pcrs"]["sha1"].size(), 8u);
}

TEST(EventlogReplay, TextTable) {
  CommandResult r = RunBinary("bootgate", {"eventlog", "replay", kShimGrub});
  ASSERT_EQ(r.exit_code, kOk) << r.err;
  EXPECT_THAT(r.out, StartsWith("crypto-agile log, 48 events\nsha1:\n"));
  EXPECT_THAT(r.out, HasSubstr("\nsha256:\n"));
  EXPECT_THAT(r.out, HasSubstr("  14  "));
}

TEST(EventlogShow, TextOneLinePerEvent) {
  CommandResult r = RunBinary("bootgate", {"eventlog", "show", kShimGrub});
  ASSERT_EQ(r.exit_code, kOk) << r.err;
  EXPECT_EQ(Lines(r.out), 49u);  // header + 48 events
  EXPECT_THAT(r.out, HasSubstr("EV_EFI_VARIABLE_DRIVER_CONFIG"));
  EXPECT_THAT(r.out, HasSubstr("grub_cmd: linux /vmlinuz console=ttyS0 panic=-1 ima_policy=tcb"));
  EXPECT_THAT(r.out, HasSubstr("sha256:15a7ccb5.."));  // shortened digests
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("undecodable")));
}

TEST(EventlogShow, JsonFullDetail) {
  CommandResult r = RunBinary("bootgate", {"eventlog", "show", kGlinux, "--json"});
  ASSERT_EQ(r.exit_code, kOk) << r.err;
  nlohmann::json j = ParseJson(r.out);
  EXPECT_EQ(j["format"], "crypto-agile");
  EXPECT_EQ(j["startup_locality"], 3);
  ASSERT_EQ(j["events"].size(), 29u);
  EXPECT_EQ(j["events"][1]["decoded"]["kind"], "startup_locality");
  EXPECT_EQ(j["events"][5]["digests"]["sha256"].get<std::string>().size(), 64u);  // full digests
}

TEST(EventlogErrors, ShortFragmentExits3WithOneLine) {
  CommandResult r = RunBinary("bootgate", {"eventlog", "replay", kFragment, "--json"});
  EXPECT_EQ(r.exit_code, kBadInput);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err, "bootgate: " + kFragment +
                       ": event 0: StartupLocality event in a log without a Spec ID header\n");
  CommandResult show = RunBinary("bootgate", {"eventlog", "show", kFragment});
  EXPECT_EQ(show.exit_code, kBadInput);
  EXPECT_EQ(Lines(show.err), 1u);
}

TEST(EventlogErrors, TruncatedLogNamesTheEvent) {
  attest::Bytes data = ::bootgate::testing::ReadTestData(
      "qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements");
  data.resize(data.size() - 5);
  const std::string path = WriteTempFile("truncated.bin", data);
  CommandResult r = RunBinary("bootgate", {"eventlog", "replay", path, "--json"});
  EXPECT_EQ(r.exit_code, kBadInput);
  EXPECT_THAT(r.err, StartsWith("bootgate: " + path + ": event 47: truncated event data"));
  EXPECT_EQ(Lines(r.err), 1u);
}

TEST(EventlogErrors, MissingFileExits3) {
  CommandResult r = RunBinary("bootgate", {"eventlog", "show", "/nonexistent/log.bin"});
  EXPECT_EQ(r.exit_code, kBadInput);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/log.bin"));
  EXPECT_EQ(Lines(r.err), 1u);
}

TEST(EventlogUsage, BadCommandLinesExit2) {
  const std::vector<std::vector<std::string>> cases = {
      {"eventlog"},
      {"eventlog", "frobnicate", kGlinux},
      {"eventlog", "replay"},
      {"eventlog", "show", kGlinux, kGlinux},
      {"eventlog", "replay", kGlinux, "--jsn"},
      {"eventlog", "replay", kGlinux, "--json=yes"},
  };
  for (const auto& args : cases) {
    CommandResult r = RunBinary("bootgate", args);
    EXPECT_EQ(r.exit_code, kUsage) << args.back();
    EXPECT_TRUE(r.out.empty());
    EXPECT_THAT(r.err, HasSubstr("Usage"));
  }
}

TEST(EventlogUsage, HelpExits0) {
  for (const char* sub : {"show", "replay"}) {
    CommandResult r = RunBinary("bootgate", {"eventlog", sub, "--help"});
    EXPECT_EQ(r.exit_code, kOk);
    EXPECT_THAT(r.out, StartsWith(std::string("Usage: bootgate eventlog ") + sub));
  }
  CommandResult r = RunBinary("bootgate", {"eventlog", "--help"});
  EXPECT_EQ(r.exit_code, kOk);
  EXPECT_THAT(r.out, HasSubstr("bootgate eventlog replay FILE"));
}

}  // namespace
}  // namespace bootgate
