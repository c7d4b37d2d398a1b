// The proof that our software MakeCredential is byte-exact: a real TPM (swtpm) accepts the
// credentials in TPM2_ActivateCredential (through tpm2_activatecredential) for RSA-2048,
// ECC P-384 (high-range, persistent), ECC P-256 (default template) and ECC P-521 (high-range)
// EKs, and refuses them for another AK or another TPM.
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attest/crypto/random.h"
#include "attest/tpm/make_credential.h"
#include "attest/tpm/public_area.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/swtpm_instance.h"

namespace bootgate::testing {
namespace {

using attest::Bytes;
using attest::ByteSpan;
using attest::HexEncode;
using ::testing::HasSubstr;

constexpr char kEkRsa[] = "0x81010001";
constexpr char kEkEcc384[] = "0x81010016";
// TCG EK Credential Profile 2.5, high-range templates: the EK authPolicy is PolicyB =
// PolicyOR(PolicyA = PolicySecret(TPM_RH_ENDORSEMENT), PolicyC = PolicyAuthorizeNV). PolicyC for
// SHA-384 is a constant of the profile; PolicyA is computed below with a trial session.
constexpr char kPolicyCSha384[] =
    "d6032ce61f2fb3c240eb3cf6a33237ef2b6a16f4293c22b455e261cffd217ad5b4947c2d73e63005eed2dc2b3593d"
    "165";

// Production-style randomness for the integration tests (the attest layer takes it injected).
class OpenSslRandom : public attest::RandomSource {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      return absl::UnavailableError("RAND_bytes failed");
    }
    return absl::OkStatus();
  }
};

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  OpenSslRandom rng;
  EXPECT_TRUE(rng.Fill(absl::MakeSpan(b)).ok());
  return b;
}

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// How ActivateCredential satisfies the EK's policy.
enum class EkPolicy {
  kPolicySecretSha256,  // default (low-range) templates: PolicySecret(endorsement), SHA-256
  kPolicyBSha384,       // high-range SHA-384 templates: PolicySecret + PolicyOR(A, C)
  kEmptyPassword,       // high-range templates also set userWithAuth with an empty authValue
};

struct Ak {
  std::string ctx;
  Bytes name;
  TPMT_PUBLIC pub;
};

class MakeCredentialSwtpmTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    delete tpm_;
    tpm_ = nullptr;
  }

  void SetUp() override {
    BOOTGATE_REQUIRE_SWTPM();
    if (tpm_ == nullptr) {
      const auto start = std::chrono::steady_clock::now();
      auto started = SwtpmInstance::Start();
      ASSERT_TRUE(started.ok()) << started.status();
      tpm_ = started->release();
      std::cout << "[timing] swtpm manufacture + start: " << MsSince(start) << " ms ("
                << tpm_->tcti() << ")\n";
    }
    ASSERT_TRUE(tpm_->FlushAll().ok());
  }

  static SwtpmInstance& tpm() { return *tpm_; }

  // Reads a public area (TPM2B_PUBLIC) with tpm2_readpublic and parses it with our code.
  static absl::StatusOr<TPMT_PUBLIC> ReadPublic(const SwtpmInstance& t, const std::string& object,
                                                const std::string& file) {
    auto run = t.Tpm2({"tpm2_readpublic", "-c", object, "-o", file});
    if (!run.ok()) return run.status();
    return attest::ParsePublicArea(ReadFile(t.WorkPath(file)));
  }

  // tpm2_createak under `ek`; checks that our ObjectName agrees with the name the TPM reports.
  static absl::StatusOr<Ak> CreateAk(const SwtpmInstance& t, const std::string& ek,
                                     const std::string& alg, const std::string& prefix) {
    const std::vector<std::string> scheme =
        alg == "rsa" ? std::vector<std::string>{"-G", "rsa", "-s", "rsassa"}
                     : std::vector<std::string>{"-G", "ecc", "-s", "ecdsa"};
    std::vector<std::string> argv = {"tpm2_createak", "-C", ek, "-g", "sha256"};
    argv.insert(argv.end(), scheme.begin(), scheme.end());
    argv.insert(argv.end(), {"-c", prefix + ".ctx", "-u", prefix + ".pub", "-n", prefix + ".name"});
    auto run = t.Tpm2(argv);
    absl::Status flushed = t.FlushAll();
    if (!run.ok()) return run.status();
    if (!flushed.ok()) return flushed;
    Ak ak;
    ak.ctx = prefix + ".ctx";
    ak.name = ReadFile(t.WorkPath(prefix + ".name"));
    auto pub = attest::ParsePublicArea(ReadFile(t.WorkPath(prefix + ".pub")));
    if (!pub.ok()) return pub.status();
    ak.pub = *pub;
    auto name = attest::ObjectName(ak.pub);
    if (!name.ok()) return name.status();
    if (*name != ak.name) {
      return absl::InternalError(absl::StrCat("AK name from the TPM ", HexEncode(ak.name),
                                              " != ObjectName ", HexEncode(*name)));
    }
    return ak;
  }

  // PolicySecret(endorsement) [+ PolicyOR(A, C)] session, tpm2_activatecredential, then flush
  // everything whatever happened. Returns the recovered credential or the tool's error.
  static absl::StatusOr<Bytes> Activate(const SwtpmInstance& t, const Ak& ak, const std::string& ek,
                                        ByteSpan cred_file, EkPolicy policy) {
    WriteFile(t.WorkPath("cred.bin"), cred_file);
    std::remove(t.WorkPath("secret.out").c_str());
    std::vector<std::string> activate = {
        "tpm2_activatecredential", "-c", ak.ctx, "-C", ek, "-i", "cred.bin", "-o", "secret.out"};
    absl::StatusOr<ProcessResult> run = ProcessResult{};
    if (policy != EkPolicy::kEmptyPassword) {
      const std::string hash = policy == EkPolicy::kPolicyBSha384 ? "sha384" : "sha256";
      run = t.Tpm2({"tpm2_startauthsession", "--policy-session", "-g", hash, "-S", "session.ctx"});
      if (run.ok()) run = t.Tpm2({"tpm2_policysecret", "-S", "session.ctx", "-c", "e"});
      if (run.ok() && policy == EkPolicy::kPolicyBSha384) {
        run = t.Tpm2(
            {"tpm2_policyor", "-S", "session.ctx", "-l", "sha384:policy_a.bin,policy_c.bin"});
      }
      activate.insert(activate.end(), {"-P", "session:session.ctx"});
    }
    if (run.ok()) run = t.Tpm2(activate);
    absl::Status flushed = t.FlushAll();
    if (!run.ok()) return run.status();
    if (!flushed.ok()) return flushed;
    return ReadFile(t.WorkPath("secret.out"));
  }

  // Writes policy_a.bin / policy_c.bin for PolicyB and checks PolicyOR(A, C) == EK authPolicy.
  static void PreparePolicyB(const SwtpmInstance& t, const TPMT_PUBLIC& ek) {
    ASSERT_TRUE(t.Tpm2({"tpm2_startauthsession", "-g", "sha384", "-S", "trial.ctx"}).ok());
    ASSERT_TRUE(
        t.Tpm2({"tpm2_policysecret", "-S", "trial.ctx", "-c", "e", "-L", "policy_a.bin"}).ok());
    ASSERT_TRUE(t.FlushAll().ok());
    WriteFile(t.WorkPath("policy_c.bin"), *attest::HexDecode(kPolicyCSha384));
    ASSERT_TRUE(t.Tpm2({"tpm2_startauthsession", "-g", "sha384", "-S", "trial.ctx"}).ok());
    ASSERT_TRUE(t.Tpm2({"tpm2_policyor", "-S", "trial.ctx", "-L", "policy_b.bin", "-l",
                        "sha384:policy_a.bin,policy_c.bin"})
                    .ok());
    ASSERT_TRUE(t.FlushAll().ok());
    EXPECT_EQ(HexEncode(ReadFile(t.WorkPath("policy_b.bin"))),
              HexEncode(ByteSpan(ek.authPolicy.buffer, ek.authPolicy.size)));
  }

  // Makes a credential in software for (ek, ak name) and activates it on the TPM.
  static void ExpectRoundTrip(const std::string& label, const TPMT_PUBLIC& ek,
                              const std::string& ek_ref, const Ak& ak, size_t credential_size,
                              EkPolicy policy) {
    const Bytes credential = RandomBytes(credential_size);
    OpenSslRandom rng;
    const auto start = std::chrono::steady_clock::now();
    auto made = attest::MakeCredential(ek, credential, ak.name, rng);
    ASSERT_TRUE(made.ok()) << made.status();
    const double make_ms = MsSince(start);
    auto recovered = Activate(tpm(), ak, ek_ref, attest::EncodeTpm2ToolsCredential(*made), policy);
    ASSERT_TRUE(recovered.ok()) << label << ": " << recovered.status();
    EXPECT_EQ(HexEncode(*recovered), HexEncode(credential)) << label;
    std::cout << "[timing] " << label << ": MakeCredential " << make_ms
              << " ms, MakeCredential + policy session + ActivateCredential " << MsSince(start)
              << " ms\n";
  }

  static SwtpmInstance* tpm_;
};

