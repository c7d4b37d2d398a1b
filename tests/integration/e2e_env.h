// Shared setup for the end-to-end tests: a `bootgate-verifier serve` child process on free ports
// (port files), configured from a `bootgate-verifier init` directory and a policy made from a log's
// replay, plus the agent and admin CLI run as separate processes over TLS.
#ifndef BOOTGATE_TESTS_INTEGRATION_E2E_ENV_H_
#define BOOTGATE_TESTS_INTEGRATION_E2E_ENV_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::testing {

inline std::string E2eReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  return text.str();
}

inline void E2eWriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// `bootgate-verifier serve` as a child process; stopped (SIGTERM, then SIGKILL) by its pid.
class E2eVerifierProcess {
 public:
  E2eVerifierProcess() = default;
  E2eVerifierProcess(const E2eVerifierProcess&) = delete;
  E2eVerifierProcess& operator=(const E2eVerifierProcess&) = delete;
  ~E2eVerifierProcess() { Stop(); }

  void Start(const std::string& config, const std::string& port_file,
             const std::string& admin_port_file, const std::string& log_file) {
    const std::string binary = std::string(BOOTGATE_BIN_DIR) + "/bootgate-verifier";
    std::vector<std::string> argv = {
        binary,        "serve",   "--config",          config,
        "--port-file", port_file, "--admin-port-file", admin_port_file};
    std::vector<char*> c_argv;
    for (std::string& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      execv(binary.c_str(), c_argv.data());
      _exit(127);
    }
  }

  // Waits until the port file holds a port; empty when the verifier exited or timed out.
  std::string WaitForPort(const std::string& port_file) {
    for (int i = 0; i < 300 && pid_ > 0; ++i) {
      std::string port = E2eReadText(port_file);
      port.erase(std::remove_if(port.begin(), port.end(), ::isspace), port.end());
      if (!port.empty()) return port;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "";
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// A verifier initialised in `dir` (which must not exist yet) with `ek_ca` as its EK CA bundle and
// a policy (id "e2e") made from the replay of `policy_log` over `selection`.
class E2eVerifier {
 public:
  void Start(const std::string& dir, const std::string& ek_ca, const std::string& policy_log,
             const std::string& selection) {
    dir_ = dir;
    CommandResult init = RunBinary("bootgate-verifier", {"init", dir, "--ek-ca", ek_ca});
    ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
    CommandResult replay = RunBinary("bootgate", {"eventlog", "replay", "--json", policy_log});
    ASSERT_EQ(replay.exit_code, 0) << replay.err;
    E2eWriteText(dir + "/replay.json", replay.out);
    CommandResult policy =
        RunBinary("bootgate-verifier", {"policy", "from-pcrs", dir + "/replay.json", "--id", "e2e",
                                        "--selection", selection, "--out", dir + "/policy.yaml"});
    ASSERT_EQ(policy.exit_code, 0) << policy.err;
    std::string config = E2eReadText(dir + "/verifier.yaml");
    ASSERT_NE(config.find("pcr_selection: sha256:0-9,11,14"), std::string::npos) << config;
    config = absl::StrReplaceAll(
        config, {{"listen: 127.0.0.1:7443", "listen: 127.0.0.1:0"},
                 {"listen: 127.0.0.1:7444", "listen: 127.0.0.1:0"},
                 {"pcr_selection: sha256:0-9,11,14", absl::StrCat("pcr_selection: ", selection)}});
    E2eWriteText(dir + "/verifier.yaml", config);
    process_.Start(dir + "/verifier.yaml", dir + "/port", dir + "/admin-port", dir + "/serve.log");
    port_ = process_.WaitForPort(dir + "/port");
    ASSERT_FALSE(port_.empty()) << "verifier did not start: " << E2eReadText(dir + "/serve.log");
    admin_port_ = process_.WaitForPort(dir + "/admin-port");
    ASSERT_FALSE(admin_port_.empty()) << E2eReadText(dir + "/serve.log");
  }

  void Stop() { process_.Stop(); }

  // `bootgate-agent COMMAND ARGS` against this verifier.
  CommandResult Agent(const std::string& tcti, const std::string& state_dir,
                      std::vector<std::string> args) const {
    const std::vector<std::string> common = {"--verifier",  absl::StrCat("127.0.0.1:", port_),
                                             "--ca",        dir_ + "/ca.pem",
                                             "--tcti",      tcti,
                                             "--state-dir", state_dir};
    args.insert(args.end(), common.begin(), common.end());
    return RunBinary("bootgate-agent", args);
  }

  // `bootgate ARGS` against this verifier's admin API.
  CommandResult Admin(std::vector<std::string> args) const {
    const std::vector<std::string> conn = {"--server", absl::StrCat("127.0.0.1:", admin_port_),
                                           "--ca",     dir_ + "/ca.pem",
                                           "--cert",   dir_ + "/admin.pem",
                                           "--key",    dir_ + "/admin.key"};
    args.insert(args.end(), conn.begin(), conn.end());
    return RunBinary("bootgate", args);
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string port_;
  std::string admin_port_;
  E2eVerifierProcess process_;
};

}  // namespace bootgate::testing

#endif  // BOOTGATE_TESTS_INTEGRATION_E2E_ENV_H_
