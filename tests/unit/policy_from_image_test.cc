// policy::GoldenImageFromFiles on small synthetic images: which fields each boot flow fills, and
// one test per rejected input combination. Real Debian files:
// tests/image/policy_from_image_test.cc.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_types.h"
#include "attest/image/authenticode.h"
#include "attest/image/boot_events.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/from_image.h"
#include "tests/testing/pe_builder.h"

namespace bootgate::policy {
namespace {

using ::bootgate::testing::BuildPe;
using ::bootgate::testing::PeSpec;
using ::testing::HasSubstr;

constexpr uint16_t kSha256 = static_cast<uint16_t>(attest::HashAlg::kSha256);

attest::Bytes App(uint8_t fill) {
  PeSpec spec;
  spec.sections = {{".text", attest::Bytes(100, fill)}};
  return BuildPe(spec);
}

attest::Bytes Uki() {
  PeSpec spec;
  spec.sections = {{".text", attest::Bytes(16, 0x90)},
                   {".sdmagic", attest::ToBytes("#### LoaderInfo: systemd-stub 252.39 ####")},
                   {".cmdline", attest::ToBytes("quiet")},
                   {".linux", App(0x4C)},
                   {".initrd", attest::ToBytes("initrd")}};
  return BuildPe(spec);
}

FromImageInput Base() {
  FromImageInput in;
  in.name = "img";
  in.version = "1";
  in.banks = {kSha256};
  return in;
}

TEST(PolicyFromImageTest, DirectKernelWithCmdlineAndInitrd) {
  const attest::Bytes kernel = App(0x4C);
  const attest::Bytes initrd = attest::ToBytes("initrd");
  FromImageInput in = Base();
  in.kernel = ImageFile{"vmlinuz", kernel};
  in.initrds = {{"initrd.img", initrd}};
  in.cmdline = "root=/dev/vda ro";
  in.secure_boot = false;
  auto r = GoldenImageFromFiles(in);
  ASSERT_TRUE(r.ok()) << r.status();
  const GoldenImage& img = r->image;
  ASSERT_EQ(img.boot_chain.size(), 1u);
  EXPECT_EQ(img.boot_chain[0].digests.at(kSha256), *attest::AuthenticodeDigest(kernel, kSha256));
  EXPECT_EQ(img.kernel_cmdline, "root=/dev/vda ro");
  ASSERT_TRUE(img.linux_load_options.has_value());
  auto lo = attest::LinuxLoadOptionsEvent("root=/dev/vda ro", {kSha256});
  EXPECT_EQ(img.linux_load_options->at(kSha256), lo->digests[0].digest);
  ASSERT_TRUE(img.linux_initrd.has_value());
  EXPECT_EQ(img.linux_initrd->at(kSha256), *attest::Hash(kSha256, initrd));
  EXPECT_FALSE(img.secure_boot.enabled);
  EXPECT_EQ(r->events.size(), 3u);
}

TEST(PolicyFromImageTest, UkiAfterSystemdBoot) {
  const attest::Bytes sdboot = App(0x5D);
  const attest::Bytes uki = Uki();
  FromImageInput in = Base();
  in.efi = {{"systemd-bootx64.efi", sdboot}};
  in.uki = ImageFile{"debian.efi", uki};
  auto r = GoldenImageFromFiles(in);
  ASSERT_TRUE(r.ok()) << r.status();
  const GoldenImage& img = r->image;
  ASSERT_EQ(img.boot_chain.size(), 3u);
  EXPECT_EQ(img.boot_chain[1].name, "debian.efi");
  EXPECT_EQ(img.boot_chain[2].name, "debian.efi:.linux");
  EXPECT_EQ(img.boot_chain[2].digests.at(kSha256), *attest::AuthenticodeDigest(App(0x4C), kSha256));
  ASSERT_EQ(img.uki_sections.size(), 3u);
  EXPECT_EQ(img.uki_sections[0].name, ".linux");
  EXPECT_EQ(img.uki_sections[1].name, ".cmdline");
  EXPECT_EQ(img.uki_sections[2].name, ".initrd");
  EXPECT_EQ(img.kernel_cmdline, "quiet");
  ASSERT_TRUE(img.linux_initrd.has_value());
  ASSERT_EQ(r->pcr11.size(), 1u);
  EXPECT_EQ(r->events.front().pcr, 4u);
  EXPECT_EQ(r->events[2].pcr, 11u);
}

TEST(PolicyFromImageTest, GrubKernelMeasurementsAndDefaultBanks) {
  const attest::Bytes kernel = App(0x4C);
  const std::string cfg = "menuentry x {\n linux /vmlinuz ro\n}\n";
  FromImageInput in = Base();
  in.banks.clear();
  in.kernel = ImageFile{"vmlinuz", kernel};
  in.grub_cfg = ImageFile{"grub.cfg", attest::AsSpan(cfg)};
  in.grub_kernel_measurements = 1;
  auto r = GoldenImageFromFiles(in);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->image.boot_chain.size(), 1u);
  EXPECT_EQ(r->image.boot_chain[0].digests.size(), 3u);  // sha1, sha256, sha384
  EXPECT_EQ(r->image.kernel_cmdline, "/vmlinuz ro");
  ASSERT_EQ(r->image.grub.files.size(), 2u);
  EXPECT_FALSE(r->image.grub.commands.has_value());
  // grub.cfg, menuentry, setparams, linux, kernel file, (PCR 4 kernel), kernel_cmdline.
  ASSERT_EQ(r->events.size(), 7u);
  EXPECT_EQ(r->events[5].pcr, 4u);
  EXPECT_EQ(r->events[5].type, attest::kEvEfiBootServicesApplication);
}

void ExpectRejected(const FromImageInput& in, const std::string& message) {
  auto r = GoldenImageFromFiles(in);
  ASSERT_FALSE(r.ok()) << "accepted; expected: " << message;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
}

TEST(PolicyFromImageRejects, MissingName) {
  FromImageInput in = Base();
  in.name.clear();
  ExpectRejected(in, "a name is required");
}

TEST(PolicyFromImageRejects, MissingVersion) {
  FromImageInput in = Base();
  in.version.clear();
  ExpectRejected(in, "a version is required");
}

TEST(PolicyFromImageRejects, NeitherUkiNorKernel) {
  ExpectRejected(Base(), "give exactly one of a UKI and a kernel");
}

TEST(PolicyFromImageRejects, BothUkiAndKernel) {
  const attest::Bytes a = App(1);
  FromImageInput in = Base();
  in.uki = ImageFile{"uki", a};
  in.kernel = ImageFile{"kernel", a};
  ExpectRejected(in, "give exactly one of a UKI and a kernel");
}

TEST(PolicyFromImageRejects, UkiWithCmdline) {
  const attest::Bytes uki = Uki();
  FromImageInput in = Base();
  in.uki = ImageFile{"uki", uki};
  in.cmdline = "quiet";
  ExpectRejected(in, "a UKI carries its own initrd and command line");
}

TEST(PolicyFromImageRejects, GrubCfgWithCmdline) {
  const attest::Bytes k = App(1);
  FromImageInput in = Base();
  in.kernel = ImageFile{"kernel", k};
  in.grub_cfg = ImageFile{"grub.cfg", attest::AsSpan("menuentry x {\n linux /k\n}\n")};
  in.cmdline = "quiet";
  ExpectRejected(in, "the kernel command line comes from grub.cfg");
}

TEST(PolicyFromImageRejects, GrubInitrdCountMismatch) {
  const attest::Bytes k = App(1);
  FromImageInput in = Base();
  in.kernel = ImageFile{"kernel", k};
  in.grub_cfg = ImageFile{"grub.cfg", attest::AsSpan("menuentry x {\n linux /k\n initrd /i\n}\n")};
  ExpectRejected(in, "grub.cfg loads 1 initrd(s) but 0 were given");
}

TEST(PolicyFromImageRejects, BadKernelMeasurementCount) {
  const attest::Bytes k = App(1);
  FromImageInput in = Base();
  in.kernel = ImageFile{"kernel", k};
  in.grub_cfg = ImageFile{"grub.cfg", attest::AsSpan("menuentry x {\n linux /k\n}\n")};
  in.grub_kernel_measurements = 3;
  ExpectRejected(in, "measured 0, 1 or 2 times");
}

TEST(PolicyFromImageRejects, TwoInitrdsForDirectKernel) {
  const attest::Bytes k = App(1);
  FromImageInput in = Base();
  in.kernel = ImageFile{"kernel", k};
  in.initrds = {{"a", k}, {"b", k}};
  ExpectRejected(in, "a directly booted kernel takes one initrd");
}

TEST(PolicyFromImageRejects, UnparsableApplicationNamesTheFile) {
  const attest::Bytes k = App(1);
  FromImageInput in = Base();
  in.efi = {{"shimx64.efi", attest::AsSpan("not a PE image")}};
  in.kernel = ImageFile{"kernel", k};
  ExpectRejected(in, "shimx64.efi: PE image: DOS header: truncated");
}

TEST(PolicyFromImageRejects, UnsupportedGrubCfgNamesTheFile) {
  const attest::Bytes k = App(1);
  FromImageInput in = Base();
  in.kernel = ImageFile{"kernel", k};
  in.grub_cfg = ImageFile{"/boot/grub/grub.cfg", attest::AsSpan("source /x\n")};
  ExpectRejected(in, "/boot/grub/grub.cfg: grub.cfg line 1: 'source' is not supported");
}

TEST(PolicyFromImageRejects, InvalidUtf8Cmdline) {
  const attest::Bytes k = App(1);
  FromImageInput in = Base();
  in.kernel = ImageFile{"kernel", k};
  in.cmdline = "quiet \xFF";
  ExpectRejected(in, "kernel command line: invalid UTF-8 at byte 6");
}

}  // namespace
}  // namespace bootgate::policy
