// `bootgate policy learn|sign|verify|check`: the built binary on the QEMU captures, with the
// signing workflow and the refusals (unsigned, tampered, wrong key, schema-invalid).
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "attest/crypto/ossl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace bootgate {
namespace {

using ::bootgate::testing::CommandResult;
using ::bootgate::testing::RunBinary;
using ::bootgate::testing::TestDataPath;
using ::bootgate::testing::WriteTempFile;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kOk = 0;
constexpr int kRejected = 1;
constexpr int kUsage = 2;
constexpr int kBadInput = 3;

const std::string kShimGrubDir = TestDataPath("qemu/qemu-ovmf-secureboot-shim-grub");
const std::string kUkiDir = TestDataPath("qemu/qemu-ovmf-uki-systemdstub");

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Write(const std::string& name, const std::string& text) {
  return WriteTempFile(name, attest::AsSpan(text));
}

std::string Pem(EVP_PKEY* key, bool is_private) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (is_private) {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio, key);
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

struct KeyFiles {
  std::string private_path;
  std::string public_path;
};

KeyFiles MakeKeyFiles(const std::string& name, bool ed25519) {
  attest::EvpPkeyPtr key(ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return {Write(name + ".key.pem", Pem(key.get(), true)),
          Write(name + ".pub.pem", Pem(key.get(), false))};
}

nlohmann::json ParseJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

class PolicyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = WriteTempFile("policy.yaml", {});
    CommandResult r = RunBinary(
        "bootgate", {"policy", "learn", "--eventlog", kShimGrubDir + "/binary_bios_measurements",
                     "--name", "debian-12", "--version", "2026.11", "--out", policy_});
    ASSERT_EQ(r.exit_code, kOk) << r.err;
    key_ = MakeKeyFiles("signer", /*ed25519=*/true);
  }

  CommandResult Sign(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"policy", "sign", "--key", key_.private_path};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(policy_);
    return RunBinary("bootgate", args);
  }

  CommandResult Check(const std::string& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"policy", "check",      "--policy",
                                     policy_,  "--eventlog", dir + "/binary_bios_measurements"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunBinary("bootgate", args);
  }

  std::string policy_;
  KeyFiles key_;
};

TEST_F(PolicyCliTest, LearnWritesAllThreeKinds) {
  const std::string text = ReadFile(policy_);
  EXPECT_THAT(text, HasSubstr("kind: \"Policy\""));
  EXPECT_THAT(text, HasSubstr("kind: \"GoldenImage\""));
  EXPECT_THAT(text, HasSubstr("kind: \"PlatformReference\""));
  EXPECT_THAT(text, HasSubstr("apiVersion: \"bootgate.dev/v1\""));
  EXPECT_THAT(text, HasSubstr("kernelCmdline: \"/vmlinuz console=ttyS0 panic=-1 ima_policy=tcb\""));
}

TEST_F(PolicyCliTest, SignVerifyAndCheckAccepts) {
  CommandResult s = Sign();
  ASSERT_EQ(s.exit_code, kOk) << s.err;
  EXPECT_THAT(s.out, HasSubstr("with ed25519 key sha256:"));
  CommandResult v = RunBinary("bootgate", {"policy", "verify", "--pub", key_.public_path, policy_});
  EXPECT_EQ(v.exit_code, kOk) << v.err;
  EXPECT_THAT(v.out, HasSubstr("signature valid"));
  EXPECT_THAT(v.out, HasSubstr("learned-policy@sha256:"));
  CommandResult c = Check(
      kShimGrubDir, {"--pub", key_.public_path, "--pcrs", kShimGrubDir + "/expected-pcrs.json"});
  EXPECT_EQ(c.exit_code, kOk) << c.out << c.err;
  EXPECT_THAT(c.out, HasSubstr("verdict: accepted"));
  EXPECT_THAT(c.out, HasSubstr("golden image: debian-12@2026.11"));
  EXPECT_THAT(c.out, HasSubstr("PCR values: quoted values from"));
}

