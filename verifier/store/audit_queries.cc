#include "verifier/store/audit_queries.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "verifier/store/rows.h"
#include "verifier/store/store.h"

namespace bootgate::verifier {

namespace {

using rows::FromMicros;
using rows::kAttestationColumns;
using rows::kEvidenceColumns;
using rows::Micros;
using rows::OptTime;
using rows::ReadAttestation;

// Schema-1 node columns: older stores lack the state columns (Nodes() adds them when present).
using rows::kNodeBaseColumns;
using rows::ReadNodeBase;

// Bounds of a window as micros (InfinitePast/Future map to the int64 extremes).
int64_t SinceMicros(const TimeWindow& w) {
  return w.since == absl::InfinitePast() ? INT64_MIN : Micros(w.since);
}
int64_t UntilMicros(const TimeWindow& w) {
  return w.until == absl::InfiniteFuture() ? INT64_MAX : Micros(w.until);
}

Findings FindingsFromJsonText(const std::string& text) {
  Findings out;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return {Finding{"STORE_UNREADABLE", "findings_json does not parse"}};
  for (const auto& f : j) {
    if (f.is_object() && f.contains("code") && f["code"].is_string()) {
      const bool has_detail = f.contains("detail") && f["detail"].is_string();
      out.push_back(Finding{f["code"].get<std::string>(),
                            has_detail ? f["detail"].get<std::string>() : std::string()});
    }
  }
  return out;
}

}  // namespace

// --- Store: policy records (schema 2)

absl::Status Store::RecordPolicy(const PolicyRecord& policy) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("INSERT INTO policies (policy_id, kind, content, "
                                            "first_loaded_at) VALUES (?, ?, ?, ?) ON "
                                            "CONFLICT(policy_id) DO NOTHING"));
  return s.Bind(1, policy.policy_id)
      .Bind(2, policy.kind)
      .BindBlob(3, attest::AsSpan(policy.content))
      .Bind(4, Micros(policy.first_loaded_at))
      .Run();
}

absl::StatusOr<std::optional<PolicyRecord>> Store::GetPolicy(const std::string& policy_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT policy_id, kind, content, first_loaded_at "
                                            "FROM policies WHERE policy_id = ?"));
  s.Bind(1, policy_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<PolicyRecord>();
  const attest::Bytes content = s.Blob(2);
  return std::optional<PolicyRecord>(PolicyRecord{
      s.Text(0), s.Text(1), std::string(content.begin(), content.end()), FromMicros(s.Int(3))});
}

// --- AuditReader

std::string DerivedNodeState(const NodeRecord& node) {
  if (node.revoked()) return "revoked";
  if (!node.last_attested_at.has_value()) return "enrolled";
  return node.last_verdict == kVerdictAffirming ? "trusted" : "untrusted";
}

absl::StatusOr<std::unique_ptr<AuditReader>> AuditReader::Open(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("evidence store ", path, ": no such file"));
  }
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, absl::StrCat("open ", path, " read-only"));
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), 5000);
  std::unique_ptr<AuditReader> reader(new AuditReader(std::move(db), path));
  auto named = [&path](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("evidence store ", path, ": ", s.message()));
  };
  // One read transaction for everything that follows: a consistent snapshot.
  if (int brc = sqlite3_exec(reader->db_.get(), "BEGIN", nullptr, nullptr, nullptr);
      brc != SQLITE_OK) {
    return named(SqliteError(reader->db_.get(), brc, "BEGIN"));
  }
  auto version = reader->Prepare("PRAGMA user_version");
  if (!version.ok()) return named(version.status());
  auto row = version->Step();
  if (!row.ok()) return named(row.status());
  reader->schema_version_ = *row ? static_cast<int>(version->Int(0)) : 0;
  if (reader->schema_version_ < 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("evidence store ", path, ": not a bootgate store (schema version 0)"));
  }
  if (reader->schema_version_ > kStoreSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("evidence store ", path, ": schema version ", reader->schema_version_,
                     " is newer than this build knows (", kStoreSchemaVersion, ")"));
  }
  return reader;
}

