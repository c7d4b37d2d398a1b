// Checks that a TPM public area is what it claims to be used as: an attestation key (restricted
// signing key) or an endorsement key (restricted decryption key made from a TCG EK template).
// Used by quote verification and by the verifier's enrollment. Pure: they look at the public area
// only; that the key lives in a genuine TPM is proven elsewhere (EK certificate, credential
// activation).
#ifndef BOOTGATE_ATTEST_TPM_KEY_CHECKS_H_
#define BOOTGATE_ATTEST_TPM_KEY_CHECKS_H_

#include <tss2/tss2_tpm2_types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// Outcome of a key check: every unmet requirement (not only the first), plus observations that
// do not fail the check but belong in the audit record.
struct KeyCheckReport {
  std::vector<std::string> failures;
  std::vector<std::string> notes;

  bool ok() const { return failures.empty(); }
  // Failures joined with "; ", or "ok" when there are none.
  std::string Summary() const;
};

// Named, individually granted relaxations of the AK requirements. Each default is strict; a
// caller that relaxes one says which key needs it (see CheckAkPublic).
struct AkCheckOptions {
  // nameAlg SHA-1: the AK name (what credential activation binds to) becomes a SHA-1 digest.
  bool allow_sha1_name_alg = false;
  // A signing scheme hashing with SHA-1, either pinned in the AK or, for an AK whose scheme is
  // TPM_ALG_NULL, chosen by the signer. Needed for Windows AKs (RSASSA-SHA1, e.g. the
  // go-attestation Windows/GCE bundle).
  bool allow_sha1_signing = false;
};

// Attestation key requirements: attributes fixedTPM, fixedParent, sensitiveDataOrigin, restricted
// and sign set, decrypt clear; nameAlg SHA-256 or stronger; no symmetric algorithm; RSA of at
// least 2048 bits whose modulus matches keyBits, or ECC on NIST P-256/P-384/P-521 with no KDF; a
// pinned scheme, when there is one, that bootgate can verify (RSASSA or RSAPSS for RSA, ECDSA for
// ECC) with SHA-256/384/512.
KeyCheckReport CheckAkPublic(const TPMT_PUBLIC& pub, const AkCheckOptions& options = {});

// Endorsement key requirements (TCG EK Credential Profile templates L-1/L-2 and H-1..H-7):
// attributes fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy, restricted and decrypt
// set, sign clear; nameAlg SHA-256 or stronger; symmetric AES-128 or AES-256 in CFB mode; no
// signing scheme (and no KDF for ECC); RSA 2048/3072/4096 or ECC P-256/P-384/P-521. An authPolicy
// other than the default PolicySecret(TPM_RH_ENDORSEMENT) digest is a note, not a failure: the
// high-range templates use a PolicyOR instead.
KeyCheckReport CheckEkPublic(const TPMT_PUBLIC& pub);

// The default EK authPolicy: the policy digest of PolicySecret(TPM_RH_ENDORSEMENT) with an empty
// policyRef, computed with `name_alg` (837197674484b3f8... for SHA-256).
absl::StatusOr<Bytes> DefaultEkAuthPolicy(uint16_t name_alg);

// "fixedTPM|fixedParent|..." for the attribute bits that are set (unknown bits as hex).
std::string DescribeObjectAttributes(TPMA_OBJECT attributes);
// "RSA-2048", "ECC-P256", ... from the public area's parameters.
std::string DescribeKey(const TPMT_PUBLIC& pub);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_TPM_KEY_CHECKS_H_
