#include "attest/tpm/make_credential.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <algorithm>
#include <array>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/kdf.h"
#include "attest/crypto/ossl.h"
#include "attest/tpm/public_area.h"
#include "attest/tpm/tss2_mu_error.h"
#include "attest/util/byte_reader.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {
namespace {

// Label of the credential protection protocol; both OAEP and KDFe include its terminating NUL.
constexpr char kIdentityLabel[] = "IDENTITY";

// EC handles that only this file uses; the private scalar is cleared when freed.
struct EcGroupDeleter {
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
};
struct EcPointDeleter {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
struct SecretBignumDeleter {
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
using EcGroupPtr = std::unique_ptr<EC_GROUP, EcGroupDeleter>;
using EcPointPtr = std::unique_ptr<EC_POINT, EcPointDeleter>;
using SecretBignumPtr = std::unique_ptr<BIGNUM, SecretBignumDeleter>;

void Wipe(Bytes& b) { OPENSSL_cleanse(b.data(), b.size()); }

void AppendU16(Bytes& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void AppendTpm2b(Bytes& out, ByteSpan data) {
  AppendU16(out, data.size());
  out.insert(out.end(), data.begin(), data.end());
}

bool IsSupportedNameAlg(uint16_t alg) {
  return alg == TPM2_ALG_SHA1 || alg == TPM2_ALG_SHA256 || alg == TPM2_ALG_SHA384 ||
         alg == TPM2_ALG_SHA512;
}

struct Curve {
  int nid;
  const char* group_name;
  size_t coordinate_bytes;
};

absl::StatusOr<Curve> CurveFor(TPMI_ECC_CURVE curve_id) {
  switch (curve_id) {
    case TPM2_ECC_NIST_P256:
      return Curve{NID_X9_62_prime256v1, SN_X9_62_prime256v1, 32};
    case TPM2_ECC_NIST_P384:
      return Curve{NID_secp384r1, SN_secp384r1, 48};
    case TPM2_ECC_NIST_P521:
      return Curve{NID_secp521r1, SN_secp521r1, 66};
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "EK: unsupported ECC curve 0x%04x (want NIST P-256, P-384 or P-521)", curve_id));
  }
}

absl::Status CheckSymmetric(const TPMT_SYM_DEF_OBJECT& sym) {
  if (sym.algorithm != TPM2_ALG_AES) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "EK: symmetric algorithm 0x%04x is not AES (a restricted decryption key needs AES-CFB)",
        sym.algorithm));
  }
  if (sym.mode.aes != TPM2_ALG_CFB) {
    return absl::InvalidArgumentError(
        absl::StrFormat("EK: symmetric mode 0x%04x is not CFB", sym.mode.aes));
  }
  if (sym.keyBits.aes != 128 && sym.keyBits.aes != 192 && sym.keyBits.aes != 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("EK: AES key size ", sym.keyBits.aes, " bits is not 128, 192 or 256"));
  }
  return absl::OkStatus();
}

const TPMT_SYM_DEF_OBJECT& SymmetricOf(const TPMT_PUBLIC& ek) {
  return ek.type == TPM2_ALG_RSA ? ek.parameters.rsaDetail.symmetric
                                 : ek.parameters.eccDetail.symmetric;
}

absl::Status CheckObjectName(ByteSpan name) {
  if (name.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("object name: ", name.size(), " bytes, too short for an algorithm id"));
  }
  const uint16_t alg = static_cast<uint16_t>(name[0] << 8 | name[1]);
  std::optional<size_t> digest = KnownDigestSize(alg);
  if (!digest.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("object name: unknown name algorithm 0x%04x", alg));
  }
  if (name.size() != 2 + *digest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "object name: ", name.size() - 2, " digest bytes, ", HashAlgName(alg), " has ", *digest));
  }
  return absl::OkStatus();
}

absl::Status FillRandom(RandomSource& rng, Bytes& out, absl::string_view what) {
  absl::Status s = rng.Fill(absl::MakeSpan(out));
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("MakeCredential: random ", what, ": ", s.message()));
  }
  return absl::OkStatus();
}

