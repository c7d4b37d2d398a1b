#include "node-agent/io/event_logs.h"

#include "node-agent/io/files.h"

namespace bootgate::agent {

absl::StatusOr<attest::Bytes> ReadFirmwareEventLog(const std::string& path) {
  return ReadFileCapped(path, kMaxFirmwareLogBytes);
}

absl::StatusOr<attest::Bytes> ReadImaLog(const std::string& path) {
  return ReadFileCapped(path, kMaxImaLogBytes);
}

}  // namespace bootgate::agent
