// Appraisal policy interface (DESIGN.md: policy is evaluated on the quoted PCRs and the
// replay-verified events only, never on unverified event types or descriptions). Two kinds:
// PcrValuePolicy (pcr_policy.h: allowed final PCR values) and GoldenPolicy (golden_policy.h:
// event-level golden images from policy/). ActivePolicy (active_policy.h) holds the one in force.
#ifndef BOOTGATE_VERIFIER_APPRAISE_POLICY_H_
#define BOOTGATE_VERIFIER_APPRAISE_POLICY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

#include "attest/eventlog/replay.h"
#include "attest/pcr/pcr_values.h"
#include "attest/tpm/pcr_selection.h"
#include "verifier/codes.h"

namespace bootgate::verifier {

// What a policy may know about the node besides its evidence.
struct PolicyContext {
  std::map<std::string, std::string> labels;  // node-group labels set at enrollment
  absl::Time now = absl::UnixEpoch();         // for notBefore/notAfter of golden images
};

struct PolicyOutcome {
  Findings violations;      // empty means the policy is satisfied
  Findings warnings;        // warn-only rules that failed: recorded, never contraindicating
  std::string matched;      // what was matched, e.g. "golden image X on platform Y"; "" if nothing
  std::string explanation;  // one line per check, for the record and `bootgate attestations show`
};

class Policy {
 public:
  virtual ~Policy() = default;

  // Stable identifier recorded with every attestation and in the EAR.
  virtual const std::string& id() const = 0;
  virtual const char* kind() const = 0;
  // The policy source as loaded (for the admin API).
  virtual const std::string& content() const = 0;
  virtual const std::string& path() const = 0;
  // SHA-256 fingerprints of the keys whose signatures were verified (empty when unsigned).
  virtual std::vector<std::string> signed_by() const { return {}; }
  // (bank, PCR) pairs the policy reads: they must be part of the requested selection.
  virtual attest::PcrSet RequiredPcrs() const = 0;

  // `quoted`: exactly the values the quote signed (authentic). `events`: the events whose PCRs
  // replayed to those values. Returns every violation; no violation means the policy is satisfied.
  virtual PolicyOutcome Evaluate(const attest::PcrValues& quoted,
                                 const attest::VerifiedEventLog& events,
                                 const PolicyContext& context) const = 0;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_APPRAISE_POLICY_H_
