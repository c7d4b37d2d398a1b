#include "node-agent/agent.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/credential.h"

namespace bootgate::agent {
namespace {

EkPublicReport ReportFor(const LoadedEk& ek) {
  EkPublicReport r;
  r.slot = ek.slot;
  r.source = ek.source;
  r.public_blob = ek.public_blob;
  r.name = ek.name;
  r.public_area = ek.public_area;
  r.matches_certificate = ek.matches_certificate;
  return r;
}

AkAlg AlgOf(const TPMT_PUBLIC& pub) {
  return pub.type == TPM2_ALG_ECC ? AkAlg::kEccP256 : AkAlg::kRsa2048;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Agent>> Agent::Connect(const AgentOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<TpmConnection> tpm, TpmConnection::Open(options.tcti));
  return std::unique_ptr<Agent>(new Agent(options, std::move(tpm)));
}

absl::StatusOr<const TpmIdentity*> Agent::Identity() {
  if (!identity_.has_value()) {
    ASSIGN_OR_RETURN(identity_, ReadTpmIdentity(*tpm_));
  }
  return &*identity_;
}

absl::StatusOr<const EkInventory*> Agent::Inventory() {
  if (!inventory_.has_value()) {
    ASSIGN_OR_RETURN(const TpmIdentity* id, Identity());
    ASSIGN_OR_RETURN(inventory_, ReadEkInventory(*tpm_, id->nv_buffer_max));
  }
  return &*inventory_;
}

absl::StatusOr<const std::vector<uint16_t>*> Agent::ActiveBanks() {
  if (!active_banks_.has_value()) {
    ASSIGN_OR_RETURN(active_banks_, ReadActivePcrBanks(*tpm_));
  }
  return &*active_banks_;
}

absl::StatusOr<AkState> Agent::ReadAk() {
  AkState state;
  state.state_dir = store_.dir();
  ASSIGN_OR_RETURN(std::optional<AkKeyBlob> blob, store_.Read());
  if (!blob.has_value()) return state;
  ASSIGN_OR_RETURN(state.public_area, blob->PublicArea());
  state.blob = *std::move(blob);
  state.present = true;
  return state;
}

absl::StatusOr<AgentInfo> Agent::Info() {
  AgentInfo info;
  info.tcti = tpm_->tcti();
  ASSIGN_OR_RETURN(const TpmIdentity* id, Identity());
  info.identity = *id;
  ASSIGN_OR_RETURN(const std::vector<uint16_t>* banks, ActiveBanks());
  info.active_banks = *banks;
  ASSIGN_OR_RETURN(const EkInventory* inventory, Inventory());
  info.inventory = *inventory;

  std::vector<const EkSlot*> slots;
  for (const EkSlot& slot : EkSlots()) {
    if (slot.has_template && inventory->Present(slot)) slots.push_back(&slot);
  }
  // A TPM without certificates or persistent EKs still has the default RSA EK.
  if (slots.empty()) slots.push_back(FindEkSlotById("rsa2048"));
  for (const EkSlot* slot : slots) {
    absl::StatusOr<LoadedEk> ek = LoadEk(*tpm_, *slot, *inventory);
    if (!ek.ok()) {
      info.ek_errors.push_back(absl::StrCat(slot->id, ": ", ek.status().message()));
      continue;
    }
    info.ek_publics.push_back(ReportFor(*ek));
  }
  ASSIGN_OR_RETURN(info.ak, ReadAk());
  return info;
}

absl::StatusOr<EkPublicReport> Agent::EkPublic() {
  ASSIGN_OR_RETURN(const EkInventory* inventory, Inventory());
  ASSIGN_OR_RETURN(const EkSlot* slot, ResolveEkSlot(options_.ek, *inventory));
  ASSIGN_OR_RETURN(LoadedEk ek, LoadEk(*tpm_, *slot, *inventory));
  return ReportFor(ek);
}

absl::StatusOr<AkState> Agent::EnsureAk() {
  if (!ak_.has_value()) {
    ASSIGN_OR_RETURN(AkState state, ReadAk());
    if (!state.present) {
      ASSIGN_OR_RETURN(const EkInventory* inventory, Inventory());
      ASSIGN_OR_RETURN(const EkSlot* slot, ResolveEkSlot(options_.ek, *inventory));
      ASSIGN_OR_RETURN(LoadedEk ek, LoadEk(*tpm_, *slot, *inventory));
      ASSIGN_OR_RETURN(AkKeyBlob blob, CreateAk(*tpm_, ek, options_.ak_alg));
      RETURN_IF_ERROR(store_.Write(blob));
      ASSIGN_OR_RETURN(state.public_area, blob.PublicArea());
      state.blob = std::move(blob);
      state.present = true;
    }
    ak_ = std::move(state);
  }
  if (options_.require_ak_alg && AlgOf(ak_->public_area) != options_.ak_alg) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the AK in ", store_.dir(), " is ", AkAlgName(AlgOf(ak_->public_area)), ", not ",
        AkAlgName(options_.ak_alg), "; use another --state-dir for a second AK"));
  }
  return *ak_;
}