// MGF1 (RFC 8017 B.2.1) with `md`.
absl::StatusOr<Bytes> Mgf1(const EVP_MD* md, ByteSpan seed, size_t length) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("MGF1: EVP_MD_CTX_new");
  Bytes out;
  Bytes block(static_cast<size_t>(EVP_MD_get_size(md)));
  for (uint32_t counter = 0; out.size() < length; ++counter) {
    const std::array<uint8_t, 4> c = {
        static_cast<uint8_t>(counter >> 24), static_cast<uint8_t>(counter >> 16),
        static_cast<uint8_t>(counter >> 8), static_cast<uint8_t>(counter)};
    unsigned int len = 0;
    if (EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), seed.data(), seed.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), c.data(), c.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), block.data(), &len) != 1) {
      return OpenSslError("MGF1: digest");
    }
    out.insert(out.end(), block.begin(), block.begin() + len);
  }
  out.resize(length);
  return out;
}

// RSAES-OAEP (RFC 8017 7.1.1) with hash = MGF1 hash = the EK nameAlg and label "IDENTITY\0", as
// the TPM decrypts in ActivateCredential. The encoding is done here rather than by OpenSSL's OAEP
// padding so that its random seed comes from `rng` (OpenSSL would draw it from its own RNG); the
// raw RSA operation is OpenSSL's. The unit test decrypts with OpenSSL's own OAEP.
absl::StatusOr<Bytes> RsaOaepEncrypt(const TPMT_PUBLIC& ek, ByteSpan message, RandomSource& rng) {
  const EVP_MD* md = EvpMdForAlg(ek.nameAlg);
  const size_t hlen = static_cast<size_t>(EVP_MD_get_size(md));
  const size_t k = ek.unique.rsa.size;
  if (message.size() + 2 * hlen + 2 > k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RSA-OAEP: ", message.size(), " byte message too long for a ", k * 8, "-bit key"));
  }
  ASSIGN_OR_RETURN(Bytes label_hash,
                   Hash(ek.nameAlg, ByteSpan(reinterpret_cast<const uint8_t*>(kIdentityLabel),
                                             sizeof(kIdentityLabel))));
  // DB = lHash || PS (zeros) || 0x01 || M
  Bytes db(k - hlen - 1, 0);
  std::copy(label_hash.begin(), label_hash.end(), db.begin());
  db[db.size() - message.size() - 1] = 0x01;
  std::copy(message.begin(), message.end(), db.end() - message.size());
  absl::Cleanup wipe_db = [&db] { Wipe(db); };

  Bytes seed(hlen);
  RETURN_IF_ERROR(FillRandom(rng, seed, "OAEP seed"));
  ASSIGN_OR_RETURN(Bytes db_mask, Mgf1(md, seed, db.size()));
  for (size_t i = 0; i < db.size(); ++i) db[i] ^= db_mask[i];
  ASSIGN_OR_RETURN(Bytes seed_mask, Mgf1(md, db, hlen));
  for (size_t i = 0; i < hlen; ++i) seed[i] ^= seed_mask[i];

  Bytes em;  // EM = 0x00 || maskedSeed || maskedDB, k bytes, numerically below the modulus.
  em.reserve(k);
  em.push_back(0x00);
  em.insert(em.end(), seed.begin(), seed.end());
  em.insert(em.end(), db.begin(), db.end());

  ASSIGN_OR_RETURN(EvpPkeyPtr key, PublicKeyFromPublicArea(ek));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1) {
    return OpenSslError("RSA-OAEP: EVP_PKEY_encrypt_init");
  }
  size_t out_len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, em.data(), em.size()) != 1) {
    return OpenSslError("RSA-OAEP: EVP_PKEY_encrypt (size)");
  }
  Bytes out(out_len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, em.data(), em.size()) != 1) {
    return OpenSslError("RSA-OAEP: EVP_PKEY_encrypt");
  }
  out.resize(out_len);
  if (out.size() != k) {
    return absl::InternalError(
        absl::StrCat("RSA-OAEP: ciphertext is ", out.size(), " bytes, modulus is ", k));
  }
  return out;
}

