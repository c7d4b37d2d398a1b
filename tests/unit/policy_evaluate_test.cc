// Learning golden measurements from real logs and evaluating them: learned policies accept their
// own log, reject single mutations with the specific finding, the QEMU captures fail against each
// other's policies, and two images can be allowed at once with notAfter ending the old one.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_types.h"
#include "attest/eventlog/replay.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/evaluate.h"
#include "policy/findings.h"
#include "policy/learn.h"
#include "policy/loader.h"
#include "tests/testing/test_util.h"

namespace bootgate::policy {
namespace {

using attest::Bytes;
using attest::Event;
using attest::UnverifiedEventLog;
using ::bootgate::testing::ReadTestData;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kShimGrub[] = "qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements";
constexpr char kUki[] = "qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements";
constexpr char kDirect[] = "qemu/qemu-ovmf-directkernel/binary_bios_measurements";
constexpr char kKeylimeSb[] = "eventlogs/keylime__binary_bios_measurements-secureboot";

const absl::Time kNow = absl::FromUnixSeconds(1795000000);  // 2026-11-18

UnverifiedEventLog MustParse(const std::string& path) {
  auto log = attest::ParseEventLog(ReadTestData(path));
  EXPECT_TRUE(log.ok()) << path << ": " << log.status();
  return log.ok() ? *std::move(log) : UnverifiedEventLog{};
}

PolicySet MustLearn(const UnverifiedEventLog& log, const std::string& name = "image",
                    const std::string& version = "1") {
  LearnOptions options;
  options.image_name = name;
  options.image_version = version;
  auto set = LearnPolicy(log, options);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *std::move(set) : PolicySet{};
}

// What a TPM would quote for `log`: its replay, with every PCR 0-23 of each bank (PCRs no event
// extended hold their initial value).
absl::StatusOr<attest::PcrValues> QuoteAll(const UnverifiedEventLog& log) {
  auto pcrs = attest::ReplayEventLog(log);
  EXPECT_TRUE(pcrs.ok()) << pcrs.status();
  if (!pcrs.ok()) return pcrs;
  for (auto& [alg, bank] : *pcrs) {
    for (uint32_t pcr = 0; pcr <= attest::kMaxPcrIndex; ++pcr) {
      if (!bank.count(pcr)) bank[pcr] = attest::InitialPcrValue(log, alg, pcr);
    }
  }
  return pcrs;
}

// Replays `log` against itself (so every event, mutated or not, is "verified") and evaluates.
Evaluation MustEvaluate(const PolicySet& set, const UnverifiedEventLog& log, absl::Time now = kNow,
                        const std::map<std::string, std::string>& labels = {}) {
  auto pcrs = QuoteAll(log);
  auto verified = attest::VerifyEventLog(log, *pcrs);
  EXPECT_TRUE(verified.ok()) << verified.status();
  auto eval = EvaluatePolicy(set, *pcrs, *verified, labels, now);
  EXPECT_TRUE(eval.ok()) << eval.status();
  return eval.ok() ? *std::move(eval) : Evaluation{};
}

std::vector<std::string> Codes(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const Finding& f : findings) out.push_back(f.code);
  return out;
}

std::string Explain(const Evaluation& e) { return FormatEvaluation(e); }

// Sets every bank's digest of `e` to H(measured).
void Rehash(Event* e, attest::ByteSpan measured) {
  for (attest::EventDigest& d : e->digests) d.digest = *attest::Hash(d.alg, measured);
}

void Renumber(UnverifiedEventLog* log) {
  for (size_t i = 0; i < log->events.size(); ++i) log->events[i].index = i;
}

Event* Find(UnverifiedEventLog* log, uint32_t pcr, uint32_t type, size_t nth = 0) {
  for (Event& e : log->events) {
    if (e.pcr == pcr && e.type == type && nth-- == 0) return &e;
  }
  ADD_FAILURE() << "no event " << nth << " of type " << type << " on PCR " << pcr;
  return nullptr;
}

// UEFI_VARIABLE_DATA for a variable of `vendor_from`'s GUID with a new name/data.
Bytes VariableData(const Bytes& vendor_from, const std::string& name, const Bytes& data) {
  Bytes out(vendor_from.begin(), vendor_from.begin() + 16);
  auto u64 = [&out](uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  u64(name.size());
  u64(data.size());
  for (char c : name) {
    out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

TEST(PolicyLearnTest, ShimGrubCaptureHasEverything) {
  const PolicySet set = MustLearn(MustParse(kShimGrub), "debian-12", "2026.11");
  ASSERT_EQ(set.images.size(), 1u);
  const GoldenImage& img = set.images[0];
  // shim, grub, kernel measured twice.
  ASSERT_EQ(img.boot_chain.size(), 4u);
  EXPECT_EQ(img.boot_chain[0].name, "PciRoot(0x0)/Pci(0x2,0x0)/\\EFI\\BOOT\\BOOTX64.EFI");
  EXPECT_EQ(img.boot_chain[2].digests, img.boot_chain[3].digests);
  EXPECT_EQ(img.boot_chain[0].digests.size(), 2u);  // sha1 and sha256
  EXPECT_EQ(img.kernel_cmdline, "/vmlinuz console=ttyS0 panic=-1 ima_policy=tcb");
  ASSERT_TRUE(img.grub.commands.has_value());
  EXPECT_THAT(*img.grub.commands, Contains("set timeout=0"));
  ASSERT_EQ(img.grub.files.size(), 3u);
  EXPECT_EQ(img.grub.files[1].path, "/vmlinuz");
  EXPECT_TRUE(img.secure_boot.enabled);
  ASSERT_TRUE(img.secure_boot.pk.has_value());
  EXPECT_EQ(img.secure_boot.pk->size(), 1u);
  EXPECT_EQ((*img.secure_boot.pk)[0].type, "x509");
  EXPECT_THAT((*img.secure_boot.pk)[0].description, HasSubstr("Debian"));
  EXPECT_EQ(img.secure_boot.dbx_required.size(), 1u);
  EXPECT_EQ(img.secure_boot.dbx_required[0].type, "sha256");
  ASSERT_TRUE(img.secure_boot.authorities.has_value());
  EXPECT_EQ(img.secure_boot.authorities->size(), 2u);  // Microsoft UEFI CA (db), Debian CA (MOK)
  EXPECT_EQ(img.secure_boot.sbat_level, "sbat,1,2025021800\nshim,4\ngrub,5\n");
  ASSERT_TRUE(img.mok.has_value());
  ASSERT_EQ(img.mok->size(), 3u);
  EXPECT_EQ((*img.mok)[0].name, "MokList");
  EXPECT_TRUE(img.uki_sections.empty());
  EXPECT_TRUE(img.other_events.empty());
  ASSERT_EQ(set.platforms.size(), 1u);
  EXPECT_FALSE(set.platforms[0].events.empty());
  EXPECT_TRUE(set.policies[0].groups[0].platforms[0].quirks.empty());
}

TEST(PolicyLearnTest, UkiCaptureHasSectionsAndStubMeasurements) {
  const PolicySet set = MustLearn(MustParse(kUki));
  const GoldenImage& img = set.images[0];
  ASSERT_EQ(img.uki_sections.size(), 4u);
  EXPECT_EQ(img.uki_sections[0].name, ".linux");
  EXPECT_EQ(img.uki_sections[3].name, ".initrd");
  EXPECT_EQ(img.boot_chain.size(), 2u);  // UKI, then the kernel it carries
  EXPECT_TRUE(img.linux_load_options.has_value());
  EXPECT_TRUE(img.linux_initrd.has_value());
  // The UKI's .initrd section and the stub's initrd measurement are the same bytes.
  EXPECT_EQ(*img.linux_initrd, img.uki_sections[3].digests);
  EXPECT_FALSE(img.secure_boot.enabled);
}

TEST(PolicyLearnTest, DirectKernelCaptureNeedsTheBootOptionQuirk) {
  const PolicySet set = MustLearn(MustParse(kDirect));
  EXPECT_THAT(set.policies[0].groups[0].platforms[0].quirks,
              Contains(std::string(kQuirkApplicationBeforeBootOption)));
}

// Every capture and real log accepts itself under its learned policy.
class LearnedAcceptsOwnLogTest : public ::testing::TestWithParam<const char*> {};

TEST_P(LearnedAcceptsOwnLogTest, Accepted) {
  const UnverifiedEventLog log = MustParse(GetParam());
  const PolicySet set = MustLearn(log);
  const Evaluation e = MustEvaluate(set, log);
  EXPECT_EQ(e.verdict, Verdict::kAccepted) << Explain(e);
  ASSERT_TRUE(e.matched_image.has_value());
  EXPECT_EQ(e.matched_image->name, "image");
  EXPECT_TRUE(e.matched_platform.has_value());
  EXPECT_TRUE(e.findings.empty());
  // Learned documents survive YAML and back, with the same canonical bytes.
  auto reparsed = ParsePolicyDocuments(SerializeYaml(set), "roundtrip");
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_EQ(CanonicalBytes(*reparsed), CanonicalBytes(set));
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, LearnedAcceptsOwnLogTest,
    ::testing::Values(kShimGrub, kUki, kDirect, kKeylimeSb,
                      "eventlogs/keylime__binary_bios_measurements",
                      "eventlogs/go-tpm-tools__rhel8-uefi.bin",
                      "eventlogs/go-tpm-tools__ubuntu-2404-amd-sevsnp.bin",
                      "eventlogs/go-attestation__coreos_36_shielded_vm_no_secure_boot_eventlog",
                      "eventlogs/go-attestation__ubuntu_2104_shielded_vm_no_secure_boot_eventlog",
                      "eventlogs/go-attestation__crypto_agile_eventlog",
                      "eventlogs/go-attestation__option_rom_eventlog",
                      "eventlogs/go-attestation__ebs_event_missing_eventlog",
                      "eventlogs/go-tpm-tools__eventlogwithsp800155.bin",
                      "eventlogs/go-tpm-tools__glinux-alex.bin",
                      "eventlogs/tpm2-tools__event-gce-ubuntu-2104-log.bin",
                      "eventlogs/tpm2-tools__event-uefi-sha1-log.bin",
                      "eventlogs/tpm2-tools__event-bootorder.bin",
                      "eventlogs/tpm2-tools__event-sd-boot-fedora37.bin",
                      "eventlogs/tpm2-tools__event-moklisttrusted.bin"));

// Log fragments without the firmware/boot-loader separators learn, but never pass: the event-order
// rules do not depend on what was learned.
TEST(PolicyEvaluateTest, FragmentsWithoutSeparatorsAreRejected) {
  for (const char* path :
       {"eventlogs/go-attestation__sb_cert_eventlog", "eventlogs/tpm2-tools__event.bin"}) {
    const UnverifiedEventLog log = MustParse(path);
    const Evaluation e = MustEvaluate(MustLearn(log), log);
    EXPECT_EQ(e.verdict, Verdict::kRejected) << path;
    EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kSeparatorMissing))) << path;
  }
}

TEST(PolicyEvaluateTest, QemuCapturesFailAgainstEachOthersPolicies) {
  const char* logs[] = {kShimGrub, kUki, kDirect};
  for (const char* learned_from : logs) {
    const PolicySet set = MustLearn(MustParse(learned_from));
    for (const char* evaluated : logs) {
      const Evaluation e = MustEvaluate(set, MustParse(evaluated));
      if (learned_from == evaluated) {
        EXPECT_EQ(e.verdict, Verdict::kAccepted) << learned_from << "\n" << Explain(e);
      } else {
        EXPECT_EQ(e.verdict, Verdict::kRejected) << learned_from << " vs " << evaluated;
        EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kNoMatchingImage)));
        EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kBootChainMismatch)));
        ASSERT_EQ(e.images.size(), 1u);
        ASSERT_TRUE(e.images[0].first_difference.has_value());
      }
    }
  }
}

