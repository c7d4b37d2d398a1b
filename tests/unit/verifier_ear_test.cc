// The EAR attestation result as an ES256 JWT: the signature verifies with the public key using
// OpenSSL directly (raw r||s converted back to DER), and the claims follow the EAR profile.
#include "verifier/tokens/ear.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "verifier/util/x509_util.h"

namespace bootgate::verifier {
namespace {

std::string Unb64(absl::string_view s) {
  std::string out;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(s, &out));
  return out;
}

// Independent of VerifyEs256Jwt: OpenSSL EVP over "header.payload" with the DER signature.
bool OpensslVerifies(const std::string& jwt, EVP_PKEY* pub) {
  std::vector<std::string> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3) return false;
  const std::string rs = Unb64(parts[2]);
  if (rs.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(rs.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(rs.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  const std::string input = parts[0] + "." + parts[1];
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub) == 1 &&
      EVP_DigestVerify(ctx, der, static_cast<size_t>(der_len),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

EarInput Input() {
  EarInput in;
  in.verifier_id = "bootgate-verifier-test";
  in.issued_at = absl::FromUnixSeconds(1790000000);
  in.nonce = {1, 2, 3, 4};
  in.node_id = "node-0123456789abcdef";
  in.status = "affirming";
  in.policy_id = "golden@sha256:0011223344556677";
  in.attestation_id = "att-1";
  in.ak_name = {0x00, 0x0b, 0xab};
  in.ek_public_sha256 = "ek";
  in.tpm_manufacturer = "id:00001014";
  return in;
}

TEST(EarTest, Es256SignatureVerifiesWithOpenssl) {
  auto key = GenerateEcP256Key();
  ASSERT_TRUE(key.ok());
  auto pem = PrivateKeyPem(key->get());
  auto signer = EarSigner::FromPem(*pem);
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto jwt = (*signer)->Sign(BuildEarClaims(Input()));
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  auto pub = ParsePublicKeyPem(*PublicKeyPem(key->get()));
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(OpensslVerifies(*jwt, pub->get()));

  std::vector<std::string> parts = absl::StrSplit(*jwt, '.');
  auto header = nlohmann::json::parse(Unb64(parts[0]));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["typ"], "JWT");
  EXPECT_EQ(header["kid"], (*signer)->key_id());
  auto claims = nlohmann::json::parse(Unb64(parts[1]));
  EXPECT_EQ(claims["eat_profile"], "tag:github.com,2023:veraison/ear");
  EXPECT_EQ(claims["iat"], 1790000000);
  EXPECT_EQ(claims["eat_nonce"], "AQIDBA");
  EXPECT_EQ(claims["ear.verifier-id"]["build"], "bootgate-verifier-test");
  const auto& sub = claims["submods"]["node-0123456789abcdef"];
  EXPECT_EQ(sub["ear.status"], "affirming");
  EXPECT_EQ(sub["ear.appraisal-policy-id"], "golden@sha256:0011223344556677");
  EXPECT_EQ(sub["bootgate.node"]["ak_name"], "000bab");

  // Our own verifier agrees, and rejects a modified payload or another key.
  EXPECT_TRUE(VerifyEs256Jwt(*jwt, pub->get()).ok());
  EarInput bad = Input();
  bad.status = "contraindicated";
  std::string forged =
      parts[0] + "." + absl::WebSafeBase64Escape(BuildEarClaims(bad).dump()) + "." + parts[2];
  EXPECT_FALSE(OpensslVerifies(forged, pub->get()));
  EXPECT_EQ(VerifyEs256Jwt(forged, pub->get()).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto other = GenerateEcP256Key();
  EXPECT_FALSE(OpensslVerifies(*jwt, other->get()));
}

TEST(EarTest, ContraindicatedResultListsFindings) {
  EarInput in = Input();
  in.status = "contraindicated";
  in.findings = {{"QUOTE_SIGNATURE_INVALID", "x"}, {"POLICY_PCR_MISMATCH", "y"}};
  nlohmann::json claims = BuildEarClaims(in);
  const auto& sub = claims["submods"]["node-0123456789abcdef"];
  EXPECT_EQ(sub["ear.status"], "contraindicated");
  EXPECT_EQ(sub["bootgate.findings"],
            nlohmann::json::array({"QUOTE_SIGNATURE_INVALID", "POLICY_PCR_MISMATCH"}));
}

TEST(EarTest, OnlyP256KeysSignEs256) {
  auto rsa = GenerateRsaKey(2048);
  ASSERT_TRUE(rsa.ok());
  auto signer = EarSigner::FromPem(*PrivateKeyPem(rsa->get()));
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(EarSigner::FromPem("not a key").ok());
}

}  // namespace
}  // namespace bootgate::verifier
