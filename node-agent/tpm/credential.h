// TPM2_ActivateCredential: recovers a credential made with TPM2_MakeCredential for this TPM's EK
// and the AK's name.
#ifndef BOOTGATE_NODE_AGENT_TPM_CREDENTIAL_H_
#define BOOTGATE_NODE_AGENT_TPM_CREDENTIAL_H_

#include <tss2/tss2_esys.h>

#include "absl/status/statusor.h"
#include "attest/util/bytes.h"
#include "node-agent/tpm/ek.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

// `credential_blob` is a marshalled TPM2B_ID_OBJECT and `secret` a marshalled
// TPM2B_ENCRYPTED_SECRET (both with their u16 size prefix, as attest::MakeCredential makes them).
// The AK is authorized with its (empty) password, the EK with its policy session. A credential
// made for another EK or another object name fails in the TPM (TPM_RC_INTEGRITY or a decryption
// error).
absl::StatusOr<attest::Bytes> ActivateCredentialWith(TpmConnection& tpm, ESYS_TR ak,
                                                     const LoadedEk& ek,
                                                     attest::ByteSpan credential_blob,
                                                     attest::ByteSpan secret);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_CREDENTIAL_H_