// The RSA half: seed = random, encrypted secret = OAEP(seed).
absl::Status RsaSeed(const TPMT_PUBLIC& ek, RandomSource& rng, Bytes& seed, Bytes& secret) {
  seed.assign(*KnownDigestSize(ek.nameAlg), 0);
  RETURN_IF_ERROR(FillRandom(rng, seed, "seed"));
  ASSIGN_OR_RETURN(secret, RsaOaepEncrypt(ek, seed, rng));
  return absl::OkStatus();
}

// The ECC half (Part 1, C.6.1 / 24.4): an ephemeral key on the EK's curve, Z = x(d_e * Q_ek),
// seed = KDFe(nameAlg, Z, "IDENTITY", x_e, x_ek, digest bits), secret = TPMS_ECC_POINT(Q_e).
absl::Status EccSeed(const TPMT_PUBLIC& ek, RandomSource& rng, Bytes& seed, Bytes& secret) {
  ASSIGN_OR_RETURN(Curve curve, CurveFor(ek.parameters.eccDetail.curveID));
  ASSIGN_OR_RETURN(EvpPkeyPtr ek_key, PublicKeyFromPublicArea(ek));

  EcGroupPtr group(EC_GROUP_new_by_curve_name(curve.nid));
  BnCtxPtr bn_ctx(BN_CTX_new());
  if (!group || !bn_ctx) return OpenSslError("ECC: EC_GROUP_new_by_curve_name");
  const BIGNUM* order = EC_GROUP_get0_order(group.get());

  // Ephemeral scalar in [1, n-1] from order-size + 64 extra random bits (FIPS 186-5 A.2.1), so
  // the reduction bias is negligible and the whole computation depends only on `rng`.
  Bytes raw(static_cast<size_t>(BN_num_bytes(order)) + 8);
  absl::Cleanup wipe_raw = [&raw] { Wipe(raw); };
  RETURN_IF_ERROR(FillRandom(rng, raw, "ephemeral ECC key"));
  SecretBignumPtr d(BN_secure_new());
  SecretBignumPtr c(BN_bin2bn(raw.data(), static_cast<int>(raw.size()), nullptr));
  BignumPtr order_minus_one(BN_dup(order));
  if (!d || !c || !order_minus_one || BN_sub_word(order_minus_one.get(), 1) != 1 ||
      BN_nnmod(d.get(), c.get(), order_minus_one.get(), bn_ctx.get()) != 1 ||
      BN_add_word(d.get(), 1) != 1) {
    return OpenSslError("ECC: ephemeral scalar");
  }
  EcPointPtr q(EC_POINT_new(group.get()));
  if (!q || EC_POINT_mul(group.get(), q.get(), d.get(), nullptr, nullptr, bn_ctx.get()) != 1) {
    return OpenSslError("ECC: ephemeral public point");
  }
  Bytes encoded(1 + 2 * curve.coordinate_bytes);
  if (EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED, encoded.data(),
                         encoded.size(), bn_ctx.get()) != encoded.size()) {
    return OpenSslError("ECC: EC_POINT_point2oct");
  }
  ByteSpan x_e = ByteSpan(encoded).subspan(1, curve.coordinate_bytes);
  ByteSpan y_e = ByteSpan(encoded).subspan(1 + curve.coordinate_bytes, curve.coordinate_bytes);

  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.group_name, 0) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, encoded.data(),
                                       encoded.size()) != 1) {
    return OpenSslError("ECC: OSSL_PARAM_BLD (ephemeral key)");
  }
  // Built with secure memory for the private scalar; OSSL_PARAM_free clears it.
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr from_ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw_key = nullptr;
  if (!params || !from_ctx || EVP_PKEY_fromdata_init(from_ctx.get()) != 1 ||
      EVP_PKEY_fromdata(from_ctx.get(), &raw_key, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return OpenSslError("ECC: EVP_PKEY_fromdata (ephemeral key)");
  }
  EvpPkeyPtr ephemeral(raw_key);

  EvpPkeyCtxPtr derive(EVP_PKEY_CTX_new_from_pkey(nullptr, ephemeral.get(), nullptr));
  size_t z_len = 0;
  if (!derive || EVP_PKEY_derive_init(derive.get()) != 1 ||
      EVP_PKEY_derive_set_peer(derive.get(), ek_key.get()) != 1 ||
      EVP_PKEY_derive(derive.get(), nullptr, &z_len) != 1) {
    return OpenSslError("ECDH with the EK", absl::StatusCode::kInvalidArgument);
  }
  Bytes z(z_len);
  absl::Cleanup wipe_z = [&z] { Wipe(z); };
  if (EVP_PKEY_derive(derive.get(), z.data(), &z_len) != 1) {
    return OpenSslError("ECDH with the EK: derive");
  }
  // The TPM hashes Z as the full-width x-coordinate; OpenSSL pads it the same way.
  if (z_len != curve.coordinate_bytes) {
    return absl::InternalError(
        absl::StrCat("ECDH: Z is ", z_len, " bytes, want ", curve.coordinate_bytes));
  }

  const TPM2B_ECC_PARAMETER& x_ek = ek.unique.ecc.x;
  const uint32_t seed_bits = static_cast<uint32_t>(*KnownDigestSize(ek.nameAlg) * 8);
  ASSIGN_OR_RETURN(
      seed, KdfE(ek.nameAlg, z, kIdentityLabel, x_e, ByteSpan(x_ek.buffer, x_ek.size), seed_bits));

  Bytes point;  // TPMS_ECC_POINT, then wrapped as TPM2B_ENCRYPTED_SECRET.
  AppendTpm2b(point, x_e);
  AppendTpm2b(point, y_e);
  secret.clear();
  AppendTpm2b(secret, point);
  return absl::OkStatus();
}

