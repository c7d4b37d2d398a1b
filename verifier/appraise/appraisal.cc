#include "verifier/appraise/appraisal.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "attest/quote/findings.h"
#include "nlohmann/json.hpp"

namespace bootgate::verifier {

namespace {

std::string ClockText(const ClockState& c) {
  return absl::StrCat("resetCount ", c.reset_count, " restartCount ", c.restart_count, " clock ",
                      c.clock, c.safe ? "" : " (not safe)");
}

// One appraisal stage: returns its findings (empty = passed) and a detail for the record.
struct StageOutcome {
  Findings findings;
  std::string detail;
};

}  // namespace

const char* StageStateName(StageState state) {
  switch (state) {
    case StageState::kPassed:
      return "passed";
    case StageState::kFailed:
      return "failed";
    case StageState::kNotRun:
      return "not_run";
  }
  return "not_run";
}

std::optional<Finding> CheckClock(const std::optional<ClockState>& previous,
                                  const ClockState& current, bool* new_boot) {
  *new_boot = false;
  if (!previous.has_value()) {
    *new_boot = true;
    return std::nullopt;
  }
  const ClockState& p = *previous;
  if (current.reset_count < p.reset_count) {
    return Finding{codes::kClockResetCountRegressed,
                   absl::StrCat("resetCount went back from ", p.reset_count, " to ",
                                current.reset_count, " (a replayed or foreign quote)")};
  }
  if (current.reset_count > p.reset_count) {
    *new_boot = true;
    return std::nullopt;
  }
  if (current.restart_count < p.restart_count) {
    return Finding{codes::kClockRestartCountRegressed,
                   absl::StrCat("restartCount went back from ", p.restart_count, " to ",
                                current.restart_count, " within resetCount ", current.reset_count)};
  }
  if (current.restart_count == p.restart_count && current.clock < p.clock) {
    return Finding{
        codes::kClockRegressed,
        absl::StrCat("clock went back from ", p.clock, " to ", current.clock, " within resetCount ",
                     current.reset_count, " restartCount ", current.restart_count)};
  }
  return std::nullopt;
}

Appraisal Appraiser::Appraise(const AppraisalInput& in) const {
  Appraisal out;
  out.policy_id = policy_->id();

  // State shared between stages; filled by earlier ones, read by later ones.
  attest::PcrSelection requested;
  attest::QuoteResult quote;
  bool log_parsed = false;
  attest::UnverifiedEventLog log;

  const std::vector<std::pair<const char*, std::function<StageOutcome()>>> plan = {
      {kStageNonce,
       [&]() -> StageOutcome {
         switch (in.nonce.state) {
           case NonceState::kUnknown:
             return {{{codes::kNonceUnknown, "the nonce was not issued by this verifier"}}, ""};
           case NonceState::kUsed:
             return {{{codes::kNonceUsed,
                       "the nonce was already used (a replayed or repeated attestation)"}},
                     ""};
           case NonceState::kExpired:
             return {{{codes::kNonceExpired,
                       absl::StrCat("the nonce expired at ",
                                    absl::FormatTime(absl::RFC3339_sec, in.nonce.record.expires_at,
                                                     absl::UTCTimeZone()))}},
                     ""};
           case NonceState::kFresh:
             break;
         }
         if (in.nonce.record.node_id != in.claimed_node_id) {
           return {{{codes::kNonceWrongNode,
                     absl::StrCat("the nonce was issued to ", in.nonce.record.node_id, ", not ",
                                  in.claimed_node_id)}},
                   ""};
         }
         auto sel = attest::ParsePcrSelectionSpec(in.nonce.record.selection);
         if (!sel.ok()) {
           return {{{codes::kNonceUnknown,
                     absl::StrCat("stored selection does not parse: ", sel.status().message())}},
                   ""};
         }
         requested = *std::move(sel);
         return {{}, absl::StrCat("fresh, single use, selection ", in.nonce.record.selection)};
       }},
      {kStageNode,
       [&]() -> StageOutcome {
         if (!in.node.has_value()) {
           return {{{codes::kNodeUnknown,
                     absl::StrCat("node ", in.nonce.record.node_id, " is not enrolled")}},
                   ""};
         }
         if (in.node->revoked()) {
           return {
               {{codes::kNodeRevoked,
                 absl::StrCat(
                     "node ", in.node->node_id, " was revoked at ",
                     absl::FormatTime(absl::RFC3339_sec, *in.node->revoked_at, absl::UTCTimeZone()),
                     in.node->revoke_reason.empty() ? "" : ": ", in.node->revoke_reason)}},
               ""};
         }
         return {
             {},
             absl::StrCat(in.node->node_id, " enrolled, AK ", attest::HexEncode(in.node->ak_name))};
       }},
      {kStageQuote,
       [&]() -> StageOutcome {
         if (!in.event_log.empty()) {
           auto parsed = attest::ParseEventLog(in.event_log);
           if (parsed.ok()) {
             log = *std::move(parsed);
             log_parsed = true;
           }
         }
         attest::PcrValues replayed;
         bool have_replay = false;
         if (log_parsed) {
           auto r = attest::ReplayEventLog(log);
           if (r.ok()) {
             replayed = *std::move(r);
             have_replay = true;
           } else {
             log_parsed = false;
           }
         }
         attest::QuoteInput q;
         q.ak_public = in.node->ak_public;
         q.attest = in.quote;
         q.signature = in.signature;
         q.nonce = in.nonce.record.nonce;
         q.requested_selection = &requested;
         q.pcr_values = in.pcrs;
         q.replayed_pcrs = have_replay ? &replayed : nullptr;
         quote = attest::VerifyQuote(q);
         const attest::QuoteCheck* failed = quote.FirstFailure();
         // eventlog_replay belongs to the eventlog stage, after the clock (DESIGN.md order).
         if (failed != nullptr && failed->name != attest::kCheckEventLogReplay) {
           return {{{attest::QuoteFindingName(failed->finding),
                     absl::StrCat(failed->name, ": ", failed->detail)}},
                   ""};
         }
         if (!quote.quote.has_value()) {
           return {{{attest::QuoteFindingName(attest::QuoteFinding::kNotVerified),
                     "the quote did not decode"}},
                   ""};
         }
         out.quoted_pcrs = quote.quoted_pcrs;
         const attest::QuotedInfo& info = *quote.quote;
         out.clock = ClockState{info.clock.clock, info.clock.reset_count, info.clock.restart_count,
                                info.clock.safe};
         return {{},
                 absl::StrCat("signature, nonce, selection ",
                              attest::FormatPcrSelectionSpec(info.selection),
                              " and pcrDigest verified")};
       }},
      {kStageClock,
       [&]() -> StageOutcome {
         bool new_boot = false;
         std::optional<Finding> f = CheckClock(in.node->last_clock, *out.clock, &new_boot);
         if (f.has_value()) return {{*f}, ""};
         out.new_boot = new_boot;
         out.node_clock = out.clock;
         return {{}, absl::StrCat(ClockText(*out.clock), new_boot ? " (new boot)" : "")};
       }},
      {kStageEventLog,
       [&]() -> StageOutcome {
         if (in.event_log.empty()) {
           return {{{codes::kEventLogMissing, "no event log was supplied"}}, ""};
         }
         if (!log_parsed) {
           auto parsed = attest::ParseEventLog(in.event_log);
           std::string why = parsed.ok()
                                 ? std::string(attest::ReplayEventLog(*parsed).status().message())
                                 : std::string(parsed.status().message());
           return {{{codes::kEventLogMalformed, why}}, ""};
         }
         const attest::QuoteCheck* failed = quote.FirstFailure();
         if (failed != nullptr) {
           return {{{attest::QuoteFindingName(failed->finding), failed->detail}}, ""};
         }
         for (const attest::QuoteCheck& c : quote.checks) {
           if (c.name == attest::kCheckEventLogReplay) return {{}, c.detail};
         }
         return {{{codes::kEventLogMalformed, "the replay check did not run"}}, ""};
       }},
      {kStagePolicy,
       [&]() -> StageOutcome {
         auto verified = attest::VerifyEventLog(log, out.quoted_pcrs);
         if (!verified.ok()) {
           return {{{attest::QuoteFindingName(attest::QuoteFinding::kEventLogBankMissing),
                     std::string(verified.status().message())}},
                   ""};
         }
         PolicyOutcome outcome = policy_->Evaluate(out.quoted_pcrs, *verified, in.policy_context);
         out.policy_matched = outcome.matched;
         out.policy_warnings = std::move(outcome.warnings);
         out.policy_explanation = std::move(outcome.explanation);
         if (!outcome.violations.empty()) return {std::move(outcome.violations), ""};
         return {{},
                 absl::StrCat("satisfied ", policy_->id(),
                              outcome.matched.empty() ? "" : absl::StrCat(": ", outcome.matched))};
       }},
  };

  const char* failed_stage = nullptr;
  for (const auto& [name, run] : plan) {
    if (failed_stage != nullptr) {
      out.stages.push_back(
          Stage{name, StageState::kNotRun, absl::StrCat("not run: ", failed_stage, " failed")});
      continue;
    }
    StageOutcome r = run();
    if (r.findings.empty()) {
      out.stages.push_back(Stage{name, StageState::kPassed, std::move(r.detail)});
      continue;
    }
    failed_stage = name;
    std::string detail = r.findings.front().code;
    for (size_t i = 1; i < r.findings.size(); ++i)
      absl::StrAppend(&detail, ", ", r.findings[i].code);
    out.stages.push_back(Stage{name, StageState::kFailed, std::move(detail)});
    for (Finding& f : r.findings) out.findings.push_back(std::move(f));
  }

  bool every_stage_passed = out.stages.size() == plan.size() && out.findings.empty();
  for (const Stage& s : out.stages) every_stage_passed &= s.state == StageState::kPassed;
  if (every_stage_passed) {
    // The one place an attestation becomes affirming.
    out.verdict = kVerdictAffirming;
  }
  return out;
}

std::string StagesToJson(const std::vector<Stage>& stages) {
  nlohmann::json j = nlohmann::json::array();
  for (const Stage& s : stages) {
    j.push_back({{"name", s.name}, {"state", StageStateName(s.state)}, {"detail", s.detail}});
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<Stage> StagesFromJson(const std::string& json) {
  std::vector<Stage> out;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& s : j) {
    if (!s.is_object()) continue;
    Stage st;
    st.name = s.value("name", "");
    const std::string state = s.value("state", "");
    st.state = state == "passed"   ? StageState::kPassed
               : state == "failed" ? StageState::kFailed
                                   : StageState::kNotRun;
    st.detail = s.value("detail", "");
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace bootgate::verifier
