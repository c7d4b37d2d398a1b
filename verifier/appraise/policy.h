// Appraisal policy interface (DESIGN.md: policy is evaluated on the quoted PCRs and the
// replay-verified events only, never on unverified event types or descriptions). This issue ships
// one implementation, PcrValuePolicy (pcr_policy.h); golden-image policies plug in here later.
#ifndef BOOTGATE_VERIFIER_APPRAISE_POLICY_H_
#define BOOTGATE_VERIFIER_APPRAISE_POLICY_H_

#include <string>

#include "attest/eventlog/replay.h"
#include "attest/pcr/pcr_values.h"
#include "attest/tpm/pcr_selection.h"
#include "verifier/codes.h"

namespace bootgate::verifier {

class Policy {
 public:
  virtual ~Policy() = default;

  // Stable identifier recorded with every attestation and in the EAR.
  virtual const std::string& id() const = 0;
  virtual const char* kind() const = 0;
  // The policy source as loaded (for the admin API).
  virtual const std::string& content() const = 0;
  virtual const std::string& path() const = 0;
  // (bank, PCR) pairs the policy reads: they must be part of the requested selection.
  virtual attest::PcrSet RequiredPcrs() const = 0;

  // `quoted`: exactly the values the quote signed (authentic). `events`: the events whose PCRs
  // replayed to those values. Returns every violation; empty means the policy is satisfied.
  virtual Findings Evaluate(const attest::PcrValues& quoted,
                            const attest::VerifiedEventLog& events) const = 0;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_APPRAISE_POLICY_H_