TEST(PolicyEvaluateTest, ShimGrubVersusUkiNamesThePlatformAndSecureBoot) {
  const PolicySet set = MustLearn(MustParse(kShimGrub));
  const Evaluation e = MustEvaluate(set, MustParse(kUki));
  EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kSecureBootDisabled)));
  EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kNoMatchingPlatform)));
  EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kPlatformMismatch)));
  EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kUkiSectionMismatch)));
}

// ---- single mutations of the Secure Boot shim -> grub -> kernel capture ---------------------

class ShimGrubMutationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = MustParse(kShimGrub);
    set_ = MustLearn(log_, "debian-12", "2026.11");
  }

  // Evaluates the mutated log; expects a rejection carrying `code` with `detail` in its text and
  // returns the evaluation.
  Evaluation ExpectRejected(const std::string& code, const std::string& detail) {
    const Evaluation e = MustEvaluate(set_, log_);
    EXPECT_EQ(e.verdict, Verdict::kRejected) << Explain(e);
    bool found = false;
    for (const Finding& f : e.findings) {
      if (f.code == code && f.detail.find(detail) != std::string::npos) found = true;
    }
    EXPECT_TRUE(found) << "no " << code << " finding containing '" << detail << "' in\n"
                       << Explain(e);
    return e;
  }

  UnverifiedEventLog log_;
  PolicySet set_;
};

