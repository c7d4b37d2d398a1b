// kubeadm bootstrap tokens (format, alphabet, no modulo bias shortcuts) and their TPM-bound
// wrapping: MakeCredential to the EK and AK name + AES-256-GCM, unwrapped by a software
// ActivateCredential with the EK private key.
#include "verifier/tokens/join_token.h"

#include <regex>
#include <set>

#include "attest/tpm/public_area.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fixed_random.h"
#include "tests/testing/software_ak.h"
#include "tests/verifier/software_ek.h"

namespace bootgate::verifier {
namespace {

using attest::Bytes;

TEST(BootstrapTokenTest, MatchesKubeadmFormat) {
  testing::FixedRandom rng(1);
  const std::regex kubeadm("[a-z0-9]{6}\\.[a-z0-9]{16}");
  std::set<char> seen;
  std::set<std::string> tokens;
  for (int i = 0; i < 500; ++i) {
    auto t = GenerateBootstrapToken(rng);
    ASSERT_TRUE(t.ok());
    const std::string s = t->ToString();
    ASSERT_TRUE(std::regex_match(s, kubeadm)) << s;
    EXPECT_TRUE(IsBootstrapToken(s));
    EXPECT_EQ(t->id, s.substr(0, 6));
    seen.insert(s.begin(), s.end());
    tokens.insert(s);
  }
  EXPECT_EQ(tokens.size(), 500u);
  EXPECT_EQ(seen.size(), 37u) << "all 36 characters and the dot appear";
}

TEST(BootstrapTokenTest, ValidatorIsExact) {
  EXPECT_TRUE(IsBootstrapToken("abcdef.0123456789abcdef"));
  EXPECT_FALSE(IsBootstrapToken("ABCDEF.0123456789abcdef"));
  EXPECT_FALSE(IsBootstrapToken("abcdef-0123456789abcdef"));
  EXPECT_FALSE(IsBootstrapToken("abcde.0123456789abcdefg"));
  EXPECT_FALSE(IsBootstrapToken("abcdef.0123456789abcde"));
  EXPECT_FALSE(IsBootstrapToken(""));
}

TEST(BootstrapTokenTest, RandomnessFailureIsAnError) {
  testing::FailingRandom rng;
  EXPECT_FALSE(GenerateBootstrapToken(rng).ok());
}

TEST(WrapTest, OnlyTheTpmWithThatEkAndAkUnwraps) {
  auto ek = testing::SoftwareEk::Create();
  auto ak = testing::SoftwareAk::Create();
  ASSERT_TRUE(ek.ok() && ak.ok());
  auto ak_name = attest::ObjectName(ak->public_area());
  ASSERT_TRUE(ak_name.ok());
  testing::FixedRandom rng(7);
  const std::string token = "abcdef.0123456789abcdef";
  const Bytes aad = JoinTokenAad("att-1", "node-1");
  auto wrapped = WrapJoinToken(ek->public_area(), *ak_name, token, aad, rng);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(wrapped->iv.size(), kGcmIvBytes);
  EXPECT_EQ(wrapped->tag.size(), kGcmTagBytes);
  EXPECT_EQ(wrapped->ciphertext.size(), token.size());
  EXPECT_EQ(wrapped->aad, aad);

  auto key = ek->Activate(wrapped->credential_blob, wrapped->encrypted_secret, *ak_name);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->size(), kJoinTokenKeyBytes);
  auto unwrapped = UnwrapJoinToken(*key, *wrapped);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_EQ(*unwrapped, token);

  // Another AK name: ActivateCredential refuses (integrity HMAC).
  auto other_ak = testing::SoftwareAk::Create();
  auto other_name = attest::ObjectName(other_ak->public_area());
  EXPECT_EQ(ek->Activate(wrapped->credential_blob, wrapped->encrypted_secret, *other_name)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  // Another EK cannot decrypt the seed.
  auto other_ek = testing::SoftwareEk::Create();
  EXPECT_FALSE(
      other_ek->Activate(wrapped->credential_blob, wrapped->encrypted_secret, *ak_name).ok());
  // The AAD binds the attestation: a token moved to another record does not open.
  WrappedJoinToken moved = *wrapped;
  moved.aad = JoinTokenAad("att-2", "node-1");
  EXPECT_EQ(UnwrapJoinToken(*key, moved).status().code(), absl::StatusCode::kPermissionDenied);
  WrappedJoinToken tampered = *wrapped;
  tampered.ciphertext[0] ^= 1;
  EXPECT_EQ(UnwrapJoinToken(*key, tampered).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(WrapTest, AadLayout) {
  const Bytes aad = JoinTokenAad("att-1", "node-2");
  const std::string expected =
      std::string("bootgate-join-token-v1") + '\0' + "att-1" + '\0' + "node-2";
  EXPECT_EQ(aad, Bytes(expected.begin(), expected.end()));
}

}  // namespace
}  // namespace bootgate::verifier
