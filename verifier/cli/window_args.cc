#include "verifier/cli/window_args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace bootgate::cli {

absl::StatusOr<absl::Time> ParseTimeArg(const std::string& flag, const std::string& value,
                                        absl::Time now) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, value, &t, &err)) return t;
  absl::Duration age;
  if (value.size() > 1 && value.back() == 'd') {
    int64_t days = 0;
    if (absl::SimpleAtoi(value.substr(0, value.size() - 1), &days) && days >= 0 && days < 100000) {
      return now - absl::Hours(24 * days);
    }
  } else if (absl::ParseDuration(value, &age) && age >= absl::ZeroDuration() &&
             age != absl::InfiniteDuration()) {
    return now - age;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " '", value,
                   "': expected an RFC 3339 time (2026-11-01T00:00:00Z) or an age "
                   "such as 90m, 24h, 7d"));
}

absl::StatusOr<verifier::TimeWindow> WindowFromArgs(const ParsedArgs& args, absl::Time now) {
  verifier::TimeWindow w;
  if (args.Has("since")) {
    auto t = ParseTimeArg("since", args.Get("since"), now);
    if (!t.ok()) return t.status();
    w.since = *t;
  }
  if (args.Has("until")) {
    auto t = ParseTimeArg("until", args.Get("until"), now);
    if (!t.ok()) return t.status();
    w.until = *t;
  }
  if (w.since >= w.until) return absl::InvalidArgumentError("--since must be before --until");
  return w;
}

}  // namespace bootgate::cli