SwtpmInstance* MakeCredentialSwtpmTest::tpm_ = nullptr;

TEST_F(MakeCredentialSwtpmTest, RsaEkActivatesOurCredential) {
  auto ek = ReadPublic(tpm(), kEkRsa, "ek_rsa.pub");
  ASSERT_TRUE(ek.ok()) << ek.status();
  ASSERT_EQ(ek->type, TPM2_ALG_RSA);
  auto ak = CreateAk(tpm(), kEkRsa, "rsa", "ak_rsa");
  ASSERT_TRUE(ak.ok()) << ak.status();
  for (size_t size : {size_t{1}, size_t{16}, size_t{32}}) {
    ExpectRoundTrip(absl::StrCat("RSA-2048 EK, ", size, "-byte credential"), *ek, kEkRsa, *ak, size,
                    EkPolicy::kPolicySecretSha256);
  }
}

TEST_F(MakeCredentialSwtpmTest, EccP384HighRangeEkActivatesOurCredential) {
  auto ek = ReadPublic(tpm(), kEkEcc384, "ek_ecc384.pub");
  ASSERT_TRUE(ek.ok()) << ek.status();
  ASSERT_EQ(ek->type, TPM2_ALG_ECC);
  ASSERT_EQ(ek->parameters.eccDetail.curveID, TPM2_ECC_NIST_P384);
  ASSERT_EQ(ek->nameAlg, TPM2_ALG_SHA384);
  ASSERT_EQ(ek->parameters.eccDetail.symmetric.keyBits.aes, 256);
  PreparePolicyB(tpm(), *ek);
  for (const char* alg : {"ecc", "rsa"}) {
    auto ak = CreateAk(tpm(), kEkEcc384, alg, absl::StrCat("ak384_", alg));
    ASSERT_TRUE(ak.ok()) << ak.status();
    ExpectRoundTrip(absl::StrCat("ECC P-384 EK, ", alg, " AK, 48-byte credential"), *ek, kEkEcc384,
                    *ak, 48, EkPolicy::kPolicyBSha384);
  }
}

