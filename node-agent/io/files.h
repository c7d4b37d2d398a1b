// Small file helpers for the agent: capped reads (securityfs files report size 0, so they are read
// to EOF) and atomic writes with explicit permissions.
#ifndef BOOTGATE_NODE_AGENT_IO_FILES_H_
#define BOOTGATE_NODE_AGENT_IO_FILES_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attest/util/bytes.h"

namespace bootgate::agent {

// Reads the whole file. More than `max_bytes` is an OUT_OF_RANGE error (nothing beyond the cap is
// buffered); a missing file is NOT_FOUND. Errors name the path.
absl::StatusOr<attest::Bytes> ReadFileCapped(const std::string& path, size_t max_bytes);

// Writes `data` to a temporary file in the same directory with permissions `mode`, fsyncs it and
// renames it over `path`, so readers see the old or the new content, never a torn file.
absl::Status WriteFileAtomic(const std::string& path, attest::ByteSpan data, mode_t mode);

// Creates `dir` and missing parents with `mode` (existing directories are left as they are).
absl::Status MakeDirectories(const std::string& dir, mode_t mode);

bool FileExists(const std::string& path);

// Removes a file; a file that does not exist is not an error.
absl::Status RemoveFileIfExists(const std::string& path);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_IO_FILES_H_
