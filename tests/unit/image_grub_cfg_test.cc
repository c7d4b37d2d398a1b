// The grub.cfg reader (supported subset and one test per rejection) and the boot-event digests,
// checked against the PCR 8 and PCR 9 events of the real QEMU captures in tests/data/qemu/.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_types.h"
#include "attest/image/boot_events.h"
#include "attest/image/grub_cfg.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::ReadTestData;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint16_t kSha1 = static_cast<uint16_t>(HashAlg::kSha1);
constexpr uint16_t kSha256 = static_cast<uint16_t>(HashAlg::kSha256);

// The grub.cfg of the Secure Boot capture (its text is in the log: grub measured the menuentry).
constexpr char kCapturedGrubCfg[] =
    "set timeout=0\n"
    "set default=0\n"
    "menuentry measured {\n"
    "  linux /vmlinuz console=ttyS0 panic=-1 ima_policy=tcb\n"
    "  initrd /initrd.img\n"
    "}\n";

TEST(GrubCfgTest, CapturedConfigYieldsTheLoggedCommandsInOrder) {
  auto plan = ParseGrubConfig(kCapturedGrubCfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->entry_title, "measured");
  EXPECT_EQ(plan->kernel_path, "/vmlinuz");
  EXPECT_THAT(plan->kernel_args, ElementsAre("console=ttyS0", "panic=-1", "ima_policy=tcb"));
  EXPECT_THAT(plan->initrd_paths, ElementsAre("/initrd.img"));
  EXPECT_EQ(plan->kernel_cmdline, "/vmlinuz console=ttyS0 panic=-1 ima_policy=tcb");
  EXPECT_THAT(
      plan->Commands(),
      ElementsAre("set timeout=0", "set default=0",
                  "menuentry measured {\n  linux /vmlinuz console=ttyS0 panic=-1 "
                  "ima_policy=tcb\n  initrd /initrd.img\n}",
                  "setparams measured", "linux /vmlinuz console=ttyS0 panic=-1 ima_policy=tcb",
                  "initrd /initrd.img"));
  ASSERT_EQ(plan->steps.size(), 9u);
  EXPECT_EQ(plan->steps[5].kind, GrubBootStep::Kind::kKernelFile);
  EXPECT_EQ(plan->steps[6].kind, GrubBootStep::Kind::kKernelCmdline);
  EXPECT_EQ(plan->steps[8].kind, GrubBootStep::Kind::kInitrdFile);
}

// Every PCR 8 event grub logged after reading grub.cfg has the predicted digest in both banks.
TEST(GrubCfgTest, PredictedPcr8DigestsEqualTheSecureBootCapture) {
  auto log =
      ParseEventLog(ReadTestData("qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements"));
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<const Event*> pcr8;
  for (const Event& e : log->events) {
    if (e.pcr == 8) pcr8.push_back(&e);
  }
  auto plan = ParseGrubConfig(kCapturedGrubCfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<PredictedEvent> predicted;
  const uint16_t algs[] = {kSha1, kSha256};
  for (const GrubBootStep& s : plan->steps) {
    if (s.kind == GrubBootStep::Kind::kCommand) {
      predicted.push_back(*GrubCommandEvent(s.text, algs));
    } else if (s.kind == GrubBootStep::Kind::kKernelCmdline) {
      predicted.push_back(*GrubKernelCmdlineEvent(s.text, algs));
    }
  }
  // The first 4 PCR 8 events come from the signed grub's built-in config.
  ASSERT_EQ(pcr8.size(), 4 + predicted.size());
  for (size_t i = 0; i < predicted.size(); ++i) {
    SCOPED_TRACE(predicted[i].description);
    ASSERT_EQ(pcr8[4 + i]->digests.size(), 2u);
    for (const EventDigest& d : pcr8[4 + i]->digests) {
      for (const EventDigest& p : predicted[i].digests) {
        if (p.alg == d.alg) {
          EXPECT_EQ(HexEncode(p.digest), HexEncode(d.digest));
        }
      }
    }
  }
}

// The UKI capture's Linux EFI stub LoadOptions tag is H(UTF-16LE(cmdline) + NUL).
TEST(BootEventsTest, LoadOptionsEqualsUkiCapture) {
  auto log = ParseEventLog(ReadTestData("qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements"));
  ASSERT_TRUE(log.ok()) << log.status();
  const Event* tag = nullptr;
  for (const Event& e : log->events) {
    if (e.pcr == 9 && e.type == kEvEventTag && tag == nullptr) tag = &e;
  }
  ASSERT_NE(tag, nullptr);
  const uint16_t algs[] = {kSha1, kSha256};
  auto e = LinuxLoadOptionsEvent("console=ttyS0 panic=-1 ima_policy=tcb", algs);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->pcr, 9u);
  EXPECT_EQ(e->type, kEvEventTag);
  for (const EventDigest& d : tag->digests) {
    for (const EventDigest& p : e->digests) {
      if (p.alg == d.alg) {
        EXPECT_EQ(HexEncode(p.digest), HexEncode(d.digest));
      }
    }
  }
}