TEST_F(MakeCredentialSwtpmTest, EccP256EkActivatesOurCredential) {
  // The default (low-range) ECC template: P-256, SHA-256, AES-128, created transiently.
  auto created = tpm().Tpm2({"tpm2_createek", "-c", "ek256.ctx", "-G", "ecc", "-u", "ek256.pub"});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(tpm().FlushAll().ok());
  auto ek = attest::ParsePublicArea(ReadFile(tpm().WorkPath("ek256.pub")));
  ASSERT_TRUE(ek.ok()) << ek.status();
  ASSERT_EQ(ek->parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
  ASSERT_EQ(ek->parameters.eccDetail.symmetric.keyBits.aes, 128);
  auto ak = CreateAk(tpm(), "ek256.ctx", "rsa", "ak256");
  ASSERT_TRUE(ak.ok()) << ak.status();
  ExpectRoundTrip("ECC P-256 EK, 32-byte credential", *ek, "ek256.ctx", *ak, 32,
                  EkPolicy::kPolicySecretSha256);
}

TEST_F(MakeCredentialSwtpmTest, EccP521HighRangeEkActivatesOurCredential) {
  // High-range template H-5 (P-521, SHA-512, AES-256), created transiently.
  auto created =
      tpm().Tpm2({"tpm2_createek", "-c", "ek521.ctx", "-G", "ecc521", "-u", "ek521.pub"});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(tpm().FlushAll().ok());
  auto ek = attest::ParsePublicArea(ReadFile(tpm().WorkPath("ek521.pub")));
  ASSERT_TRUE(ek.ok()) << ek.status();
  ASSERT_EQ(ek->parameters.eccDetail.curveID, TPM2_ECC_NIST_P521);
  ASSERT_EQ(ek->nameAlg, TPM2_ALG_SHA512);
  ASSERT_NE(ek->objectAttributes & TPMA_OBJECT_USERWITHAUTH, 0u);
  auto ak = CreateAk(tpm(), "ek521.ctx", "ecc", "ak521");
  ASSERT_TRUE(ak.ok()) << ak.status();
  ExpectRoundTrip("ECC P-521 EK, 64-byte credential", *ek, "ek521.ctx", *ak, 64,
                  EkPolicy::kEmptyPassword);
}

TEST_F(MakeCredentialSwtpmTest, FileLayoutMatchesTpm2Makecredential) {
  auto ek = ReadPublic(tpm(), kEkRsa, "ek_rsa.pub");
  ASSERT_TRUE(ek.ok()) << ek.status();
  auto ak = CreateAk(tpm(), kEkRsa, "rsa", "ak_layout");
  ASSERT_TRUE(ak.ok()) << ak.status();
  const Bytes credential = RandomBytes(32);
  WriteFile(tpm().WorkPath("secret.in"), credential);
  // tpm2_makecredential -T none works offline, like our code.
  auto run = RunProcess({"tpm2_makecredential", "-T", "none", "-e", "ek_rsa.pub", "-s", "secret.in",
                         "-n", HexEncode(ak->name), "-o", "tool_cred.bin"},
                        {}, std::chrono::seconds(60), tpm().dir() + "/work");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->err;
  const Bytes tool_file = ReadFile(tpm().WorkPath("tool_cred.bin"));
  auto tool = attest::ParseTpm2ToolsCredential(tool_file);
  ASSERT_TRUE(tool.ok()) << tool.status();

  OpenSslRandom rng;
  auto ours = attest::MakeCredential(*ek, credential, ak->name, rng);
  ASSERT_TRUE(ours.ok()) << ours.status();
  const Bytes our_file = attest::EncodeTpm2ToolsCredential(*ours);
  // Same header, same sizes everywhere (the contents differ only through the random seed).
  EXPECT_EQ(HexEncode(ByteSpan(our_file).first(8)), HexEncode(ByteSpan(tool_file).first(8)));
  EXPECT_EQ(our_file.size(), tool_file.size());
  EXPECT_EQ(ours->credential_blob.size(), tool->credential_blob.size());
  EXPECT_EQ(ours->secret.size(), tool->secret.size());
  EXPECT_EQ(HexEncode(ByteSpan(ours->credential_blob).first(4)),
            HexEncode(ByteSpan(tool->credential_blob).first(4)));

  // Both activate on the TPM to the same credential.
  for (const Bytes* file : {&tool_file, &our_file}) {
    auto recovered = Activate(tpm(), *ak, kEkRsa, *file, EkPolicy::kPolicySecretSha256);
    ASSERT_TRUE(recovered.ok()) << recovered.status();
    EXPECT_EQ(*recovered, credential);
  }
}

TEST_F(MakeCredentialSwtpmTest, CredentialForAnotherAkNameIsRejected) {
  auto ek = ReadPublic(tpm(), kEkRsa, "ek_rsa.pub");
  ASSERT_TRUE(ek.ok()) << ek.status();
  auto ak1 = CreateAk(tpm(), kEkRsa, "rsa", "ak_one");
  auto ak2 = CreateAk(tpm(), kEkRsa, "rsa", "ak_two");
  ASSERT_TRUE(ak1.ok() && ak2.ok());
  ASSERT_NE(ak1->name, ak2->name);
  OpenSslRandom rng;
  auto made = attest::MakeCredential(*ek, RandomBytes(32), ak2->name, rng);
  ASSERT_TRUE(made.ok()) << made.status();
  auto recovered = Activate(tpm(), *ak1, kEkRsa, attest::EncodeTpm2ToolsCredential(*made),
                            EkPolicy::kPolicySecretSha256);
  ASSERT_FALSE(recovered.ok()) << "a credential for AK2 must not activate with AK1";
  // TPM_RC_INTEGRITY on the credential blob: the outer HMAC covers the AK name.
  EXPECT_THAT(recovered.status().message(), HasSubstr("integrity"));
  // And the same blob does activate with the AK it was made for.
  auto good = Activate(tpm(), *ak2, kEkRsa, attest::EncodeTpm2ToolsCredential(*made),
                       EkPolicy::kPolicySecretSha256);
  EXPECT_TRUE(good.ok()) << good.status();
}

TEST_F(MakeCredentialSwtpmTest, CredentialForAnotherTpmsEkIsRejected) {
  auto other = SwtpmInstance::Start();
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE((*other)->port(), tpm().port());
  auto other_ek = ReadPublic(**other, kEkRsa, "other_ek.pub");
  ASSERT_TRUE(other_ek.ok()) << other_ek.status();
  auto ek = ReadPublic(tpm(), kEkRsa, "ek_rsa.pub");
  ASSERT_TRUE(ek.ok()) << ek.status();
  ASSERT_NE(HexEncode(ByteSpan(ek->unique.rsa.buffer, ek->unique.rsa.size)),
            HexEncode(ByteSpan(other_ek->unique.rsa.buffer, other_ek->unique.rsa.size)));
  auto ak = CreateAk(tpm(), kEkRsa, "rsa", "ak_other");
  ASSERT_TRUE(ak.ok()) << ak.status();

  OpenSslRandom rng;
  auto made = attest::MakeCredential(*other_ek, RandomBytes(32), ak->name, rng);
  ASSERT_TRUE(made.ok()) << made.status();
  auto recovered = Activate(tpm(), *ak, kEkRsa, attest::EncodeTpm2ToolsCredential(*made),
                            EkPolicy::kPolicySecretSha256);
  EXPECT_FALSE(recovered.ok()) << "a credential for another TPM's EK must not activate here";

  // Same for the P-384 EK: another TPM's ECC EK yields a different ECDH seed.
  auto other_ecc = ReadPublic(**other, kEkEcc384, "other_ecc.pub");
  auto ecc = ReadPublic(tpm(), kEkEcc384, "ek_ecc384.pub");
  ASSERT_TRUE(other_ecc.ok() && ecc.ok());
  PreparePolicyB(tpm(), *ecc);
  auto ecc_ak = CreateAk(tpm(), kEkEcc384, "ecc", "ak_other_ecc");
  ASSERT_TRUE(ecc_ak.ok()) << ecc_ak.status();
  auto made_ecc = attest::MakeCredential(*other_ecc, RandomBytes(48), ecc_ak->name, rng);
  ASSERT_TRUE(made_ecc.ok()) << made_ecc.status();
  EXPECT_FALSE(Activate(tpm(), *ecc_ak, kEkEcc384, attest::EncodeTpm2ToolsCredential(*made_ecc),
                        EkPolicy::kPolicyBSha384)
                   .ok());
}

}  // namespace
}  // namespace bootgate::testing
