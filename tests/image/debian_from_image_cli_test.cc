// `bootgate policy from-image` on the real Debian 12 files (fetched by the debian_efi fixture):
// it follows shim -> grub -> grub.cfg -> kernel and systemd-boot -> UKI on ESPs, its PCR 4
// digests equal the QEMU Secure Boot capture's, its PCR 11 equals systemd-measure's, and it
// rejects what it does not support with the documented exit codes.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/util/bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "policy/loader.h"
#include "tests/testing/test_util.h"

namespace bootgate::policy {
namespace {

namespace fs = std::filesystem;
using ::bootgate::testing::RunBinary;
using ::testing::HasSubstr;

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

struct DebianFiles {
  attest::Bytes shim = ReadFile(EfiPath("shimx64.efi.signed"));
  attest::Bytes grub = ReadFile(EfiPath("grubx64.efi.signed"));
  attest::Bytes kernel = ReadFile(EfiPath("vmlinuz"));
  attest::Bytes initrd = attest::ToBytes("an initrd");
};

// Writes `data` to `path`, creating directories.
void Put(const fs::path& path, attest::ByteSpan data) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// A fresh directory for this process, removed when the test ends (the ESPs hold kernel copies).
class ScopedDir {
 public:
  explicit ScopedDir(const std::string& name)
      : path_(fs::path(::testing::TempDir()) /
              absl::StrCat("bootgate-", name, "-", static_cast<long>(getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScopedDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The CLI follows shim -> grub -> grub.cfg -> kernel on an ESP laid out like the capture's.
TEST(DebianFromImageCliTest, EspWithShimAndGrub) {
  DebianFiles files;
  ScopedDir tmp("esp-shim");
  const fs::path esp = tmp.path() / "esp";
  Put(esp / "EFI/BOOT/BOOTX64.EFI", files.shim);
  Put(esp / "EFI/BOOT/grubx64.efi", files.grub);
  Put(esp / "EFI/debian/grub.cfg", attest::AsSpan(kGrubCfg));
  Put(esp / "vmlinuz", files.kernel);
  Put(esp / "initrd.img", files.initrd);
  const std::string out = (tmp.path() / "image.yaml").string();
  auto r = RunBinary("bootgate", {"policy", "from-image", "--esp", esp.string(), "--name",
                                  "debian-12", "--version", "1", "--banks", "sha1,sha256",
                                  "--grub-device", "(hd0)", "--out", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  const auto& chain = j["goldenImage"]["spec"]["bootChain"];
  ASSERT_EQ(chain.size(), 4u);
  EXPECT_EQ(chain[0]["name"], "/EFI/BOOT/BOOTX64.EFI");
  // The capture's PCR 4 digests.
  EXPECT_EQ(chain[0]["digests"]["sha256"],
            "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8");
  EXPECT_EQ(chain[1]["digests"]["sha256"],
            "a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265");
  EXPECT_EQ(chain[2]["digests"]["sha256"],
            "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51");
  EXPECT_EQ(chain[3]["digests"], chain[2]["digests"]);
  EXPECT_EQ(j["goldenImage"]["spec"]["kernelCmdline"],
            "/vmlinuz console=ttyS0 panic=-1 ima_policy=tcb");
  // The capture's PCR 8 sequence: the signed grub's built-in commands, then grub.cfg's.
  const auto& commands = j["goldenImage"]["spec"]["grub"]["commands"];
  ASSERT_EQ(commands.size(), 10u);
  EXPECT_EQ(commands[0], "[ -z (hd0)/EFI/debian -o ! -e (hd0)/EFI/debian ]");
  EXPECT_EQ(commands[3], "source (hd0)/EFI/debian/grub.cfg");
  EXPECT_EQ(commands[9], "initrd /initrd.img");
  const attest::Bytes written = ReadFile(out);
  auto yaml = ParsePolicyDocuments(std::string(written.begin(), written.end()), out);
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  ASSERT_EQ(yaml->images.size(), 1u);
  EXPECT_EQ(yaml->images[0].metadata.name, "debian-12");
}

// A UKI built the way systemd-stub(7) describes, found by systemd-boot on an ESP.
TEST(DebianFromImageCliTest, EspWithSystemdBootAndUki) {
  ScopedDir tmp("esp-sdboot");
  const fs::path& dir = tmp.path();
  const std::string cmdline = (dir / "cmdline").string();
  Put(cmdline, attest::AsSpan("console=ttyS0 quiet"));
  const std::string osrel = bootgate::testing::TestDataPath("image/os-release");
  const fs::path esp = dir / "esp";
  fs::create_directories(esp / "EFI/Linux");
  fs::create_directories(esp / "EFI/BOOT");
  fs::copy_file("/usr/lib/systemd/boot/efi/systemd-bootx64.efi", esp / "EFI/BOOT/BOOTX64.EFI");
  const std::string uki = (esp / "EFI/Linux/debian.efi").string();
  // The paths are test-controlled (no spaces or shell characters), so a shell command is fine.
  const std::string objcopy = absl::StrCat(
      "/usr/bin/objcopy --add-section .osrel=", osrel, " --change-section-vma .osrel=0x20000",
      " --add-section .cmdline=", cmdline, " --change-section-vma .cmdline=0x30000",
      " --add-section .linux=", EfiPath("vmlinuz"), " --change-section-vma .linux=0x2000000",
      " /usr/lib/systemd/boot/efi/linuxx64.efi.stub ", uki);
  ASSERT_EQ(std::system(objcopy.c_str()), 0) << objcopy;
  auto r = RunBinary("bootgate", {"policy", "from-image", "--esp", esp.string(), "--name", "uki",
                                  "--version", "1", "--banks", "sha256", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  const auto& spec = j["goldenImage"]["spec"];
  ASSERT_EQ(spec["bootChain"].size(), 3u);  // systemd-boot, the UKI, the kernel from .linux
  EXPECT_EQ(spec["bootChain"][2]["digests"]["sha256"],
            "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51");
  ASSERT_EQ(spec["ukiSections"].size(), 3u);
  EXPECT_EQ(spec["kernelCmdline"], "console=ttyS0 quiet");
  // systemd-measure on the same parts.
  const std::string measure = absl::StrCat(
      "/usr/lib/systemd/systemd-measure calculate --linux=", EfiPath("vmlinuz"), " --osrel=", osrel,
      " --cmdline=", cmdline, " --bank=sha256 --phase= > ", (dir / "measure.out").string());
  ASSERT_EQ(std::system(measure.c_str()), 0) << measure;
  attest::Bytes m = ReadFile((dir / "measure.out").string());
  EXPECT_EQ(std::string(m.begin(), m.end()),
            absl::StrCat("11:sha256=", j["pcr11"]["sha256"].get<std::string>(), "\n"));
}

TEST(DebianFromImageCliTest, RejectsUnsupportedGrubCfg) {
  DebianFiles files;
  ScopedDir tmp("grub-if");
  const fs::path& dir = tmp.path();
  Put(dir / "grub.cfg", attest::AsSpan("if [ x ]; then\n set a=1\nfi\n"));
  Put(dir / "vmlinuz", files.kernel);
  auto r = RunBinary("bootgate",
                     {"policy", "from-image", "--kernel", (dir / "vmlinuz").string(), "--grub-cfg",
                      (dir / "grub.cfg").string(), "--name", "x", "--version", "1"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("grub.cfg line 1: 'if' is not supported"));
}

TEST(DebianFromImageCliTest, UsageErrors) {
  auto r = RunBinary("bootgate", {"policy", "from-image", "--uki", "a", "--kernel", "b", "--name",
                                  "x", "--version", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("give exactly one of --esp, --uki and --kernel"));
  r = RunBinary("bootgate", {"policy", "from-image", "--kernel", "b"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--name and --version are required"));
  r = RunBinary("bootgate", {"policy", "from-image", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: bootgate policy from-image"));
}

}  // namespace
}  // namespace bootgate::policy