TEST_F(ShimGrubMutationTest, Unmodified) {
  EXPECT_EQ(MustEvaluate(set_, log_).verdict, Verdict::kAccepted);
}

TEST_F(ShimGrubMutationTest, DifferentKernel) {
  for (size_t nth : {2u, 3u}) {  // the kernel is measured twice
    Rehash(Find(&log_, 4, attest::kEvEfiBootServicesApplication, nth),
           attest::AsSpan("another kernel"));
  }
  const Evaluation e = ExpectRejected(codes::kBootChainMismatch, "boot chain [2]");
  ASSERT_TRUE(e.images[0].first_difference.has_value());
  const EventDifference& d = *e.images[0].first_difference;
  EXPECT_EQ(d.pcr, 4u);
  EXPECT_EQ(d.event_index, 41u);
  EXPECT_EQ(d.bank, "sha256");
  EXPECT_EQ(d.actual, attest::HexEncode(*attest::Hash(0x000B, attest::AsSpan("another kernel"))));
  EXPECT_EQ(d.expected.substr(0, 8), "6b1bf35c");
  EXPECT_THAT(Explain(e), HasSubstr("first difference: PCR 4, event 41"));
}

TEST_F(ShimGrubMutationTest, DifferentGrub) {
  Rehash(Find(&log_, 4, attest::kEvEfiBootServicesApplication, 1), attest::AsSpan("grub 2.12"));
  ExpectRejected(codes::kBootChainMismatch, "PCR 4 event 29: boot chain [1]");
}

