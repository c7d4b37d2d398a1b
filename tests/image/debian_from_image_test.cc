// policy::GoldenImageFromFiles on the real Debian 12 files (fetched by the debian_efi fixture):
// the computed GoldenImage agrees with the GoldenImage that `policy learn` takes from the QEMU
// Secure Boot capture of the same files, and survives the YAML round trip.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_log.h"
#include "attest/image/grub_image.h"
#include "attest/image/pe_image.h"
#include "attest/util/bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/from_image.h"
#include "policy/learn.h"
#include "policy/loader.h"
#include "tests/testing/test_util.h"

namespace bootgate::policy {
namespace {

using ::bootgate::testing::ReadTestData;

constexpr uint16_t kSha1 = static_cast<uint16_t>(attest::HashAlg::kSha1);
constexpr uint16_t kSha256 = static_cast<uint16_t>(attest::HashAlg::kSha256);

constexpr char kGrubCfg[] =
    "set timeout=0\n"
    "set default=0\n"
    "menuentry measured {\n"
    "  linux /vmlinuz console=ttyS0 panic=-1 ima_policy=tcb\n"
    "  initrd /initrd.img\n"
    "}\n";

std::string EfiPath(const std::string& name) {
  return std::string(BOOTGATE_DEBIAN_EFI_DIR) + "/root/" + name;
}

attest::Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return attest::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Hex(const BankDigests& d, uint16_t alg) {
  auto it = d.find(alg);
  return it == d.end() ? "<none>" : attest::HexEncode(it->second);
}

struct DebianFiles {
  attest::Bytes shim = ReadFile(EfiPath("shimx64.efi.signed"));
  attest::Bytes grub = ReadFile(EfiPath("grubx64.efi.signed"));
  attest::Bytes kernel = ReadFile(EfiPath("vmlinuz"));
  attest::Bytes initrd = attest::ToBytes("an initrd");
};

FromImageInput ShimGrubInput(const DebianFiles& f) {
  FromImageInput in;
  in.name = "debian-12";
  in.version = "6.1.0-56";
  in.banks = {kSha1, kSha256};
  in.efi = {{"shimx64.efi", f.shim}, {"grubx64.efi", f.grub}};
  in.kernel = ImageFile{"/vmlinuz", f.kernel};
  in.initrds = {{"/initrd.img", f.initrd}};
  in.grub_cfg = ImageFile{"/EFI/debian/grub.cfg", attest::AsSpan(kGrubCfg)};
  return in;
}

TEST(DebianFromImageTest, ShimGrubKernelAgreesWithTheLearnedSecureBootCapture) {
  DebianFiles files;
  auto result = GoldenImageFromFiles(ShimGrubInput(files));
  ASSERT_TRUE(result.ok()) << result.status();
  const GoldenImage& img = result->image;

  auto log = attest::ParseEventLog(
      ReadTestData("qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements"));
  ASSERT_TRUE(log.ok()) << log.status();
  auto learned_set = LearnPolicy(*log, LearnOptions{});
  ASSERT_TRUE(learned_set.ok()) << learned_set.status();
  ASSERT_EQ(learned_set->images.size(), 1u);
  const GoldenImage& learned = learned_set->images[0];

  // PCR 4: shim, grub, the kernel twice.
  ASSERT_EQ(img.boot_chain.size(), 4u);
  ASSERT_EQ(learned.boot_chain.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(img.boot_chain[i].name);
    for (uint16_t alg : {kSha1, kSha256}) {
      EXPECT_EQ(Hex(img.boot_chain[i].digests, alg), Hex(learned.boot_chain[i].digests, alg));
    }
  }
  // PCR 8: grub's kernel_cmdline text.
  ASSERT_TRUE(img.kernel_cmdline.has_value());
  ASSERT_TRUE(learned.kernel_cmdline.has_value());
  EXPECT_EQ(*img.kernel_cmdline, *learned.kernel_cmdline);
  // PCR 9: the kernel file grub read (grub.cfg and the initrd of the capture were not kept).
  ASSERT_EQ(img.grub.files.size(), 3u);
  ASSERT_EQ(learned.grub.files.size(), 3u);
  EXPECT_EQ(img.grub.files[1].path, "/vmlinuz");
  EXPECT_EQ(learned.grub.files[1].path, "/vmlinuz");
  EXPECT_EQ(Hex(img.grub.files[1].digests, kSha256), Hex(learned.grub.files[1].digests, kSha256));
  // The commands from grub.cfg on are the learned ones after grub's built-in prologue; the
  // GoldenImage leaves them unchecked (see from_image.h).
  EXPECT_FALSE(img.grub.commands.has_value());
  EXPECT_TRUE(img.uki_sections.empty());
  EXPECT_FALSE(img.linux_load_options.has_value());
  EXPECT_EQ(result->notes.size(), 2u);
}

// With grub's device name, the whole PCR 8 command sequence is predicted: the signed grub's
// built-in commands, then grub.cfg's. It equals what `policy learn` takes from the capture.
TEST(DebianFromImageTest, GrubDevicePredictsEveryLoggedGrubCommand) {
  DebianFiles files;
  FromImageInput in = ShimGrubInput(files);
  in.grub_device = "(hd0)";
  in.grub_cfg_location = attest::GrubCfgLocation::kPrefix;
  auto result = GoldenImageFromFiles(in);
  ASSERT_TRUE(result.ok()) << result.status();
  auto log = attest::ParseEventLog(
      ReadTestData("qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements"));
  ASSERT_TRUE(log.ok()) << log.status();
  auto learned = LearnPolicy(*log, LearnOptions{});
  ASSERT_TRUE(learned.ok()) << learned.status();
  ASSERT_TRUE(result->image.grub.commands.has_value());
  ASSERT_TRUE(learned->images[0].grub.commands.has_value());
  EXPECT_EQ(*result->image.grub.commands, *learned->images[0].grub.commands);
  EXPECT_EQ(result->image.grub.files[0].path, "(hd0)/EFI/debian/grub.cfg");
  EXPECT_EQ(result->image.grub.files[0].path, learned->images[0].grub.files[0].path);
  EXPECT_EQ(result->notes.size(), 1u);  // only the PCR 7/14 note
}

TEST(DebianFromImageTest, DebianSignedGrubImageLayout) {
  DebianFiles files;
  auto pe = attest::ParsePeImage(files.grub);
  ASSERT_TRUE(pe.ok()) << pe.status();
  auto info = attest::ParseGrubImage(*pe, files.grub);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->prefix, "/EFI/debian");
  EXPECT_EQ(info->embedded_config, "normal (memdisk)/grub.cfg\n");
  EXPECT_TRUE(info->memdisk_has_debian_config);
}

TEST(DebianFromImageTest, YamlRoundTrip) {
  DebianFiles files;
  auto result = GoldenImageFromFiles(ShimGrubInput(files));
  ASSERT_TRUE(result.ok()) << result.status();
  PolicySet set;
  set.images.push_back(result->image);
  const std::string yaml = SerializeYaml(set);
  auto parsed = ParsePolicyDocuments(yaml, "from-image");
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml;
  ASSERT_EQ(parsed->images.size(), 1u);
  EXPECT_EQ(CanonicalBytes(*parsed), CanonicalBytes(set));
}

}  // namespace
}  // namespace bootgate::policy
