// Rows of the verifier's evidence store (store.h). Plain values; timestamps are absl::Time.
#ifndef BOOTGATE_VERIFIER_STORE_RECORDS_H_
#define BOOTGATE_VERIFIER_STORE_RECORDS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "attest/util/bytes.h"
#include "verifier/codes.h"

namespace bootgate::verifier {

using attest::Bytes;

// TPMS_CLOCK_INFO of an authentic quote.
struct ClockState {
  uint64_t clock = 0;
  uint32_t reset_count = 0;
  uint32_t restart_count = 0;
  bool safe = false;
};

inline constexpr char kVerdictAffirming[] = "affirming";
inline constexpr char kVerdictContraindicated[] = "contraindicated";

// Node states. enrolled -> trusted | untrusted (an attestation with an authentic quote),
// -> stale (no affirming attestation within the deadline), -> revoked (an operator; final).
inline constexpr char kNodeStateEnrolled[] = "enrolled";
inline constexpr char kNodeStateTrusted[] = "trusted";
inline constexpr char kNodeStateUntrusted[] = "untrusted";
inline constexpr char kNodeStateStale[] = "stale";
inline constexpr char kNodeStateRevoked[] = "revoked";

struct NodeRecord {
  std::string node_id;
  Bytes ak_name;
  Bytes ak_public;  // TPM2B_PUBLIC as enrolled
  Bytes ek_public;  // TPM2B_PUBLIC as enrolled
  std::string ek_public_sha256;
  std::string ek_cert_sha256;
  uint32_t ek_cert_nv_index = 0;
  Bytes ek_cert;  // DER
  std::string tpm_manufacturer;
  std::string tpm_model;
  std::string tpm_version;
  std::string hostname;
  absl::Time enrolled_at = absl::InfinitePast();
  std::string enrollment_id;
  std::optional<absl::Time> revoked_at;
  std::string revoke_reason;
  std::optional<absl::Time> last_attested_at;
  std::string last_attestation_id;
  std::string last_verdict;
  std::optional<ClockState> last_clock;
  // Node-group labels set at enrollment (policies select golden images by them).
  std::map<std::string, std::string> labels;
  // Node state (docs/verifier.md "Node states"): enrolled, trusted, untrusted, stale,
  // revoked. last_attested_at is the latest *affirming* attestation, last_attempt_at the latest
  // attestation of any verdict.
  std::string state = kNodeStateEnrolled;
  absl::Time state_since = absl::InfinitePast();
  std::optional<absl::Time> last_attempt_at;

  bool revoked() const { return revoked_at.has_value(); }
};

// One recorded state change of a node (also the notification event with the same id).
struct NodeTransition {
  std::string event_id;  // stable; receivers deduplicate on it
  std::string node_id;
  absl::Time at = absl::InfinitePast();
  std::string old_state;
  std::string new_state;
  Findings reasons;            // finding codes that caused it
  std::string attestation_id;  // the attestation that caused it ("" for stale / revoked)
};

// One pending or delivered notification: one row per event and sink ("webhook", "exec").
struct OutboxEntry {
  std::string event_id;
  std::string sink;
  std::string payload;  // the event JSON, fixed at transition time (retries send the same bytes)
  absl::Time created_at = absl::InfinitePast();
  int64_t attempts = 0;
  absl::Time next_attempt_at = absl::InfinitePast();
  std::optional<absl::Time> delivered_at;
  std::string last_error;
};

enum class EnrollmentState { kChallenged, kEnrolled, kRejected };
const char* EnrollmentStateName(EnrollmentState state);

struct EnrollmentRecord {
  std::string enrollment_id;
  absl::Time created_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfinitePast();
  EnrollmentState state = EnrollmentState::kRejected;
  Findings findings;
  Bytes request;  // the StartEnrollmentRequest exactly as received (raw evidence)
  Bytes secret;   // the credential challenge secret; erased when the enrollment finishes
  // The node this enrollment creates once activation succeeds (its node_id is set when known).
  NodeRecord node;
  std::optional<absl::Time> finished_at;
};

struct NonceRecord {
  Bytes nonce;
  std::string node_id;
  std::string selection;  // PCR selection spec requested with it
  absl::Time issued_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfinitePast();
  std::optional<absl::Time> used_at;
};

enum class NonceState { kFresh, kUnknown, kUsed, kExpired };

struct NonceConsumption {
  NonceState state = NonceState::kUnknown;
  NonceRecord record;  // set unless kUnknown
};

struct AttestationRecord {
  std::string attestation_id;
  std::string node_id;
  absl::Time created_at = absl::InfinitePast();
  std::string verdict = kVerdictContraindicated;
  Findings findings;
  std::string checks_json;  // [{"name":..,"state":..,"detail":..}] in pipeline order
  std::string policy_id;
  // What the policy matched (e.g. "golden image debian-12@6.1.0-27 on platform ovmf-2023.05"),
  // warn-only findings, and the policy's explanation of its decision.
  std::string policy_matched;
  Findings policy_warnings;
  std::string policy_explanation;
  std::optional<ClockState> clock;
  bool new_boot = false;
  std::string token_id;
  std::string ear_jwt;
  int64_t appraisal_micros = 0;
  // Raw evidence as received.
  Bytes nonce;
  Bytes quote;
  Bytes signature;
  std::string pcrs_json;  // {"sha256": {"0": "hex"}} as supplied (valid requests only)
  Bytes event_log;
  Bytes ima_log;
};

struct TokenRecord {
  std::string token_id;
  std::string node_id;
  std::string attestation_id;
  absl::Time issued_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfinitePast();
  std::string issuer;
  std::string status;  // "issued" or "failed"
  std::string reason;
};

// The exact policy source behind a recorded policy id (Policy::kind() / content()).
struct PolicyRecord {
  std::string policy_id;
  std::string kind;
  std::string content;
  absl::Time first_loaded_at = absl::InfinitePast();
};

struct AuditEvent {
  int64_t seq = 0;
  absl::Time at = absl::InfinitePast();
  std::string kind;     // e.g. "enrollment.rejected", "node.revoked", "attestation"
  std::string subject;  // the id the event is about
  std::string detail;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_STORE_RECORDS_H_