TEST_F(ShimGrubMutationTest, DifferentShim) {
  Rehash(Find(&log_, 4, attest::kEvEfiBootServicesApplication, 0), attest::AsSpan("shim 16"));
  ExpectRejected(codes::kBootChainMismatch, "PCR 4 event 23: boot chain [0]");
}

TEST_F(ShimGrubMutationTest, SecureBootOff) {
  Event* sb = Find(&log_, 7, attest::kEvEfiVariableDriverConfig, 0);
  ASSERT_EQ(sb->data.back(), 1);
  sb->data.back() = 0;
  Rehash(sb, sb->data);
  ExpectRejected(codes::kSecureBootDisabled, "SecureBoot is 0");
}

TEST_F(ShimGrubMutationTest, DbxEntryRemoved) {
  Event* dbx = Find(&log_, 7, attest::kEvEfiVariableDriverConfig, 4);
  dbx->data = VariableData(dbx->data, "dbx", {});
  Rehash(dbx, dbx->data);
  ExpectRejected(codes::kDbxEntryMissing, "lacks 1 of the 1 required entries");
}

TEST_F(ShimGrubMutationTest, ChangedKernelCommandLine) {
  const std::string cmdline = "/vmlinuz console=ttyS0 panic=-1 ima_policy=tcb init=/bin/sh";
  Event* e = Find(&log_, 8, attest::kEvIpl, 10);  // kernel_cmdline
  const std::string data = absl::StrCat("kernel_cmdline: ", cmdline, std::string(1, '\0'));
  e->data = attest::ToBytes(data);
  Rehash(e, attest::AsSpan(cmdline));
  ExpectRejected(codes::kCmdlineMismatch, "init=/bin/sh");
}

TEST_F(ShimGrubMutationTest, ExtraEfiApplication) {
  Event extra = *Find(&log_, 4, attest::kEvEfiBootServicesApplication, 1);
  Rehash(&extra, attest::AsSpan("a driver nobody expected"));
  auto grub = std::find_if(log_.events.begin(), log_.events.end(),
                           [](const Event& e) { return e.index == 29; });
  log_.events.insert(grub + 1, extra);
  Renumber(&log_);
  ExpectRejected(codes::kExtraEfiApplication, "PCR 4 event 30: EFI application 3");
}

TEST_F(ShimGrubMutationTest, MissingSeparator) {
  Event* sep = Find(&log_, 4, attest::kEvSeparator);
  const size_t index = sep->index;
  log_.events.erase(std::remove_if(log_.events.begin(), log_.events.end(),
                                   [index](const Event& e) { return e.index == index; }),
                    log_.events.end());
  ExpectRejected(codes::kSeparatorMissing, "PCR 4: no EV_SEPARATOR");
}

