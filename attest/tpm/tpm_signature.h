// Verification of TPM signatures (TPMT_SIGNATURE) over TPM-generated structures, with the scheme
// pinned by the signing key. Exactly one verification is made per signature: no padding is ever
// tried after another failed.
#ifndef BOOTGATE_ATTEST_TPM_TPM_SIGNATURE_H_
#define BOOTGATE_ATTEST_TPM_TPM_SIGNATURE_H_

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include <string>

#include "attest/util/bytes.h"

namespace bootgate::attest {

// "rsassa", "rsapss", "ecdsa", "null", ... ("alg_0x1234" for others).
std::string SigSchemeName(uint16_t scheme);
// Schemes bootgate verifies: RSASSA-PKCS1-v1_5 and RSASSA-PSS for RSA keys, ECDSA for ECC keys.
// (ECDAA, SM2 and EC-Schnorr are not supported.)
bool SchemeFitsKey(uint16_t key_type, uint16_t scheme);
// SHA-256/384/512, and SHA-1 only when `allow_sha1`.
bool IsAllowedSignatureHash(uint16_t hash, bool allow_sha1);

enum class SignatureOutcome {
  kValid,
  kMalformed,         // the TPMT_SIGNATURE does not parse, or has trailing bytes
  kSchemeMismatch,    // scheme/hash differ from the key's pinned scheme, or do not fit the key
  kSchemeNotAllowed,  // a scheme or hash bootgate refuses (SHA-1 unless allowed, ECDAA, ...)
  kInvalid,           // the cryptographic verification failed
};

struct SignatureCheck {
  // Untrusted until the one successful verification sets it.
  SignatureOutcome outcome = SignatureOutcome::kInvalid;
  std::string detail;
  // The signature's scheme and hash, once parsed (TPM_ALG_NULL before).
  uint16_t scheme = TPM2_ALG_NULL;
  uint16_t hash = TPM2_ALG_NULL;

  bool ok() const { return outcome == SignatureOutcome::kValid; }
};

// Verifies `signature` (TPMT_SIGNATURE bytes) over `message` (the exact signed bytes, e.g. the
// TPMS_ATTEST) with `key`, which must be PublicKeyFromPublicArea(key_public).
//
// Scheme: when the key pins one (scheme != TPM_ALG_NULL), the signature must use exactly that
// scheme and hash. When the key's scheme is TPM_ALG_NULL the signer chose it: it must fit the key
// type (SchemeFitsKey) and use an allowed hash. RSAPSS is verified with the salt length read from
// the signature (RSA_PSS_SALTLEN_AUTO): TPMs built to spec revisions before 1.38 use the largest
// salt the key allows, later ones (and FIPS mode) the digest length; both are one PSS
// verification, not a retry with another padding.
SignatureCheck VerifyTpmSignature(const TPMT_PUBLIC& key_public, EVP_PKEY* key, ByteSpan signature,
                                  ByteSpan message, bool allow_sha1);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_TPM_TPM_SIGNATURE_H_
