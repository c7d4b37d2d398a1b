// grub-mkimage "mods" parsing (one test per rejection) and the Debian signed grub prologue, on
// synthetic images. The real grubx64.efi.signed: tests/image/debian_from_image_test.cc.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "attest/image/grub_image.h"
#include "attest/image/pe_image.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pe_builder.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::BuildPe;
using ::bootgate::testing::PeSpec;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void Put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Put64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void AddModule(Bytes& area, uint32_t type, const std::string& body) {
  Put32(area, type);
  Put32(area, static_cast<uint32_t>(8 + body.size()));
  area.insert(area.end(), body.begin(), body.end());
}

// A mods section: module info header, then the modules.
Bytes Mods(const Bytes& modules, uint32_t magic = 0x676d696d) {
  Bytes b;
  Put32(b, magic);
  Put32(b, 0);
  Put64(b, 24);
  Put64(b, 24 + modules.size());
  b.insert(b.end(), modules.begin(), modules.end());
  return b;
}

Bytes DebianModules() {
  Bytes m;
  std::string memdisk(64, '\0');
  memdisk += kDebianSignedGrubMemdiskConfig;
  memdisk += std::string(32, '\0');
  AddModule(m, 0, std::string(16, 'E'));  // an ELF module
  AddModule(m, 1, memdisk);
  AddModule(m, 2, std::string("normal (memdisk)/grub.cfg\n") + '\0');
  AddModule(m, 3, std::string("/EFI/debian") + '\0' + '\0');
  return m;
}

struct Parsed {
  Bytes file;
  absl::StatusOr<GrubImageInfo> info;
};

Parsed ParseWithMods(const Bytes& mods) {
  PeSpec spec;
  spec.sections = {{".text", Bytes(32, 0x90)}, {"mods", mods}};
  Parsed p{BuildPe(spec), absl::UnknownError("")};
  auto pe = ParsePeImage(p.file);
  if (!pe.ok()) {
    p.info = pe.status();
    return p;
  }
  p.info = ParseGrubImage(*pe, p.file);
  return p;
}

TEST(GrubImageTest, ReadsPrefixConfigAndMemdisk) {
  Parsed p = ParseWithMods(Mods(DebianModules()));
  ASSERT_TRUE(p.info.ok()) << p.info.status();
  EXPECT_EQ(p.info->prefix, "/EFI/debian");
  EXPECT_EQ(p.info->embedded_config, "normal (memdisk)/grub.cfg\n");
  EXPECT_TRUE(p.info->memdisk_has_debian_config);
}

TEST(GrubImageTest, PrologueForEachGrubCfgLocation) {
  Parsed p = ParseWithMods(Mods(DebianModules()));
  ASSERT_TRUE(p.info.ok()) << p.info.status();
  auto a = DebianSignedGrubPrologue(*p.info, "(hd0,gpt1)", "/EFI/BOOT",
                                    GrubCfgLocation::kPrefixPlatform);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->commands, ElementsAre("[ -z (hd0,gpt1)/EFI/debian -o ! -e (hd0,gpt1)/EFI/debian ]",
                                       "[ -e (hd0,gpt1)/EFI/debian/x86_64-efi/grub.cfg ]",
                                       "source (hd0,gpt1)/EFI/debian/x86_64-efi/grub.cfg"));
  auto b = DebianSignedGrubPrologue(*p.info, "(hd0)", "/EFI/BOOT", GrubCfgLocation::kPrefix);
  ASSERT_TRUE(b.ok()) << b.status();
  // The sequence of the QEMU Secure Boot capture.
  EXPECT_THAT(b->commands,
              ElementsAre("[ -z (hd0)/EFI/debian -o ! -e (hd0)/EFI/debian ]",
                          "[ -e (hd0)/EFI/debian/x86_64-efi/grub.cfg ]",
                          "[ -e (hd0)/EFI/debian/grub.cfg ]", "source (hd0)/EFI/debian/grub.cfg"));
  EXPECT_EQ(b->cfg_path, "(hd0)/EFI/debian/grub.cfg");
  auto c = DebianSignedGrubPrologue(*p.info, "(hd0)", "/EFI/BOOT", GrubCfgLocation::kCmdpath);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->commands.back(), "source (hd0)/EFI/BOOT/grub.cfg");
  EXPECT_EQ(c->commands.size(), 4u);
}

TEST(GrubImageTest, PrologueRefusesOtherLayoutsAndBadDevices) {
  Bytes m;
  AddModule(m, 3, std::string("/boot/grub") + '\0');
  Parsed p = ParseWithMods(Mods(m));
  ASSERT_TRUE(p.info.ok()) << p.info.status();
  EXPECT_FALSE(p.info->memdisk_has_debian_config);
  auto r = DebianSignedGrubPrologue(*p.info, "(hd0)", "/EFI/BOOT", GrubCfgLocation::kPrefix);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("not Debian's signed grub layout"));
  Parsed d = ParseWithMods(Mods(DebianModules()));
  ASSERT_TRUE(d.info.ok());
  r = DebianSignedGrubPrologue(*d.info, "hd0", "/EFI/BOOT", GrubCfgLocation::kPrefix);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("not of the form (hd0)"));
}

void ExpectRejected(const Parsed& p, const std::string& message) {
  ASSERT_FALSE(p.info.ok()) << "accepted; expected: " << message;
  EXPECT_EQ(p.info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.info.status().message()), HasSubstr(message));
}

TEST(GrubImageRejects, NoModsSection) {
  PeSpec spec;
  spec.sections = {{".text", Bytes(32, 0x90)}};
  Bytes file = BuildPe(spec);
  auto pe = ParsePeImage(file);
  ASSERT_TRUE(pe.ok());
  auto info = ParseGrubImage(*pe, file);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("no single \"mods\" section"));
}

TEST(GrubImageRejects, BadMagic) {
  ExpectRejected(ParseWithMods(Mods(DebianModules(), 0x12345678)), "magic is not \"mimg\"");
}

TEST(GrubImageRejects, ModuleOffsetBeyondModuleArea) {
  Bytes mods = Mods(DebianModules());
  mods[8] = 0xFF;  // offset
  mods[9] = 0xFF;
  ExpectRejected(ParseWithMods(mods), "module area (offset 65535");
}

TEST(GrubImageRejects, ModuleAreaBeyondSection) {
  Bytes mods = Mods(DebianModules());
  mods[16] = 0xFF;  // size
  mods[17] = 0xFF;
  mods[18] = 0xFF;
  ExpectRejected(ParseWithMods(mods), "beyond the mods section");
}

TEST(GrubImageRejects, ModuleSizeBelowHeader) {
  Bytes m;
  Put32(m, 2);
  Put32(m, 4);
  ExpectRejected(ParseWithMods(Mods(m)), "module at 0: size 4");
}

TEST(GrubImageRejects, ModuleBodyBeyondArea) {
  Bytes m;
  Put32(m, 2);
  Put32(m, 1000);
  m.resize(m.size() + 10, 'x');
  ExpectRejected(ParseWithMods(Mods(m)), "module body: truncated");
}

}  // namespace
}  // namespace bootgate::attest