TEST_F(ShimGrubMutationTest, SeparatorThatLiesAboutItsData) {
  Event* sep = Find(&log_, 4, attest::kEvSeparator);
  Rehash(sep, attest::AsSpan("not zero"));
  ExpectRejected(codes::kEventDataMismatch, "its digest does not match its data");
}

TEST_F(ShimGrubMutationTest, ExitBootServicesMissing) {
  log_.events.pop_back();  // "Exit Boot Services Returned with Success"
  ExpectRejected(codes::kExitBootServicesMissing, "PCR 5");
}

TEST_F(ShimGrubMutationTest, ChangedGrubCommand) {
  Event* e = Find(&log_, 8, attest::kEvIpl, 4);  // grub_cmd: set timeout=0
  const std::string cmd = "set timeout=30";
  e->data = attest::ToBytes(absl::StrCat("grub_cmd: ", cmd, std::string(1, '\0')));
  Rehash(e, attest::AsSpan(cmd));
  ExpectRejected(codes::kGrubCommandMismatch, "\"set timeout=30\", expected \"set timeout=0\"");
}

TEST_F(ShimGrubMutationTest, DifferentInitrdFile) {
  Event* e = Find(&log_, 9, attest::kEvIpl, 2);  // /initrd.img
  Rehash(e, attest::AsSpan("another initrd"));
  ExpectRejected(codes::kFileMismatch, "file \"/initrd.img\"");
}

TEST_F(ShimGrubMutationTest, ChangedSbatLevel) {
  Event* e = Find(&log_, 7, attest::kEvEfiVariableAuthority, 1);  // SbatLevel
  e->data = VariableData(e->data, "SbatLevel", attest::ToBytes("sbat,1,2024010900\n"));
  Rehash(e, e->data);
  ExpectRejected(codes::kSbatLevelMismatch, "sbat,1,2024010900");
}

TEST_F(ShimGrubMutationTest, DifferentMokList) {
  Rehash(Find(&log_, 14, attest::kEvIpl, 0), attest::AsSpan("another MokList"));
  ExpectRejected(codes::kMokMismatch, "MokList");
}

TEST_F(ShimGrubMutationTest, DifferentFirmware) {
  Rehash(Find(&log_, 0, attest::kEvEfiPlatformFirmwareBlob, 0), attest::AsSpan("other OVMF"));
  const Evaluation e = ExpectRejected(codes::kPlatformMismatch, "PCR 0 event 2");
  EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kNoMatchingPlatform)));
  EXPECT_TRUE(e.matched_image.has_value());  // the image itself still matches
}

TEST_F(ShimGrubMutationTest, AbsentMokIsNotCompared) {
  Rehash(Find(&log_, 14, attest::kEvIpl, 0), attest::AsSpan("another MokList"));
  set_.images[0].mok.reset();  // as from-image leaves it
  EXPECT_EQ(MustEvaluate(set_, log_).verdict, Verdict::kAccepted);
}

TEST_F(ShimGrubMutationTest, WarnOnlyTurnsAFindingIntoAWarning) {
  Rehash(Find(&log_, 14, attest::kEvIpl, 0), attest::AsSpan("another MokList"));
  set_.policies[0].warn_only.push_back(codes::kMokMismatch);
  const Evaluation e = MustEvaluate(set_, log_);
  EXPECT_EQ(e.verdict, Verdict::kAccepted) << Explain(e);
  EXPECT_THAT(Codes(e.warnings), Contains(std::string(codes::kMokMismatch)));
}

TEST_F(ShimGrubMutationTest, OnlyQuotedAndReplayedEventsCount) {
  // A quote whose PCR 4 differs from the log: PCR 4's events are dropped, not trusted.
  auto pcrs = QuoteAll(log_);
  ASSERT_TRUE(pcrs.ok());
  (*pcrs)[0x000B][4] = Bytes(32, 0xAB);
  auto verified = attest::VerifyEventLog(log_, *pcrs);
  ASSERT_TRUE(verified.ok());
  auto e = EvaluatePolicy(set_, *pcrs, *verified, {}, kNow);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->verdict, Verdict::kRejected);
  EXPECT_THAT(Codes(e->findings), Contains(std::string(codes::kPcrNotVerified)));
  EXPECT_THAT(Codes(e->findings), Contains(std::string(codes::kBootChainMismatch)));
}

