// TPM public areas (TPMT_PUBLIC) decoded with tss2-mu: parsing, object names, and conversion of
// RSA / ECC public keys to OpenSSL keys.
#ifndef BOOTGATE_ATTEST_TPM_PUBLIC_AREA_H_
#define BOOTGATE_ATTEST_TPM_PUBLIC_AREA_H_

#include <tss2/tss2_tpm2_types.h>

#include "absl/status/statusor.h"
#include "attest/crypto/ossl.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// Accepts a TPM2B_PUBLIC (u16 size prefix covering the rest) or a bare TPMT_PUBLIC; both occur in
// the wild. Trailing bytes are an error. Only RSA and ECC objects are accepted.
absl::StatusOr<TPMT_PUBLIC> ParsePublicArea(ByteSpan data);

// The canonical TPMT_PUBLIC encoding (what the name is computed over).
absl::StatusOr<Bytes> MarshalPublicArea(const TPMT_PUBLIC& pub);

// TPM object name: nameAlg (u16 big-endian) || H_nameAlg(TPMT_PUBLIC).
absl::StatusOr<Bytes> ObjectName(const TPMT_PUBLIC& pub);

// OpenSSL public key for an RSA (any exponent encoding, 0 = 65537) or ECC (NIST P-256/P-384/P-521)
// public area.
absl::StatusOr<EvpPkeyPtr> PublicKeyFromPublicArea(const TPMT_PUBLIC& pub);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_TPM_PUBLIC_AREA_H_
