// From-image digests on real Debian 12 boot binaries, checked against independent tools and a
// real measured boot:
//   - Authenticode sha1/sha256 of shim, grub, the kernel, systemd-boot and systemd-stub equal
//     `pesign -h -d ALG -i FILE`;
//   - PCR 11 predicted from parts and from a UKI built with objcopy (the way systemd-stub(7)
//     describes) equals `systemd-measure calculate ... --phase=` per bank;
//   - the predictions equal the PCR 4 / 8 / 9 / 11 digests of the QEMU captures in
//     tests/data/qemu/ (shim 1.51+16.1, grub 2.06-13+deb12u2, linux-image-6.1.0-56 6.1.192-2).
// The binaries are fetched by tests/data/fetch-debian-efi.sh (ctest fixture debian_efi) into
// BOOTGATE_DEBIAN_EFI_DIR; pesign, systemd-measure, systemd-boot-efi and objcopy come from
// scripts/install-deps.sh. Nothing here skips: a missing tool or file fails the test.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_types.h"
#include "attest/image/authenticode.h"
#include "attest/image/boot_events.h"
#include "attest/image/grub_cfg.h"
#include "attest/image/uki.h"
#include "attest/util/bytes.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::ReadTestData;
using ::bootgate::testing::WriteTempFile;

constexpr char kPesign[] = "/usr/bin/pesign";
constexpr char kSystemdMeasure[] = "/usr/lib/systemd/systemd-measure";
constexpr char kObjcopy[] = "/usr/bin/objcopy";
constexpr char kStub[] = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
constexpr char kSystemdBoot[] = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";
// The kernel command line and os-release of the captured UKI boot (tests/data/image/).
constexpr char kCapturedCmdline[] = "console=ttyS0 panic=-1 ima_policy=tcb";

