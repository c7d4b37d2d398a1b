// Learning golden measurements from a known-good event log: a GoldenImage (PCRs 4, 5, 7, 8, 9,
// 11, 14), a PlatformReference (PCRs 0-3, 6) and a Policy that accepts exactly them. All banks of
// the log are kept; the learned Policy enforces sha256 (or the log's only bank).
//
// The log is replayed against itself first: learning trusts the operator's choice of reference
// machine, not the log's internal consistency, so a log with events whose digest does not cover
// data it must cover (a separator, action or variable that lies) is refused.
#ifndef BOOTGATE_POLICY_LEARN_H_
#define BOOTGATE_POLICY_LEARN_H_

#include <string>

#include "absl/status/statusor.h"
#include "attest/eventlog/event_log.h"
#include "policy/model.h"

namespace bootgate::policy {

struct LearnOptions {
  std::string image_name = "learned-image";
  std::string image_version = "1";
  // Empty: "platform-<first 8 hex of the sha256 (or first bank) PCR 0 replay>".
  std::string platform_name;
  std::string platform_version = "1";
  std::string policy_name = "learned-policy";
};

// A PolicySet with one image, one platform and one Policy (group "default", empty selector,
// quirks the log needs, e.g. application-before-boot-option for QEMU direct kernel boot).
absl::StatusOr<PolicySet> LearnPolicy(const attest::UnverifiedEventLog& log,
                                      const LearnOptions& options);

}  // namespace bootgate::policy

#endif  // BOOTGATE_POLICY_LEARN_H_
