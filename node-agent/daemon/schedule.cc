#include "node-agent/daemon/schedule.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace bootgate::agent {

namespace {

absl::Status ParseDurationKey(const std::string& key, const std::string& text, absl::Duration min,
                              absl::Duration max, absl::Duration* out) {
  if (text.empty()) return absl::OkStatus();
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < min || d > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": '", text, "' must be a duration from ", absl::FormatDuration(min),
                     " to ", absl::FormatDuration(max), " (e.g. 500ms, 30s, 10m)"));
  }
  *out = d;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunSchedule> ParseRunSchedule(
    const std::function<std::string(const std::string&)>& get) {
  RunSchedule s;
  absl::Status st = ParseDurationKey("interval", get("interval"), absl::Milliseconds(100),
                                     absl::Hours(24 * 7), &s.interval);
  if (st.ok()) {
    st = ParseDurationKey("boot_check_interval", get("boot_check_interval"),
                          absl::Milliseconds(100), absl::Hours(24), &s.boot_check_interval);
  }
  if (st.ok()) {
    st = ParseDurationKey("backoff_initial", get("backoff_initial"), absl::Milliseconds(100),
                          absl::Hours(24), &s.backoff_initial);
  }
  if (st.ok()) {
    st = ParseDurationKey("backoff_max", get("backoff_max"), absl::Milliseconds(100),
                          absl::Hours(24), &s.backoff_max);
  }
  if (!st.ok()) return st;
  if (s.backoff_max < s.backoff_initial) {
    return absl::InvalidArgumentError("backoff_max must not be below backoff_initial");
  }
  if (std::string text = get("jitter"); !text.empty()) {
    absl::string_view v = text;
    const bool percent = absl::ConsumeSuffix(&v, "%");
    double j = 0;
    if (!absl::SimpleAtod(v, &j) || std::isnan(j)) j = -1;
    if (percent) j /= 100;
    if (j < 0 || j > 0.5) {
      return absl::InvalidArgumentError(
          absl::StrCat("jitter: '", text, "' must be 0% to 50% (or 0 to 0.5)"));
    }
    s.jitter = j;
  }
  if (std::string text = get("max_consecutive_failures"); !text.empty()) {
    if (!absl::SimpleAtoi(text, &s.max_consecutive_failures) || s.max_consecutive_failures < 0 ||
        s.max_consecutive_failures > 1000000) {
      return absl::InvalidArgumentError(absl::StrCat("max_consecutive_failures: '", text,
                                                     "' must be a count (0 = never give up)"));
    }
  }
  return s;
}

absl::Duration JitteredInterval(const RunSchedule& s, double u) {
  u = std::clamp(u, 0.0, 1.0);
  return s.interval * (1.0 + s.jitter * (2.0 * u - 1.0));
}

absl::Duration BackoffDelay(const RunSchedule& s, int failures, double u) {
  u = std::clamp(u, 0.0, 1.0);
  absl::Duration d = s.backoff_initial;
  for (int i = 1; i < failures && d < s.backoff_max; ++i) d *= 2;
  d = std::min(d, s.backoff_max);
  return d * (1.0 - s.jitter * u);
}

}  // namespace bootgate::agent
