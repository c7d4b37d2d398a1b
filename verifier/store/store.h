// The verifier's durable evidence store: SQLite in WAL mode (synchronous=FULL, so a committed
// record survives a crash), schema versioned with PRAGMA user_version and migrated at open.
// Tables: nodes, enrollments, nonces, attestations (+ one findings row per finding), tokens,
// audit_events. Every write that belongs together (an attestation, its findings, its token, the
// node's clock state and the audit event) is one transaction.
//
// Thread-safe: one connection, serialized by a mutex (appraisal work happens outside it).
#ifndef BOOTGATE_VERIFIER_STORE_STORE_H_
#define BOOTGATE_VERIFIER_STORE_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "verifier/store/records.h"
#include "verifier/store/sqlite.h"

namespace bootgate::verifier {

inline constexpr int kStoreSchemaVersion = 4;
inline constexpr size_t kMaxListLimit = 1000;

class Store {
 public:
  // Opens or creates the database at `path`. A file that is not a SQLite database, fails
  // PRAGMA quick_check, or has a newer schema than this build knows is refused here with an
  // error naming the file (DataLoss / FailedPrecondition), never later in the middle of a request.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);

  absl::StatusOr<int> SchemaVersion();
  const std::string& path() const { return path_; }

  // --- Enrollments
  absl::Status InsertEnrollment(const EnrollmentRecord& record);
  absl::StatusOr<std::optional<EnrollmentRecord>> GetEnrollment(const std::string& id);
  // Finishes a challenged enrollment: state, findings, finished_at, erases the secret, and when
  // enrolled inserts or replaces the node (keeping an existing node's attestation history
  // fields). One transaction with its audit event.
  absl::Status FinishEnrollment(const std::string& id, EnrollmentState state,
                                const Findings& findings, absl::Time at);
  absl::StatusOr<std::vector<EnrollmentRecord>> ListEnrollments(size_t limit);

  // --- Nodes
  absl::StatusOr<std::optional<NodeRecord>> GetNode(const std::string& node_id);
  absl::StatusOr<std::optional<NodeRecord>> GetNodeByAkName(attest::ByteSpan ak_name);
  absl::StatusOr<std::vector<NodeRecord>> ListNodes(size_t limit);
  // NotFound for an unknown node; revoking twice keeps the first time and reason.
  absl::StatusOr<NodeRecord> RevokeNode(const std::string& node_id, const std::string& reason,
                                        absl::Time at);
  // True when some revoked node has this EK.
  absl::StatusOr<bool> IsEkRevoked(const std::string& ek_public_sha256);

  // --- Nonces
  absl::Status InsertNonce(const NonceRecord& record);
  // Looks the nonce up and, when fresh, marks it used in the same transaction: a nonce is
  // accepted at most once even under concurrent requests.
  absl::StatusOr<NonceConsumption> ConsumeNonce(attest::ByteSpan nonce, absl::Time now);

  // --- Attestations and tokens
  // Commits the attestation, its findings, the token (if any), the node's latest attestation and
  // (when `node_clock` is set) its clock state, and an audit event, atomically.
  absl::Status RecordAttestation(const AttestationRecord& record, const TokenRecord* token,
                                 const std::optional<ClockState>& node_clock);
  absl::StatusOr<std::optional<AttestationRecord>> GetAttestation(const std::string& id,
                                                                  bool include_evidence);
  // Newest first; empty node_id = all nodes. Evidence blobs are left out.
  absl::StatusOr<std::vector<AttestationRecord>> ListAttestations(const std::string& node_id,
                                                                  size_t limit);
  absl::StatusOr<std::vector<TokenRecord>> ListTokens(const std::string& node_id, size_t limit);

  // --- Policies (audit_queries.cc)
  // Records the content behind a policy id (kept once: the id embeds a digest of the content).
  absl::Status RecordPolicy(const PolicyRecord& policy);
  absl::StatusOr<std::optional<PolicyRecord>> GetPolicy(const std::string& policy_id);

  // --- Node states and notifications (node_state_store.cc)
  // The sinks ("webhook", "exec") every state change is queued for, in the same transaction as
  // the change. Set once at start, before any request; empty = record transitions only.
  void SetNotificationSinks(std::vector<std::string> sinks);
  // Nodes in state enrolled or trusted whose latest affirming attestation (or enrollment) is
  // older than `deadline` become stale, each with its transition and notifications. Returns the
  // transitions made.
  absl::StatusOr<std::vector<NodeTransition>> MarkStaleNodes(absl::Time now,
                                                             absl::Duration deadline);
  // Newest first; empty node_id = all nodes.
  absl::StatusOr<std::vector<NodeTransition>> ListNodeTransitions(const std::string& node_id,
                                                                  size_t limit);
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> CountNodesByState();
  // Undelivered notifications whose next attempt is due at `now`, oldest first; per node and
  // sink only the oldest undelivered one (delivery in order, also across retries).
  absl::StatusOr<std::vector<OutboxEntry>> DueNotifications(absl::Time now, size_t limit);
  absl::Status MarkNotificationDelivered(const std::string& event_id, const std::string& sink,
                                         absl::Time at);
  absl::Status MarkNotificationFailed(const std::string& event_id, const std::string& sink,
                                      const std::string& error, absl::Time next_attempt_at);
  // All notifications (delivered or not), oldest first.
  absl::StatusOr<std::vector<OutboxEntry>> ListNotifications(size_t limit);
  absl::StatusOr<int64_t> NotificationBacklog();
  // The database's size on disk: pages in use plus the write-ahead log.
  absl::StatusOr<int64_t> SizeBytes();
  // Health check: one read through the connection, and the file at path() is still the
  // database opened (same inode, SQLite header intact): SQLite's page cache would otherwise keep
  // answering for a file deleted, replaced or overwritten underneath it.
  absl::Status Ping();

  // --- Audit
  absl::Status AppendAudit(const std::string& kind, const std::string& subject,
                           const std::string& detail, absl::Time at);
  absl::StatusOr<std::vector<AuditEvent>> ListAudit(size_t limit);

 private:
  Store(SqliteDb db, std::string path) : path_(std::move(path)), db_(std::move(db)) {}
  absl::Status Initialize() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AuditLocked(const std::string& kind, const std::string& subject,
                           const std::string& detail, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RememberFileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Node state machine helpers (node_state_store.cc), called inside the transactions of
  // RecordAttestation and RevokeNode.
  absl::Status ApplyAttestationStateLocked(const AttestationRecord& a)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<NodeTransition> TransitionLocked(const std::string& node_id,
                                                  const std::string& old_state,
                                                  const std::string& new_state,
                                                  const Findings& reasons,
                                                  const std::string& attestation_id, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<NodeRecord>> QueryNode(const std::string& where,
                                                      const std::string& text_arg,
                                                      attest::ByteSpan blob_arg)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  SqliteDb db_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> notification_sinks_ ABSL_GUARDED_BY(mu_);
  uint64_t file_dev_ ABSL_GUARDED_BY(mu_) = 0;  // the database file as opened (Ping)
  uint64_t file_ino_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_STORE_STORE_H_