TEST(BootEventsTest, Utf8ToUtf16) {
  auto u = Utf8ToUtf16Le("a\xC3\xA9\xF0\x9F\x98\x80");  // a, U+00E9, U+1F600
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(HexEncode(*u), "6100e9003dd800de");
  for (const char* bad : {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF"}) {
    auto r = Utf8ToUtf16Le(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << HexEncode(AsSpan(bad));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("invalid UTF-8 at byte 0"));
  }
}

TEST(BootEventsTest, GrubLoaderCmdlineQuotesAndEscapes) {
  EXPECT_EQ(GrubLoaderCmdline({"/vmlinuz", "root=/dev/sda1", "ro"}), "/vmlinuz root=/dev/sda1 ro");
  EXPECT_EQ(GrubLoaderCmdline({"/vmlinuz", "a b", "x\"y", "c\\d", "it's", "\\x41"}),
            "/vmlinuz \"a b\" x\\\"y c\\\\d it\\'s \\x41");
}

TEST(GrubCfgTest, VariablesQuotingCommentsAndSimpleCommands) {
  const char* cfg = R"(# generated
insmod part_gpt
insmod ext2
set ver=6.1.0-56-amd64   # trailing comment
set opts="quiet splash"
search --no-floppy --fs-uuid --set=root 1234-ABCD
echo 'Loading Linux ...'
menuentry 'Debian GNU/Linux' --class debian --id debian-simple {
	linux /boot/vmlinuz-$ver root=UUID=abc ro ${opts} "two words"; initrd /boot/initrd.img-${ver}
}
)";
  auto plan = ParseGrubConfig(cfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->entry_title, "Debian GNU/Linux");
  EXPECT_EQ(plan->kernel_path, "/boot/vmlinuz-6.1.0-56-amd64");
  EXPECT_THAT(plan->initrd_paths, ElementsAre("/boot/initrd.img-6.1.0-56-amd64"));
  EXPECT_EQ(plan->kernel_cmdline,
            "/boot/vmlinuz-6.1.0-56-amd64 root=UUID=abc ro quiet splash \"two words\"");
  EXPECT_THAT(
      plan->Commands(),
      ElementsAre("insmod part_gpt", "insmod ext2", "set ver=6.1.0-56-amd64",
                  "set opts=quiet splash", "search --no-floppy --fs-uuid --set=root 1234-ABCD",
                  "echo Loading Linux ...",
                  "menuentry Debian GNU/Linux --class debian --id debian-simple {\n\tlinux "
                  "/boot/vmlinuz-$ver root=UUID=abc ro ${opts} \"two words\"; initrd "
                  "/boot/initrd.img-${ver}\n}",
                  "setparams Debian GNU/Linux",
                  "linux /boot/vmlinuz-6.1.0-56-amd64 root=UUID=abc ro quiet splash two words",
                  "initrd /boot/initrd.img-6.1.0-56-amd64"));
}

constexpr char kTwoEntries[] =
    "menuentry first --id one {\n linux /a\n}\n"
    "menuentry second --id two {\n linux /b\n initrd /b.img /ucode.img\n}\n";

