// Structured logs: one line per event, either text (`2026-11-22T10:00:00.123Z INFO attestation
// node=node-1 verdict=affirming`) or JSON lines (`{"ts":...,"level":"info","event":...,...}`).
// Thread-safe; lines never interleave. Secrets (tokens, keys, secrets) are never logged.
#ifndef BOOTGATE_VERIFIER_UTIL_LOGGING_H_
#define BOOTGATE_VERIFIER_UTIL_LOGGING_H_

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "verifier/util/clock.h"

namespace bootgate::verifier {

enum class LogFormat { kText, kJson };
enum class LogLevel { kInfo, kWarning, kError };

using LogFields = std::vector<std::pair<std::string, std::string>>;

class Logger {
 public:
  // `out` is borrowed (stderr in the server); `clock` must outlive the logger.
  Logger(LogFormat format, std::FILE* out, const Clock* clock)
      : format_(format), out_(out), clock_(clock) {}

  void Log(LogLevel level, absl::string_view event, const LogFields& fields);
  void Info(absl::string_view event, const LogFields& fields = {}) {
    Log(LogLevel::kInfo, event, fields);
  }
  void Warning(absl::string_view event, const LogFields& fields = {}) {
    Log(LogLevel::kWarning, event, fields);
  }
  void Error(absl::string_view event, const LogFields& fields = {}) {
    Log(LogLevel::kError, event, fields);
  }

  // Formats one line without writing it (for tests).
  std::string Format(LogLevel level, absl::string_view event, const LogFields& fields) const;

 private:
  const LogFormat format_;
  std::FILE* const out_;
  const Clock* const clock_;
  absl::Mutex mu_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_UTIL_LOGGING_H_
