// Evaluation of a validated policy set against evidence: the quoted PCR values and the events
// that replayed to them (attest::VerifiedEventLog). Nothing else is looked at: events on PCRs
// that were not quoted or did not replay are absent from a VerifiedEventLog, and only the
// policy's enforced banks (every one of which must be quoted) are compared.
//
// The result is a value: a verdict that starts rejected and is set to accepted in one place
// after every check ran, the matched golden image and platform reference, findings with stable
// codes (findings.h) and, for every candidate that did not match, its findings and the first
// differing event. Map Finding {code, detail} 1:1 onto verifier::Finding.
#ifndef BOOTGATE_POLICY_EVALUATE_H_
#define BOOTGATE_POLICY_EVALUATE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/eventlog/replay.h"
#include "attest/pcr/pcr_values.h"
#include "nlohmann/json.hpp"
#include "policy/model.h"

namespace bootgate::policy {

enum class Verdict { kRejected, kAccepted };
const char* VerdictName(Verdict v);  // "rejected" / "accepted"

struct Finding {
  std::string code;    // findings.h
  std::string detail;  // one line for humans and audit records
};

// Where a candidate and the evidence first part ways.
struct EventDifference {
  std::string code;  // the finding this difference produced
  uint32_t pcr = 0;
  std::optional<size_t> event_index;  // the actual event; absent when an expected one is missing
  std::string bank;                   // "sha256"; empty when not a digest comparison
  std::string expected;               // hex digest or expected text; empty when nothing expected
  std::string actual;                 // hex digest or actual text; empty when the event is missing
  std::string expected_description;   // the golden item ("boot chain [2] kernel")
  std::string actual_description;     // the decoded actual event
};

struct CandidateResult {
  std::string name;
  std::string version;
  bool matched = false;
  std::vector<Finding> findings;                    // why it did not match (empty when it matched)
  std::vector<Finding> warnings;                    // warn-only findings
  std::optional<EventDifference> first_difference;  // earliest in log order
};

struct Evaluation {
  Verdict verdict = Verdict::kRejected;
  std::string policy_version;  // loader.h PolicyVersionId
  std::string group;           // the node group the labels selected ("" if none)
  std::optional<CandidateResult> matched_image;
  std::optional<CandidateResult> matched_platform;
  std::vector<Finding> findings;  // every reason for rejection (empty when accepted)
  std::vector<Finding> warnings;
  std::vector<CandidateResult> images;     // every image of the group, in policy order
  std::vector<CandidateResult> platforms;  // every platform of the group, in policy order
};

// Evaluates. Errors only for a set that fails ValidatePolicySet (never an accept-all fallback);
// everything about the evidence is a finding. `labels` are the node's enrollment labels, `now`
// decides notBefore/notAfter.
absl::StatusOr<Evaluation> EvaluatePolicy(const PolicySet& set, const attest::PcrValues& quoted,
                                          const attest::VerifiedEventLog& log,
                                          const std::map<std::string, std::string>& labels,
                                          absl::Time now);

// {"verdict", "policyVersion", "group", "matchedImage": {"name","version"}|null,
//  "matchedPlatform", "findings": [{"code","detail"}], "warnings", "candidates": {"images":
//  [{"name","version","matched","findings","warnings","firstDifference": {...}}], "platforms"}}
nlohmann::json EvaluationToJson(const Evaluation& e);
// Multi-line explanation for `bootgate policy check`.
std::string FormatEvaluation(const Evaluation& e);

}  // namespace bootgate::policy

#endif  // BOOTGATE_POLICY_EVALUATE_H_
