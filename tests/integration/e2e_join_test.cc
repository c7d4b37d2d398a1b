// End to end: a verifier (bootgate-verifier serve) and the agent (bootgate-agent) as separate
// processes over TLS on free ports, a fresh swtpm whose PCRs hold a real recorded boot (played with
// bootgate-boot-player). The agent enrolls, joins (the token it unwraps is the one the verifier's
// file issuer published), and a tampered copy of the log is rejected with
// EVENTLOG_REPLAY_MISMATCH.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tss2/tss2_tpm2_types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/e2e_env.h"
#include "tests/integration/swtpm_instance.h"
#include "tests/testing/test_util.h"

namespace bootgate::testing {
namespace {

using attest::Bytes;
using ::testing::HasSubstr;

constexpr char kLog[] = "qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements";
constexpr char kSelection[] = "sha256:0-7";

// A copy of `log` with one byte of the first PCR 4 event's SHA-256 digest flipped.
Bytes WithPcr4DigestChanged(const Bytes& log) {
  auto parsed = attest::ParseEventLog(log);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return log;
  for (const attest::Event& e : parsed->events) {
    if (e.pcr != 4 || e.type == attest::kEvNoAction) continue;
    for (const attest::EventDigest& d : e.digests) {
      if (d.alg != TPM2_ALG_SHA256) continue;
      auto at = std::search(log.begin() + static_cast<std::ptrdiff_t>(e.offset), log.end(),
                            d.digest.begin(), d.digest.end());
      EXPECT_NE(at, log.end());
      Bytes changed = log;
      changed[static_cast<size_t>(at - log.begin())] ^= 0x5a;
      return changed;
    }
  }
  ADD_FAILURE() << "no PCR 4 event with a SHA-256 digest";
  return log;
}

TEST(E2eJoinTest, EnrollJoinAndTamperedLogOverTls) {
  BOOTGATE_REQUIRE_SWTPM();
  auto started = SwtpmInstance::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<SwtpmInstance> tpm = std::move(*started);
  const std::string log = TestDataPath(kLog);

  CommandResult played =
      RunBinary("bootgate-boot-player", {"--tcti", tpm->tcti(), "--eventlog", log});
  ASSERT_EQ(played.exit_code, 0) << played.err;

  // Verifier: development PKI pinned to the swtpm's EK CA, policy from the log's replay.
  const std::string dir = tpm->WorkPath("verifier");
  CommandResult init = RunBinary("bootgate-verifier", {"init", dir, "--ek-ca", tpm->ca_bundle()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  CommandResult replay = RunBinary("bootgate", {"eventlog", "replay", "--json", log});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  E2eWriteText(dir + "/replay.json", replay.out);
  CommandResult policy =
      RunBinary("bootgate-verifier", {"policy", "from-pcrs", dir + "/replay.json", "--id", "e2e",
                                      "--selection", kSelection, "--out", dir + "/policy.yaml"});
  ASSERT_EQ(policy.exit_code, 0) << policy.err;
  std::string config = E2eReadText(dir + "/verifier.yaml");
  ASSERT_THAT(config, HasSubstr("pcr_selection: sha256:0-9,11,14"));
  config = absl::StrReplaceAll(
      config, {{"listen: 127.0.0.1:7443", "listen: 127.0.0.1:0"},
               {"listen: 127.0.0.1:7444", "listen: 127.0.0.1:0"},
               {"pcr_selection: sha256:0-9,11,14", absl::StrCat("pcr_selection: ", kSelection)}});
  E2eWriteText(dir + "/verifier.yaml", config);

  E2eVerifierProcess verifier;
  verifier.Start(dir + "/verifier.yaml", dir + "/port", dir + "/admin-port", dir + "/serve.log");
  const std::string port = verifier.WaitForPort(dir + "/port");
  ASSERT_FALSE(port.empty()) << "verifier did not start: " << E2eReadText(dir + "/serve.log");
  const std::vector<std::string> common = {"--verifier",  absl::StrCat("127.0.0.1:", port),
                                           "--ca",        dir + "/ca.pem",
                                           "--tcti",      tpm->tcti(),
                                           "--state-dir", tpm->WorkPath("agent-state")};
  auto agent = [&](std::vector<std::string> args) {
    args.insert(args.end(), common.begin(), common.end());
    return RunBinary("bootgate-agent", args);
  };

  CommandResult enrolled = agent({"enroll"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.out << enrolled.err;
  EXPECT_THAT(enrolled.out, ::testing::MatchesRegex("node-[0-9a-f]{16}\n"));
  const std::string node_id = E2eReadText(tpm->WorkPath("agent-state") + "/node_id");
  EXPECT_THAT(enrolled.out, HasSubstr(node_id));
  struct stat st {};
  ASSERT_EQ(stat((tpm->WorkPath("agent-state") + "/node_id").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const std::string token_file = tpm->WorkPath("join-token");
  CommandResult joined = agent({"join", "--eventlog", log, "--token-file", token_file});
  ASSERT_EQ(joined.exit_code, 0) << joined.out << joined.err;
  std::string token = E2eReadText(token_file);
  if (!token.empty() && token.back() == '\n') token.pop_back();
  ASSERT_TRUE(std::regex_match(token, std::regex("[a-z0-9]{6}\\.[a-z0-9]{16}"))) << token;
  ASSERT_EQ(stat(token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The secret part never reaches the agent's output; the id does.
  EXPECT_THAT(joined.out, HasSubstr(token.substr(0, 6)));
  EXPECT_THAT(joined.out, ::testing::Not(HasSubstr(token.substr(7))));
  // The verifier's file issuer published the same token ("TOKEN NODE EXPIRY" lines).
  const std::vector<std::string> issued =
      absl::StrSplit(E2eReadText(dir + "/tokens.txt"), '\n', absl::SkipEmpty());
  ASSERT_EQ(issued.size(), 1u) << E2eReadText(dir + "/tokens.txt");
  const std::vector<std::string> fields = absl::StrSplit(issued[0], ' ', absl::SkipEmpty());
  ASSERT_GE(fields.size(), 2u);
  EXPECT_EQ(fields[0], token);

  // --exec: argv split on whitespace, {token} substituted; a second token is issued.
  const std::string exec_dir = tpm->WorkPath("exec-out");
  ASSERT_EQ(mkdir(exec_dir.c_str(), 0700), 0);
  CommandResult exec =
      agent({"join", "--eventlog", log, "--exec", absl::StrCat("touch ", exec_dir, "/{token}")});
  ASSERT_EQ(exec.exit_code, 0) << exec.out << exec.err;
  const std::vector<std::string> issued_now =
      absl::StrSplit(E2eReadText(dir + "/tokens.txt"), '\n', absl::SkipEmpty());
  ASSERT_EQ(issued_now.size(), 2u);
  const std::string second = std::vector<std::string>(absl::StrSplit(issued_now[1], ' '))[0];
  EXPECT_EQ(access((exec_dir + "/" + second).c_str(), F_OK), 0) << second;
  EXPECT_THAT(exec.out, ::testing::Not(HasSubstr(second.substr(7))));

  // The untouched log attests; a copy with one PCR 4 digest byte changed does not.
  CommandResult good = agent({"attest", "--eventlog", log});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  const std::string tampered = tpm->WorkPath("tampered.bin");
  const Bytes changed = WithPcr4DigestChanged(ReadTestData(kLog));
  E2eWriteText(tampered, std::string(changed.begin(), changed.end()));
  CommandResult bad = agent({"attest", "--eventlog", tampered});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_THAT(bad.out, HasSubstr("EVENTLOG_REPLAY_MISMATCH"));
  EXPECT_THAT(bad.out, HasSubstr("contraindicated"));

  verifier.Stop();
  // No verifier listening any more: exit code 7, one line.
  CommandResult unreachable = agent({"attest", "--eventlog", log, "--timeout", "5"});
  EXPECT_EQ(unreachable.exit_code, 7) << unreachable.out << unreachable.err;
  for (const char* command : {"enroll", "attest", "join"}) {
    CommandResult help = RunBinary("bootgate-agent", {command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.out, HasSubstr("--verifier HOST:PORT")) << command;
  }
}

}  // namespace
}  // namespace bootgate::testing