AuditReader::~AuditReader() {
  if (db_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

absl::StatusOr<Statement> AuditReader::Prepare(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  SqliteStmtPtr stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, absl::StrCat("prepare '", sql, "'"));
  return Statement(db_.get(), std::move(stmt));
}

absl::StatusOr<bool> AuditReader::HasColumn(const std::string& table, const std::string& column) {
  ASSIGN_OR_RETURN(Statement s, Prepare(absl::StrCat("PRAGMA table_info(", table, ")")));
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return false;
    if (s.Text(1) == column) return true;
  }
}

absl::StatusOr<std::vector<ReportNode>> AuditReader::Nodes() {
  ASSIGN_OR_RETURN(bool has_state, HasColumn("nodes", "state"));
  ASSIGN_OR_RETURN(Statement s,
                   Prepare(absl::StrCat("SELECT ", kNodeBaseColumns, has_state ? ", state" : "",
                                        " FROM nodes ORDER BY hostname, node_id")));
  std::vector<ReportNode> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ReportNode n{ReadNodeBase(s), ""};
    if (has_state) n.state = s.Text(rows::kNodeBaseColumnCount);
    if (n.state.empty()) n.state = DerivedNodeState(n.node);
    out.push_back(std::move(n));
  }
  return out;
}

absl::StatusOr<std::optional<NodeRecord>> AuditReader::Node(const std::string& node_id) {
  ASSIGN_OR_RETURN(Statement s, Prepare(absl::StrCat("SELECT ", kNodeBaseColumns,
                                                     " FROM nodes WHERE node_id = ?")));
  s.Bind(1, node_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<NodeRecord>();
  return std::optional<NodeRecord>(ReadNodeBase(s));
}

absl::Status AuditReader::ReadFindings(AttestationRecord* a) {
  ASSIGN_OR_RETURN(Statement f, Prepare("SELECT code, detail FROM findings WHERE "
                                        "attestation_id = ? ORDER BY seq"));
  f.Bind(1, a->attestation_id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, f.Step());
    if (!row) break;
    a->findings.push_back(Finding{f.Text(0), f.Text(1)});
  }
  // What the policy matched (schema 4; a store without the table has no such rows).
  absl::StatusOr<Statement> m =
      Prepare("SELECT matched FROM attestation_policy WHERE attestation_id = ?");
  if (m.ok()) {
    m->Bind(1, a->attestation_id);
    ASSIGN_OR_RETURN(bool row, m->Step());
    if (row) a->policy_matched = m->Text(0);
  }
  return absl::OkStatus();
}

