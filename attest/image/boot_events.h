// Digests of the boot events that a prediction from files needs besides Authenticode (PCR 4) and
// systemd-stub (PCR 11, uki.h), as the Debian 12 boot components measure them:
//   grub 2.06  PCR 8 EV_IPL "grub_cmd: <command>"      digest = H(command), without the prefix
//              PCR 8 EV_IPL "kernel_cmdline: <line>"  digest = H(line), without the prefix
//              PCR 9 EV_IPL "<path>"                  digest = H(file contents)
//   Linux EFI stub (kernel >= 5.17 / 6.1, when started through LoadImage/StartImage)
//              PCR 9 EV_EVENT_TAG "LOADED_IMAGE::LoadOptions"  digest = H(UTF-16LE cmdline + NUL)
//              PCR 9 EV_EVENT_TAG "Linux initrd"               digest = H(initrd)
//   firmware / shim  PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION      digest = Authenticode(PE file)
#ifndef BOOTGATE_ATTEST_IMAGE_BOOT_EVENTS_H_
#define BOOTGATE_ATTEST_IMAGE_BOOT_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attest/eventlog/event_log.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// An event a boot is expected to log, with its digest per requested bank (request order).
struct PredictedEvent {
  uint32_t pcr = 0;
  uint32_t type = 0;        // EV_* (event_types.h)
  std::string description;  // the event text as logged: "grub_cmd: set default=0", "/vmlinuz"
  std::vector<EventDigest> digests;
};

inline constexpr char kGrubCommandPrefix[] = "grub_cmd: ";
inline constexpr char kGrubKernelCmdlinePrefix[] = "kernel_cmdline: ";
inline constexpr char kLinuxLoadOptionsTag[] = "LOADED_IMAGE::LoadOptions";
inline constexpr char kLinuxInitrdTag[] = "Linux initrd";

// H(data) for each algorithm. Error for an algorithm OpenSSL cannot compute or a duplicate.
absl::StatusOr<std::vector<EventDigest>> DigestsOf(ByteSpan data, absl::Span<const uint16_t> algs);

// PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION of a PE file; `name` becomes the description.
absl::StatusOr<PredictedEvent> EfiApplicationEvent(absl::string_view name, ByteSpan pe_file,
                                                   absl::Span<const uint16_t> algs);
// PCR 8 "grub_cmd: <command>".
absl::StatusOr<PredictedEvent> GrubCommandEvent(absl::string_view command,
                                                absl::Span<const uint16_t> algs);
// PCR 8 "kernel_cmdline: <cmdline>".
absl::StatusOr<PredictedEvent> GrubKernelCmdlineEvent(absl::string_view cmdline,
                                                      absl::Span<const uint16_t> algs);
// PCR 9 file read by grub.
absl::StatusOr<PredictedEvent> GrubFileEvent(absl::string_view path, ByteSpan contents,
                                             absl::Span<const uint16_t> algs);
// PCR 9 EV_EVENT_TAG LoadOptions of the Linux EFI stub. `cmdline` is UTF-8; error when invalid.
absl::StatusOr<PredictedEvent> LinuxLoadOptionsEvent(absl::string_view cmdline,
                                                     absl::Span<const uint16_t> algs);
// PCR 9 EV_EVENT_TAG "Linux initrd".
absl::StatusOr<PredictedEvent> LinuxInitrdEvent(ByteSpan initrd, absl::Span<const uint16_t> algs);

// UTF-8 to UTF-16LE code units (no terminator). InvalidArgument for invalid UTF-8 (overlong forms,
// surrogates, truncated sequences, code points above U+10FFFF).
absl::StatusOr<Bytes> Utf8ToUtf16Le(absl::string_view utf8);

// The command line grub 2.06's Linux loader builds from the `linux` command's arguments (path
// first) and measures as "kernel_cmdline: ": arguments joined by single spaces; an argument that
// contains a space is wrapped in double quotes; backslash, single and double quotes are escaped
// with a backslash, except that a \xHH escape is copied unchanged (grub-core/lib/cmdline.c).
std::string GrubLoaderCmdline(const std::vector<std::string>& args);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_IMAGE_BOOT_EVENTS_H_
