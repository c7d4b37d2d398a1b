#include "attest/tpm/tpm_signature.h"

#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"
#include "attest/tpm/attest_structs.h"

namespace bootgate::attest {

namespace {

std::string SchemeAndHash(uint16_t scheme, uint16_t hash) {
  return absl::StrCat(SigSchemeName(scheme), "-", HashAlgName(hash));
}

SignatureCheck Fail(SignatureCheck check, SignatureOutcome outcome, std::string detail) {
  check.outcome = outcome;
  check.detail = std::move(detail);
  return check;
}

// DER form of an ECDSA (r, s) pair, which is what OpenSSL verifies.
bool EcdsaToDer(const TPMS_SIGNATURE_ECC& ecc, Bytes* der) {
  if (ecc.signatureR.size == 0 || ecc.signatureS.size == 0) return false;
  BignumPtr r(BN_bin2bn(ecc.signatureR.buffer, ecc.signatureR.size, nullptr));
  BignumPtr s(BN_bin2bn(ecc.signatureS.buffer, ecc.signatureS.size, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
  // ECDSA_SIG_set0 took ownership of both numbers.
  r.release();
  s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return false;
  der->resize(static_cast<size_t>(len));
  uint8_t* out = der->data();
  return i2d_ECDSA_SIG(sig.get(), &out) == len;
}

}  // namespace

std::string SigSchemeName(uint16_t scheme) {
  switch (scheme) {
    case TPM2_ALG_RSASSA:
      return "rsassa";
    case TPM2_ALG_RSAPSS:
      return "rsapss";
    case TPM2_ALG_ECDSA:
      return "ecdsa";
    case TPM2_ALG_ECDAA:
      return "ecdaa";
    case TPM2_ALG_SM2:
      return "sm2";
    case TPM2_ALG_ECSCHNORR:
      return "ecschnorr";
    case TPM2_ALG_HMAC:
      return "hmac";
    case TPM2_ALG_NULL:
      return "null";
    default:
      return absl::StrFormat("alg_0x%04x", scheme);
  }
}

bool SchemeFitsKey(uint16_t key_type, uint16_t scheme) {
  if (key_type == TPM2_ALG_RSA) return scheme == TPM2_ALG_RSASSA || scheme == TPM2_ALG_RSAPSS;
  if (key_type == TPM2_ALG_ECC) return scheme == TPM2_ALG_ECDSA;
  return false;
}

bool IsAllowedSignatureHash(uint16_t hash, bool allow_sha1) {
  switch (hash) {
    case TPM2_ALG_SHA256:
    case TPM2_ALG_SHA384:
    case TPM2_ALG_SHA512:
      return true;
    case TPM2_ALG_SHA1:
      return allow_sha1;
    default:
      return false;
  }
}

SignatureCheck VerifyTpmSignature(const TPMT_PUBLIC& key_public, EVP_PKEY* key, ByteSpan signature,
                                  ByteSpan message, bool allow_sha1) {
  SignatureCheck check;
  auto parsed = ParseTpmtSignature(signature);
  if (!parsed.ok()) {
    return Fail(check, SignatureOutcome::kMalformed, std::string(parsed.status().message()));
  }
  const TPMT_SIGNATURE& sig = *parsed;
  check.scheme = sig.sigAlg;
  // Every scheme we accept starts with its hash (TPMS_SIGNATURE_RSA / _ECC); for the others the
  // union's first field is still a hash, read only to name it in the message.
  check.hash = sig.signature.any.hashAlg;
  const std::string got = SchemeAndHash(check.scheme, check.hash);

  uint16_t pinned_scheme = TPM2_ALG_NULL;
  uint16_t pinned_hash = TPM2_ALG_NULL;
  if (key_public.type == TPM2_ALG_RSA) {
    pinned_scheme = key_public.parameters.rsaDetail.scheme.scheme;
    pinned_hash = key_public.parameters.rsaDetail.scheme.details.anySig.hashAlg;
  } else if (key_public.type == TPM2_ALG_ECC) {
    pinned_scheme = key_public.parameters.eccDetail.scheme.scheme;
    pinned_hash = key_public.parameters.eccDetail.scheme.details.anySig.hashAlg;
  } else {
    return Fail(check, SignatureOutcome::kSchemeNotAllowed,
                absl::StrFormat("key type 0x%04x cannot sign", key_public.type));
  }

  if (pinned_scheme != TPM2_ALG_NULL) {
    if (check.scheme != pinned_scheme || check.hash != pinned_hash) {
      return Fail(check, SignatureOutcome::kSchemeMismatch,
                  absl::StrCat("signature is ", got, " but the key pins ",
                               SchemeAndHash(pinned_scheme, pinned_hash)));
    }
  } else if (!SchemeFitsKey(key_public.type, check.scheme)) {
    return Fail(check, SignatureOutcome::kSchemeMismatch,
                absl::StrCat("signature scheme ", SigSchemeName(check.scheme),
                             " does not fit a key of type ",
                             key_public.type == TPM2_ALG_RSA ? "RSA" : "ECC"));
  }
  // Also applies to pinned schemes: a key that pins something we refuse is refused here too.
  if (!SchemeFitsKey(key_public.type, check.scheme)) {
    return Fail(check, SignatureOutcome::kSchemeNotAllowed,
                absl::StrCat("scheme ", SigSchemeName(check.scheme), " is not supported"));
  }
  if (!IsAllowedSignatureHash(check.hash, allow_sha1)) {
    return Fail(check, SignatureOutcome::kSchemeNotAllowed,
                absl::StrCat("signature hash ", HashAlgName(check.hash), " is not allowed"));
  }
  const EVP_MD* md = EvpMdForAlg(check.hash);
  if (md == nullptr) {
    return Fail(check, SignatureOutcome::kSchemeNotAllowed,
                absl::StrCat("signature hash ", HashAlgName(check.hash), " is not supported"));
  }

  Bytes der;
  ByteSpan sig_bytes;
  if (check.scheme == TPM2_ALG_ECDSA) {
    if (!EcdsaToDer(sig.signature.ecdsa, &der)) {
      (void)OpenSslError("ECDSA signature");  // drain the queue; the detail says what failed
      return Fail(check, SignatureOutcome::kMalformed, "ECDSA signature: empty or unusable r/s");
    }
    sig_bytes = der;
  } else {
    const TPM2B_PUBLIC_KEY_RSA& rsa = sig.signature.rsassa.sig;  // same layout for rsapss
    sig_bytes = ByteSpan(rsa.buffer, rsa.size);
    const int key_bytes = EVP_PKEY_get_size(key);
    if (key_bytes <= 0 || sig_bytes.size() != static_cast<size_t>(key_bytes)) {
      return Fail(check, SignatureOutcome::kInvalid,
                  absl::StrCat(got, ": signature is ", sig_bytes.size(),
                               " bytes, the key's modulus ", key_bytes));
    }
  }

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    return Fail(check, SignatureOutcome::kInvalid,
                std::string(OpenSslError("EVP_DigestVerifyInit").message()));
  }
  if (check.scheme == TPM2_ALG_RSASSA) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      return Fail(check, SignatureOutcome::kInvalid,
                  std::string(OpenSslError("RSA PKCS#1 padding").message()));
    }
  } else if (check.scheme == TPM2_ALG_RSAPSS) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1) {
      return Fail(check, SignatureOutcome::kInvalid,
                  std::string(OpenSslError("RSA PSS parameters").message()));
    }
  }
  const int rc = EVP_DigestVerify(ctx.get(), sig_bytes.data(), sig_bytes.size(), message.data(),
                                  message.size());
  if (rc != 1) {
    // Drain OpenSSL's queue so a stale error never surfaces in a later, unrelated call.
    return Fail(check, SignatureOutcome::kInvalid,
                absl::StrCat(got, " signature does not verify (",
                             OpenSslError("EVP_DigestVerify").message(), ")"));
  }
  check.outcome = SignatureOutcome::kValid;
  check.detail = got;
  return check;
}

}  // namespace bootgate::attest
