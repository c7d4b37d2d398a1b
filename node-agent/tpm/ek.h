// Endorsement keys: the TCG EK Credential Profile 2.4 slots (certificate NV index, persistent
// handle, default template), the certificates and CA chain stored in NV, the EK public area, and
// the policy session that authorizes use of an EK.
#ifndef BOOTGATE_NODE_AGENT_TPM_EK_H_
#define BOOTGATE_NODE_AGENT_TPM_EK_H_

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attest/util/bytes.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

enum class EkKeyFamily { kRsa, kEcc };

// One EK kind of the profile: where its certificate lives, where platforms persist it, and the
// template it is created from.
struct EkSlot {
  const char* id;             // "rsa2048", "ecc-p384", ... (what --ek accepts)
  const char* template_name;  // profile name: "L-1", "H-3", ...
  EkKeyFamily family;
  uint32_t cert_index;         // NV index of its certificate
  uint32_t persistent_handle;  // conventional persistent handle
  bool has_template;           // false for SM2 (certificates are reported, keys not made)
  // Template parameters (TCG EK Credential Profile 2.4, section 2.1.5).
  bool high_range;     // empty unique, userWithAuth, authPolicy PolicyB
  uint16_t name_alg;   // also the policy hash
  uint16_t sym_bits;   // AES-CFB key size
  uint16_t rsa_bits;   // RSA slots
  uint16_t ecc_curve;  // ECC slots
};

// Low range (L-1 RSA-2048 at 0x01C00002, L-2 ECC P-256 at 0x01C0000A) then the high range
// (H-1..H-7 at 0x01C00012..0x01C0001E, even indexes), in preference order.
absl::Span<const EkSlot> EkSlots();
const EkSlot* FindEkSlotById(absl::string_view id);
const EkSlot* FindEkSlotByCertIndex(uint32_t nv_index);

// The profile's default template for a slot (unique field zero-filled for the low range, empty
// for the high range).
absl::StatusOr<TPMT_PUBLIC> EkTemplate(const EkSlot& slot);

// Per nameAlg: PolicyA = PolicySecret(TPM_RH_ENDORSEMENT), PolicyC = PolicyAuthorizeNV(EK policy
// index), PolicyB = PolicyOR(PolicyA, PolicyC) (the high-range templates' authPolicy).
absl::StatusOr<attest::Bytes> EkPolicyA(uint16_t name_alg);
absl::StatusOr<attest::Bytes> EkPolicyC(uint16_t name_alg);
absl::StatusOr<attest::Bytes> EkPolicyB(uint16_t name_alg);

// A certificate found in NV. `der` is the DER encoding without any padding the NV index holds
// after it; `parse_error` is set (and `der` is the raw NV content, or empty when the index could
// not be read) when it does not parse.
struct NvCertificate {
  uint32_t nv_index = 0;
  const EkSlot* slot = nullptr;  // null for CA chain certificates
  attest::Bytes der;
  std::string parse_error;
};

// What the TPM holds for endorsement: every EK certificate in the low and high range, the EK CA
// chain stored in 0x01C00100-0x01C001FF (EK Credential Profile 2.4 section 2.2.1.5; each index
// may hold several concatenated DER certificates) and the persistent handles.
struct EkInventory {
  std::vector<NvCertificate> certificates;
  std::vector<NvCertificate> ca_chain;
  std::vector<TPM2_HANDLE> persistent_handles;

  const NvCertificate* CertificateFor(const EkSlot& slot) const;
  bool HasPersistent(TPM2_HANDLE handle) const;
  // A certificate or a persistent key exists for the slot.
  bool Present(const EkSlot& slot) const;
};

absl::StatusOr<EkInventory> ReadEkInventory(TpmConnection& tpm, uint32_t nv_chunk_size);

// Resolves an --ek selector: a slot id, or "rsa" / "ecc" for the first present slot of that
// family (falling back to L-1 / L-2 when none is present).
absl::StatusOr<const EkSlot*> ResolveEkSlot(absl::string_view selector,
                                            const EkInventory& inventory);

// An EK ready for use. `handle` is a persistent object (closed, never evicted) or a transient one
// made by TPM2_CreatePrimary (flushed) when it goes out of scope.
struct LoadedEk {
  const EkSlot* slot = nullptr;
  TPMT_PUBLIC public_area{};
  attest::Bytes public_blob;  // TPM2B_PUBLIC as marshalled by the TPM
  attest::Bytes name;         // nameAlg || H(TPMT_PUBLIC)
  std::string source;         // "persistent 0x81010001" or "created from template L-1"
  // Whether the key equals the slot's certificate's public key; nullopt without a readable
  // certificate.
  std::optional<bool> matches_certificate;
  ScopedTr handle;
};

// The persistent key when present and matching the certificate (or when there is no
// certificate); otherwise created from the slot's template in the endorsement hierarchy.
absl::StatusOr<LoadedEk> LoadEk(TpmConnection& tpm, const EkSlot& slot,
                                const EkInventory& inventory);

// A policy session satisfying the EK's authPolicy: PolicySecret(TPM_RH_ENDORSEMENT), followed by
// PolicyOR(PolicyA, PolicyC) for the high-range templates. Flushed when the holder goes away.
// One session authorizes one command.
absl::StatusOr<ScopedTr> StartEkPolicySession(TpmConnection& tpm, const TPMT_PUBLIC& ek);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_EK_H_
