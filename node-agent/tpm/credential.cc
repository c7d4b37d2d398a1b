#include "node-agent/tpm/credential.h"

#include <tss2/tss2_mu.h>

#include "attest/util/status_macros.h"
#include "node-agent/tpm/marshal.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {

absl::StatusOr<attest::Bytes> ActivateCredentialWith(TpmConnection& tpm, ESYS_TR ak,
                                                     const LoadedEk& ek,
                                                     attest::ByteSpan credential_blob,
                                                     attest::ByteSpan secret) {
  ASSIGN_OR_RETURN(
      TPM2B_ID_OBJECT id_object,
      UnmarshalTss<TPM2B_ID_OBJECT>(credential_blob, &Tss2_MU_TPM2B_ID_OBJECT_Unmarshal,
                                    "credential blob (TPM2B_ID_OBJECT)"));
  ASSIGN_OR_RETURN(
      TPM2B_ENCRYPTED_SECRET encrypted_secret,
      UnmarshalTss<TPM2B_ENCRYPTED_SECRET>(secret, &Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal,
                                           "encrypted secret (TPM2B_ENCRYPTED_SECRET)"));
  ASSIGN_OR_RETURN(ScopedTr ek_session, StartEkPolicySession(tpm, ek.public_area));
  EsysOut<TPM2B_DIGEST> cert_info;
  TSS2_RC rc =
      Esys_ActivateCredential(tpm.esys(), ak, ek.handle.get(), ESYS_TR_PASSWORD, ek_session.get(),
                              ESYS_TR_NONE, &id_object, &encrypted_secret, cert_info.out());
  RETURN_IF_ERROR(TssStatus(rc, "TPM2_ActivateCredential"));
  return attest::Bytes(cert_info->buffer, cert_info->buffer + cert_info->size);
}

}  // namespace bootgate::agent
