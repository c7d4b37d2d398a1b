// A software attestation key for tests and benchmarks: an OpenSSL key pair with a TPM public area
// (restricted signing key, as a TPM would create under the EK) that signs TPMS_ATTEST quotes the
// way TPM2_Quote does. Lets tests exercise ECDSA/RSAPSS and benchmarks quote a chosen event log.
#ifndef BOOTGATE_TESTS_TESTING_SOFTWARE_AK_H_
#define BOOTGATE_TESTS_TESTING_SOFTWARE_AK_H_

#include <tss2/tss2_tpm2_types.h>

#include <memory>

#include "absl/status/statusor.h"
#include "attest/crypto/ossl.h"
#include "attest/pcr/pcr_values.h"
#include "attest/tpm/pcr_selection.h"
#include "attest/util/bytes.h"

namespace bootgate::testing {

struct SoftwareAkOptions {
  uint16_t key_type = TPM2_ALG_RSA;  // or TPM2_ALG_ECC
  uint16_t rsa_bits = 2048;
  uint16_t curve = TPM2_ECC_NIST_P256;
  uint16_t scheme = TPM2_ALG_RSASSA;  // RSASSA / RSAPSS for RSA, ECDSA for ECC
  uint16_t hash = TPM2_ALG_SHA256;
  uint16_t name_alg = TPM2_ALG_SHA256;
  // fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign (0x00050072).
  TPMA_OBJECT attributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                           TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                           TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
};

struct SignedQuote {
  attest::Bytes attest;     // TPMS_ATTEST
  attest::Bytes signature;  // TPMT_SIGNATURE
};

class SoftwareAk {
 public:
  static absl::StatusOr<SoftwareAk> Create(const SoftwareAkOptions& options = {});

  const TPMT_PUBLIC& public_area() const { return public_; }
  // TPM2B_PUBLIC encoding, as an agent would send it.
  const attest::Bytes& public_bytes() const { return public_bytes_; }

  // TPM2_Quote in software: pcrDigest over `values` in `selection` order with the signing hash.
  absl::StatusOr<SignedQuote> Quote(attest::ByteSpan nonce, const attest::PcrSelection& selection,
                                    const attest::PcrValues& values, uint64_t clock = 1000,
                                    uint32_t reset_count = 1, uint32_t restart_count = 0) const;
  // Signs arbitrary bytes with the AK's scheme and returns a TPMT_SIGNATURE.
  absl::StatusOr<attest::Bytes> Sign(attest::ByteSpan message) const;

 private:
  SoftwareAkOptions options_;
  std::shared_ptr<EVP_PKEY> key_;
  TPMT_PUBLIC public_ = {};
  attest::Bytes public_bytes_;
};

}  // namespace bootgate::testing

#endif  // BOOTGATE_TESTS_TESTING_SOFTWARE_AK_H_
