#include "node-agent/tpm/ak.h"

#include <tss2/tss2_mu.h>

#include "absl/strings/str_cat.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/marshal.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {

absl::StatusOr<AkAlg> ParseAkAlg(absl::string_view name) {
  if (name == "rsa" || name == "rsa2048") return AkAlg::kRsa2048;
  if (name == "ecc" || name == "ecc-p256") return AkAlg::kEccP256;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown AK algorithm \"", name, "\" (rsa or ecc)"));
}

const char* AkAlgName(AkAlg alg) { return alg == AkAlg::kRsa2048 ? "rsa" : "ecc"; }

TPMT_PUBLIC AkTemplate(AkAlg alg) {
  TPMT_PUBLIC t{};
  t.nameAlg = TPM2_ALG_SHA256;
  t.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  if (alg == AkAlg::kRsa2048) {
    t.type = TPM2_ALG_RSA;
    t.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    t.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
    t.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
    t.parameters.rsaDetail.keyBits = 2048;
    t.parameters.rsaDetail.exponent = 0;
  } else {
    t.type = TPM2_ALG_ECC;
    t.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    t.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    t.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    t.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    t.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  }
  return t;
}

absl::StatusOr<TPMT_PUBLIC> AkKeyBlob::PublicArea() const {
  ASSIGN_OR_RETURN(
      TPM2B_PUBLIC pub,
      UnmarshalTss<TPM2B_PUBLIC>(public_blob, &Tss2_MU_TPM2B_PUBLIC_Unmarshal, "AK TPM2B_PUBLIC"));
  return pub.publicArea;
}

absl::StatusOr<AkKeyBlob> CreateAk(TpmConnection& tpm, const LoadedEk& parent, AkAlg alg) {
  ASSIGN_OR_RETURN(ScopedTr session, StartEkPolicySession(tpm, parent.public_area));
  TPM2B_SENSITIVE_CREATE in_sensitive{};
  TPM2B_PUBLIC in_public{};
  in_public.publicArea = AkTemplate(alg);
  TPM2B_DATA outside_info{};
  TPML_PCR_SELECTION creation_pcr{};
  EsysOut<TPM2B_PRIVATE> out_private;
  EsysOut<TPM2B_PUBLIC> out_public;
  EsysOut<TPM2B_CREATION_DATA> creation_data;
  EsysOut<TPM2B_DIGEST> creation_hash;
  EsysOut<TPMT_TK_CREATION> creation_ticket;
  TSS2_RC rc = Esys_Create(tpm.esys(), parent.handle.get(), session.get(), ESYS_TR_NONE,
                           ESYS_TR_NONE, &in_sensitive, &in_public, &outside_info, &creation_pcr,
                           out_private.out(), out_public.out(), creation_data.out(),
                           creation_hash.out(), creation_ticket.out());
  RETURN_IF_ERROR(TssStatus(rc, absl::StrCat("TPM2_Create(AK under EK ", parent.slot->id, ")")));

  AkKeyBlob ak;
  ASSIGN_OR_RETURN(ak.public_blob,
                   MarshalTss(*out_public, &Tss2_MU_TPM2B_PUBLIC_Marshal, "AK TPM2B_PUBLIC"));
  ASSIGN_OR_RETURN(ak.private_blob,
                   MarshalTss(*out_private, &Tss2_MU_TPM2B_PRIVATE_Marshal, "AK TPM2B_PRIVATE"));
  ASSIGN_OR_RETURN(ak.name, attest::ObjectName(out_public->publicArea));
  ak.parent_slot = parent.slot->id;
  ak.parent_name = parent.name;
  return ak;
}

absl::StatusOr<ScopedTr> LoadAk(TpmConnection& tpm, const LoadedEk& parent, const AkKeyBlob& ak) {
  if (ak.parent_name != parent.name) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the AK was created under EK ", ak.parent_slot, " with name ",
        attest::HexEncode(ak.parent_name), ", but that EK's name is now ",
        attest::HexEncode(parent.name), " (TPM cleared?); remove the AK state to create a new AK"));
  }
  ASSIGN_OR_RETURN(TPM2B_PUBLIC in_public,
                   UnmarshalTss<TPM2B_PUBLIC>(ak.public_blob, &Tss2_MU_TPM2B_PUBLIC_Unmarshal,
                                              "AK TPM2B_PUBLIC"));
  ASSIGN_OR_RETURN(TPM2B_PRIVATE in_private,
                   UnmarshalTss<TPM2B_PRIVATE>(ak.private_blob, &Tss2_MU_TPM2B_PRIVATE_Unmarshal,
                                               "AK TPM2B_PRIVATE"));
  ASSIGN_OR_RETURN(ScopedTr session, StartEkPolicySession(tpm, parent.public_area));
  ESYS_TR raw = ESYS_TR_NONE;
  TSS2_RC rc = Esys_Load(tpm.esys(), parent.handle.get(), session.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                         &in_private, &in_public, &raw);
  ScopedTr handle(tpm.esys(), raw, ScopedTr::Release::kFlush);
  RETURN_IF_ERROR(TssStatus(rc, absl::StrCat("TPM2_Load(AK under EK ", parent.slot->id, ")")));
  // An empty auth value: the AK's userWithAuth is authorized with a password session.
  TPM2B_AUTH empty_auth{};
  rc = Esys_TR_SetAuth(tpm.esys(), handle.get(), &empty_auth);
  RETURN_IF_ERROR(TssStatus(rc, "Esys_TR_SetAuth(AK)"));
  return handle;
}

}  // namespace bootgate::agent
