#include "verifier/tokens/issuer.h"

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
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "verifier/util/subprocess.h"

namespace bootgate::verifier {

namespace {

constexpr absl::string_view kPlaceholders[] = {"{token}", "{ttl}", "{node}"};

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitCommandTemplate(absl::string_view command) {
  return SplitCommandTemplate(command, kPlaceholders);
}

std::string GoDuration(absl::Duration d) {
  // absl's format ("1h30m", "90s"...) is what Go's time.ParseDuration accepts for whole units.
  return absl::FormatDuration(absl::Trunc(d, absl::Seconds(1)));
}

std::vector<std::string> ExpandCommand(const std::vector<std::string>& argv_template,
                                       const IssueRequest& request) {
  std::vector<std::string> out;
  out.reserve(argv_template.size());
  for (const std::string& arg : argv_template) {
    out.push_back(absl::StrReplaceAll(arg, {{"{token}", request.token},
                                            {"{ttl}", GoDuration(request.ttl)},
                                            {"{node}", request.node_id}}));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<ExecIssuer>> ExecIssuer::Create(absl::string_view command_template,
                                                               absl::Duration timeout) {
  auto argv = SplitCommandTemplate(command_template);
  if (!argv.ok()) return argv.status();
  return std::unique_ptr<ExecIssuer>(new ExecIssuer(*std::move(argv), timeout));
}

std::string ExecIssuer::Describe() const { return "exec:" + argv_.front(); }

absl::Status ExecIssuer::Publish(const IssueRequest& request) {
  const std::vector<std::string> args = ExpandCommand(argv_, request);
  auto run = RunCommand(args, timeout_);
  if (!run.ok()) return run.status();
  // Never echo the token itself into logs or records.
  const std::string output = absl::StrReplaceAll(run->output, {{request.token, "<token>"}});
  if (run->timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(args[0], " did not finish within ", absl::FormatDuration(timeout_)));
  }
  if (run->exit_code == 0) return absl::OkStatus();
  const std::string how = run->term_signal != 0
                              ? absl::StrCat("killed by signal ", run->term_signal)
                              : absl::StrCat("exited with ", run->exit_code);
  return absl::UnavailableError(
      absl::StrCat(args[0], " ", how, output.empty() ? "" : ": ", output.substr(0, 512)));
}

absl::Status FileIssuer::Publish(const IssueRequest& request) {
  absl::MutexLock lock(&mu_);
  Fd f{open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)};
  if (f.fd < 0) {
    return absl::UnavailableError(absl::StrCat("open ", path_, ": ", std::strerror(errno)));
  }
  const std::string line = absl::StrCat(
      request.token, " ", request.node_id, " ",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", request.expires_at, absl::UTCTimeZone()), "\n");
  if (write(f.fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      fsync(f.fd) != 0) {
    return absl::UnavailableError(absl::StrCat("write ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace bootgate::verifier
