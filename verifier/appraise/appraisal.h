// The attestation appraisal pipeline, in DESIGN.md's order, fail closed:
//
//   nonce     the request's nonce was issued by us, for this node, is unused and unexpired
//             (consumed atomically by the store before appraisal)
//   node      the node is enrolled and not revoked
//   quote     VerifyQuote with the enrolled AK and the nonce's requested selection: signature
//             (scheme pinned by the AK), magic, type, extraData == nonce, signed selection ==
//             requested, supplied PCR values cover exactly it, pcrDigest
//   clock     clockInfo monotonic per AK: resetCount never goes back; within one resetCount,
//             restartCount never goes back; within both, clock never goes back. A higher
//             resetCount (or the first quote) is a new boot; every attestation is a full
//             appraisal anyway, so it is recorded, not treated differently.
//   eventlog  the event log parses and replays, per quoted bank, to the quoted PCR values
//   policy    Policy::Evaluate on the quoted PCRs and the replay-verified events
//
// Each stage runs only when all earlier ones passed (a later stage's inputs are unauthenticated
// otherwise) and is then listed as not run. The verdict starts contraindicated and is set to
// affirming in exactly one place, after every stage ran and passed.
#ifndef BOOTGATE_VERIFIER_APPRAISE_APPRAISAL_H_
#define BOOTGATE_VERIFIER_APPRAISE_APPRAISAL_H_

#include <optional>
#include <string>
#include <vector>

#include "attest/pcr/pcr_values.h"
#include "attest/quote/quote_verifier.h"
#include "attest/util/bytes.h"
#include "verifier/appraise/policy.h"
#include "verifier/codes.h"
#include "verifier/store/records.h"

namespace bootgate::verifier {

inline constexpr char kStageNonce[] = "nonce";
inline constexpr char kStageNode[] = "node";
inline constexpr char kStageQuote[] = "quote";
inline constexpr char kStageClock[] = "clock";
inline constexpr char kStageEventLog[] = "eventlog";
inline constexpr char kStagePolicy[] = "policy";

enum class StageState { kPassed, kFailed, kNotRun };
const char* StageStateName(StageState state);

struct Stage {
  std::string name;
  StageState state = StageState::kNotRun;
  std::string detail;
};

struct AppraisalInput {
  std::string claimed_node_id;     // AttestRequest.node_id
  NonceConsumption nonce;          // Store::ConsumeNonce of the request's nonce
  std::optional<NodeRecord> node;  // the nonce's node, as stored
  attest::ByteSpan quote;
  attest::ByteSpan signature;
  const attest::PcrValues* pcrs = nullptr;  // the agent's PCR_Read values (never null)
  attest::ByteSpan event_log;
  PolicyContext policy_context;  // the node's labels and the appraisal time
};

struct Appraisal {
  std::string verdict = kVerdictContraindicated;
  Findings findings;
  std::vector<Stage> stages;
  std::optional<ClockState> clock;       // the quote's clockInfo, once the quote is authentic
  std::optional<ClockState> node_clock;  // the clock state to store for the node (high-water)
  bool new_boot = false;
  std::string policy_id;
  std::string policy_matched;
  Findings policy_warnings;
  std::string policy_explanation;
  attest::PcrValues quoted_pcrs;

  bool affirming() const { return verdict == kVerdictAffirming; }
};

class Appraiser {
 public:
  // `policy` must outlive the appraiser.
  explicit Appraiser(const Policy* policy) : policy_(policy) {}

  Appraisal Appraise(const AppraisalInput& input) const;

 private:
  const Policy* policy_;
};

// Checks `current` against the last authentic clock state of the same AK. Returns a finding on
// regression; sets *new_boot for a first quote or a higher resetCount.
std::optional<Finding> CheckClock(const std::optional<ClockState>& previous,
                                  const ClockState& current, bool* new_boot);

// "[{"name":..,"state":..,"detail":..}]" for the record.
std::string StagesToJson(const std::vector<Stage>& stages);
std::vector<Stage> StagesFromJson(const std::string& json);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_APPRAISE_APPRAISAL_H_
