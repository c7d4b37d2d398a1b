// UEFI device paths (UEFI 2.10 section 10) rendered as text in the UEFI/EDK2 style, e.g.
// "PciRoot(0x0)/Pci(0x1,0x1)/HD(1,GPT,5f5c...,0x800,0x100000)/\EFI\BOOT\BOOTX64.EFI".
#ifndef BOOTGATE_ATTEST_EVENTLOG_DEVICE_PATH_H_
#define BOOTGATE_ATTEST_EVENTLOG_DEVICE_PATH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// Renders a device path. Nodes the renderer does not know, or whose body is too short for their
// type, appear as "Path(type,subtype,hex)". A node length below 4 or beyond the buffer, or bytes
// after the End-Entire node, is an error naming the node's offset. The walk always advances, so
// no input can make it loop. The returned text is safe to display (control characters escaped).
absl::StatusOr<std::string> DevicePathToText(ByteSpan path);

// A packed sequence of device paths, each ending in End-Entire (EFI_LOAD_OPTION's FilePathList:
// the first is the boot device, firmware may append more, e.g. a PXE option's MAC path).
absl::StatusOr<std::vector<std::string>> DevicePathListToText(ByteSpan paths);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_EVENTLOG_DEVICE_PATH_H_
