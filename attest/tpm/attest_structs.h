// Decoders and encoders for the TPM structures a quote is made of (TPMS_ATTEST, TPMT_SIGNATURE,
// TPML_PCR_SELECTION), all through tss2-mu. Decoders are strict: the whole input must be one
// structure, trailing bytes are an error, and every error names the structure.
#ifndef BOOTGATE_ATTEST_TPM_ATTEST_STRUCTS_H_
#define BOOTGATE_ATTEST_TPM_ATTEST_STRUCTS_H_

#include <tss2/tss2_tpm2_types.h>

#include "absl/status/statusor.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// Raw TPMS_ATTEST bytes as returned by TPM2_Quote/Certify (the contents of the TPM2B_ATTEST, not
// the size prefix). Any attestation type tss2-mu knows is accepted; callers check magic and type.
absl::StatusOr<TPMS_ATTEST> ParseTpmsAttest(ByteSpan data);
absl::StatusOr<Bytes> MarshalTpmsAttest(const TPMS_ATTEST& attest);

// A TPMT_SIGNATURE (sigAlg, then the scheme-specific signature).
absl::StatusOr<TPMT_SIGNATURE> ParseTpmtSignature(ByteSpan data);
absl::StatusOr<Bytes> MarshalTpmtSignature(const TPMT_SIGNATURE& signature);

absl::StatusOr<TPML_PCR_SELECTION> ParseTpmlPcrSelection(ByteSpan data);
absl::StatusOr<Bytes> MarshalTpmlPcrSelection(const TPML_PCR_SELECTION& selection);

// The fixed TPMS_ATTEST prefix (magic u32, type u16) read with a bounds-checked cursor, so the
// header can be judged even when the rest does not parse.
struct AttestHeader {
  uint32_t magic = 0;
  uint16_t type = 0;
};
absl::StatusOr<AttestHeader> ReadAttestHeader(ByteSpan data);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_TPM_ATTEST_STRUCTS_H_
