// Small helpers shared by the audit export and verification: timestamps as RFC 3339 with
// microseconds (exact round trip of the store's values), and safe relative paths inside a bundle.
#ifndef BOOTGATE_VERIFIER_AUDIT_BUNDLE_IO_H_
#define BOOTGATE_VERIFIER_AUDIT_BUNDLE_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace bootgate::verifier::audit {

// "2026-11-22T14:03:54.123456Z" (UTC).
std::string TimeText(absl::Time t);
absl::StatusOr<absl::Time> ParseTimeText(absl::string_view text);

// A relative path of [A-Za-z0-9._-] components separated by '/', no "." or ".." component.
absl::Status CheckBundlePath(absl::string_view path);
// An id usable as one path component.
absl::Status CheckBundleId(absl::string_view id, absl::string_view what);

}  // namespace bootgate::verifier::audit

#endif  // BOOTGATE_VERIFIER_AUDIT_BUNDLE_IO_H_
