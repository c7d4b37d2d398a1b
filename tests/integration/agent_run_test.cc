// bootgate-agent run (the daemon) against a real verifier process and a swtpm whose PCRs hold a
// recorded boot, with sub-second intervals: several attestations over several intervals; a
// stopped verifier makes it back off (growing, capped delays) and it recovers when the verifier
// returns on the same port; a TPM reset (_TPM_Init + TPM2_Startup(CLEAR): resetCount + 1, i.e. a
// reboot) is attested at once, long before the interval; SIGTERM stops it cleanly; bad
// configuration is refused.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "node-agent/daemon/schedule.h"
#include "tests/integration/e2e_env.h"
#include "tests/integration/swtpm_instance.h"
#include "tests/testing/test_util.h"

namespace bootgate::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kLog[] = "qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements";
constexpr char kSelection[] = "sha256:0-7";

// `bootgate-agent run ...` as a child process (stderr -> log file), stopped by its pid.
class AgentDaemon {
 public:
  ~AgentDaemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  void Start(const std::vector<std::string>& args, const std::string& log_file) {
    log_file_ = log_file;
    std::vector<std::string> argv = {std::string(BOOTGATE_BIN_DIR) + "/bootgate-agent", "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      std::vector<char*> c;
      for (std::string& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      execv(c[0], c.data());
      _exit(127);
    }
  }

  // SIGTERM; the exit code (or -1 when it did not exit within `timeout`).
  int Terminate(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

  std::string Log() const { return E2eReadText(log_file_); }

 private:
  pid_t pid_ = -1;
  std::string log_file_;
};

nlohmann::json ReadStatus(const std::string& path) {
  return nlohmann::json::parse(E2eReadText(path), nullptr, false);
}

// Polls `done` every 100 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

int Field(const nlohmann::json& status, const char* key) {
  if (!status.is_object() || !status.contains(key) || !status[key].is_number()) return -1;
  return status[key].get<int>();
}

class AgentRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BOOTGATE_REQUIRE_SWTPM();
    auto started = SwtpmInstance::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    tpm_ = std::move(*started);
    log_ = TestDataPath(kLog);
    Play();
    verifier_.Start(tpm_->WorkPath("verifier"), tpm_->ca_bundle(), log_, kSelection);
    port_ = E2eReadText(verifier_.dir() + "/port");
    port_.erase(std::remove_if(port_.begin(), port_.end(), ::isspace), port_.end());
    state_dir_ = tpm_->WorkPath("agent-state");
    status_file_ = tpm_->WorkPath("agent-status.json");
  }

  void Play() {
    CommandResult played =
        RunBinary("bootgate-boot-player", {"--tcti", tpm_->tcti(), "--eventlog", log_});
    ASSERT_EQ(played.exit_code, 0) << played.err;
  }

  // A YAML configuration with the schedule given in `schedule`.
  std::string WriteConfig(const std::string& schedule) {
    const std::string path = tpm_->WorkPath("agent.yaml");
    E2eWriteText(
        path, absl::StrCat("# bootgate-agent test configuration\n", "tcti: \"", tpm_->tcti(),
                           "\"\n", "state_dir: ", state_dir_, "\n", "verifier: 127.0.0.1:", port_,
                           "\n", "ca: ", verifier_.dir(), "/ca.pem\n", "eventlog: ", log_, "\n",
                           "status_file: ", status_file_, "\n", "hostname: run-test\n",
                           "timeout: 5\n", schedule));
    return path;
  }

