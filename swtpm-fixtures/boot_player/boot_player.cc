#include "swtpm-fixtures/boot_player/boot_player.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_types.h"
#include "attest/eventlog/replay.h"
#include "attest/tpm/pcr_selection.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/capabilities.h"
#include "node-agent/tpm/pcr.h"

namespace bootgate::agent {
namespace {

// PC Client PCRs a fresh TPM holds at zero: all but the DRTM PCRs 17-22 (which read all ones).
bool ResetsToZero(uint32_t pcr) { return pcr < 17 || pcr > 22; }

std::string BankNames(const std::vector<uint16_t>& banks) {
  std::vector<std::string> names;
  for (uint16_t alg : banks) names.push_back(attest::HashAlgName(alg));
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

attest::PcrSelection SelectionOf(const std::vector<uint16_t>& banks,
                                 const std::set<uint32_t>& pcrs) {
  attest::PcrSelection selection;
  for (uint16_t alg : banks) selection.push_back({alg, pcrs});
  return selection;
}

// Why the TPM cannot play this log, or "" when it can.
absl::StatusOr<std::string> CheckReproducible(TpmConnection& tpm, const PlayPlan& plan) {
  if (plan.log.startup_locality.value_or(0) != 0) {
    return absl::StrCat("the log starts PCR 0 from StartupLocality ", *plan.log.startup_locality,
                        "; a TPM reproduces that only when the platform starts it from that "
                        "locality, never by extends from locality 0");
  }
  if (plan.banks.empty()) {
    std::vector<uint16_t> log_banks;
    for (const attest::SpecIdAlgorithm& a : plan.log.algorithms) log_banks.push_back(a.alg);
    ASSIGN_OR_RETURN(std::vector<uint16_t> active, ReadActivePcrBanks(tpm));
    return absl::StrCat("no PCR bank in common: the log has ", BankNames(log_banks),
                        ", the TPM has ", BankNames(active));
  }
  ASSIGN_OR_RETURN(std::optional<std::set<uint32_t>> extendable,
                   ReadPcrsExtendableFromLocality0(tpm));
  std::vector<std::string> refused;
  for (uint32_t pcr : plan.pcrs) {
    const bool allowed = extendable.has_value() ? extendable->count(pcr) > 0 : ResetsToZero(pcr);
    if (!allowed || !ResetsToZero(pcr)) refused.push_back(absl::StrCat(pcr));
  }
  if (!refused.empty()) {
    return absl::StrCat("the log extends PCR ", absl::StrJoin(refused, ", "),
                        ", which the TPM does not let locality 0 extend (DRTM PCRs)");
  }

  // A fresh TPM: every PCR that resets to zero is still zero in every played bank.
  std::set<uint32_t> all;
  for (uint32_t pcr = 0; pcr <= attest::kMaxPcrIndex; ++pcr) {
    if (ResetsToZero(pcr)) all.insert(pcr);
  }
  ASSIGN_OR_RETURN(PcrReadResult now, ReadPcrs(tpm, SelectionOf(plan.banks, all)));
  for (const auto& [alg, bank] : now.values) {
    for (const auto& [pcr, value] : bank) {
      if (std::any_of(value.begin(), value.end(), [](uint8_t b) { return b != 0; })) {
        return absl::StrCat(attest::HashAlgName(alg), " PCR ", pcr, " is not at its reset value (",
                            attest::HexEncode(value),
                            "): playing a log needs a freshly started TPM");
      }
    }
  }
  return std::string();
}

}  // namespace

absl::StatusOr<PlayPlan> PlanPlay(TpmConnection& tpm, attest::ByteSpan log_bytes) {
  PlayPlan plan;
  ASSIGN_OR_RETURN(plan.log, attest::ParseEventLog(log_bytes));
  ASSIGN_OR_RETURN(std::vector<uint16_t> active, ReadActivePcrBanks(tpm));
  for (const attest::SpecIdAlgorithm& a : plan.log.algorithms) {
    const bool on_tpm = std::find(active.begin(), active.end(), a.alg) != active.end();
    (on_tpm ? plan.banks : plan.skipped_banks).push_back(a.alg);
  }
  for (const attest::Event& event : plan.log.events) {
    if (event.type == attest::kEvNoAction) continue;
    plan.pcrs.insert(event.pcr);
    ++plan.extends;
  }
  ASSIGN_OR_RETURN(plan.refusal, CheckReproducible(tpm, plan));
  return plan;
}

absl::StatusOr<PlayReport> Play(TpmConnection& tpm, const PlayPlan& plan) {
  if (!plan.refusal.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("refused: ", plan.refusal));
  }
  PlayReport report;
  for (const attest::Event& event : plan.log.events) {
    if (event.type == attest::kEvNoAction) continue;
    std::vector<attest::EventDigest> digests;
    for (uint16_t alg : plan.banks) {
      auto it = std::find_if(event.digests.begin(), event.digests.end(),
                             [alg](const attest::EventDigest& d) { return d.alg == alg; });
      if (it == event.digests.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("event ", event.index, " has no ", attest::HashAlgName(alg), " digest"));
      }
      digests.push_back(*it);
    }
    RETURN_IF_ERROR(ExtendPcr(tpm, event.pcr, digests));
    ++report.extended;
  }

  ASSIGN_OR_RETURN(attest::PcrValues replayed, attest::ReplayEventLog(plan.log));
  ASSIGN_OR_RETURN(PcrReadResult now, ReadPcrs(tpm, SelectionOf(plan.banks, plan.pcrs)));
  for (uint16_t alg : plan.banks) {
    for (uint32_t pcr : plan.pcrs) {
      const attest::Bytes& actual = now.values[alg][pcr];
      const attest::Bytes& expected = replayed[alg][pcr];
      if (actual != expected) {
        return absl::InternalError(
            absl::StrCat("after playing, ", attest::HashAlgName(alg), " PCR ", pcr, " is ",
                         attest::HexEncode(actual), " but the log replays to ",
                         attest::HexEncode(expected), " (was the TPM extended meanwhile?)"));
      }
    }
  }
  report.pcrs = std::move(now.values);
  return report;
}

}  // namespace bootgate::agent
