// TPM2_MakeCredential computed in software (TPM 2.0 Library Part 1 section 24, Part 3 section
// 12.6): wraps a short credential so that only the TPM holding `ek` can recover it, and only when
// it also holds the object whose name is `object_name` (TPM2_ActivateCredential).
#ifndef BOOTGATE_ATTEST_TPM_MAKE_CREDENTIAL_H_
#define BOOTGATE_ATTEST_TPM_MAKE_CREDENTIAL_H_

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attest/crypto/random.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// The two TPM2_ActivateCredential inputs, each marshalled with its u16 size prefix exactly as the
// TPM (and Esys_ActivateCredential) takes them.
struct MadeCredential {
  // TPM2B_ID_OBJECT: u16 size || TPM2B_DIGEST integrityHMAC || encIdentity.
  Bytes credential_blob;
  // TPM2B_ENCRYPTED_SECRET: the seed RSA-OAEP encrypted to the EK (label "IDENTITY"), or for an
  // ECC EK the marshalled TPMS_ECC_POINT of the ephemeral ECDH key.
  Bytes secret;
};

// Checks that `ek` can receive credentials the way a TPM processes them: an RSA (2048..4096 bits,
// scheme NULL) or ECC (NIST P-256 / P-384 / P-521, scheme NULL) key with objectAttributes
// restricted and decrypt set and sign clear, nameAlg SHA-1 / SHA-256 / SHA-384 / SHA-512, and an
// AES-128/192/256 CFB symmetric definition. InvalidArgument naming the offending field otherwise.
absl::Status CheckCredentialKey(const TPMT_PUBLIC& ek);

// TPM2_MakeCredential(ek, credential, object_name).
//  - `credential`: 1 .. digest size of ek.nameAlg bytes (the TPM rejects longer ones).
//  - `object_name`: the TPM name of the key being certified (normally the AK): u16 nameAlg ||
//    digest of that algorithm.
//  - `rng` supplies all randomness, in this order: RSA EK: the seed (nameAlg digest size), then
//    the OAEP seed (nameAlg digest size); ECC EK: order-size + 8 bytes that become the ephemeral
//    private scalar. Equal inputs and random bytes give byte-identical output.
// The seed and derived keys are wiped before returning.
absl::StatusOr<MadeCredential> MakeCredential(const TPMT_PUBLIC& ek, ByteSpan credential,
                                              ByteSpan object_name, RandomSource& rng);

// The credential file of tpm2-tools 5.x (written by `tpm2_makecredential -o`, read by
// `tpm2_activatecredential -i`): u32 magic 0xBADCC0DE || u32 version 1 (both big-endian) ||
// TPM2B_ID_OBJECT || TPM2B_ENCRYPTED_SECRET.
inline constexpr uint32_t kTpm2ToolsCredentialMagic = 0xBADCC0DE;
inline constexpr uint32_t kTpm2ToolsCredentialVersion = 1;

Bytes EncodeTpm2ToolsCredential(const MadeCredential& made);
// Parses such a file (untrusted bytes): wrong magic or version, a TPM2B larger than its TPM
// maximum, truncation and trailing bytes are InvalidArgument errors.
absl::StatusOr<MadeCredential> ParseTpm2ToolsCredential(ByteSpan file);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_TPM_MAKE_CREDENTIAL_H_
