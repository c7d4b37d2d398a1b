#include "verifier/util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace bootgate::verifier {

namespace {

absl::Status CheckPlaceholders(const std::string& arg,
                               absl::Span<const absl::string_view> placeholders) {
  size_t pos = 0;
  while ((pos = arg.find('{', pos)) != std::string::npos) {
    bool known = false;
    for (absl::string_view p : placeholders) {
      if (absl::string_view(arg).substr(pos, p.size()) == p) {
        known = true;
        pos += p.size();
        break;
      }
    }
    if (!known) {
      const size_t end = arg.find('}', pos);
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown placeholder '", arg.substr(pos, end == std::string::npos ? 1 : end - pos + 1),
          "' (known: ", absl::StrJoin(placeholders, " "), ")"));
    }
  }
  return absl::OkStatus();
}

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

// The program's path: as given when it contains a '/', else the first executable match on PATH
// (resolved before fork, so the child only calls async-signal-safe execve).
std::string ResolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return program;  // execve fails with ENOENT: reported as exit status 127
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitCommandTemplate(
    absl::string_view command, absl::Span<const absl::string_view> placeholders) {
  std::vector<std::string> argv;
  std::string current;
  bool in_arg = false;
  for (size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_arg) argv.push_back(std::move(current));
      current.clear();
      in_arg = false;
    } else if (c == '\'') {
      const size_t end = command.find('\'', i + 1);
      if (end == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("unterminated ' at offset ", i));
      }
      absl::StrAppend(&current, command.substr(i + 1, end - i - 1));
      in_arg = true;
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < command.size() && command[j] != '"'; ++j) {
        if (command[j] == '\\' && j + 1 < command.size() &&
            (command[j + 1] == '"' || command[j + 1] == '\\')) {
          ++j;
        }
        current.push_back(command[j]);
      }
      if (j >= command.size()) {
        return absl::InvalidArgumentError(absl::StrCat("unterminated \" at offset ", i));
      }
      in_arg = true;
      i = j;
    } else if (c == '\\') {
      if (i + 1 >= command.size()) return absl::InvalidArgumentError("trailing backslash");
      current.push_back(command[++i]);
      in_arg = true;
    } else {
      current.push_back(c);
      in_arg = true;
    }
  }
  if (in_arg) argv.push_back(std::move(current));
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  for (const std::string& arg : argv) {
    absl::Status s = CheckPlaceholders(arg, placeholders);
    if (!s.ok()) return s;
  }
  return argv;
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& args,
                                         absl::Duration timeout) {
  if (args.empty()) return absl::InvalidArgumentError("empty command");
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  const std::string program = ResolveProgram(args[0]);
  std::vector<char*> cargv;
  for (const std::string& a : args) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  Fd read_end{fds[0]};
  Fd write_end{fds[1]};
  const pid_t pid = fork();
  if (pid < 0) return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(write_end.fd, STDOUT_FILENO);
    dup2(write_end.fd, STDERR_FILENO);
    execve(program.c_str(), cargv.data(), environ);
    static const char kMsg[] = "exec failed\n";
    (void)!write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
    _exit(127);
  }
  close(write_end.release());

  // Collect up to 4 KiB of output, until EOF or the deadline.
  CommandResult result;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd p{read_end.fd, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    char buf[1024];
    const ssize_t n = read(read_end.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.output.size() < 4096) result.output.append(buf, static_cast<size_t>(n));
  }
  if (result.timed_out) kill(pid, SIGKILL);  // our own child, by pid
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!result.output.empty() && (result.output.back() == '\n' || result.output.back() == '\r')) {
    result.output.pop_back();
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  return result;
}

}  // namespace bootgate::verifier
