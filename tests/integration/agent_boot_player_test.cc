// The boot player plays real recorded event logs into a fresh swtpm; the agent then quotes, and
// `bootgate quote verify --eventlog` accepts the quote against the log, and rejects it once one
// event's digest is changed in the log. Logs a TPM cannot reproduce are refused clearly.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_types.h"
#include "attest/eventlog/replay.h"
#include "attest/pcr/pcr_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "swtpm-fixtures/boot_player/boot_player.h"
#include "tests/integration/swtpm_instance.h"
#include "tests/testing/test_util.h"

namespace bootgate::testing {
namespace {

using attest::Bytes;
using ::testing::HasSubstr;

constexpr char kNonce[] = "b007b007b007b007b007b007b007b007";

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const Bytes& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A copy of `log` with one byte of the last measured event's digest in `alg` flipped.
Bytes WithOneDigestChanged(const Bytes& log, uint16_t alg) {
  auto parsed = attest::ParseEventLog(log);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return log;
  for (auto e = parsed->events.rbegin(); e != parsed->events.rend(); ++e) {
    if (e->type == attest::kEvNoAction) continue;
    for (const attest::EventDigest& d : e->digests) {
      if (d.alg != alg) continue;
      auto at = std::search(log.begin() + static_cast<std::ptrdiff_t>(e->offset), log.end(),
                            d.digest.begin(), d.digest.end());
      EXPECT_NE(at, log.end());
      Bytes changed = log;
      changed[static_cast<size_t>(at - log.begin())] ^= 0x5a;
      return changed;
    }
  }
  ADD_FAILURE() << "no measured event with that bank";
  return log;
}

struct LogCase {
  const char* path;       // under tests/data
  const char* selection;  // what the agent quotes
  uint16_t tamper_alg;    // bank whose digest the tamper test changes
};

class BootPlayerTest : public ::testing::TestWithParam<LogCase> {
 protected:
  void SetUp() override {
    BOOTGATE_REQUIRE_SWTPM();
    auto started = SwtpmInstance::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    tpm_ = std::move(*started);
  }

  CommandResult Verify(const std::string& out, const std::string& log, bool with_pcrs) {
    std::vector<std::string> args = {"quote",         "verify",           "--ak",
                                     out + "/ak.pub", "--quote",          out + "/quote.msg",
                                     "--signature",   out + "/quote.sig", "--nonce",
                                     kNonce,          "--eventlog",       log};
    if (with_pcrs) args.insert(args.end(), {"--pcrs", out + "/pcrs.json"});
    return RunBinary("bootgate", args);
  }

  std::unique_ptr<SwtpmInstance> tpm_;
};

TEST_P(BootPlayerTest, PlayedLogVerifiesAgainstTheQuoteAndATamperedOneDoesNot) {
  const LogCase& c = GetParam();
  const std::string log = TestDataPath(c.path);

  CommandResult played =
      RunBinary("bootgate-boot-player", {"--tcti", tpm_->tcti(), "--eventlog", log, "--json"});
  ASSERT_EQ(played.exit_code, 0) << played.err;
  nlohmann::json report = nlohmann::json::parse(played.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << played.out;
  EXPECT_GT(report["extended"].get<int>(), 0);

  // What the player reports is the log's own replay, bank by bank.
  auto parsed = attest::ParseEventLog(ReadFile(log));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto replayed = attest::ReplayEventLog(*parsed);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  auto reported = attest::PcrValuesFromJson(report["pcrs"]);
  ASSERT_TRUE(reported.ok()) << reported.status();
  for (const auto& [alg, bank] : *reported) EXPECT_EQ(bank, (*replayed)[alg]);

  const std::string out = tpm_->WorkPath("quote");
  CommandResult quote =
      RunBinary("bootgate-agent",
                {"quote", "--tcti", tpm_->tcti(), "--state-dir", tpm_->WorkPath("agent-state"),
                 "--nonce", kNonce, "--pcrs", c.selection, "--out", out, "--eventlog", log});
  ASSERT_EQ(quote.exit_code, 0) << quote.err;
  EXPECT_EQ(ReadFile(out + "/eventlog.bin"), ReadFile(log));

  CommandResult against_log = Verify(out, out + "/eventlog.bin", /*with_pcrs=*/false);
  EXPECT_EQ(against_log.exit_code, 0) << against_log.out << against_log.err;
  CommandResult both = Verify(out, out + "/eventlog.bin", /*with_pcrs=*/true);
  EXPECT_EQ(both.exit_code, 0) << both.out << both.err;

  const std::string tampered = tpm_->WorkPath("tampered.bin");
  WriteFile(tampered, WithOneDigestChanged(ReadFile(log), c.tamper_alg));
  CommandResult bad = Verify(out, tampered, /*with_pcrs=*/false);
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  CommandResult bad_with_pcrs = Verify(out, tampered, /*with_pcrs=*/true);
  EXPECT_EQ(bad_with_pcrs.exit_code, 1) << bad_with_pcrs.out << bad_with_pcrs.err;
}

INSTANTIATE_TEST_SUITE_P(
    CorpusLogs, BootPlayerTest,
    ::testing::Values(
        LogCase{"qemu/qemu-ovmf-directkernel/binary_bios_measurements", "sha256:0-15+sha1:0-15",
                TPM2_ALG_SHA256},
        LogCase{"qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements", "sha256:0-15+sha1:0-15",
                TPM2_ALG_SHA256},
        LogCase{"qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements",
                "sha256:0-15+sha1:0-15", TPM2_ALG_SHA1},
        // sha1 + sha256 + sha384 log on a sha1 + sha256 TPM: the sha384 bank is not played.
        LogCase{"eventlogs/go-tpm-tools__rhel8-uefi.bin", "sha256:0-15+sha1:0-15", TPM2_ALG_SHA256},
        LogCase{"eventlogs/tpm2-tools__event-bootorder.bin", "sha256:0-15+sha1:0-15",
                TPM2_ALG_SHA256},
        // SHA-1 legacy (TPM 1.2 format) log: only the sha1 bank can be checked.
        LogCase{"eventlogs/tpm2-tools__event-uefi-sha1-log.bin", "sha1:0-15", TPM2_ALG_SHA1}),
    [](const ::testing::TestParamInfo<LogCase>& param_info) {
      std::string name = param_info.param.path;
      std::replace_if(
          name.begin(), name.end(), [](char ch) { return !std::isalnum(ch); }, '_');
      return name;
    });

class BootPlayerRefusalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BOOTGATE_REQUIRE_SWTPM();
    auto started = SwtpmInstance::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    tpm_ = std::move(*started);
  }

