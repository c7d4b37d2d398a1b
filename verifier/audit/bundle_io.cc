#include "verifier/audit/bundle_io.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace bootgate::verifier::audit {

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseTimeText(absl::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not an RFC 3339 time"));
  }
  return t;
}

absl::Status CheckBundleId(absl::string_view id, absl::string_view what) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", id, "' cannot name a file"));
  }
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return absl::InvalidArgumentError(absl::StrCat(what, " '", id, "' cannot name a file"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBundlePath(absl::string_view path) {
  if (path.empty() || path.size() > 512) {
    return absl::InvalidArgumentError(absl::StrCat("bundle path '", path, "' is not allowed"));
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (!CheckBundleId(part, "path component").ok()) {
      return absl::InvalidArgumentError(absl::StrCat("bundle path '", path, "' is not allowed"));
    }
  }
  return absl::OkStatus();
}

}  // namespace bootgate::verifier::audit