TEST(GrubCfgTest, ChoosesTheDefaultEntry) {
  auto plan = ParseGrubConfig(kTwoEntries);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->kernel_path, "/a");
  plan = ParseGrubConfig(absl::StrCat(kTwoEntries, "set default=1\n"));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->kernel_path, "/b");
  EXPECT_THAT(plan->initrd_paths, ElementsAre("/b.img", "/ucode.img"));
  plan = ParseGrubConfig(absl::StrCat("set default=two\n", kTwoEntries));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->entry_title, "second");
  GrubConfigOptions options;
  options.entry = "first";
  plan = ParseGrubConfig(absl::StrCat("set default=1\n", kTwoEntries), options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->kernel_path, "/a");
  EXPECT_EQ(plan->Commands().back(), "linux /a");
}

TEST(GrubCfgTest, CallerVariables) {
  GrubConfigOptions options;
  options.variables["root"] = "hd0,gpt2";
  auto plan = ParseGrubConfig("menuentry x {\n linux ($root)/vmlinuz\n}\n", options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->kernel_path, "(hd0,gpt2)/vmlinuz");
}

void ExpectRejected(const std::string& cfg, const std::string& message) {
  auto plan = ParseGrubConfig(cfg);
  ASSERT_FALSE(plan.ok()) << "accepted: " << cfg;
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr(message));
}

constexpr char kEntry[] = "menuentry x {\n linux /vmlinuz\n}\n";

TEST(GrubCfgRejects, If) {
  ExpectRejected(absl::StrCat("set a=1\nif [ x ]; then\n set b=2\nfi\n", kEntry),
                 "grub.cfg line 2: 'if' is not supported: only linear grub.cfg files");
}
TEST(GrubCfgRejects, For) { ExpectRejected("for x in a b; do echo $x; done\n", "'for' is not"); }
TEST(GrubCfgRejects, Function) {
  ExpectRejected("function load_video {\n insmod all_video\n}\n", "'function' is not supported");
}
TEST(GrubCfgRejects, Source) {
  ExpectRejected(absl::StrCat("source /boot/grub/extra.cfg\n", kEntry), "'source' is not");
}
TEST(GrubCfgRejects, Submenu) {
  ExpectRejected("submenu 'Advanced' {\n menuentry y {\n linux /a\n }\n}\n", "'submenu' is not");
}
TEST(GrubCfgRejects, UnknownCommand) {
  ExpectRejected(absl::StrCat("loadfont unicode\n", kEntry), "command 'loadfont' is not supported");
}
TEST(GrubCfgRejects, LinuxOutsideMenuentry) {
  ExpectRejected("linux /vmlinuz\n", "command 'linux' is not supported");
}
TEST(GrubCfgRejects, SearchByFile) {
  ExpectRejected(absl::StrCat("search --file --set=root /vmlinuz\n", kEntry), "search by file");
}
TEST(GrubCfgRejects, SearchWithoutType) {
  ExpectRejected(absl::StrCat("search --set=root abc\n", kEntry),
                 "search needs --fs-uuid or --label");
}
TEST(GrubCfgRejects, RuntimeVariable) {
  ExpectRejected("search --fs-uuid --set=root abc\nmenuentry x {\n linux ($root)/vmlinuz\n}\n",
                 "grub.cfg line 3: variable $root is only known when grub runs");
}
TEST(GrubCfgRejects, UnsetVariable) {
  ExpectRejected("menuentry x {\n linux /vmlinuz $extra\n}\n",
                 "variable $extra is not set by this grub.cfg");
}
TEST(GrubCfgRejects, SpecialVariable) {
  ExpectRejected("menuentry x {\n linux /vmlinuz $@\n}\n", "unsupported variable reference");
}
TEST(GrubCfgRejects, NestedMenuentry) {
  ExpectRejected("menuentry x {\n menuentry y {\n linux /a\n }\n}\n", "nested blocks");
}
TEST(GrubCfgRejects, UnterminatedQuote) {
  ExpectRejected("set a='x\n", "grub.cfg line 1: unterminated single quote");
}
TEST(GrubCfgRejects, UnterminatedDoubleQuote) {
  ExpectRejected("set a=\"x\n", "unterminated double quote");
}
TEST(GrubCfgRejects, MissingClosingBrace) {
  ExpectRejected("menuentry x {\n linux /a\n", "menuentry block without a closing '}'");
}
TEST(GrubCfgRejects, UnmatchedClosingBrace) { ExpectRejected("}\n", "unmatched '}'"); }
TEST(GrubCfgRejects, TextAfterClosingBrace) {
  ExpectRejected("menuentry x {\n linux /a\n} echo hi\n", "text after a menuentry's closing");
}
TEST(GrubCfgRejects, PipeOperator) {
  ExpectRejected(absl::StrCat("echo a | echo b\n", kEntry), "operator '|' is not supported");
}
TEST(GrubCfgRejects, BlockAfterOtherCommand) {
  ExpectRejected("echo {\n}\n", "'{' block after 'echo' is not supported");
}
TEST(GrubCfgRejects, MenuentryWithoutBlock) {
  ExpectRejected("menuentry x\n", "menuentry without a { ... } block");
}
TEST(GrubCfgRejects, UnknownMenuentryOption) {
  ExpectRejected("menuentry x --source=y {\n linux /a\n}\n", "menuentry option '--source=y'");
}
TEST(GrubCfgRejects, SetWithoutValue) {
  ExpectRejected(absl::StrCat("set timeout\n", kEntry), "only 'set NAME=VALUE' is supported");
}
TEST(GrubCfgRejects, InitrdBeforeLinux) {
  ExpectRejected("menuentry x {\n initrd /i\n linux /a\n}\n", "initrd before linux");
}
TEST(GrubCfgRejects, TwoLinuxCommands) {
  ExpectRejected("menuentry x {\n linux /a\n linux /b\n}\n", "more than one linux command");
}
TEST(GrubCfgRejects, TwoInitrdCommands) {
  ExpectRejected("menuentry x {\n linux /a\n initrd /i\n initrd /j\n}\n",
                 "more than one initrd command");
}
TEST(GrubCfgRejects, EntryWithoutLinux) {
  ExpectRejected("menuentry x {\n echo hi\n}\n", "menuentry \"x\" has no linux command");
}
TEST(GrubCfgRejects, NoMenuentry) { ExpectRejected("set timeout=0\n", "no menuentry to boot"); }
TEST(GrubCfgRejects, DefaultOutOfRange) {
  ExpectRejected(absl::StrCat("set default=3\n", kEntry), "default entry 3 but only 1");
}
TEST(GrubCfgRejects, DefaultUnknownTitle) {
  ExpectRejected(absl::StrCat("set default=nope\n", kEntry), "no menuentry titled or with --id");
}
TEST(GrubCfgRejects, DefaultKnownOnlyAtRunTime) {
  ExpectRejected(absl::StrCat("search --label --set=default x\n", kEntry),
                 "the default entry is only known at run time");
}
TEST(GrubCfgRejects, AboveSizeCap) {
  ExpectRejected(std::string(kMaxGrubCfgBytes + 1, '#'), "exceeds cap");
}