absl::Status AuditReader::ForEachAttestation(
    const TimeWindow& window, const std::string& node_id, bool evidence,
    const std::function<absl::Status(AttestationRecord)>& fn) {
  // Ids first (a small list), then one record at a time.
  std::vector<std::string> ids;
  {
    ASSIGN_OR_RETURN(Statement s,
                     Prepare("SELECT attestation_id FROM attestations WHERE created_at >= ?1 AND "
                             "created_at < ?2 AND (?3 = '' OR node_id = ?3) ORDER BY created_at, "
                             "rowid"));
    s.Bind(1, SinceMicros(window)).Bind(2, UntilMicros(window)).Bind(3, node_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ids.push_back(s.Text(0));
    }
  }
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(Statement s, Prepare(absl::StrCat("SELECT ", kAttestationColumns,
                                                       evidence ? kEvidenceColumns : "",
                                                       " FROM attestations WHERE "
                                                       "attestation_id = ?")));
    s.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) continue;
    AttestationRecord a = ReadAttestation(s, evidence);
    RETURN_IF_ERROR(ReadFindings(&a));
    RETURN_IF_ERROR(fn(std::move(a)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AttestationRecord>> AuditReader::ClockBaseline(
    const std::string& node_id, absl::Time before) {
  ASSIGN_OR_RETURN(Statement s,
                   Prepare(absl::StrCat("SELECT ", kAttestationColumns, kEvidenceColumns,
                                        " FROM attestations WHERE node_id = ? AND created_at < ? "
                                        "AND clock IS NOT NULL ORDER BY created_at DESC, rowid "
                                        "DESC")));
  s.Bind(1, node_id).Bind(2, before == absl::InfinitePast() ? INT64_MIN : Micros(before));
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<AttestationRecord>();
    AttestationRecord a = ReadAttestation(s, true);
    // Only a quote that passed the clock stage moved the high-water mark.
    const nlohmann::json checks = nlohmann::json::parse(a.checks_json, nullptr, false);
    bool clock_passed = false;
    if (checks.is_array()) {
      for (const auto& c : checks) {
        if (c.is_object() && c.contains("name") && c["name"] == "clock" && c.contains("state") &&
            c["state"] == "passed") {
          clock_passed = true;
        }
      }
    }
    if (!clock_passed) continue;
    RETURN_IF_ERROR(ReadFindings(&a));
    return std::optional<AttestationRecord>(std::move(a));
  }
}

absl::StatusOr<std::optional<NonceRecord>> AuditReader::Nonce(attest::ByteSpan nonce) {
  ASSIGN_OR_RETURN(Statement s, Prepare("SELECT node_id, selection, issued_at, expires_at, used_at "
                                        "FROM nonces WHERE nonce = ?"));
  s.BindBlob(1, nonce);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<NonceRecord>();
  NonceRecord n;
  n.nonce.assign(nonce.begin(), nonce.end());
  n.node_id = s.Text(0);
  n.selection = s.Text(1);
  n.issued_at = FromMicros(s.Int(2));
  n.expires_at = FromMicros(s.Int(3));
  n.used_at = OptTime(s, 4);
  return std::optional<NonceRecord>(std::move(n));
}

absl::StatusOr<std::vector<EnrollmentRecord>> AuditReader::EnrollmentsOf(
    const std::string& node_id) {
  ASSIGN_OR_RETURN(Statement s, Prepare("SELECT enrollment_id, created_at, expires_at, state, "
                                        "findings_json, request, node_id, finished_at FROM "
                                        "enrollments WHERE node_id = ? ORDER BY created_at"));
  s.Bind(1, node_id);
  std::vector<EnrollmentRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    EnrollmentRecord e;
    e.enrollment_id = s.Text(0);
    e.created_at = FromMicros(s.Int(1));
    e.expires_at = FromMicros(s.Int(2));
    const std::string state = s.Text(3);
    e.state = state == "enrolled"     ? EnrollmentState::kEnrolled
              : state == "challenged" ? EnrollmentState::kChallenged
                                      : EnrollmentState::kRejected;
    e.findings = FindingsFromJsonText(s.Text(4));
    e.request = s.Blob(5);
    e.node.node_id = s.Text(6);
    e.finished_at = OptTime(s, 7);
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<TokenRecord>> AuditReader::TokensOf(const std::string& attestation_id) {
  ASSIGN_OR_RETURN(Statement s, Prepare("SELECT token_id, node_id, attestation_id, issued_at, "
                                        "expires_at, issuer, status, reason FROM tokens WHERE "
                                        "attestation_id = ? ORDER BY issued_at"));
  s.Bind(1, attestation_id);
  std::vector<TokenRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(TokenRecord{s.Text(0), s.Text(1), s.Text(2), FromMicros(s.Int(3)),
                              FromMicros(s.Int(4)), s.Text(5), s.Text(6), s.Text(7)});
  }
  return out;
}

absl::StatusOr<std::vector<PolicyRecord>> AuditReader::Policies() {
  std::vector<PolicyRecord> out;
  if (schema_version_ < 2) return out;
  ASSIGN_OR_RETURN(Statement s, Prepare("SELECT policy_id, kind, content, first_loaded_at FROM "
                                        "policies ORDER BY first_loaded_at, policy_id"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    const attest::Bytes content = s.Blob(2);
    out.push_back(PolicyRecord{s.Text(0), s.Text(1), std::string(content.begin(), content.end()),
                               FromMicros(s.Int(3))});
  }
  return out;
}

absl::StatusOr<std::vector<AuditEvent>> AuditReader::AuditEvents(const TimeWindow& window) {
  ASSIGN_OR_RETURN(Statement s, Prepare("SELECT seq, at, kind, subject, detail FROM audit_events "
                                        "WHERE at >= ? AND at < ? ORDER BY seq"));
  s.Bind(1, SinceMicros(window)).Bind(2, UntilMicros(window));
  std::vector<AuditEvent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(AuditEvent{s.Int(0), FromMicros(s.Int(1)), s.Text(2), s.Text(3), s.Text(4)});
  }
  return out;
}

}  // namespace bootgate::verifier