const EVP_CIPHER* AesCfb(uint16_t key_bits) {
  switch (key_bits) {
    case 128:
      return EVP_aes_128_cfb128();
    case 192:
      return EVP_aes_192_cfb128();
    case 256:
      return EVP_aes_256_cfb128();
    default:
      return nullptr;
  }
}

absl::StatusOr<Bytes> AesCfbEncrypt(uint16_t key_bits, ByteSpan key, ByteSpan plaintext) {
  const EVP_CIPHER* cipher = AesCfb(key_bits);
  if (cipher == nullptr || key.size() * 8 != key_bits) {
    return absl::InternalError(absl::StrCat("AES-CFB: bad key size ", key_bits));
  }
  const std::array<uint8_t, 16> iv = {};  // The TPM uses a zero IV for credential protection.
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(plaintext.size() + 16);
  int len = 0;
  int final_len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    return OpenSslError("AES-CFB encrypt");
  }
  out.resize(static_cast<size_t>(len + final_len));
  return out;
}

absl::StatusOr<Bytes> Hmac(uint16_t hash_alg, ByteSpan key, ByteSpan a, ByteSpan b) {
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (!mac) return OpenSslError("EVP_MAC_fetch(HMAC)");
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(
          OSSL_MAC_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(EvpMdForAlg(hash_alg))), 0),
      OSSL_PARAM_construct_end()};
  Bytes out(*KnownDigestSize(hash_alg));
  size_t out_len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_MAC_update(ctx.get(), b.data(), b.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 || out_len != out.size()) {
    return OpenSslError("HMAC");
  }
  return out;
}

}  // namespace

