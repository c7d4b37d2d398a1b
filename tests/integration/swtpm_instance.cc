#include "tests/integration/swtpm_instance.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace bootgate::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

bool OnPath(const std::string& binary) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    if (access(absl::StrCat(dir, "/", binary).c_str(), X_OK) == 0) return true;
  }
  return false;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& env, std::chrono::milliseconds timeout,
    const std::string& cwd) {
  if (argv.empty()) return absl::InvalidArgumentError("RunProcess: empty argv");
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) continue;
    merged[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  for (const auto& [key, value] : env) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(absl::StrCat(key, "=", value));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> c_argv;
  for (auto& a : args) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);

  const pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execvpe(c_argv[0], c_argv.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before any kill below
  out_write.Reset();
  err_write.Reset();

  ProcessResult result;
  const Clock::time_point deadline = Clock::now() + timeout;
  bool timed_out = false;
  bool out_open = true, err_open = true;
  char buf[4096];
  while (out_open || err_open) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
    if (!out_open) fds[0].fd = -1;
    if (!err_open) fds[1].fd = -1;
    const int n = poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
  }
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = DecodeWaitStatus(status);
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(absl::StrJoin(argv, " "), ": no exit after ",
                                                    timeout.count(), " ms; stderr: ", result.err));
  }
  return result;
}

std::string SwtpmFixtureScript() {
  return std::string(BOOTGATE_SWTPM_FIXTURES_DIR) + "/bootgate-swtpm";
}

absl::Status SwtpmPrerequisites() {
  std::vector<std::string> missing;
  for (const char* tool : {"swtpm", "swtpm_setup", "swtpm_localca", "bash", "tpm2_readpublic",
                           "tpm2_createak", "tpm2_activatecredential", "tpm2_nvread"}) {
    if (!OnPath(tool)) missing.push_back(tool);
  }
  if (access(SwtpmFixtureScript().c_str(), X_OK) != 0) missing.push_back(SwtpmFixtureScript());
  if (missing.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("swtpm is not installed or not usable: missing ", absl::StrJoin(missing, ", "),
                   " (Debian: apt-get install swtpm swtpm-tools tpm2-tools)"));
}

bool SwtpmSkipAllowed() {
  const char* v = std::getenv("BOOTGATE_ALLOW_SKIP_SWTPM");
  return v != nullptr && std::string(v) == "1";
}

void WarnSwtpmSkipped(const absl::Status& why) {
  std::cerr << "\n"
            << "**********************************************************************\n"
            << "*** WARNING: SKIPPING swtpm INTEGRATION TEST (BOOTGATE_ALLOW_SKIP_SWTPM=1)\n"
            << "*** " << why.message() << "\n"
            << "*** Nothing about real-TPM behaviour was verified by this run.\n"
            << "**********************************************************************\n"
            << std::flush;
}

absl::StatusOr<std::unique_ptr<SwtpmInstance>> SwtpmInstance::Start(const SwtpmOptions& options) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/bootgate-swtpm-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) return ErrnoError(absl::StrCat("mkdtemp ", templ));

  std::unique_ptr<SwtpmInstance> instance(new SwtpmInstance());
  instance->dir_ = templ;
  instance->stopped_ = true;  // nothing to stop until the script reports a pid
  std::error_code ec;
  std::filesystem::create_directory(instance->dir_ + "/work", ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir work: ", ec.message()));

  auto run = RunProcess({SwtpmFixtureScript(), "start", "--dir", instance->dir_, "--pcr-banks",
                         options.pcr_banks, "--json"},
                        {}, std::chrono::seconds(120));
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("bootgate-swtpm start failed (exit ", run->exit_code, "): ", run->err));
  }
  nlohmann::json j = nlohmann::json::parse(run->out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer() ||
      !j.contains("port") || !j["port"].is_number_integer() || !j.contains("tcti") ||
      !j["tcti"].is_string() || !j.contains("ca_bundle") || !j["ca_bundle"].is_string() ||
      !j.contains("state_dir") || !j["state_dir"].is_string() || !j.contains("ctrl_port") ||
      !j["ctrl_port"].is_number_integer()) {
    return absl::InternalError(absl::StrCat("bootgate-swtpm start: unexpected output: ", run->out));
  }
  instance->pid_ = j["pid"].get<pid_t>();
  instance->stopped_ = false;
  instance->port_ = j["port"].get<int>();
  instance->ctrl_port_ = j["ctrl_port"].get<int>();
  instance->tcti_ = j["tcti"].get<std::string>();
  instance->ca_bundle_ = j["ca_bundle"].get<std::string>();
  instance->state_dir_ = j["state_dir"].get<std::string>();
  instance->json_ = run->out;
  return instance;
}

absl::Status SwtpmInstance::Stop() {
  if (stopped_) return absl::OkStatus();
  auto run =
      RunProcess({SwtpmFixtureScript(), "stop", "--dir", dir_}, {}, std::chrono::seconds(60));
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat("bootgate-swtpm stop --dir ", dir_, " failed (exit ",
                                            run->exit_code, "): ", run->err));
  }
  stopped_ = true;
  return absl::OkStatus();
}

SwtpmInstance::~SwtpmInstance() {
  absl::Status s = Stop();
  if (!s.ok()) {
    // Keep the directory: the state and logs are the evidence of what went wrong.
    std::cerr << "SwtpmInstance: " << s << "; leaving " << dir_ << " in place\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string SwtpmInstance::WorkPath(const std::string& name) const {
  return absl::StrCat(dir_, "/work/", name);
}

absl::StatusOr<ProcessResult> SwtpmInstance::RunTpm2(const std::vector<std::string>& argv,
                                                     std::chrono::milliseconds timeout) const {
  return RunProcess(argv, {{"TPM2TOOLS_TCTI", tcti_}}, timeout, dir_ + "/work");
}

absl::StatusOr<ProcessResult> SwtpmInstance::Tpm2(const std::vector<std::string>& argv) const {
  auto run = RunTpm2(argv);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(argv, " "), " exited ", run->exit_code, ": ", run->err));
  }
  return run;
}

absl::Status SwtpmInstance::FlushAll() const {
  for (const char* what : {"-t", "-l", "-s"}) {
    auto run = Tpm2({"tpm2_flushcontext", what});
    if (!run.ok()) return run.status();
  }
  return absl::OkStatus();
}

}  // namespace bootgate::testing
