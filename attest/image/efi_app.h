// Recognises the EFI applications of a Linux boot chain from their PE sections, so that a caller
// holding an ESP can follow the chain: shim (.vendor_cert), grub (the "mods" section that
// grub-mkimage writes), systemd-boot and systemd-stub (.sdmagic "LoaderInfo" string), a UKI
// (systemd-stub with a .linux section) and a Linux kernel with its EFI stub (.setup / "HdrS").
#ifndef BOOTGATE_ATTEST_IMAGE_EFI_APP_H_
#define BOOTGATE_ATTEST_IMAGE_EFI_APP_H_

#include <string>

#include "attest/image/pe_image.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

enum class EfiAppKind { kUnknown, kShim, kGrub, kSystemdBoot, kUki, kLinuxKernel };

// "shim", "grub", "systemd-boot", "uki", "linux", "unknown".
std::string EfiAppKindName(EfiAppKind kind);

// `file` is the image `pe` was parsed from.
EfiAppKind ClassifyEfiApp(const PeImage& pe, ByteSpan file);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_IMAGE_EFI_APP_H_
