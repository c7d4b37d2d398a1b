// The attestation key: a restricted signing key created under an EK (RSA-2048 RSASSA-SHA256 by
// default, ECC P-256 ECDSA-SHA256 as an option). Its wrapped private part is kept outside the TPM
// (see state/ak_store.h) and loaded under its parent EK for each operation.
#ifndef BOOTGATE_NODE_AGENT_TPM_AK_H_
#define BOOTGATE_NODE_AGENT_TPM_AK_H_

#include <tss2/tss2_tpm2_types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/util/bytes.h"
#include "node-agent/tpm/ek.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

enum class AkAlg { kRsa2048, kEccP256 };

// "rsa" / "ecc" (also "rsa2048" / "ecc-p256").
absl::StatusOr<AkAlg> ParseAkAlg(absl::string_view name);
const char* AkAlgName(AkAlg alg);  // "rsa" / "ecc"

// fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign, nameAlg SHA-256, empty
// authPolicy, the scheme pinned (RSASSA-SHA256 / ECDSA-SHA256).
TPMT_PUBLIC AkTemplate(AkAlg alg);

// Everything needed to load the AK again: the TPM's outputs of TPM2_Create and the parent it was
// created under.
struct AkKeyBlob {
  attest::Bytes public_blob;   // TPM2B_PUBLIC
  attest::Bytes private_blob;  // TPM2B_PRIVATE (wrapped by the parent EK; useless elsewhere)
  attest::Bytes name;          // nameAlg || H(TPMT_PUBLIC)
  std::string parent_slot;     // EkSlot::id of the parent
  attest::Bytes parent_name;   // the parent EK's name when the AK was made

  absl::StatusOr<TPMT_PUBLIC> PublicArea() const;
};

// TPM2_Create under `parent`, authorized by the EK policy session.
absl::StatusOr<AkKeyBlob> CreateAk(TpmConnection& tpm, const LoadedEk& parent, AkAlg alg);

// TPM2_Load under `parent`; the returned holder flushes the AK. Fails with FAILED_PRECONDITION when
// `parent` is not the EK the AK was created under (the TPM was cleared, or another EK was chosen).
absl::StatusOr<ScopedTr> LoadAk(TpmConnection& tpm, const LoadedEk& parent, const AkKeyBlob& ak);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_AK_H_
