// Small file helpers for the verifier (configuration, PKI, policies, port files).
#ifndef BOOTGATE_VERIFIER_UTIL_FILES_H_
#define BOOTGATE_VERIFIER_UTIL_FILES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bootgate::verifier {

// Whole file; errors name the path. Refuses files above `max_bytes`.
absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = 64 << 20);
// Writes atomically (temporary file in the same directory + rename) with permissions `mode`.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, int mode = 0644);
// Creates a new file that must not exist yet (O_EXCL) with `mode`.
absl::Status WriteNewFile(const std::string& path, absl::string_view data, int mode = 0644);
bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);
// Regular files directly inside `dir`, sorted by name.
absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir);
// `path` when absolute, else `base_dir`/`path`.
std::string ResolvePath(const std::string& base_dir, const std::string& path);
std::string DirName(const std::string& path);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_UTIL_FILES_H_
