#include "verifier/tokens/ear.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"

namespace bootgate::verifier {

using attest::Bytes;

namespace {

constexpr size_t kP256CoordBytes = 32;

std::string B64Url(absl::string_view data) {
  std::string out;
  absl::WebSafeBase64Escape(data, &out);  // unpadded, as JWS requires
  return out;
}

absl::StatusOr<std::string> SpkiDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return attest::OpenSslError("i2d_PUBKEY");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool IsP256(EVP_PKEY* key) {
  char group[64] = {};
  size_t len = 0;
  return EVP_PKEY_is_a(key, "EC") &&
         EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &len) == 1 &&
         std::string(group, len) == "prime256v1";
}

}  // namespace

nlohmann::json BuildEarClaims(const EarInput& in) {
  nlohmann::json findings = nlohmann::json::array();
  for (const Finding& f : in.findings) findings.push_back(f.code);
  nlohmann::json submod = {
      {"ear.status", in.status},
      {"ear.appraisal-policy-id", in.policy_id},
      {"bootgate.attestation-id", in.attestation_id},
      {"bootgate.findings", findings},
      {"bootgate.new-boot", in.new_boot},
      {"bootgate.node",
       {{"node_id", in.node_id},
        {"ak_name", attest::HexEncode(in.ak_name)},
        {"ek_public_sha256", in.ek_public_sha256},
        {"tpm_manufacturer", in.tpm_manufacturer}}},
  };
  std::string nonce(in.nonce.begin(), in.nonce.end());
  return nlohmann::json{
      {"eat_profile", kEarProfile},
      {"iat", absl::ToUnixSeconds(in.issued_at)},
      {"eat_nonce", B64Url(nonce)},
      {"ear.verifier-id", {{"developer", "bootgate"}, {"build", in.verifier_id}}},
      {"submods", {{in.node_id.empty() ? std::string("unknown") : in.node_id, submod}}},
  };
}

absl::StatusOr<std::unique_ptr<EarSigner>> EarSigner::FromPem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return attest::OpenSslError("BIO_new_mem_buf");
  attest::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return attest::OpenSslError("EAR signing key: PEM private key",
                                absl::StatusCode::kInvalidArgument);
  if (!IsP256(key.get())) {
    return absl::InvalidArgumentError("EAR signing key: ES256 needs an EC P-256 key");
  }
  ASSIGN_OR_RETURN(std::string spki, SpkiDer(key.get()));
  ASSIGN_OR_RETURN(Bytes digest, attest::Hash(static_cast<uint16_t>(attest::HashAlg::kSha256),
                                              attest::AsSpan(spki)));
  std::string kid = attest::HexEncode(digest).substr(0, 16);
  return std::unique_ptr<EarSigner>(new EarSigner(std::move(key), std::move(kid)));
}

absl::StatusOr<std::unique_ptr<EarSigner>> EarSigner::FromPemFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path, 1 << 16));
  auto signer = FromPem(pem);
  if (!signer.ok()) {
    return absl::Status(signer.status().code(),
                        absl::StrCat(path, ": ", signer.status().message()));
  }
  return signer;
}

absl::StatusOr<std::string> EarSigner::Sign(const nlohmann::json& claims) const {
  const nlohmann::json header = {{"alg", "ES256"}, {"typ", "JWT"}, {"kid", kid_}};
  const std::string signing_input = B64Url(header.dump()) + "." + B64Url(claims.dump());
  attest::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return attest::OpenSslError("ES256 sign");
  }
  Bytes der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return attest::OpenSslError("ES256 sign");
  }
  // OpenSSL produces a DER ECDSA-Sig-Value; JWS (RFC 7518 3.4) wants r || s, 32 bytes each.
  const unsigned char* p = der.data();
  attest::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return attest::OpenSslError("d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kP256CoordBytes, '\0');
  if (BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), kP256CoordBytes) < 0 ||
      BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + kP256CoordBytes,
                   kP256CoordBytes) < 0) {
    return attest::OpenSslError("ES256 r||s");
  }
  return signing_input + "." + B64Url(raw);
}

absl::StatusOr<nlohmann::json> VerifyEs256Jwt(absl::string_view jwt, EVP_PKEY* public_key) {
  std::vector<absl::string_view> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3)
    return absl::InvalidArgumentError("JWT: expected three dot-separated parts");
  std::string header_json, payload_json, raw_sig;
  if (!absl::WebSafeBase64Unescape(parts[0], &header_json) ||
      !absl::WebSafeBase64Unescape(parts[1], &payload_json) ||
      !absl::WebSafeBase64Unescape(parts[2], &raw_sig)) {
    return absl::InvalidArgumentError("JWT: a part is not base64url");
  }
  const nlohmann::json header = nlohmann::json::parse(header_json, nullptr, false);
  if (!header.is_object() || header.value("alg", "") != "ES256") {
    return absl::InvalidArgumentError("JWT: header alg is not ES256");
  }
  if (raw_sig.size() != 2 * kP256CoordBytes) {
    return absl::InvalidArgumentError("JWT: ES256 signature must be 64 bytes");
  }
  const auto* rs = reinterpret_cast<const unsigned char*>(raw_sig.data());
  attest::EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(rs, kP256CoordBytes, nullptr);
  BIGNUM* s = BN_bin2bn(rs + kP256CoordBytes, kP256CoordBytes, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return attest::OpenSslError("ECDSA_SIG_set0");
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return attest::OpenSslError("i2d_ECDSA_SIG");
  const Bytes der_sig(der, der + der_len);
  OPENSSL_free(der);
  const std::string signing_input = absl::StrCat(parts[0], ".", parts[1]);
  attest::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, public_key) != 1) {
    return attest::OpenSslError("ES256 verify init");
  }
  if (EVP_DigestVerify(ctx.get(), der_sig.data(), der_sig.size(),
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
    attest::OpenSslError("ES256 verify").IgnoreError();
    return absl::PermissionDeniedError("JWT: ES256 signature does not verify");
  }
  nlohmann::json claims = nlohmann::json::parse(payload_json, nullptr, false);
  if (!claims.is_object()) return absl::InvalidArgumentError("JWT: payload is not a JSON object");
  return claims;
}

}  // namespace bootgate::verifier
