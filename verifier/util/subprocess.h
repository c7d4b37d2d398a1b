// Running operator-configured commands safely: a command template is split into argv once (at
// configuration time; quotes group, no shell), placeholders are substituted per argument (so a
// value can never become a new argument or shell syntax), and the program runs with fork/execve
// (looked up on PATH before the fork), stdin from /dev/null, under a timeout after which it is
// killed. Used by the exec token issuer and the exec notification hook.
#ifndef BOOTGATE_VERIFIER_UTIL_SUBPROCESS_H_
#define BOOTGATE_VERIFIER_UTIL_SUBPROCESS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace bootgate::verifier {

// Splits a command template into arguments: whitespace separates; '...' keeps everything
// literally; "..." groups and allows \" and \\; a backslash outside quotes escapes the next
// character. Errors: an unterminated quote, a trailing backslash, an empty template, and a
// placeholder ("{...}") not in `placeholders`.
absl::StatusOr<std::vector<std::string>> SplitCommandTemplate(
    absl::string_view command, absl::Span<const absl::string_view> placeholders);

struct CommandResult {
  bool timed_out = false;
  int exit_code = -1;   // when exited normally
  int term_signal = 0;  // when killed by a signal
  std::string output;   // stdout + stderr, at most 4 KiB, trailing newlines removed
};

// Runs argv[0] (resolved on PATH when it has no '/') with `args`; waits at most `timeout`, then
// kills it (SIGKILL, by pid). Errors are only for fork/pipe failures.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& args,
                                         absl::Duration timeout);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_UTIL_SUBPROCESS_H_