std::string EfiPath(const std::string& name) {
  return std::string(BOOTGATE_DEBIAN_EFI_DIR) + "/root/" + name;
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path
                         << " (run ctest so that the debian_efi fixture fetches it)";
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct ToolResult {
  int exit_code = -1;
  std::string out;
};

// Runs a tool (absolute path, no shell) and captures stdout; stderr goes to the test log.
ToolResult RunTool(const std::vector<std::string>& argv) {
  ToolResult r;
  std::string out_path = WriteTempFile("tool.stdout", {});
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_TRUNC);
    dup2(out, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(out_path);
  std::ostringstream text;
  text << in.rdbuf();
  r.out = text.str();
  return r;
}

// `pesign -h -d ALG -i FILE` prints "hash: <hex>".
std::string PesignHash(const std::string& file, const std::string& alg) {
  ToolResult r = RunTool({kPesign, "-h", "-d", alg, "-i", file});
  EXPECT_EQ(r.exit_code, 0) << "pesign failed on " << file;
  absl::string_view out = absl::StripAsciiWhitespace(r.out);
  EXPECT_TRUE(absl::ConsumePrefix(&out, "hash: ")) << r.out;
  return std::string(out);
}

// `systemd-measure calculate ARGS --bank=BANK --phase=PHASE` prints "11:<bank>=<hex>".
std::string SystemdMeasure(std::vector<std::string> args, const std::string& bank,
                           const std::string& phase) {
  std::vector<std::string> argv = {kSystemdMeasure, "calculate"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--bank=" + bank);
  argv.push_back("--phase=" + phase);
  ToolResult r = RunTool(argv);
  EXPECT_EQ(r.exit_code, 0) << "systemd-measure failed";
  absl::string_view out = absl::StripAsciiWhitespace(r.out);
  EXPECT_TRUE(absl::ConsumePrefix(&out, absl::StrCat("11:", bank, "="))) << r.out;
  return std::string(out);
}

std::string Hex(const std::vector<EventDigest>& d, uint16_t alg) {
  for (const auto& e : d) {
    if (e.alg == alg) return HexEncode(e.digest);
  }
  return "<no " + HashAlgName(alg) + ">";
}

constexpr uint16_t kSha1 = static_cast<uint16_t>(HashAlg::kSha1);
constexpr uint16_t kSha256 = static_cast<uint16_t>(HashAlg::kSha256);
constexpr uint16_t kSha384 = static_cast<uint16_t>(HashAlg::kSha384);

TEST(DebianEfiTest, AuthenticodeEqualsPesign) {
  const std::vector<std::string> files = {EfiPath("shimx64.efi.signed"),
                                          EfiPath("grubx64.efi.signed"), EfiPath("vmlinuz"),
                                          kSystemdBoot, kStub};
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    Bytes file = ReadFile(f);
    ASSERT_FALSE(file.empty());
    const uint16_t algs[] = {kSha1, kSha256};
    auto digests = AuthenticodeDigests(file, algs);
    ASSERT_TRUE(digests.ok()) << digests.status();
    EXPECT_EQ(Hex(*digests, kSha256), PesignHash(f, "sha256"));
    EXPECT_EQ(Hex(*digests, kSha1), PesignHash(f, "sha1"));
  }
}

// The PCR 4 boot-application digests of the Secure Boot capture (shim -> grub -> kernel, the
// kernel measured twice) equal Authenticode of the Debian files of the same versions.
TEST(DebianEfiTest, Pcr4OfSecureBootCaptureEqualsFiles) {
  auto log =
      ParseEventLog(ReadTestData("qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements"));
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<const Event*> apps;
  for (const Event& e : log->events) {
    if (e.pcr == 4 && e.type == kEvEfiBootServicesApplication) apps.push_back(&e);
  }
  const std::vector<std::string> chain = {"shimx64.efi.signed", "grubx64.efi.signed", "vmlinuz",
                                          "vmlinuz"};
  ASSERT_EQ(apps.size(), chain.size());
  for (size_t i = 0; i < chain.size(); ++i) {
    SCOPED_TRACE(chain[i]);
    const uint16_t algs[] = {kSha1, kSha256};
    auto digests = AuthenticodeDigests(ReadFile(EfiPath(chain[i])), algs);
    ASSERT_TRUE(digests.ok()) << digests.status();
    for (const EventDigest& d : apps[i]->digests) {
      EXPECT_EQ(Hex(*digests, d.alg), HexEncode(d.digest)) << HashAlgName(d.alg);
    }
  }
}

// grub's PCR 8/9 events of the capture, predicted from the grub.cfg the capture used (its text is
// in the log itself: the menuentry command) and the kernel file. The capture's grub.cfg and initrd
// files were not kept, so their two PCR 9 digests are not compared.
TEST(DebianEfiTest, GrubEventsOfSecureBootCaptureEqualFiles) {
  auto log =
      ParseEventLog(ReadTestData("qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements"));
  ASSERT_TRUE(log.ok()) << log.status();
  const std::string cfg =
      "set timeout=0\n"
      "set default=0\n"
      "menuentry measured {\n"
      "  linux /vmlinuz console=ttyS0 panic=-1 ima_policy=tcb\n"
      "  initrd /initrd.img\n"
      "}\n";
  auto plan = ParseGrubConfig(cfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  Bytes kernel = ReadFile(EfiPath("vmlinuz"));
  Bytes fake_initrd = ToBytes("not the captured initrd");
  const uint16_t algs[] = {kSha1, kSha256};
  auto events = PredictGrubEvents(*plan, "(hd0)/EFI/debian/grub.cfg", AsSpan(cfg), kernel,
                                  {fake_initrd}, algs);
  ASSERT_TRUE(events.ok()) << events.status();
  // The log's PCR 8/9 events from the grub.cfg measurement on (the first four PCR 8 events come
  // from grub's built-in config).
  std::vector<const Event*> logged;
  for (const Event& e : log->events) {
    if (e.pcr == 8 || e.pcr == 9) logged.push_back(&e);
  }
  ASSERT_EQ(logged.size(), 4 + events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    const PredictedEvent& p = (*events)[i];
    const Event& l = *logged[4 + i];
    SCOPED_TRACE(p.description);
    EXPECT_EQ(p.pcr, l.pcr);
    const bool unknown_file = p.pcr == 9 && (p.description == "(hd0)/EFI/debian/grub.cfg" ||
                                             p.description == "/initrd.img");
    if (unknown_file) continue;
    for (const EventDigest& d : l.digests) {
      EXPECT_EQ(Hex(p.digests, d.alg), HexEncode(d.digest)) << HashAlgName(d.alg);
    }
  }
}

TEST(DebianEfiTest, Pcr11FromPartsEqualsSystemdMeasure) {
  const std::string kernel_path = EfiPath("vmlinuz");
  const std::string osrel_path = bootgate::testing::TestDataPath("image/os-release");
  const std::string cmdline_path = WriteTempFile("cmdline", AsSpan(kCapturedCmdline));
  // Any real file serves as initrd contents: the kernel's config from the same package.
  const std::string initrd_path = EfiPath("boot/config-6.1.0-56-amd64");
  Bytes kernel = ReadFile(kernel_path);
  Bytes osrel = ReadFile(osrel_path);
  Bytes initrd = ReadFile(initrd_path);
  const uint16_t algs[] = {kSha1, kSha256, kSha384};
  auto p = PredictPcr11FromParts({{".initrd", initrd},
                                  {".linux", kernel},
                                  {".cmdline", AsSpan(kCapturedCmdline)},
                                  {".osrel", osrel}},
                                 StubSectionTable::kSystemd252, algs);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->sections.size(), 4u);
  EXPECT_EQ(p->sections[0].name, ".linux");
  EXPECT_EQ(p->sections[3].name, ".initrd");
  auto enter_initrd = ExtendPcr11Phases(p->pcr11, {"enter-initrd"});
  ASSERT_TRUE(enter_initrd.ok()) << enter_initrd.status();
  const std::vector<std::string> args = {"--linux=" + kernel_path, "--osrel=" + osrel_path,
                                         "--cmdline=" + cmdline_path, "--initrd=" + initrd_path};
  for (uint16_t alg : algs) {
    SCOPED_TRACE(HashAlgName(alg));
    EXPECT_EQ(Hex(p->pcr11, alg), SystemdMeasure(args, HashAlgName(alg), ""));
    EXPECT_EQ(Hex(*enter_initrd, alg), SystemdMeasure(args, HashAlgName(alg), "enter-initrd"));
  }
}

TEST(DebianEfiTest, UkiBuiltWithObjcopyEqualsSystemdMeasureAndPesign) {
  const std::string kernel_path = EfiPath("vmlinuz");
  const std::string osrel_path = bootgate::testing::TestDataPath("image/os-release");
  const std::string cmdline_path = WriteTempFile("uki.cmdline", AsSpan(kCapturedCmdline));
  const std::string initrd_path = EfiPath("boot/config-6.1.0-56-amd64");
  const std::string uki_path = WriteTempFile("uki.efi", {});
  // systemd-stub(7) of systemd 252: add the parts as sections after the stub's own.
  ToolResult r = RunTool({kObjcopy, "--add-section", ".osrel=" + osrel_path, "--change-section-vma",
                          ".osrel=0x20000", "--add-section", ".cmdline=" + cmdline_path,
                          "--change-section-vma", ".cmdline=0x30000", "--add-section",
                          ".linux=" + kernel_path, "--change-section-vma", ".linux=0x2000000",
                          "--add-section", ".initrd=" + initrd_path, "--change-section-vma",
                          ".initrd=0x3000000", kStub, uki_path});
  ASSERT_EQ(r.exit_code, 0) << "objcopy failed";
  Bytes uki_file = ReadFile(uki_path);
  auto uki = ParseUki(uki_file);
  ASSERT_TRUE(uki.ok()) << uki.status();
  EXPECT_TRUE(absl::StartsWith(uki->stub_version, "252.")) << uki->stub_version;
  ASSERT_NE(uki->Section(".cmdline"), nullptr);
  EXPECT_EQ(std::string(uki->Section(".cmdline")->begin(), uki->Section(".cmdline")->end()),
            kCapturedCmdline);
  ASSERT_NE(uki->Section(".linux"), nullptr);
  EXPECT_EQ(*uki->Section(".linux"), ReadFile(kernel_path));

  const uint16_t algs[] = {kSha1, kSha256, kSha384};
  auto p = PredictUkiPcr11(*uki, algs);
  ASSERT_TRUE(p.ok()) << p.status();
  const std::vector<std::string> args = {"--linux=" + kernel_path, "--osrel=" + osrel_path,
                                         "--cmdline=" + cmdline_path, "--initrd=" + initrd_path};
  for (uint16_t alg : algs) {
    SCOPED_TRACE(HashAlgName(alg));
    EXPECT_EQ(Hex(p->pcr11, alg), SystemdMeasure(args, HashAlgName(alg), ""));
  }
  // PCR 4: the UKI itself, then the kernel that systemd-stub 252 loads from .linux.
  const uint16_t pe_algs[] = {kSha1, kSha256};
  auto uki_digest = AuthenticodeDigests(uki_file, pe_algs);
  ASSERT_TRUE(uki_digest.ok()) << uki_digest.status();
  EXPECT_EQ(Hex(*uki_digest, kSha256), PesignHash(uki_path, "sha256"));
  EXPECT_EQ(Hex(*uki_digest, kSha1), PesignHash(uki_path, "sha1"));
  std::remove(uki_path.c_str());
}

// The UKI capture's PCR 11 section events for .linux, .osrel and .cmdline, its second PCR 4
// application (the kernel) and its PCR 9 LoadOptions tag equal the predictions from the files. The
// capture's initrd was not kept: its PCR 11 content digest must equal the "Linux initrd" tag.
TEST(DebianEfiTest, UkiCaptureEqualsFiles) {
  auto log = ParseEventLog(ReadTestData("qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements"));
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<const Event*> pcr11, pcr4_apps, pcr9_tags;
  for (const Event& e : log->events) {
    if (e.pcr == 11 && e.type == kEvIpl) pcr11.push_back(&e);
    if (e.pcr == 4 && e.type == kEvEfiBootServicesApplication) pcr4_apps.push_back(&e);
    if (e.pcr == 9 && e.type == kEvEventTag) pcr9_tags.push_back(&e);
  }
  ASSERT_EQ(pcr11.size(), 8u);
  ASSERT_EQ(pcr4_apps.size(), 2u);
  ASSERT_EQ(pcr9_tags.size(), 2u);
  Bytes kernel = ReadFile(EfiPath("vmlinuz"));
  Bytes osrel = ReadTestData("image/os-release");
  const uint16_t algs[] = {kSha1, kSha256};
  auto p = PredictPcr11FromParts(
      {{".linux", kernel}, {".osrel", osrel}, {".cmdline", AsSpan(kCapturedCmdline)}},
      StubSectionTable::kSystemd252, algs);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->sections.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(p->sections[i].name);
    for (const EventDigest& d : pcr11[2 * i]->digests) {
      EXPECT_EQ(Hex(p->sections[i].name_digests, d.alg), HexEncode(d.digest));
    }
    for (const EventDigest& d : pcr11[2 * i + 1]->digests) {
      EXPECT_EQ(Hex(p->sections[i].content_digests, d.alg), HexEncode(d.digest));
    }
  }
  // .initrd's name event, and its contents = the "Linux initrd" tag.
  auto initrd_name = DigestsOf(AsSpan(absl::string_view(".initrd\0", 8)), algs);
  ASSERT_TRUE(initrd_name.ok());
  for (const EventDigest& d : pcr11[6]->digests) {
    EXPECT_EQ(Hex(*initrd_name, d.alg), HexEncode(d.digest));
  }
  EXPECT_EQ(pcr11[7]->digests.size(), pcr9_tags[1]->digests.size());
  for (size_t i = 0; i < pcr11[7]->digests.size(); ++i) {
    EXPECT_EQ(pcr11[7]->digests[i].digest, pcr9_tags[1]->digests[i].digest);
  }
  auto kernel_app = AuthenticodeDigests(kernel, algs);
  ASSERT_TRUE(kernel_app.ok());
  for (const EventDigest& d : pcr4_apps[1]->digests) {
    EXPECT_EQ(Hex(*kernel_app, d.alg), HexEncode(d.digest));
  }
  auto load_options = LinuxLoadOptionsEvent(kCapturedCmdline, algs);
  ASSERT_TRUE(load_options.ok());
  for (const EventDigest& d : pcr9_tags[0]->digests) {
    EXPECT_EQ(Hex(load_options->digests, d.alg), HexEncode(d.digest));
  }
}

}  // namespace
}  // namespace bootgate::attest
