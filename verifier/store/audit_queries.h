// Read-only access to a verifier store for `bootgate audit export` and `bootgate report`.
//
// These tools open the SQLite file themselves, read-only (SQLITE_OPEN_READONLY, so they can never
// migrate or change it), inside one read transaction: WAL readers see one consistent snapshot and
// never block the running verifier. The admin API is not used for them because it lists at most
// 1000 records, has no time window, and does not carry nonces, enrollment requests or policy
// content, which an audit bundle needs.
#ifndef BOOTGATE_VERIFIER_STORE_AUDIT_QUERIES_H_
#define BOOTGATE_VERIFIER_STORE_AUDIT_QUERIES_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "verifier/store/records.h"
#include "verifier/store/sqlite.h"

namespace bootgate::verifier {

// A time window [since, until).
struct TimeWindow {
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
};

// A node as the reports see it: the record plus the state column when the schema has one
// (node states, issue 7), else a state derived from the record (see DerivedNodeState).
struct ReportNode {
  NodeRecord node;
  std::string state;
};

// "revoked" | "enrolled" (never attested) | "trusted" | "untrusted" (last verdict).
std::string DerivedNodeState(const NodeRecord& node);

class AuditReader {
 public:
  // Opens `path` read-only and starts the snapshot. NotFound for a missing file; DataLoss for a
  // file that is not a database; FailedPrecondition for a schema this build does not know.
  static absl::StatusOr<std::unique_ptr<AuditReader>> Open(const std::string& path);
  ~AuditReader();

  int schema_version() const { return schema_version_; }

  absl::StatusOr<std::vector<ReportNode>> Nodes();
  absl::StatusOr<std::optional<NodeRecord>> Node(const std::string& node_id);

  // Attestations in the window (and of `node_id` when not empty), oldest first, with findings;
  // with `evidence`, the raw quote, signature, PCRs and logs too. `fn` is called once per record
  // (so an export never holds every log in memory); a non-OK status from it stops the walk.
  absl::Status ForEachAttestation(const TimeWindow& window, const std::string& node_id,
                                  bool evidence,
                                  const std::function<absl::Status(AttestationRecord)>& fn);

  // The node's latest attestation before `before` whose clock stage passed (it set the clock
  // high-water mark the first attestation of an export window was compared with), with evidence.
  absl::StatusOr<std::optional<AttestationRecord>> ClockBaseline(const std::string& node_id,
                                                                 absl::Time before);

  absl::StatusOr<std::optional<NonceRecord>> Nonce(attest::ByteSpan nonce);
  // Every enrollment that created or refreshed `node_id`, oldest first (raw requests included).
  absl::StatusOr<std::vector<EnrollmentRecord>> EnrollmentsOf(const std::string& node_id);
  absl::StatusOr<std::vector<TokenRecord>> TokensOf(const std::string& attestation_id);
  // Every recorded policy (empty on a schema-1 store, which did not record policy content).
  absl::StatusOr<std::vector<PolicyRecord>> Policies();
  absl::StatusOr<std::vector<AuditEvent>> AuditEvents(const TimeWindow& window);

 private:
  AuditReader(SqlitePtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  absl::StatusOr<Statement> Prepare(const std::string& sql);
  absl::StatusOr<bool> HasColumn(const std::string& table, const std::string& column);
  absl::Status ReadFindings(AttestationRecord* a);

  SqlitePtr db_;
  std::string path_;
  int schema_version_ = 0;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_STORE_AUDIT_QUERIES_H_