absl::Status CheckCredentialKey(const TPMT_PUBLIC& ek) {
  if (ek.type != TPM2_ALG_RSA && ek.type != TPM2_ALG_ECC) {
    return absl::InvalidArgumentError(
        absl::StrFormat("EK: key type 0x%04x is not RSA or ECC", ek.type));
  }
  const TPMA_OBJECT attrs = ek.objectAttributes;
  if ((attrs & TPMA_OBJECT_RESTRICTED) == 0 || (attrs & TPMA_OBJECT_DECRYPT) == 0 ||
      (attrs & TPMA_OBJECT_SIGN_ENCRYPT) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "EK: not a restricted decryption key (objectAttributes 0x%08x, want restricted and "
        "decrypt set, sign clear)",
        attrs));
  }
  if (!IsSupportedNameAlg(ek.nameAlg)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "EK: nameAlg %s (0x%04x) not supported (want sha1, sha256, sha384 or sha512)",
        HashAlgName(ek.nameAlg), ek.nameAlg));
  }
  RETURN_IF_ERROR(CheckSymmetric(SymmetricOf(ek)));
  if (ek.type == TPM2_ALG_RSA) {
    const TPMS_RSA_PARMS& rsa = ek.parameters.rsaDetail;
    if (rsa.scheme.scheme != TPM2_ALG_NULL) {
      return absl::InvalidArgumentError(
          absl::StrFormat("EK: RSA scheme 0x%04x, a restricted decryption key has TPM_ALG_NULL",
                          rsa.scheme.scheme));
    }
    if (rsa.keyBits < 2048 || rsa.keyBits > 4096 || rsa.keyBits % 8 != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("EK: RSA key size ", rsa.keyBits, " bits, want 2048..4096"));
    }
    if (static_cast<size_t>(ek.unique.rsa.size) * 8 != rsa.keyBits) {
      return absl::InvalidArgumentError(absl::StrCat("EK: RSA modulus is ", ek.unique.rsa.size,
                                                     " bytes but keyBits is ", rsa.keyBits));
    }
    if (ek.unique.rsa.buffer[0] == 0) {
      return absl::InvalidArgumentError("EK: RSA modulus has a leading zero byte");
    }
    // e = 1 would send the seed in the clear; the TPM only creates odd exponents > 2.
    if (rsa.exponent != 0 && (rsa.exponent < 3 || rsa.exponent % 2 == 0)) {
      return absl::InvalidArgumentError(absl::StrCat("EK: RSA exponent ", rsa.exponent));
    }
    return absl::OkStatus();
  }
  const TPMS_ECC_PARMS& ecc = ek.parameters.eccDetail;
  if (ecc.scheme.scheme != TPM2_ALG_NULL) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "EK: ECC scheme 0x%04x, a restricted decryption key has TPM_ALG_NULL", ecc.scheme.scheme));
  }
  ASSIGN_OR_RETURN(Curve curve, CurveFor(ecc.curveID));
  const TPMS_ECC_POINT& p = ek.unique.ecc;
  if (p.x.size == 0 || p.x.size > curve.coordinate_bytes || p.y.size == 0 ||
      p.y.size > curve.coordinate_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("EK: ECC point coordinates of ", p.x.size,
                                                   " and ", p.y.size, " bytes on a ",
                                                   curve.coordinate_bytes, "-byte curve"));
  }
  return absl::OkStatus();
}