TEST_F(ShimGrubMutationTest, UnquotedBankIsAFinding) {
  auto pcrs = QuoteAll(log_);
  ASSERT_TRUE(pcrs.ok());
  pcrs->erase(0x000B);
  auto verified = attest::VerifyEventLog(log_, *pcrs);
  ASSERT_TRUE(verified.ok());
  auto e = EvaluatePolicy(set_, *pcrs, *verified, {}, kNow);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->verdict, Verdict::kRejected);
  EXPECT_THAT(Codes(e->findings), Contains(std::string(codes::kBankNotQuoted)));
}

TEST_F(ShimGrubMutationTest, AuthorityNotAllowed) {
  set_.images[0].secure_boot.authorities->erase(set_.images[0].secure_boot.authorities->begin());
  ExpectRejected(codes::kAuthorityNotAllowed, "PCR 7 event 22: db authority x509");
}

TEST_F(ShimGrubMutationTest, PkNotAllowed) {
  set_.images[0].secure_boot.pk->front().sha256[0] ^= 1;
  ExpectRejected(codes::kSecureBootKeyNotAllowed, "PCR 7 event 5: PK entry x509");
}

TEST_F(ShimGrubMutationTest, SeparatorWithErrorValue) {
  Event* sep = Find(&log_, 4, attest::kEvSeparator);
  sep->data = {1, 0, 0, 0};
  Rehash(sep, sep->data);
  ExpectRejected(codes::kSeparatorError, "PCR 4 event 19: separator value 0x00000001");
}

TEST_F(ShimGrubMutationTest, DuplicateSeparator) {
  Event extra = *Find(&log_, 5, attest::kEvSeparator);
  log_.events.push_back(extra);
  Renumber(&log_);
  ExpectRejected(codes::kSeparatorDuplicate, "PCR 5: 2 separators");
}

TEST_F(ShimGrubMutationTest, ApplicationAfterExitBootServices) {
  Event app = *Find(&log_, 4, attest::kEvEfiBootServicesApplication, 3);
  log_.events.erase(std::find_if(log_.events.begin(), log_.events.end(),
                                 [&](const Event& e) { return e.index == app.index; }));
  log_.events.push_back(app);
  Renumber(&log_);
  ExpectRejected(codes::kApplicationAfterExitBootServices, "after Exit Boot Services");
}

TEST_F(ShimGrubMutationTest, UnexpectedEventOnAnImagePcr) {
  Event action = *Find(&log_, 4, attest::kEvEfiAction);
  action.pcr = 7;
  action.data = attest::ToBytes("UEFI Debug Mode");
  Rehash(&action, action.data);
  log_.events.insert(log_.events.begin() + 9, action);
  Renumber(&log_);
  ExpectRejected(codes::kBootActionUnexpected, "PCR 7 event 9: unexpected other event");
}

TEST_F(ShimGrubMutationTest, ScrtmVersion) {
  set_.platforms[0].scrtm_version = "OVMF 2099";
  ExpectRejected(codes::kScrtmVersionMismatch, "expected \"OVMF 2099\"");
}

TEST_F(ShimGrubMutationTest, PcrMissingFromQuote) {
  auto pcrs = QuoteAll(log_);
  ASSERT_TRUE(pcrs.ok());
  (*pcrs)[0x000B].erase(9);
  auto verified = attest::VerifyEventLog(log_, *pcrs);
  ASSERT_TRUE(verified.ok());
  auto e = EvaluatePolicy(set_, *pcrs, *verified, {}, kNow);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->verdict, Verdict::kRejected);
  EXPECT_THAT(Codes(e->findings), Contains(std::string(codes::kPcrNotQuoted)));
}

// ---- single mutations of the UKI capture ----------------------------------------------------

class UkiMutationTest : public ShimGrubMutationTest {
 protected:
  void SetUp() override {
    log_ = MustParse(kUki);
    set_ = MustLearn(log_, "debian-12-uki", "2026.11");
  }
};

TEST_F(UkiMutationTest, Unmodified) {
  EXPECT_EQ(MustEvaluate(set_, log_).verdict, Verdict::kAccepted);
}

TEST_F(UkiMutationTest, DifferentCmdlineSection) {
  Rehash(Find(&log_, 11, attest::kEvIpl, 5), attest::AsSpan("console=ttyS0 init=/bin/sh"));
  ExpectRejected(codes::kUkiSectionMismatch, "section .cmdline contents");
}

