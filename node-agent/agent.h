// bootgate-agent's library surface: one TPM connection plus the agent's state directory, and the
// operations the CLI (and later the enrollment/attestation loop) are built from. Every TPM object
// an operation loads is flushed before the operation returns, on every path.
#ifndef BOOTGATE_NODE_AGENT_AGENT_H_
#define BOOTGATE_NODE_AGENT_AGENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/tpm/pcr_selection.h"
#include "attest/util/bytes.h"
#include "node-agent/state/ak_store.h"
#include "node-agent/tpm/ak.h"
#include "node-agent/tpm/capabilities.h"
#include "node-agent/tpm/ek.h"
#include "node-agent/tpm/esys.h"
#include "node-agent/tpm/quote.h"

namespace bootgate::agent {

struct AgentOptions {
  std::string tcti = kDefaultTcti;
  std::string state_dir = kDefaultStateDir;
  // Algorithm of a newly created AK (an existing AK is used whatever its algorithm, unless
  // `require_ak_alg` is set).
  AkAlg ak_alg = AkAlg::kRsa2048;
  bool require_ak_alg = false;
  // The EK new AKs are created under and credentials are activated with: "rsa", "ecc" or a slot
  // id (see EkSlots()).
  std::string ek = "rsa";
  int quote_attempts = 5;
};

struct AkState {
  std::string state_dir;
  bool present = false;
  AkKeyBlob blob;             // when present
  TPMT_PUBLIC public_area{};  // when present
};

struct EkPublicReport {
  const EkSlot* slot = nullptr;
  std::string source;
  attest::Bytes public_blob;  // TPM2B_PUBLIC
  attest::Bytes name;
  TPMT_PUBLIC public_area{};
  std::optional<bool> matches_certificate;
};

struct AgentInfo {
  std::string tcti;
  TpmIdentity identity;
  std::vector<uint16_t> active_banks;
  EkInventory inventory;
  std::vector<EkPublicReport> ek_publics;
  // EK slots whose public area could not be obtained, with the reason.
  std::vector<std::string> ek_errors;
  AkState ak;
};

struct AgentQuote {
  TpmQuote quote;
  attest::Bytes nonce;
  attest::Bytes ak_public;  // TPM2B_PUBLIC
  attest::Bytes ak_name;
  TPMT_PUBLIC ak_public_area{};
};

class Agent {
 public:
  static absl::StatusOr<std::unique_ptr<Agent>> Connect(const AgentOptions& options);

  // Identity, banks, EK certificates and publics (loading or creating each present EK), AK state.
  // Creates nothing that outlives the call.
  absl::StatusOr<AgentInfo> Info();

  // The AK from the state directory, created under the configured EK and saved when missing.
  absl::StatusOr<AkState> EnsureAk();

  // A quote of `nonce` over `selection` with the AK (created first when missing), with the PCR
  // values it covers. Every bank of the selection must be active on the TPM.
  absl::StatusOr<AgentQuote> Quote(attest::ByteSpan nonce, const attest::PcrSelection& selection);

  // TPM2_ActivateCredential with the stored AK and the configured EK. `credential_blob` is a
  // marshalled TPM2B_ID_OBJECT, `secret` a marshalled TPM2B_ENCRYPTED_SECRET. Needs an existing
  // AK (FAILED_PRECONDITION otherwise: a credential can only have been made for a known AK name).
  absl::StatusOr<attest::Bytes> ActivateCredential(attest::ByteSpan credential_blob,
                                                   attest::ByteSpan secret);

  // The EK public of the configured EK (what a verifier makes credentials for).
  absl::StatusOr<EkPublicReport> EkPublic();

  TpmConnection& tpm() { return *tpm_; }
  const AgentOptions& options() const { return options_; }

 private:
  Agent(AgentOptions options, std::unique_ptr<TpmConnection> tpm)
      : options_(std::move(options)), tpm_(std::move(tpm)), store_(options_.state_dir) {}

  absl::StatusOr<const TpmIdentity*> Identity();
  absl::StatusOr<const EkInventory*> Inventory();
  absl::StatusOr<const std::vector<uint16_t>*> ActiveBanks();
  absl::StatusOr<AkState> ReadAk();
  // Loads the AK under its recorded parent EK. The parent is returned too (callers may reuse it);
  // both holders flush/close on destruction.
  struct LoadedAk {
    LoadedEk parent;
    ScopedTr handle;
  };
  absl::StatusOr<LoadedAk> LoadStoredAk(const AkState& ak);

  AgentOptions options_;
  std::unique_ptr<TpmConnection> tpm_;
  AkStore store_;
  // Read once per connection: they do not change while the TPM runs.
  std::optional<TpmIdentity> identity_;
  std::optional<EkInventory> inventory_;
  std::optional<std::vector<uint16_t>> active_banks_;
  // The AK once EnsureAk found or made it, so that repeated quotes do not re-read the files.
  std::optional<AkState> ak_;
};

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_AGENT_H_