  std::vector<nlohmann::json> VerifierAttestations() {
    CommandResult list = verifier_.Admin({"attestations", "list", "--json"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    const nlohmann::json j = nlohmann::json::parse(list.out, nullptr, false);
    std::vector<nlohmann::json> out;
    if (j.is_array()) {
      for (const auto& a : j) out.push_back(a);
    } else if (j.is_object() && j.contains("attestations")) {
      for (const auto& a : j["attestations"]) out.push_back(a);
    }
    return out;
  }

  std::unique_ptr<SwtpmInstance> tpm_;
  std::string log_;
  E2eVerifier verifier_;
  std::string port_;
  std::string state_dir_;
  std::string status_file_;
};

TEST_F(AgentRunTest, AttestsEveryIntervalBacksOffAndRecovers) {
  const std::string config = WriteConfig(
      "interval: 700ms\njitter: 10%\nboot_check_interval: 300ms\nbackoff_initial: 200ms\n"
      "backoff_max: 800ms\n");
  AgentDaemon agent;
  agent.Start({"--config", config}, tpm_->WorkPath("agent.log"));

  // Enrolls by itself, then attests at start and every ~700 ms.
  ASSERT_TRUE(WaitFor([&] { return Field(ReadStatus(status_file_), "attestations") >= 4; },
                      std::chrono::seconds(60)))
      << agent.Log();
  nlohmann::json status = ReadStatus(status_file_);
  EXPECT_EQ(status["health"], "ok");
  EXPECT_EQ(status["last_verdict"], "affirming") << agent.Log();
  EXPECT_THAT(status["node_id"].get<std::string>(), ::testing::MatchesRegex("node-[0-9a-f]{16}"));
  EXPECT_TRUE(status["next_due_at"].is_string());
  EXPECT_EQ(E2eReadText(state_dir_ + "/node_id"), status["node_id"].get<std::string>() + "\n");
  const std::string agent_log = agent.Log();
  EXPECT_THAT(agent_log, HasSubstr("event=enrolled"));
  EXPECT_THAT(agent_log, HasSubstr("event=attempt reason=start"));
  EXPECT_THAT(agent_log, HasSubstr("event=attempt reason=interval"));
  const std::vector<nlohmann::json> recorded = VerifierAttestations();
  EXPECT_GE(recorded.size(), 4u);

  // The verifier goes away: attempts fail and back off 200ms, 400ms, 800ms, 800ms (less jitter).
  verifier_.Stop();
  ASSERT_TRUE(WaitFor([&] { return Field(ReadStatus(status_file_), "consecutive_failures") >= 4; },
                      std::chrono::seconds(60)))
      << agent.Log();
  status = ReadStatus(status_file_);
  EXPECT_EQ(status["health"], "failing");
  EXPECT_THAT(status["last_error"].get<std::string>(), HasSubstr("verifier"));
  std::vector<double> delays;
  const std::string failing_log = agent.Log();
  const std::regex retry(
      "event=attempt_failed reason=\\w+ failures=(\\d+) retry_in=([0-9.]+)(ms|s)");
  for (std::sregex_iterator it(failing_log.begin(), failing_log.end(), retry), end; it != end;
       ++it) {
    const double v = std::stod((*it)[2]);
    delays.push_back((*it)[3] == "s" ? v * 1000 : v);
  }
  ASSERT_GE(delays.size(), 4u) << failing_log;
  EXPECT_GE(delays[0], 180);
  EXPECT_LE(delays[0], 200);
  EXPECT_GT(delays[1], delays[0]);
  EXPECT_GT(delays[2], delays[1]);
  for (size_t i = 2; i < delays.size(); ++i) {
    EXPECT_LE(delays[i], 800) << "backoff is capped";
    EXPECT_GE(delays[i], 720);
  }

  // The verifier comes back on the same port: the next attempt succeeds.
  std::string yaml = E2eReadText(verifier_.dir() + "/verifier.yaml");
  yaml = absl::StrReplaceAll(yaml, {{"\nlisten: 127.0.0.1:0", "\nlisten: 127.0.0.1:" + port_}});
  E2eWriteText(verifier_.dir() + "/verifier.yaml", yaml);
  E2eVerifierProcess again;
  again.Start(verifier_.dir() + "/verifier.yaml", verifier_.dir() + "/port2",
              verifier_.dir() + "/admin-port2", verifier_.dir() + "/serve2.log");
  ASSERT_EQ(again.WaitForPort(verifier_.dir() + "/port2"), port_)
      << E2eReadText(verifier_.dir() + "/serve2.log");
  const int before = Field(ReadStatus(status_file_), "attestations");
  ASSERT_TRUE(WaitFor(
      [&] {
        const nlohmann::json s = ReadStatus(status_file_);
        return Field(s, "attestations") > before && s.value("health", "") == "ok";
      },
      std::chrono::seconds(30)))
      << agent.Log();
  EXPECT_EQ(Field(ReadStatus(status_file_), "consecutive_failures"), 0);

  // SIGTERM: a clean stop, the status says so.
  EXPECT_EQ(agent.Terminate(std::chrono::seconds(10)), 0) << agent.Log();
  EXPECT_EQ(ReadStatus(status_file_)["health"], "stopped");
  EXPECT_THAT(agent.Log(), HasSubstr("event=stopped"));
  again.Stop();
}

TEST_F(AgentRunTest, RebootIsAttestedAtOnce) {
  // An hour between periodic attestations: only the start and the reboot can trigger one.
  const std::string config = WriteConfig("interval: 1h\nboot_check_interval: 300ms\n");
  AgentDaemon agent;
  agent.Start({"--config", config}, tpm_->WorkPath("agent.log"));
  ASSERT_TRUE(WaitFor([&] { return Field(ReadStatus(status_file_), "attestations") == 1; },
                      std::chrono::seconds(60)))
      << agent.Log();
  const int reset_before = Field(ReadStatus(status_file_), "tpm_reset_count");
  ASSERT_GE(reset_before, 0);

  // Reboot: _TPM_Init + TPM2_Startup(CLEAR) (resetCount + 1, PCRs reset), then the same boot.
  const auto rebooted = std::chrono::steady_clock::now();
  auto init =
      RunProcess({"swtpm_ioctl", "--tcp", absl::StrCat("127.0.0.1:", tpm_->ctrl_port()), "-i"});
  ASSERT_TRUE(init.ok() && init->exit_code == 0) << (init.ok() ? init->err : "");
  auto startup = tpm_->RunTpm2({"tpm2_startup", "-c"});
  ASSERT_TRUE(startup.ok() && startup->exit_code == 0) << (startup.ok() ? startup->err : "");
  Play();

  ASSERT_TRUE(WaitFor(
      [&] { return Field(ReadStatus(status_file_), "tpm_reset_count") == reset_before + 1; },
      std::chrono::seconds(20)))
      << agent.Log();
  const auto elapsed = std::chrono::steady_clock::now() - rebooted;
  EXPECT_LT(elapsed, std::chrono::seconds(20));
  const nlohmann::json status = ReadStatus(status_file_);
  EXPECT_EQ(status["last_attempt_reason"], "boot") << agent.Log();
  EXPECT_THAT(agent.Log(), HasSubstr("event=boot_detected"));
  EXPECT_THAT(agent.Log(), HasSubstr("new_boot=true"));
  // The verifier recorded it as a new boot.
  const std::vector<nlohmann::json> recorded = VerifierAttestations();
  ASSERT_GE(recorded.size(), 2u);
  bool new_boot_recorded = false;
  for (const auto& a : recorded) {
    if (a.value("attestation_id", "") == status["last_attestation_id"]) {
      new_boot_recorded = a.value("new_boot", false);
    }
  }
  EXPECT_TRUE(new_boot_recorded) << recorded.front().dump();
  EXPECT_EQ(agent.Terminate(std::chrono::seconds(10)), 0) << agent.Log();
}

TEST_F(AgentRunTest, BadConfigurationIsRefused) {
  const std::string config = WriteConfig("interval: 10m\nintervall: 5m\n");
  CommandResult r = RunBinary("bootgate-agent", {"run", "--config", config});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown key \"intervall\""));
  const std::string bad_jitter = WriteConfig("jitter: 80%\n");
  r = RunBinary("bootgate-agent", {"run", "--config", bad_jitter});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("jitter"));
  r = RunBinary("bootgate-agent", {"run", "--tcti", tpm_->tcti(), "--interval", "soon",
                                   "--verifier", "127.0.0.1:1", "--ca", "/dev/null"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("interval"));
  r = RunBinary("bootgate-agent", {"run", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("resetCount"));

  // Giving up after N failures when configured: exit 7 (verifier unreachable).
  const std::string give_up = tpm_->WorkPath("give-up.yaml");
  E2eWriteText(give_up, absl::StrCat("tcti: \"", tpm_->tcti(), "\"\nstate_dir: ", state_dir_,
                                     "\nverifier: 127.0.0.1:1\nca: ", verifier_.dir(),
                                     "/ca.pem\neventlog: ", log_,
                                     "\nbackoff_initial: 100ms\nbackoff_max: 200ms\n"
                                     "max_consecutive_failures: 2\nstatus_file: ",
                                     status_file_, "\ntimeout: 2\n"));
  r = RunBinary("bootgate-agent", {"run", "--config", give_up});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_THAT(r.err, HasSubstr("event=giving_up"));
  EXPECT_EQ(Field(ReadStatus(status_file_), "consecutive_failures"), 2);
}

// The schedule alone (no TPM): defaults, parsing, jitter bounds, capped doubling.
TEST(RunScheduleTest, DefaultsParsingJitterAndBackoff) {
  auto none = agent::ParseRunSchedule([](const std::string&) { return std::string(); });
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->interval, absl::Minutes(10));
  EXPECT_DOUBLE_EQ(none->jitter, 0.10);
  EXPECT_EQ(none->boot_check_interval, absl::Seconds(30));
  EXPECT_EQ(none->backoff_initial, absl::Seconds(5));
  EXPECT_EQ(none->backoff_max, absl::Minutes(5));
  EXPECT_EQ(none->max_consecutive_failures, 0);

  std::map<std::string, std::string> keys = {{"interval", "1h30m"},
                                             {"jitter", "0.2"},
                                             {"backoff_initial", "1s"},
                                             {"backoff_max", "10s"},
                                             {"max_consecutive_failures", "3"}};
  auto get = [&keys](const std::string& k) { return keys.count(k) ? keys[k] : std::string(); };
  auto s = agent::ParseRunSchedule(get);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->interval, absl::Minutes(90));
  EXPECT_DOUBLE_EQ(s->jitter, 0.2);
  EXPECT_EQ(agent::JitteredInterval(*s, 0.0), absl::Minutes(72));
  EXPECT_EQ(agent::JitteredInterval(*s, 0.5), absl::Minutes(90));
  EXPECT_EQ(agent::JitteredInterval(*s, 1.0), absl::Minutes(108));
  EXPECT_EQ(agent::BackoffDelay(*s, 1, 0.0), absl::Seconds(1));
  EXPECT_EQ(agent::BackoffDelay(*s, 2, 0.0), absl::Seconds(2));
  EXPECT_EQ(agent::BackoffDelay(*s, 4, 0.0), absl::Seconds(8));
  EXPECT_EQ(agent::BackoffDelay(*s, 5, 0.0), absl::Seconds(10));
  EXPECT_EQ(agent::BackoffDelay(*s, 1000, 0.0), absl::Seconds(10));
  EXPECT_EQ(agent::BackoffDelay(*s, 5, 1.0), absl::Seconds(8));

  for (const auto& [key, value, needle] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"interval", "0s", "interval"},
           {"interval", "10", "interval"},
           {"jitter", "51%", "jitter"},
           {"jitter", "-1", "jitter"},
           {"backoff_max", "500ms", "backoff_max"},  // below backoff_initial
           {"max_consecutive_failures", "x", "max_consecutive_failures"}}) {
    std::map<std::string, std::string> bad = keys;
    bad[key] = value;
    auto r = agent::ParseRunSchedule(
        [&bad](const std::string& k) { return bad.count(k) ? bad[k] : std::string(); });
    EXPECT_FALSE(r.ok()) << key << "=" << value;
    EXPECT_THAT(r.status().message(), HasSubstr(needle));
  }
}

}  // namespace
}  // namespace bootgate::testing
