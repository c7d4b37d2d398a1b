// A software endorsement key for verifier tests: an OpenSSL RSA-2048 key pair with a TPM EK
// public area (TCG template L-1 attributes: fixedTPM, fixedParent, sensitiveDataOrigin,
// adminWithPolicy, restricted, decrypt; AES-128-CFB; the default EK authPolicy), and the TPM side
// of TPM2_ActivateCredential computed with the private key. The inverse follows
// tests/unit/make_credential_test.cc (OAEP "IDENTITY" seed, KDFa INTEGRITY/STORAGE, AES-CFB).
#ifndef BOOTGATE_TESTS_VERIFIER_SOFTWARE_EK_H_
#define BOOTGATE_TESTS_VERIFIER_SOFTWARE_EK_H_

#include <tss2/tss2_tpm2_types.h>

#include <memory>

#include "absl/status/statusor.h"
#include "attest/crypto/ossl.h"
#include "attest/util/bytes.h"

namespace bootgate::testing {

class SoftwareEk {
 public:
  static absl::StatusOr<SoftwareEk> Create();

  const TPMT_PUBLIC& public_area() const { return public_; }
  const attest::Bytes& public_bytes() const { return public_bytes_; }  // TPM2B_PUBLIC
  EVP_PKEY* key() const { return key_.get(); }

  // TPM2_ActivateCredential: recovers the credential from a TPM2B_ID_OBJECT and a
  // TPM2B_ENCRYPTED_SECRET for the object named `object_name`. PermissionDenied when the
  // integrity HMAC fails (wrong name, wrong EK, tampered blob).
  absl::StatusOr<attest::Bytes> Activate(attest::ByteSpan credential_blob,
                                         attest::ByteSpan encrypted_secret,
                                         attest::ByteSpan object_name) const;

 private:
  std::shared_ptr<EVP_PKEY> key_;
  TPMT_PUBLIC public_ = {};
  attest::Bytes public_bytes_;
};

}  // namespace bootgate::testing

#endif  // BOOTGATE_TESTS_VERIFIER_SOFTWARE_EK_H_
