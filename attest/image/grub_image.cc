#include "attest/image/grub_image.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "attest/util/byte_reader.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {
namespace {

constexpr uint32_t kModuleMagic = 0x676d696d;  // "mimg"
constexpr uint32_t kObjTypeMemdisk = 1;
constexpr uint32_t kObjTypeConfig = 2;
constexpr uint32_t kObjTypePrefix = 3;

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("grub image: ", message));
}

std::string UpToNul(ByteSpan data) {
  size_t n = 0;
  while (n < data.size() && data[n] != 0) ++n;
  return std::string(reinterpret_cast<const char*>(data.data()), n);
}

}  // namespace

const char kDebianSignedGrubMemdiskConfig[] =
    "if [ -z \"$prefix\" -o ! -e \"$prefix\" ]; then\n"
    "\tif ! search --file --set=root /.disk/info; then\n"
    "\t\tsearch --file --set=root /.disk/mini-info\n"
    "\tfi\n"
    "\tset prefix=($root)/boot/grub\n"
    "fi\n"
    "if [ -e $prefix/x86_64-efi/grub.cfg ]; then\n"
    "\tsource $prefix/x86_64-efi/grub.cfg\n"
    "elif [ -e $prefix/grub.cfg ]; then\n"
    "\tsource $prefix/grub.cfg\n"
    "else\n"
    "\tsource $cmdpath/grub.cfg\n"
    "fi\n";

absl::StatusOr<GrubImageInfo> ParseGrubImage(const PeImage& pe, ByteSpan file) {
  std::vector<const PeSection*> mods = FindPeSections(pe, "mods");
  if (mods.size() != 1) return Invalid("no single \"mods\" section");
  const PeSection& s = *mods[0];
  if (file.size() != pe.file_size) return Invalid("file does not match its parsed PE image");
  // ParsePeImage checked the raw data's range only when it is not empty.
  if (s.size_of_raw_data == 0) return Invalid("the \"mods\" section is empty");
  ByteSpan section = file.subspan(s.pointer_to_raw_data, s.size_of_raw_data);
  ByteReader r(section);
  ASSIGN_OR_RETURN(uint32_t magic, r.U32Le("module info magic"));
  if (magic != kModuleMagic) return Invalid("module info magic is not \"mimg\"");
  RETURN_IF_ERROR(r.Skip(4, "module info padding"));
  ASSIGN_OR_RETURN(uint64_t offset, r.U64Le("module info offset"));
  ASSIGN_OR_RETURN(uint64_t size, r.U64Le("module info size"));
  if (size > section.size() || offset > size) {
    return Invalid(absl::StrCat("module area (offset ", offset, ", size ", size,
                                ") beyond the mods section (", section.size(), " bytes)"));
  }
  GrubImageInfo info;
  ByteReader m(section.subspan(offset, size - offset));
  size_t count = 0;
  while (m.remaining() >= 8) {
    if (++count > kMaxGrubModules)
      return Invalid(absl::StrCat("more than ", kMaxGrubModules, " modules"));
    const size_t at = m.offset();
    ASSIGN_OR_RETURN(uint32_t type, m.U32Le("module type"));
    ASSIGN_OR_RETURN(uint32_t module_size, m.U32Le("module size"));
    if (module_size < 8) return Invalid(absl::StrCat("module at ", at, ": size ", module_size));
    ASSIGN_OR_RETURN(ByteSpan body, m.Span(module_size - 8, "module body"));
    if (type == kObjTypePrefix) info.prefix = UpToNul(body);
    if (type == kObjTypeConfig) info.embedded_config = UpToNul(body);
    if (type == kObjTypeMemdisk) {
      absl::string_view disk(reinterpret_cast<const char*>(body.data()), body.size());
      // A FAT file of this size is one cluster: its text is contiguous in the image, followed by
      // the cluster's zero padding.
      const std::string want = std::string(kDebianSignedGrubMemdiskConfig) + '\0';
      info.memdisk_has_debian_config = disk.find(want) != absl::string_view::npos;
    }
  }
  return info;
}

absl::StatusOr<GrubPrologue> DebianSignedGrubPrologue(const GrubImageInfo& info,
                                                      absl::string_view device,
                                                      absl::string_view cmdpath_dir,
                                                      GrubCfgLocation location) {
  if (info.prefix.empty() || info.embedded_config != "normal (memdisk)/grub.cfg\n" ||
      !info.memdisk_has_debian_config) {
    return absl::FailedPreconditionError(
        "grub image: not Debian's signed grub layout (prefix, \"normal (memdisk)/grub.cfg\" and "
        "its memdisk config): its built-in commands cannot be predicted");
  }
  if (device.size() < 2 || device.front() != '(' || device.back() != ')') {
    return absl::InvalidArgumentError(
        absl::StrCat("grub device \"", device, "\" is not of the form (hd0) or (hd0,gpt1)"));
  }
  const std::string prefix = absl::StrCat(device, info.prefix);
  GrubPrologue p;
  p.commands.push_back(absl::StrCat("[ -z ", prefix, " -o ! -e ", prefix, " ]"));
  const std::string platform_cfg = absl::StrCat(prefix, "/x86_64-efi/grub.cfg");
  p.commands.push_back(absl::StrCat("[ -e ", platform_cfg, " ]"));
  if (location == GrubCfgLocation::kPrefixPlatform) {
    p.cfg_path = platform_cfg;
  } else {
    const std::string prefix_cfg = absl::StrCat(prefix, "/grub.cfg");
    p.commands.push_back(absl::StrCat("[ -e ", prefix_cfg, " ]"));
    p.cfg_path = location == GrubCfgLocation::kPrefix
                     ? prefix_cfg
                     : absl::StrCat(device, cmdpath_dir, "/grub.cfg");
  }
  p.commands.push_back(absl::StrCat("source ", p.cfg_path));
  return p;
}

}  // namespace bootgate::attest
