// grub EFI images as grub-mkimage builds them: the "mods" section holds the modules, the embedded
// config, the prefix and an optional memdisk. Debian's signed grubx64.efi (grub-efi-amd64-signed
// 2.06) embeds the config "normal (memdisk)/grub.cfg" and a memdisk whose grub.cfg probes $prefix
// and `source`s the first grub.cfg it finds. grub measures those commands into PCR 8 before it
// reads the ESP's grub.cfg; DebianSignedGrubPrologue predicts them.
#ifndef BOOTGATE_ATTEST_IMAGE_GRUB_IMAGE_H_
#define BOOTGATE_ATTEST_IMAGE_GRUB_IMAGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/image/pe_image.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

inline constexpr size_t kMaxGrubModules = 4096;

struct GrubImageInfo {
  std::string prefix;                      // OBJ_TYPE_PREFIX, e.g. "/EFI/debian"
  std::string embedded_config;             // OBJ_TYPE_CONFIG, e.g. "normal (memdisk)/grub.cfg\n"
  bool memdisk_has_debian_config = false;  // the memdisk holds kDebianSignedGrubMemdiskConfig
};

// The memdisk grub.cfg of Debian's signed grub 2.06.
extern const char kDebianSignedGrubMemdiskConfig[];

// Reads the "mods" section (struct grub_module_info64 "mimg", then grub_module_header records).
// InvalidArgument when there is no mods section or it is malformed (bounds, sizes, counts).
absl::StatusOr<GrubImageInfo> ParseGrubImage(const PeImage& pe, ByteSpan file);

// Where the memdisk config finds grub.cfg: $prefix/x86_64-efi/grub.cfg, $prefix/grub.cfg or
// $cmdpath/grub.cfg (the directory grubx64.efi was started from).
enum class GrubCfgLocation { kPrefixPlatform, kPrefix, kCmdpath };

struct GrubPrologue {
  std::vector<std::string> commands;  // "grub_cmd: " texts, in order
  std::string cfg_path;               // the grub.cfg path grub sources and measures (PCR 9)
};

// The PCR 8 commands Debian's signed grub runs before grub.cfg when $prefix exists on the boot
// device. `device` is grub's name for the ESP ("(hd0)" for an unpartitioned disk image,
// "(hd0,gpt1)" for the first GPT partition), `cmdpath_dir` the directory of grubx64.efi on it
// ("/EFI/BOOT"). FailedPrecondition unless `info` is Debian's layout (prefix set, embedded config
// "normal (memdisk)/grub.cfg", memdisk config as above).
absl::StatusOr<GrubPrologue> DebianSignedGrubPrologue(const GrubImageInfo& info,
                                                      absl::string_view device,
                                                      absl::string_view cmdpath_dir,
                                                      GrubCfgLocation location);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_IMAGE_GRUB_IMAGE_H_