TEST(GrubEventsTest, PredictGrubEventsNeedsEveryInitrd) {
  auto plan = ParseGrubConfig(kCapturedGrubCfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const uint16_t algs[] = {kSha256};
  auto events =
      PredictGrubEvents(*plan, "grub.cfg", AsSpan(kCapturedGrubCfg), AsSpan("kernel"), {}, algs);
  EXPECT_EQ(events.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(events.status().message()), HasSubstr("loads 1 initrd(s), 0 given"));
  Bytes initrd = ToBytes("initrd");
  events = PredictGrubEvents(*plan, "grub.cfg", AsSpan(kCapturedGrubCfg), AsSpan("kernel"),
                             {initrd}, algs);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 10u);
  EXPECT_EQ((*events)[0].pcr, 9u);
  EXPECT_EQ((*events)[0].description, "grub.cfg");
  EXPECT_EQ((*events)[1].description, "grub_cmd: set timeout=0");
  EXPECT_EQ((*events)[7].description,
            "kernel_cmdline: /vmlinuz console=ttyS0 panic=-1 ima_policy=tcb");
  EXPECT_EQ((*events)[9].description, "/initrd.img");
  EXPECT_EQ((*events)[9].digests[0].digest, *Hash(kSha256, initrd));
}

}  // namespace
}  // namespace bootgate::attest