  CommandResult Play(const std::string& log) {
    return RunBinary("bootgate-boot-player", {"--tcti", tpm_->tcti(), "--eventlog", log});
  }

  // PCR 0 of the fresh TPM, to prove a refusal extended nothing.
  std::string Pcr0() {
    auto run = tpm_->Tpm2({"tpm2_pcrread", "sha256:0"});
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? run->out : "";
  }

  std::unique_ptr<SwtpmInstance> tpm_;
};

TEST_F(BootPlayerRefusalTest, StartupLocality3LogIsRefused) {
  const std::string before = Pcr0();
  CommandResult r = Play(TestDataPath("eventlogs/go-tpm-tools__glinux-alex.bin"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("StartupLocality 3"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(Pcr0(), before);
}

TEST_F(BootPlayerRefusalTest, DrtmPcrIsRefused) {
  // The legacy log with its second event moved to PCR 17 (only locality 2+ may extend it).
  const Bytes original = ReadFile(TestDataPath("eventlogs/tpm2-tools__event-uefi-sha1-log.bin"));
  auto parsed = attest::ParseEventLog(original);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_GE(parsed->events.size(), 2u);
  Bytes drtm = original;
  drtm[parsed->events[1].offset] = 17;  // u32 little-endian PCR index
  const std::string path = tpm_->WorkPath("drtm.bin");
  WriteFile(path, drtm);
  CommandResult r = Play(path);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("PCR 17"));
}

TEST_F(BootPlayerRefusalTest, UsedTpmIsRefused) {
  const std::string log = TestDataPath("qemu/qemu-ovmf-directkernel/binary_bios_measurements");
  ASSERT_EQ(Play(log).exit_code, 0);
  CommandResult again = Play(log);
  EXPECT_EQ(again.exit_code, 3) << again.err;
  EXPECT_THAT(again.err, HasSubstr("not at its reset value"));
}

TEST_F(BootPlayerRefusalTest, MalformedLogAndBadCommandLine) {
  CommandResult malformed =
      Play(TestDataPath("eventlogs/go-attestation__short_no_action_eventlog"));
  EXPECT_EQ(malformed.exit_code, 1) << malformed.err;
  EXPECT_EQ(RunBinary("bootgate-boot-player", {"--eventlog", "x"}).exit_code, 2);
  CommandResult help = RunBinary("bootgate-boot-player", {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("StartupLocality"));
}

TEST_F(BootPlayerRefusalTest, LibraryPlanCarriesTheRefusal) {
  auto conn = agent::TpmConnection::Open(tpm_->tcti());
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto plan = agent::PlanPlay(
      **conn, ReadFile(TestDataPath("eventlogs/keylime__binary_bios_measurements")));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->refusal, HasSubstr("StartupLocality 3"));
  auto played = agent::Play(**conn, *plan);
  EXPECT_EQ(played.status().code(), absl::StatusCode::kFailedPrecondition);

  auto rhel =
      agent::PlanPlay(**conn, ReadFile(TestDataPath("eventlogs/go-tpm-tools__rhel8-uefi.bin")));
  ASSERT_TRUE(rhel.ok()) << rhel.status();
  EXPECT_EQ(rhel->refusal, "");
  EXPECT_EQ(rhel->banks, (std::vector<uint16_t>{TPM2_ALG_SHA1, TPM2_ALG_SHA256}));
  EXPECT_EQ(rhel->skipped_banks, (std::vector<uint16_t>{TPM2_ALG_SHA384}));
}

}  // namespace
}  // namespace bootgate::testing
