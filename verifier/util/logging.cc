#include "verifier/util/logging.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace bootgate::verifier {

namespace {

const char* LevelName(LogLevel level, bool upper) {
  switch (level) {
    case LogLevel::kInfo:
      return upper ? "INFO" : "info";
    case LogLevel::kWarning:
      return upper ? "WARN" : "warning";
    case LogLevel::kError:
      return upper ? "ERROR" : "error";
  }
  return "info";
}

// Text values are quoted when they contain spaces, quotes or '=' so lines stay parseable.
std::string TextValue(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \"=\n\t") == std::string::npos) return v;
  return nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string Logger::Format(LogLevel level, absl::string_view event, const LogFields& fields) const {
  const std::string ts =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", clock_->Now(), absl::UTCTimeZone());
  if (format_ == LogFormat::kJson) {
    nlohmann::json j = {
        {"ts", ts}, {"level", LevelName(level, false)}, {"event", std::string(event)}};
    for (const auto& [k, v] : fields) j[k] = v;
    // Invalid UTF-8 (e.g. a hostname claimed by an agent) is replaced, never a throw.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = absl::StrCat(ts, " ", LevelName(level, true), " ", event);
  for (const auto& [k, v] : fields) absl::StrAppend(&line, " ", k, "=", TextValue(v));
  return line;
}

void Logger::Log(LogLevel level, absl::string_view event, const LogFields& fields) {
  std::string line = Format(level, event, fields);
  line.push_back('\n');
  absl::MutexLock lock(&mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace bootgate::verifier
