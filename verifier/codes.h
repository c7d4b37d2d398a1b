// Stable reason and finding codes of the verifier. They are stored in audit records, returned in
// API results and documented in docs/api.md: never renamed. Quote-level codes (QUOTE_*,
// EVENTLOG_BANK_MISSING, EVENTLOG_REPLAY_MISMATCH) come from attest/quote/findings.h.
#ifndef BOOTGATE_VERIFIER_CODES_H_
#define BOOTGATE_VERIFIER_CODES_H_

#include <string>
#include <vector>

namespace bootgate::verifier {

// One named outcome: a stable code and a human-readable detail.
struct Finding {
  std::string code;
  std::string detail;

  bool operator==(const Finding& o) const { return code == o.code && detail == o.detail; }
};
using Findings = std::vector<Finding>;

namespace codes {

// Enrollment (StartEnrollment / FinishEnrollment).
inline constexpr char kEnrollEkCertMissing[] = "ENROLL_EK_CERT_MISSING";
inline constexpr char kEnrollEkCertMalformed[] = "ENROLL_EK_CERT_MALFORMED";
inline constexpr char kEnrollEkPublicMalformed[] = "ENROLL_EK_PUBLIC_MALFORMED";
inline constexpr char kEnrollEkPublicMismatch[] = "ENROLL_EK_PUBLIC_MISMATCH";
inline constexpr char kEnrollEkChainUntrusted[] = "ENROLL_EK_CHAIN_UNTRUSTED";
inline constexpr char kEnrollEkExpired[] = "ENROLL_EK_EXPIRED";
inline constexpr char kEnrollEkNotYetValid[] = "ENROLL_EK_NOT_YET_VALID";
inline constexpr char kEnrollEkEkuMissing[] = "ENROLL_EK_EKU_MISSING";
inline constexpr char kEnrollEkSanMissing[] = "ENROLL_EK_SAN_MISSING";
inline constexpr char kEnrollEkAttributes[] = "ENROLL_EK_ATTRIBUTES";
inline constexpr char kEnrollEkNotAllowed[] = "ENROLL_EK_NOT_ALLOWED";
inline constexpr char kEnrollEkRevoked[] = "ENROLL_EK_REVOKED";
inline constexpr char kEnrollAkMalformed[] = "ENROLL_AK_MALFORMED";
inline constexpr char kEnrollAkAttributes[] = "ENROLL_AK_ATTRIBUTES";
inline constexpr char kEnrollActivationFailed[] = "ENROLL_ACTIVATION_FAILED";
inline constexpr char kEnrollChallengeExpired[] = "ENROLL_CHALLENGE_EXPIRED";
inline constexpr char kEnrollAlreadyFinished[] = "ENROLL_ALREADY_FINISHED";

// Attestation, in pipeline order (DESIGN.md "Attestation" step 3).
inline constexpr char kNonceUnknown[] = "NONCE_UNKNOWN";
inline constexpr char kNonceUsed[] = "NONCE_USED";
inline constexpr char kNonceExpired[] = "NONCE_EXPIRED";
inline constexpr char kNonceWrongNode[] = "NONCE_WRONG_NODE";
inline constexpr char kNodeUnknown[] = "NODE_UNKNOWN";
inline constexpr char kNodeRevoked[] = "NODE_REVOKED";
// Node state changes that no attestation caused (verifier/state/).
inline constexpr char kNodeStale[] = "NODE_STALE";
// QUOTE_* from attest::QuoteFindingName.
inline constexpr char kClockResetCountRegressed[] = "CLOCK_RESET_COUNT_REGRESSED";
inline constexpr char kClockRestartCountRegressed[] = "CLOCK_RESTART_COUNT_REGRESSED";
inline constexpr char kClockRegressed[] = "CLOCK_REGRESSED";
inline constexpr char kEventLogMissing[] = "EVENTLOG_MISSING";
inline constexpr char kEventLogMalformed[] = "EVENTLOG_MALFORMED";
// EVENTLOG_BANK_MISSING / EVENTLOG_REPLAY_MISMATCH from attest::QuoteFindingName.
inline constexpr char kPolicyPcrNotQuoted[] = "POLICY_PCR_NOT_QUOTED";
inline constexpr char kPolicyPcrMismatch[] = "POLICY_PCR_MISMATCH";

// Join tokens (reported as findings; the verdict itself stays as appraised).
inline constexpr char kTokenIssuerFailed[] = "TOKEN_ISSUER_FAILED";

}  // namespace codes
}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_CODES_H_