TEST_F(PolicyCliTest, CheckExplainsARejection) {
  ASSERT_EQ(Sign().exit_code, kOk);
  CommandResult c =
      Check(kUkiDir, {"--pub", key_.public_path, "--pcrs", kUkiDir + "/expected-pcrs.json"});
  EXPECT_EQ(c.exit_code, kRejected) << c.err;
  EXPECT_THAT(c.out, HasSubstr("verdict: rejected"));
  EXPECT_THAT(c.out, HasSubstr("POLICY_BOOT_CHAIN_MISMATCH: debian-12@2026.11: PCR 4 event 22"));
  EXPECT_THAT(c.out, HasSubstr("POLICY_SECUREBOOT_DISABLED"));
  EXPECT_THAT(c.out, HasSubstr("golden image debian-12@2026.11 did not match:\n"
                               "  first difference: PCR 7, event 4 [POLICY_SECUREBOOT_DISABLED]"));
}

TEST_F(PolicyCliTest, CheckJson) {
  ASSERT_EQ(Sign().exit_code, kOk);
  CommandResult c = Check(kUkiDir, {"--pub", key_.public_path, "--json"});
  EXPECT_EQ(c.exit_code, kRejected) << c.err;
  nlohmann::json j = ParseJson(c.out);
  EXPECT_EQ(j["verdict"], "rejected");
  EXPECT_EQ(j["pcrSource"], "eventlog-replay");
  EXPECT_EQ(j["candidates"]["images"][0]["firstDifference"]["code"], "POLICY_SECUREBOOT_DISABLED");
}

TEST_F(PolicyCliTest, WithoutPcrsTheOutputSaysSo) {
  CommandResult c = Check(kShimGrubDir, {"--allow-unsigned"});
  EXPECT_EQ(c.exit_code, kOk) << c.err;
  EXPECT_THAT(c.out, HasSubstr("PCR values: the log's own replay"));
  EXPECT_THAT(c.err, HasSubstr("WARNING: --allow-unsigned"));
  EXPECT_THAT(c.out, HasSubstr("policy signature: NOT CHECKED"));
}

TEST_F(PolicyCliTest, DetachedSignature) {
  CommandResult s = Sign({"--detached"});
  ASSERT_EQ(s.exit_code, kOk) << s.err;
  const std::string sig = policy_ + ".sig";
  EXPECT_THAT(ReadFile(sig), HasSubstr("kind: \"PolicySignature\""));
  EXPECT_EQ(
      RunBinary("bootgate", {"policy", "verify", "--pub", key_.public_path, "--sig", sig, policy_})
          .exit_code,
      kOk);
  EXPECT_EQ(Check(kShimGrubDir, {"--pub", key_.public_path, "--sig", sig}).exit_code, kOk);
  // Without --sig the (unsigned) file itself is refused.
  CommandResult v = RunBinary("bootgate", {"policy", "verify", "--pub", key_.public_path, policy_});
  EXPECT_EQ(v.exit_code, kRejected);
  EXPECT_THAT(v.err, HasSubstr("policy is not signed"));
}

TEST_F(PolicyCliTest, EcdsaP256Key) {
  key_ = MakeKeyFiles("ecdsa", /*ed25519=*/false);
  CommandResult s = Sign();
  ASSERT_EQ(s.exit_code, kOk) << s.err;
  EXPECT_THAT(s.out, HasSubstr("ecdsa-p256-sha256"));
  EXPECT_EQ(
      RunBinary("bootgate", {"policy", "verify", "--pub", key_.public_path, policy_}).exit_code,
      kOk);
}

TEST_F(PolicyCliTest, UnsignedPolicyIsRefused) {
  CommandResult v = RunBinary("bootgate", {"policy", "verify", "--pub", key_.public_path, policy_});
  EXPECT_EQ(v.exit_code, kRejected);
  EXPECT_THAT(v.err, HasSubstr("policy refused: policy is not signed"));
  CommandResult c = Check(kShimGrubDir, {"--pub", key_.public_path});
  EXPECT_EQ(c.exit_code, kBadInput);
  EXPECT_THAT(c.err, HasSubstr("policy refused: policy is not signed"));
  EXPECT_THAT(c.out, Not(HasSubstr("verdict")));
}