TEST_F(UkiMutationTest, DifferentLoadOptions) {
  Rehash(Find(&log_, 9, attest::kEvEventTag, 0), attest::AsSpan("init=/bin/sh"));
  ExpectRejected(codes::kCmdlineMismatch, "Linux EFI stub load options");
}

TEST_F(UkiMutationTest, DifferentInitrd) {
  Rehash(Find(&log_, 9, attest::kEvEventTag, 1), attest::AsSpan("another initrd"));
  ExpectRejected(codes::kInitrdMismatch, "Linux EFI stub initrd");
}

TEST_F(UkiMutationTest, SecureBootOnWhenTheImageSaysOff) {
  Event* sb = Find(&log_, 7, attest::kEvEfiVariableDriverConfig, 0);
  sb->data.back() = 1;
  Rehash(sb, sb->data);
  ExpectRejected(codes::kSecureBootUnexpected, "SecureBoot is 1");
}

TEST_F(UkiMutationTest, InitrdMeasurementTheImageDoesNotExpect) {
  set_.images[0].linux_initrd.reset();
  ExpectRejected(codes::kUnexpectedEvent, "PCR 9 event 33: unexpected other event");
}

TEST(PolicyEvaluateTest, KernelCmdlineGivesTheEfiStubDigest) {
  // An image that states the command line (as from-image writes it) instead of the digest.
  const UnverifiedEventLog log = MustParse(kDirect);
  PolicySet set = MustLearn(log);
  set.images[0].linux_load_options.reset();
  set.images[0].kernel_cmdline = "console=ttyS0 panic=-1";
  const Evaluation e = MustEvaluate(set, log);
  EXPECT_EQ(e.verdict, Verdict::kRejected);
  EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kCmdlineMismatch)));
}

TEST(PolicyEvaluateTest, DirectKernelWithoutTheQuirkIsRejected) {
  const UnverifiedEventLog log = MustParse(kDirect);
  PolicySet set = MustLearn(log);
  set.policies[0].groups[0].platforms[0].quirks.clear();
  const Evaluation e = MustEvaluate(set, log);
  EXPECT_EQ(e.verdict, Verdict::kRejected);
  EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kApplicationBeforeBootOption)));
}

// ---- node groups, two images, validity windows -----------------------------------------------

// One policy allowing the direct-kernel image ("old") and the UKI image ("new"), each with the
// platform it was captured on.
PolicySet TwoImages(std::optional<absl::Time> old_not_after) {
  PolicySet old_set = MustLearn(MustParse(kDirect), "os", "2026.10");
  PolicySet new_set = MustLearn(MustParse(kUki), "os", "2026.11");
  new_set.platforms[0].metadata.name = "ovmf-uki";
  old_set.platforms[0].metadata.name = "ovmf-direct";
  PolicySet set;
  set.images = {old_set.images[0], new_set.images[0]};
  set.platforms = {old_set.platforms[0], new_set.platforms[0]};
  Policy policy = old_set.policies[0];
  policy.metadata.name = "rollout";
  NodeGroup& g = policy.groups[0];
  g.images = {{"os", "2026.10", std::nullopt, old_not_after},
              {"os", "2026.11", std::nullopt, std::nullopt}};
  g.platforms = {{"ovmf-direct", "1", {kQuirkApplicationBeforeBootOption}}, {"ovmf-uki", "1", {}}};
  set.policies = {policy};
  EXPECT_TRUE(ValidatePolicySet(set).ok()) << ValidatePolicySet(set);
  return set;
}

TEST(PolicyRolloutTest, NodeOnEitherImagePasses) {
  const PolicySet set = TwoImages(kNow + absl::Hours(24));
  const Evaluation old_node = MustEvaluate(set, MustParse(kDirect));
  EXPECT_EQ(old_node.verdict, Verdict::kAccepted) << Explain(old_node);
  EXPECT_EQ(old_node.matched_image->version, "2026.10");
  EXPECT_EQ(old_node.matched_platform->name, "ovmf-direct");
  const Evaluation new_node = MustEvaluate(set, MustParse(kUki));
  EXPECT_EQ(new_node.verdict, Verdict::kAccepted) << Explain(new_node);
  EXPECT_EQ(new_node.matched_image->version, "2026.11");
  // The candidate that did not match explains why.
  ASSERT_EQ(new_node.images.size(), 2u);
  EXPECT_FALSE(new_node.images[0].matched);
  EXPECT_TRUE(new_node.images[0].first_difference.has_value());
}

