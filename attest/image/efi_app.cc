#include "attest/image/efi_app.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace bootgate::attest {
namespace {

// The first bytes of a section's raw data as text (bounded; ParsePeImage checked the range).
absl::string_view RawPrefix(const PeSection& s, ByteSpan file, size_t max) {
  const size_t n = std::min<size_t>({s.size_of_raw_data, s.virtual_size, max});
  if (n == 0) return absl::string_view();  // the range was checked only for non-empty data
  return absl::string_view(reinterpret_cast<const char*>(file.data()) + s.pointer_to_raw_data, n);
}

}  // namespace

std::string EfiAppKindName(EfiAppKind kind) {
  switch (kind) {
    case EfiAppKind::kShim:
      return "shim";
    case EfiAppKind::kGrub:
      return "grub";
    case EfiAppKind::kSystemdBoot:
      return "systemd-boot";
    case EfiAppKind::kUki:
      return "uki";
    case EfiAppKind::kLinuxKernel:
      return "linux";
    case EfiAppKind::kUnknown:
      break;
  }
  return "unknown";
}

EfiAppKind ClassifyEfiApp(const PeImage& pe, ByteSpan file) {
  if (file.size() != pe.file_size) return EfiAppKind::kUnknown;
  bool has_linux = false;
  for (const PeSection& s : pe.sections) has_linux |= absl::StartsWith(s.raw_name, ".linux");
  for (const PeSection& s : pe.sections) {
    if (s.name == ".sdmagic") {
      absl::string_view magic = RawPrefix(s, file, 128);
      if (absl::StrContains(magic, "LoaderInfo: systemd-boot ")) return EfiAppKind::kSystemdBoot;
      if (absl::StrContains(magic, "LoaderInfo: systemd-stub ")) {
        return has_linux ? EfiAppKind::kUki : EfiAppKind::kUnknown;
      }
    }
  }
  for (const PeSection& s : pe.sections) {
    if (s.name == ".vendor_cert") return EfiAppKind::kShim;
  }
  for (const PeSection& s : pe.sections) {
    if (s.name == "mods") return EfiAppKind::kGrub;
  }
  // The x86 Linux boot protocol header: "HdrS" at offset 0x202 of the image.
  if (file.size() > 0x206 && file[0x202] == 'H' && file[0x203] == 'd' && file[0x204] == 'r' &&
      file[0x205] == 'S') {
    return EfiAppKind::kLinuxKernel;
  }
  return EfiAppKind::kUnknown;
}

}  // namespace bootgate::attest