absl::StatusOr<Agent::LoadedAk> Agent::LoadStoredAk(const AkState& ak) {
  ASSIGN_OR_RETURN(const EkInventory* inventory, Inventory());
  const EkSlot* slot = FindEkSlotById(ak.blob.parent_slot);
  if (slot == nullptr) {
    return absl::DataLossError(absl::StrCat("unknown AK parent EK \"", ak.blob.parent_slot, "\""));
  }
  LoadedAk loaded;
  ASSIGN_OR_RETURN(loaded.parent, LoadEk(*tpm_, *slot, *inventory));
  ASSIGN_OR_RETURN(loaded.handle, LoadAk(*tpm_, loaded.parent, ak.blob));
  return loaded;
}

absl::StatusOr<AgentQuote> Agent::Quote(attest::ByteSpan nonce,
                                        const attest::PcrSelection& selection) {
  ASSIGN_OR_RETURN(const std::vector<uint16_t>* banks, ActiveBanks());
  for (const attest::PcrBankSelection& bank : selection) {
    if (bank.pcrs.empty()) continue;
    if (std::find(banks->begin(), banks->end(), bank.alg) == banks->end()) {
      std::vector<std::string> names;
      for (uint16_t alg : *banks) names.push_back(attest::HashAlgName(alg));
      return absl::InvalidArgumentError(
          absl::StrCat("PCR bank ", attest::HashAlgName(bank.alg),
                       " is not active on this TPM (active: ", absl::StrJoin(names, ", "), ")"));
    }
  }
  ASSIGN_OR_RETURN(AkState ak, EnsureAk());
  AgentQuote out;
  {
    ASSIGN_OR_RETURN(LoadedAk loaded, LoadStoredAk(ak));
    // The AK stays loaded on its own; release a transient parent EK before quoting.
    loaded.parent.handle.Reset();
    ASSIGN_OR_RETURN(out.quote, QuoteAndReadPcrs(*tpm_, loaded.handle.get(), nonce, selection,
                                                 options_.quote_attempts));
  }
  out.nonce.assign(nonce.begin(), nonce.end());
  out.ak_public = ak.blob.public_blob;
  out.ak_name = ak.blob.name;
  out.ak_public_area = ak.public_area;
  return out;
}

absl::StatusOr<attest::Bytes> Agent::ActivateCredential(attest::ByteSpan credential_blob,
                                                        attest::ByteSpan secret) {
  ASSIGN_OR_RETURN(AkState ak, ReadAk());
  if (!ak.present) {
    return absl::FailedPreconditionError(
        absl::StrCat("no AK in ", store_.dir(), ": a credential needs the AK it was made for"));
  }
  ASSIGN_OR_RETURN(const EkInventory* inventory, Inventory());
  ASSIGN_OR_RETURN(const EkSlot* slot, ResolveEkSlot(options_.ek, *inventory));
  ASSIGN_OR_RETURN(LoadedAk loaded, LoadStoredAk(ak));
  if (slot == loaded.parent.slot) {
    return ActivateCredentialWith(*tpm_, loaded.handle.get(), loaded.parent, credential_blob,
                                  secret);
  }
  loaded.parent.handle.Reset();
  ASSIGN_OR_RETURN(LoadedEk ek, LoadEk(*tpm_, *slot, *inventory));
  return ActivateCredentialWith(*tpm_, loaded.handle.get(), ek, credential_blob, secret);
}

}  // namespace bootgate::agent
