#include "node-agent/io/files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace bootgate::agent {
namespace {

absl::Status ErrnoError(absl::string_view operation, const std::string& path, int err) {
  const std::string message = absl::StrCat(operation, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

}  // namespace

absl::StatusOr<attest::Bytes> ReadFileCapped(const std::string& path, size_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path, errno);
  absl::Cleanup close_fd = [fd] { close(fd); };

  attest::Bytes data;
  std::vector<uint8_t> chunk(64 * 1024);
  while (true) {
    const ssize_t n = read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path, errno);
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::OutOfRangeError(
          absl::StrCat(path, ": larger than the cap of ", max_bytes, " bytes"));
    }
    data.insert(data.end(), chunk.begin(), chunk.begin() + n);
  }
  return data;
}

absl::Status WriteFileAtomic(const std::string& path, attest::ByteSpan data, mode_t mode) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("create", tmp, errno);
  bool renamed = false;
  absl::Cleanup remove_tmp = [&] {
    if (!renamed) unlink(tmp.c_str());
  };
  {
    absl::Cleanup close_fd = [fd] { close(fd); };
    // open() honours the umask; the state files must have exactly `mode`.
    if (fchmod(fd, mode) != 0) return ErrnoError("chmod", tmp, errno);
    size_t written = 0;
    while (written < data.size()) {
      const ssize_t n = write(fd, data.data() + written, data.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("write", tmp, errno);
      }
      written += static_cast<size_t>(n);
    }
    if (fsync(fd) != 0) return ErrnoError("fsync", tmp, errno);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("rename", path, errno);
  renamed = true;
  return absl::OkStatus();
}

absl::Status MakeDirectories(const std::string& dir, mode_t mode) {
  if (dir.empty()) return absl::InvalidArgumentError("empty directory path");
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoError("mkdir", prefix, errno);
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return ErrnoError("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(dir + " is not a directory");
  return absl::OkStatus();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

absl::Status RemoveFileIfExists(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("unlink", path, errno);
  return absl::OkStatus();
}

}  // namespace bootgate::agent