TEST(PolicyRolloutTest, OldImageFailsAfterNotAfter) {
  const absl::Time not_after = kNow + absl::Hours(24);
  const PolicySet set = TwoImages(not_after);
  const Evaluation e = MustEvaluate(set, MustParse(kDirect), not_after + absl::Seconds(1));
  EXPECT_EQ(e.verdict, Verdict::kRejected);
  bool found = false;
  for (const Finding& f : e.findings) {
    if (f.code == codes::kImageExpired) {
      found = true;
      EXPECT_THAT(f.detail, HasSubstr("os@2026.10 matches but expired at"));
      EXPECT_THAT(f.detail, HasSubstr("(notAfter)"));
    }
  }
  EXPECT_TRUE(found) << Explain(e);
  // The new image's nodes are unaffected.
  EXPECT_EQ(MustEvaluate(set, MustParse(kUki), not_after + absl::Seconds(1)).verdict,
            Verdict::kAccepted);
}

TEST(PolicyRolloutTest, ImageBeforeNotBefore) {
  PolicySet set = TwoImages(std::nullopt);
  set.policies[0].groups[0].images[1].not_before = kNow + absl::Hours(1);
  const Evaluation e = MustEvaluate(set, MustParse(kUki));
  EXPECT_EQ(e.verdict, Verdict::kRejected);
  EXPECT_THAT(Codes(e.findings), Contains(std::string(codes::kImageNotYetValid)));
}

TEST(PolicyGroupTest, LabelsSelectTheGroup) {
  PolicySet set = TwoImages(std::nullopt);
  NodeGroup uki_only = set.policies[0].groups[0];
  uki_only.name = "uki-nodes";
  uki_only.selector = {{"role", "worker"}};
  uki_only.images = {{"os", "2026.11", std::nullopt, std::nullopt}};
  set.policies[0].groups.insert(set.policies[0].groups.begin(), uki_only);
  const UnverifiedEventLog direct = MustParse(kDirect);
  // Unlabelled nodes fall through to the second (catch-all) group.
  EXPECT_EQ(MustEvaluate(set, direct).verdict, Verdict::kAccepted);
  const Evaluation e = MustEvaluate(set, direct, kNow, {{"role", "worker"}});
  EXPECT_EQ(e.verdict, Verdict::kRejected);
  EXPECT_EQ(e.group, "uki-nodes");
  // Without a catch-all group, an unselected node belongs to no group.
  set.policies[0].groups.pop_back();
  const Evaluation none = MustEvaluate(set, direct, kNow, {{"role", "db"}});
  EXPECT_EQ(none.verdict, Verdict::kRejected);
  EXPECT_THAT(Codes(none.findings), Contains(std::string(codes::kNoGroupForNode)));
}

TEST(PolicyEvaluateTest, InvalidSetIsAnErrorNotAVerdict) {
  PolicySet set = MustLearn(MustParse(kUki));
  set.images.clear();  // the policy names an image that is not there
  const UnverifiedEventLog log = MustParse(kUki);
  auto pcrs = QuoteAll(log);
  auto verified = attest::VerifyEventLog(log, *pcrs);
  auto e = EvaluatePolicy(set, *pcrs, *verified, {}, kNow);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("which is not in the policy set"));
}

TEST(PolicyEvaluateTest, JsonNamesVerdictCandidatesAndDifference) {
  const PolicySet set = MustLearn(MustParse(kShimGrub));
  const Evaluation e = MustEvaluate(set, MustParse(kUki));
  const nlohmann::json j = EvaluationToJson(e);
  EXPECT_EQ(j["verdict"], "rejected");
  EXPECT_TRUE(j["matchedImage"].is_null());
  // The first difference in log order: SecureBoot (PCR 7, event 4) before the boot chain.
  EXPECT_EQ(j["candidates"]["images"][0]["firstDifference"]["pcr"], 7);
  EXPECT_EQ(j["candidates"]["images"][0]["firstDifference"]["eventIndex"], 4);
  EXPECT_FALSE(j["findings"].empty());
  EXPECT_THAT(std::string(j["policyVersion"]), HasSubstr("learned-policy@sha256:"));
}

}  // namespace
}  // namespace bootgate::policy
