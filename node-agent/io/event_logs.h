// The event logs the kernel exposes in securityfs, read with a size cap.
#ifndef BOOTGATE_NODE_AGENT_IO_EVENT_LOGS_H_
#define BOOTGATE_NODE_AGENT_IO_EVENT_LOGS_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "attest/eventlog/event_log.h"
#include "attest/util/bytes.h"

namespace bootgate::agent {

inline constexpr char kDefaultFirmwareLogPath[] =
    "/sys/kernel/security/tpm0/binary_bios_measurements";
inline constexpr char kDefaultImaLogPath[] = "/sys/kernel/security/ima/binary_runtime_measurements";

// The firmware (TCG PC Client) log is capped where the parser caps it.
inline constexpr size_t kMaxFirmwareLogBytes = attest::kMaxEventLogBytes;
// IMA logs grow with every file measured; long-running hosts reach tens of MiB.
inline constexpr size_t kMaxImaLogBytes = 128 * 1024 * 1024;

absl::StatusOr<attest::Bytes> ReadFirmwareEventLog(const std::string& path);
absl::StatusOr<attest::Bytes> ReadImaLog(const std::string& path);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_IO_EVENT_LOGS_H_