absl::StatusOr<MadeCredential> MakeCredential(const TPMT_PUBLIC& ek, ByteSpan credential,
                                              ByteSpan object_name, RandomSource& rng) {
  RETURN_IF_ERROR(CheckCredentialKey(ek));
  RETURN_IF_ERROR(CheckObjectName(object_name));
  const size_t digest_size = *KnownDigestSize(ek.nameAlg);
  if (credential.empty() || credential.size() > digest_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("credential: ", credential.size(), " bytes, want 1..", digest_size, " (the ",
                     HashAlgName(ek.nameAlg), " digest size of the EK nameAlg)"));
  }

  MadeCredential made;
  Bytes seed;
  absl::Cleanup wipe_seed = [&seed] { Wipe(seed); };
  if (ek.type == TPM2_ALG_RSA) {
    Bytes ciphertext;
    RETURN_IF_ERROR(RsaSeed(ek, rng, seed, ciphertext));
    AppendTpm2b(made.secret, ciphertext);
  } else {
    RETURN_IF_ERROR(EccSeed(ek, rng, seed, made.secret));
  }

  // Part 1, 24.4: encIdentity = CFB(KDFa(nameAlg, seed, "STORAGE", name, "", keyBits), IV = 0,
  // TPM2B_DIGEST(credential)); the size field is encrypted too.
  const uint16_t key_bits = SymmetricOf(ek).keyBits.aes;
  ASSIGN_OR_RETURN(Bytes sym_key,
                   KdfA(ek.nameAlg, seed, "STORAGE", object_name, ByteSpan(), key_bits));
  absl::Cleanup wipe_sym_key = [&sym_key] { Wipe(sym_key); };
  Bytes plaintext;
  AppendTpm2b(plaintext, credential);
  absl::Cleanup wipe_plaintext = [&plaintext] { Wipe(plaintext); };
  ASSIGN_OR_RETURN(Bytes enc_identity, AesCfbEncrypt(key_bits, sym_key, plaintext));

  // Part 1, 24.5: outerHMAC = HMAC(KDFa(nameAlg, seed, "INTEGRITY", "", "", digest bits),
  // encIdentity || name); binds the blob to the certified object's name.
  ASSIGN_OR_RETURN(Bytes hmac_key, KdfA(ek.nameAlg, seed, "INTEGRITY", ByteSpan(), ByteSpan(),
                                        static_cast<uint32_t>(digest_size * 8)));
  absl::Cleanup wipe_hmac_key = [&hmac_key] { Wipe(hmac_key); };
  ASSIGN_OR_RETURN(Bytes outer_hmac, Hmac(ek.nameAlg, hmac_key, enc_identity, object_name));

  Bytes id_object;  // TPMS_ID_OBJECT as the TPM marshals it: TPM2B_DIGEST then the raw cipher.
  AppendTpm2b(id_object, outer_hmac);
  id_object.insert(id_object.end(), enc_identity.begin(), enc_identity.end());
  AppendTpm2b(made.credential_blob, id_object);
  return made;
}

Bytes EncodeTpm2ToolsCredential(const MadeCredential& made) {
  Bytes out;
  out.reserve(8 + made.credential_blob.size() + made.secret.size());
  for (uint32_t v : {kTpm2ToolsCredentialMagic, kTpm2ToolsCredentialVersion}) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
  }
  out.insert(out.end(), made.credential_blob.begin(), made.credential_blob.end());
  out.insert(out.end(), made.secret.begin(), made.secret.end());
  return out;
}

absl::StatusOr<MadeCredential> ParseTpm2ToolsCredential(ByteSpan file) {
  ByteReader reader(file);
  ASSIGN_OR_RETURN(uint32_t magic, reader.U32Be("credential file magic"));
  if (magic != kTpm2ToolsCredentialMagic) {
    return absl::InvalidArgumentError(absl::StrFormat("credential file: magic 0x%08x, want 0x%08x",
                                                      magic, kTpm2ToolsCredentialMagic));
  }
  ASSIGN_OR_RETURN(uint32_t version, reader.U32Be("credential file version"));
  if (version != kTpm2ToolsCredentialVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("credential file: version ", version, ", want 1"));
  }
  // tss2-mu enforces each TPM2B's maximum size (sizeof the TPM union).
  ByteSpan rest = reader.rest();
  size_t offset = 0;
  TPM2B_ID_OBJECT id = {};
  RETURN_IF_ERROR(
      Tss2MuStatus(Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(rest.data(), rest.size(), &offset, &id),
                   "credential file TPM2B_ID_OBJECT"));
  const size_t id_end = offset;
  TPM2B_ENCRYPTED_SECRET secret = {};
  RETURN_IF_ERROR(Tss2MuStatus(
      Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(rest.data(), rest.size(), &offset, &secret),
      "credential file TPM2B_ENCRYPTED_SECRET"));
  if (offset != rest.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("credential file: ", rest.size() - offset, " trailing bytes"));
  }
  MadeCredential made;
  made.credential_blob.assign(rest.begin(), rest.begin() + id_end);
  made.secret.assign(rest.begin() + id_end, rest.end());
  return made;
}

}  // namespace bootgate::attest
