// Policy signatures: ECDSA P-256 and Ed25519 over the canonical bytes, embedded and detached;
// unsigned, tampered and wrong-key policies are refused with clear errors.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "absl/strings/str_replace.h"
#include "attest/crypto/ossl.h"
#include "attest/eventlog/event_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/learn.h"
#include "policy/loader.h"
#include "policy/signing.h"
#include "tests/testing/test_util.h"

namespace bootgate::policy {
namespace {

using ::testing::HasSubstr;

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(n));
}

// A fresh key: "ED25519" or "EC" (P-256), or "EC-P384" for a refused curve.
KeyPair MakeKey(const std::string& type) {
  attest::EvpPkeyPtr key;
  if (type == "ED25519") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  } else if (type == "EC") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  } else {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  }
  EXPECT_NE(key, nullptr);
  KeyPair out;
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.private_pem = BioToString(priv);
  BIO_free(priv);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key.get());
  out.public_pem = BioToString(pub);
  BIO_free(pub);
  return out;
}

PolicySet Learned() {
  auto log = attest::ParseEventLog(
      bootgate::testing::ReadTestData("qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements"));
  EXPECT_TRUE(log.ok());
  auto set = LearnPolicy(*log, LearnOptions{});
  EXPECT_TRUE(set.ok()) << set.status();
  return *set;
}

class PolicySigningTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PolicySigningTest, EmbeddedSignatureVerifiesAfterYamlRoundTrip) {
  const KeyPair key = MakeKey(GetParam());
  PolicySet set = Learned();
  auto sig = SignPolicySet(set, key.private_pem);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->algorithm,
            std::string(GetParam()) == "EC" ? kSigAlgEcdsaP256Sha256 : kSigAlgEd25519);
  EXPECT_EQ(sig->key_id, *KeyIdFromPem(key.public_pem));
  set.signatures.push_back(*sig);
  auto reloaded = ParsePolicyDocuments(SerializeYaml(set), "signed.yaml");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_EQ(reloaded->signatures.size(), 1u);
  auto check = VerifyPolicySet(*reloaded, {key.public_pem});
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->key_id, sig->key_id);
}

TEST_P(PolicySigningTest, DetachedSignatureVerifies) {
  const KeyPair key = MakeKey(GetParam());
  const PolicySet set = Learned();
  auto sig = SignPolicySet(set, key.private_pem);
  ASSERT_TRUE(sig.ok());
  auto detached = ParseDetachedSignature(SerializeSignatureYaml(*sig), "p.sig");
  ASSERT_TRUE(detached.ok()) << detached.status();
  EXPECT_TRUE(VerifyPolicySignatures(set, {*detached}, {key.public_pem}).ok());
}

TEST_P(PolicySigningTest, TamperedPolicyIsRefused) {
  const KeyPair key = MakeKey(GetParam());
  PolicySet set = Learned();
  auto sig = SignPolicySet(set, key.private_pem);
  ASSERT_TRUE(sig.ok());
  set.signatures.push_back(*sig);
  // One byte of one golden digest.
  set.images[0].boot_chain[0].digests.begin()->second[0] ^= 1;
  auto check = VerifyPolicySet(set, {key.public_pem});
  EXPECT_EQ(check.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(check.status().message(), HasSubstr("signature does not verify"));
}

TEST_P(PolicySigningTest, WrongKeyIsRefused) {
  const KeyPair key = MakeKey(GetParam());
  const KeyPair other = MakeKey(GetParam());
  PolicySet set = Learned();
  set.signatures.push_back(*SignPolicySet(set, key.private_pem));
  auto check = VerifyPolicySet(set, {other.public_pem});
  EXPECT_EQ(check.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(check.status().message(), HasSubstr("not from a trusted key"));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, PolicySigningTest, ::testing::Values("EC", "ED25519"));

TEST(PolicySigningTest, TamperedSignatureBytesAreRefused) {
  const KeyPair key = MakeKey("ED25519");
  PolicySet set = Learned();
  auto sig = SignPolicySet(set, key.private_pem);
  ASSERT_TRUE(sig.ok());
  sig->signature[10] ^= 0x01;
  set.signatures.push_back(*sig);
  EXPECT_EQ(VerifyPolicySet(set, {key.public_pem}).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(PolicySigningTest, UnsignedPolicyIsRefused) {
  const KeyPair key = MakeKey("EC");
  auto check = VerifyPolicySet(Learned(), {key.public_pem});
  EXPECT_EQ(check.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(check.status().message(), HasSubstr("policy is not signed"));
}

TEST(PolicySigningTest, NoTrustedKeyIsRefused) {
  const KeyPair key = MakeKey("EC");
  PolicySet set = Learned();
  set.signatures.push_back(*SignPolicySet(set, key.private_pem));
  EXPECT_THAT(VerifyPolicySet(set, {}).status().message(), HasSubstr("no trusted"));
}

TEST(PolicySigningTest, OtherCurvesAndGarbageKeysAreRejected) {
  EXPECT_THAT(SignPolicySet(Learned(), MakeKey("EC-P384").private_pem).status().message(),
              HasSubstr("P-256 or Ed25519"));
  EXPECT_EQ(SignPolicySet(Learned(), "not a key").status().code(),
            absl::StatusCode::kInvalidArgument);
  PolicySet set = Learned();
  set.signatures.push_back(*SignPolicySet(set, MakeKey("EC").private_pem));
  EXPECT_EQ(VerifyPolicySet(set, {"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PolicySigningTest, SignaturesDoNotCoverThemselves) {
  // Adding a second signature keeps the first valid: signatures are not in the signed bytes.
  const KeyPair a = MakeKey("EC");
  const KeyPair b = MakeKey("ED25519");
  PolicySet set = Learned();
  set.signatures.push_back(*SignPolicySet(set, a.private_pem));
  set.signatures.push_back(*SignPolicySet(set, b.private_pem));
  EXPECT_TRUE(VerifyPolicySet(set, {a.public_pem}).ok());
  EXPECT_TRUE(VerifyPolicySet(set, {b.public_pem}).ok());
}

}  // namespace
}  // namespace bootgate::policy