TEST_F(PolicyCliTest, TamperedPolicyIsRefused) {
  ASSERT_EQ(Sign().exit_code, kOk);
  // One byte: the first hex digit of the kernel command line's last word.
  std::string text = ReadFile(policy_);
  const size_t at = text.find("ima_policy=tcb\"");
  ASSERT_NE(at, std::string::npos);
  text[at] = 'I';
  const std::string tampered = Write("tampered.yaml", text);
  CommandResult v =
      RunBinary("bootgate", {"policy", "verify", "--pub", key_.public_path, tampered});
  EXPECT_EQ(v.exit_code, kRejected);
  EXPECT_THAT(v.err, HasSubstr("signature does not verify"));
  policy_ = tampered;
  CommandResult c = Check(kShimGrubDir, {"--pub", key_.public_path});
  EXPECT_EQ(c.exit_code, kBadInput);
  EXPECT_THAT(c.err, HasSubstr("signature does not verify"));
}

TEST_F(PolicyCliTest, WrongKeyIsRefused) {
  ASSERT_EQ(Sign().exit_code, kOk);
  const KeyFiles other = MakeKeyFiles("other", /*ed25519=*/true);
  CommandResult v =
      RunBinary("bootgate", {"policy", "verify", "--pub", other.public_path, policy_});
  EXPECT_EQ(v.exit_code, kRejected);
  EXPECT_THAT(v.err, HasSubstr("not from a trusted key"));
}

TEST_F(PolicyCliTest, SchemaInvalidPolicyIsRefused) {
  // A field next to secureBoot.enabled, at its indentation.
  std::string text = ReadFile(policy_);
  const size_t at = text.find("enabled: true\n");
  ASSERT_NE(at, std::string::npos);
  const size_t line = text.rfind('\n', at) + 1;
  text.insert(at + std::string("enabled: true\n").size(),
              text.substr(line, at - line) + "allowAll: true\n");
  const std::string bad = Write("bad.yaml", text);
  CommandResult v = RunBinary("bootgate", {"policy", "verify", "--pub", key_.public_path, bad});
  EXPECT_EQ(v.exit_code, kBadInput);
  EXPECT_THAT(v.err, HasSubstr("spec.secureBoot.allowAll: unknown field"));
  CommandResult s = RunBinary("bootgate", {"policy", "sign", "--key", key_.private_path, bad});
  EXPECT_EQ(s.exit_code, kBadInput);
  policy_ = bad;
  CommandResult c = Check(kShimGrubDir, {"--allow-unsigned"});
  EXPECT_EQ(c.exit_code, kBadInput);
  EXPECT_THAT(c.err, HasSubstr("unknown field"));
}

TEST_F(PolicyCliTest, UsageErrors) {
  EXPECT_EQ(RunBinary("bootgate", {"policy"}).exit_code, kUsage);
  EXPECT_EQ(RunBinary("bootgate", {"policy", "frobnicate"}).exit_code, kUsage);
  CommandResult c = Check(kShimGrubDir);  // neither --pub nor --allow-unsigned
  EXPECT_EQ(c.exit_code, kUsage);
  EXPECT_THAT(c.err, HasSubstr("exactly one of --pub and --allow-unsigned"));
  EXPECT_EQ(Check(kShimGrubDir, {"--allow-unsigned", "--labels", "novalue"}).exit_code, kUsage);
  EXPECT_EQ(Check(kShimGrubDir, {"--allow-unsigned", "--at", "yesterday"}).exit_code, kUsage);
  EXPECT_EQ(RunBinary("bootgate", {"policy", "learn"}).exit_code, kUsage);
  for (const char* sub : {"learn", "sign", "verify", "check"}) {
    CommandResult h = RunBinary("bootgate", {"policy", sub, "--help"});
    EXPECT_EQ(h.exit_code, kOk) << sub;
    EXPECT_THAT(h.out, HasSubstr("Usage: bootgate policy")) << sub;
    EXPECT_THAT(h.out, HasSubstr("Exit codes:")) << sub;
  }
}

TEST_F(PolicyCliTest, MalformedInputs) {
  CommandResult l =
      RunBinary("bootgate", {"policy", "learn", "--eventlog",
                             TestDataPath("eventlogs/go-attestation__short_no_action_eventlog")});
  EXPECT_EQ(l.exit_code, kBadInput);
  CommandResult c = Check(kShimGrubDir, {"--allow-unsigned", "--pcrs", policy_});
  EXPECT_EQ(c.exit_code, kBadInput);
  EXPECT_EQ(RunBinary("bootgate", {"policy", "verify", "--pub", policy_, policy_}).exit_code,
            kBadInput);  // the "key" is not a key
}

}  // namespace
}  // namespace bootgate
