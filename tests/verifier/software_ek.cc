#include "tests/verifier/software_ek.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/kdf.h"
#include "attest/tpm/key_checks.h"
#include "attest/tpm/public_area.h"
#include "attest/util/byte_reader.h"
#include "attest/util/status_macros.h"

namespace bootgate::testing {

using attest::Bytes;
using attest::ByteSpan;

namespace {

absl::StatusOr<Bytes> ReadTpm2b(attest::ByteReader& r, absl::string_view field) {
  ASSIGN_OR_RETURN(uint16_t size, r.U16Be(field));
  return r.Copy(size, field);
}

absl::StatusOr<Bytes> Hmac(uint16_t alg, ByteSpan key, ByteSpan data) {
  Bytes out(EVP_MAX_MD_SIZE);
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, EVP_MD_get0_name(attest::EvpMdForAlg(alg)), nullptr,
                key.data(), key.size(), data.data(), data.size(), out.data(), out.size(),
                &len) == nullptr) {
    return attest::OpenSslError("test HMAC");
  }
  out.resize(len);
  return out;
}

}  // namespace

absl::StatusOr<SoftwareEk> SoftwareEk::Create() {
  SoftwareEk ek;
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  if (raw == nullptr) return attest::OpenSslError("EK keygen");
  ek.key_.reset(raw, EVP_PKEY_free);
  TPMT_PUBLIC& pub = ek.public_;
  pub.type = TPM2_ALG_RSA;
  pub.nameAlg = TPM2_ALG_SHA256;
  pub.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                         TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                         TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  ASSIGN_OR_RETURN(Bytes policy, attest::DefaultEkAuthPolicy(TPM2_ALG_SHA256));
  pub.authPolicy.size = static_cast<UINT16>(policy.size());
  std::copy(policy.begin(), policy.end(), pub.authPolicy.buffer);
  pub.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
  pub.parameters.rsaDetail.symmetric.keyBits.aes = 128;
  pub.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  pub.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
  pub.parameters.rsaDetail.keyBits = 2048;
  pub.parameters.rsaDetail.exponent = 0;
  BIGNUM* n_raw = nullptr;
  if (EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_RSA_N, &n_raw) != 1) {
    return attest::OpenSslError("EK modulus");
  }
  attest::BignumPtr n(n_raw);
  pub.unique.rsa.size = 256;
  if (BN_bn2binpad(n.get(), pub.unique.rsa.buffer, 256) != 256) {
    return attest::OpenSslError("EK modulus size");
  }
  ASSIGN_OR_RETURN(Bytes marshalled, attest::MarshalPublicArea(pub));
  ek.public_bytes_ = {static_cast<uint8_t>(marshalled.size() >> 8),
                      static_cast<uint8_t>(marshalled.size())};
  ek.public_bytes_.insert(ek.public_bytes_.end(), marshalled.begin(), marshalled.end());
  return ek;
}

absl::StatusOr<Bytes> SoftwareEk::Activate(ByteSpan credential_blob, ByteSpan encrypted_secret,
                                           ByteSpan object_name) const {
  // The seed: RSA-OAEP with the EK's nameAlg and the label "IDENTITY\0".
  attest::ByteReader sr(encrypted_secret);
  ASSIGN_OR_RETURN(Bytes secret, ReadTpm2b(sr, "TPM2B_ENCRYPTED_SECRET"));
  RETURN_IF_ERROR(sr.ExpectEnd("TPM2B_ENCRYPTED_SECRET"));
  attest::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  const EVP_MD* md = attest::EvpMdForAlg(public_.nameAlg);
  void* label = OPENSSL_memdup("IDENTITY", 9);  // owned by ctx once set
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1 ||
      EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label, 9) != 1) {
    OPENSSL_free(label);
    return attest::OpenSslError("test OAEP setup");
  }
  Bytes seed(secret.size());
  size_t seed_len = seed.size();
  if (EVP_PKEY_decrypt(ctx.get(), seed.data(), &seed_len, secret.data(), secret.size()) != 1) {
    return attest::OpenSslError("test OAEP decrypt", absl::StatusCode::kPermissionDenied);
  }
  seed.resize(seed_len);

  // TPM2B_ID_OBJECT: integrityHMAC || encIdentity; HMAC over encIdentity || name.
  attest::ByteReader outer(credential_blob);
  ASSIGN_OR_RETURN(Bytes id_object, ReadTpm2b(outer, "TPM2B_ID_OBJECT"));
  RETURN_IF_ERROR(outer.ExpectEnd("TPM2B_ID_OBJECT"));
  attest::ByteReader r(id_object);
  ASSIGN_OR_RETURN(Bytes hmac, ReadTpm2b(r, "integrityHMAC"));
  Bytes enc_identity(r.rest().begin(), r.rest().end());
  const size_t digest = *attest::KnownDigestSize(public_.nameAlg);
  ASSIGN_OR_RETURN(Bytes hmac_key, attest::KdfA(public_.nameAlg, seed, "INTEGRITY", {}, {},
                                                static_cast<uint32_t>(digest * 8)));
  Bytes hmac_input = enc_identity;
  hmac_input.insert(hmac_input.end(), object_name.begin(), object_name.end());
  ASSIGN_OR_RETURN(Bytes expected, Hmac(public_.nameAlg, hmac_key, hmac_input));
  if (!attest::ConstantTimeEquals(expected, hmac)) {
    return absl::PermissionDeniedError("ActivateCredential: integrity HMAC mismatch");
  }
  const uint16_t aes_bits = public_.parameters.rsaDetail.symmetric.keyBits.aes;
  ASSIGN_OR_RETURN(Bytes sym_key,
                   attest::KdfA(public_.nameAlg, seed, "STORAGE", object_name, {}, aes_bits));
  const EVP_CIPHER* cipher = aes_bits == 128 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128();
  attest::EvpCipherCtxPtr cctx(EVP_CIPHER_CTX_new());
  const uint8_t iv[16] = {};
  Bytes plain(enc_identity.size() + 16);
  int len = 0;
  int fin = 0;
  if (!cctx || EVP_DecryptInit_ex(cctx.get(), cipher, nullptr, sym_key.data(), iv) != 1 ||
      EVP_DecryptUpdate(cctx.get(), plain.data(), &len, enc_identity.data(),
                        static_cast<int>(enc_identity.size())) != 1 ||
      EVP_DecryptFinal_ex(cctx.get(), plain.data() + len, &fin) != 1) {
    return attest::OpenSslError("test AES-CFB decrypt");
  }
  plain.resize(static_cast<size_t>(len + fin));
  attest::ByteReader pr(plain);
  ASSIGN_OR_RETURN(Bytes credential, ReadTpm2b(pr, "credential"));
  RETURN_IF_ERROR(pr.ExpectEnd("credential"));
  return credential;
}

}  // namespace bootgate::testing
