#include "verifier/store/store.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "verifier/store/rows.h"

namespace bootgate::verifier {

namespace {

// Migration i takes the schema from version i to i + 1. Append only; never edit a released one.
constexpr const char* kMigrations[] = {
    // 0 -> 1: the initial schema.
    R"sql(
CREATE TABLE nodes (
  node_id TEXT PRIMARY KEY,
  ak_name BLOB NOT NULL UNIQUE,
  ak_public BLOB NOT NULL,
  ek_public BLOB NOT NULL,
  ek_public_sha256 TEXT NOT NULL,
  ek_cert_sha256 TEXT NOT NULL,
  ek_cert_nv_index INTEGER NOT NULL,
  ek_cert BLOB NOT NULL,
  tpm_manufacturer TEXT NOT NULL,
  tpm_model TEXT NOT NULL,
  tpm_version TEXT NOT NULL,
  hostname TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL,
  enrollment_id TEXT NOT NULL,
  revoked_at INTEGER,
  revoke_reason TEXT NOT NULL DEFAULT '',
  last_attested_at INTEGER,
  last_attestation_id TEXT NOT NULL DEFAULT '',
  last_verdict TEXT NOT NULL DEFAULT '',
  last_clock INTEGER,
  last_reset_count INTEGER,
  last_restart_count INTEGER,
  last_safe INTEGER
);
CREATE INDEX nodes_by_ek ON nodes(ek_public_sha256);

CREATE TABLE enrollments (
  enrollment_id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  findings_json TEXT NOT NULL,
  request BLOB NOT NULL,
  secret BLOB,
  node_id TEXT NOT NULL,
  ak_name BLOB NOT NULL,
  ak_public BLOB NOT NULL,
  ek_public BLOB NOT NULL,
  ek_public_sha256 TEXT NOT NULL,
  ek_cert_sha256 TEXT NOT NULL,
  ek_cert_nv_index INTEGER NOT NULL,
  ek_cert BLOB NOT NULL,
  tpm_manufacturer TEXT NOT NULL,
  tpm_model TEXT NOT NULL,
  tpm_version TEXT NOT NULL,
  hostname TEXT NOT NULL,
  finished_at INTEGER
);
CREATE INDEX enrollments_by_time ON enrollments(created_at);

CREATE TABLE nonces (
  nonce BLOB PRIMARY KEY,
  node_id TEXT NOT NULL,
  selection TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);

CREATE TABLE attestations (
  attestation_id TEXT PRIMARY KEY,
  node_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('affirming', 'contraindicated')),
  checks_json TEXT NOT NULL,
  policy_id TEXT NOT NULL,
  clock INTEGER,
  reset_count INTEGER,
  restart_count INTEGER,
  safe INTEGER,
  new_boot INTEGER NOT NULL,
  token_id TEXT NOT NULL,
  ear_jwt TEXT NOT NULL,
  appraisal_micros INTEGER NOT NULL,
  nonce BLOB NOT NULL,
  quote BLOB NOT NULL,
  signature BLOB NOT NULL,
  pcrs_json TEXT NOT NULL,
  event_log BLOB NOT NULL,
  ima_log BLOB NOT NULL
);
CREATE INDEX attestations_by_node ON attestations(node_id, created_at);
CREATE INDEX attestations_by_time ON attestations(created_at);

CREATE TABLE findings (
  attestation_id TEXT NOT NULL REFERENCES attestations(attestation_id),
  seq INTEGER NOT NULL,
  code TEXT NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (attestation_id, seq)
);
CREATE INDEX findings_by_code ON findings(code);

CREATE TABLE tokens (
  token_id TEXT PRIMARY KEY,
  node_id TEXT NOT NULL,
  attestation_id TEXT NOT NULL REFERENCES attestations(attestation_id),
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  issuer TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('issued', 'failed')),
  reason TEXT NOT NULL
);
CREATE INDEX tokens_by_time ON tokens(issued_at);

CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL
);
)sql",
    // 1 -> 2: the exact policy content behind every recorded policy id, so that an audit export
    // can re-run each decision with the policy that made it (verifier/audit/).
    R"sql(
CREATE TABLE policies (
  policy_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  content BLOB NOT NULL,
  first_loaded_at INTEGER NOT NULL
);
)sql",
    // 2 -> 3: node states with their recorded transitions, and the durable notification outbox
    // (verifier/state/, verifier/notify/). last_attested_at becomes the latest affirming
    // attestation; last_attempt_at is the latest of any verdict.
    R"sql(
ALTER TABLE nodes ADD COLUMN state TEXT NOT NULL DEFAULT 'enrolled';
ALTER TABLE nodes ADD COLUMN state_since INTEGER;
ALTER TABLE nodes ADD COLUMN last_attempt_at INTEGER;
UPDATE nodes SET
  last_attempt_at = (SELECT max(created_at) FROM attestations a WHERE a.node_id = nodes.node_id),
  last_attested_at = (SELECT max(created_at) FROM attestations a
                      WHERE a.node_id = nodes.node_id AND a.verdict = 'affirming');
UPDATE nodes SET state = CASE
    WHEN revoked_at IS NOT NULL THEN 'revoked'
    WHEN last_verdict = 'affirming' THEN 'trusted'
    WHEN last_verdict = 'contraindicated' THEN 'untrusted'
    ELSE 'enrolled' END,
  state_since = coalesce(revoked_at, last_attempt_at, enrolled_at);
CREATE INDEX nodes_by_state ON nodes(state);

CREATE TABLE node_transitions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  node_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  old_state TEXT NOT NULL,
  new_state TEXT NOT NULL,
  reasons_json TEXT NOT NULL,
  attestation_id TEXT NOT NULL
);
CREATE INDEX node_transitions_by_node ON node_transitions(node_id, seq);

CREATE TABLE notification_outbox (
  event_id TEXT NOT NULL REFERENCES node_transitions(event_id),
  sink TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (event_id, sink)
);
CREATE INDEX notification_outbox_due ON notification_outbox(delivered_at, next_attempt_at);
)sql",
    // 3 -> 4: node-group labels (set at enrollment; policies select by them) and what the policy
    // matched for each attestation (golden image and platform reference, warnings, explanation).
    R"sql(
CREATE TABLE enrollment_labels (
  enrollment_id TEXT NOT NULL REFERENCES enrollments(enrollment_id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (enrollment_id, key)
);
CREATE TABLE node_labels (
  node_id TEXT NOT NULL REFERENCES nodes(node_id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (node_id, key)
);
CREATE TABLE attestation_policy (
  attestation_id TEXT PRIMARY KEY REFERENCES attestations(attestation_id),
  matched TEXT NOT NULL,
  warnings_json TEXT NOT NULL,
  explanation TEXT NOT NULL
);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kStoreSchemaVersion,
              "one migration per schema version");

using rows::FromMicros;
using rows::kAttestationColumns;
using rows::kEvidenceColumns;
using rows::Micros;
using rows::OptTime;
using rows::ReadAttestation;
std::optional<int64_t> OptMicros(const std::optional<absl::Time>& t) {
  if (!t) return std::nullopt;
  return Micros(*t);
}

std::string FindingsToJson(const Findings& findings) {
  nlohmann::json j = nlohmann::json::array();
  for (const Finding& f : findings) j.push_back({{"code", f.code}, {"detail", f.detail}});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Findings FindingsFromJson(const std::string& text) {
  Findings out;
  // Written only by FindingsToJson; a row edited by hand that does not parse reads as one
  // finding saying so rather than failing the whole listing.
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return {Finding{"STORE_UNREADABLE", "findings_json does not parse"}};
  for (const auto& f : j) {
    if (f.is_object() && f.contains("code") && f["code"].is_string()) {
      out.push_back(Finding{f["code"].get<std::string>(), f.value("detail", std::string())});
    }
  }
  return out;
}

// Labels of one node or enrollment, into *out (sorted by key).
absl::Status ReadLabels(SqliteDb& db, const char* table, const char* id_column,
                        const std::string& id, std::map<std::string, std::string>* out) {
  ASSIGN_OR_RETURN(Statement s, db.Prepare(absl::StrCat("SELECT key, value FROM ", table, " WHERE ",
                                                        id_column, " = ?")));
  s.Bind(1, id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    (*out)[s.Text(0)] = s.Text(1);
  }
  return absl::OkStatus();
}

// The schema-1 columns (rows.h) and the node-state columns of schema 3.
constexpr char kNodeStateColumns[] = ", state, state_since, last_attempt_at";

NodeRecord ReadNode(const Statement& s) {
  NodeRecord n = rows::ReadNodeBase(s);
  n.state = s.Text(23);
  n.state_since = s.IsNull(24) ? n.enrolled_at : FromMicros(s.Int(24));
  n.last_attempt_at = OptTime(s, 25);
  return n;
}

const char* kEnrollmentColumns =
    "enrollment_id, created_at, expires_at, state, findings_json, request, secret, node_id, "
    "ak_name, ak_public, ek_public, ek_public_sha256, ek_cert_sha256, ek_cert_nv_index, ek_cert, "
    "tpm_manufacturer, tpm_model, tpm_version, hostname, finished_at";

std::optional<EnrollmentState> EnrollmentStateFromName(const std::string& name) {
  for (EnrollmentState s :
       {EnrollmentState::kChallenged, EnrollmentState::kEnrolled, EnrollmentState::kRejected}) {
    if (name == EnrollmentStateName(s)) return s;
  }
  return std::nullopt;
}

EnrollmentRecord ReadEnrollment(const Statement& s) {
  EnrollmentRecord e;
  e.enrollment_id = s.Text(0);
  e.created_at = FromMicros(s.Int(1));
  e.expires_at = FromMicros(s.Int(2));
  // An unknown state name can only come from a hand-edited row: treat it as rejected.
  e.state = EnrollmentStateFromName(s.Text(3)).value_or(EnrollmentState::kRejected);
  e.findings = FindingsFromJson(s.Text(4));
  e.request = s.Blob(5);
  e.secret = s.Blob(6);
  e.node.node_id = s.Text(7);
  e.node.ak_name = s.Blob(8);
  e.node.ak_public = s.Blob(9);
  e.node.ek_public = s.Blob(10);
  e.node.ek_public_sha256 = s.Text(11);
  e.node.ek_cert_sha256 = s.Text(12);
  e.node.ek_cert_nv_index = static_cast<uint32_t>(s.Int(13));
  e.node.ek_cert = s.Blob(14);
  e.node.tpm_manufacturer = s.Text(15);
  e.node.tpm_model = s.Text(16);
  e.node.tpm_version = s.Text(17);
  e.node.hostname = s.Text(18);
  e.node.enrollment_id = e.enrollment_id;
  e.finished_at = OptTime(s, 19);
  return e;
}

TokenRecord ReadToken(const Statement& s) {
  TokenRecord t;
  t.token_id = s.Text(0);
  t.node_id = s.Text(1);
  t.attestation_id = s.Text(2);
  t.issued_at = FromMicros(s.Int(3));
  t.expires_at = FromMicros(s.Int(4));
  t.issuer = s.Text(5);
  t.status = s.Text(6);
  t.reason = s.Text(7);
  return t;
}

int64_t Limit(size_t limit) {
  if (limit == 0) return 100;
  return static_cast<int64_t>(std::min(limit, kMaxListLimit));
}

}  // namespace

const char* EnrollmentStateName(EnrollmentState state) {
  switch (state) {
    case EnrollmentState::kChallenged:
      return "challenged";
    case EnrollmentState::kEnrolled:
      return "enrolled";
    case EnrollmentState::kRejected:
      return "rejected";
  }
  return "rejected";
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(path, /*create=*/true));
  std::unique_ptr<Store> store(new Store(std::move(db), path));
  absl::MutexLock lock(&store->mu_);
  absl::Status s = store->Initialize();
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("evidence store ", path, ": ", s.message()));
  }
  store->RememberFileLocked();
  return store;
}

absl::Status Store::Initialize() {
  // The first statement is where SQLite finds out whether the file is a database at all
  // (SQLITE_NOTADB), and quick_check reads every page: a damaged file is refused at start.
  ASSIGN_OR_RETURN(Statement check, db_.Prepare("PRAGMA quick_check"));
  std::vector<std::string> problems;
  while (true) {
    ASSIGN_OR_RETURN(bool row, check.Step());
    if (!row) break;
    if (check.Text(0) != "ok") problems.push_back(check.Text(0));
  }
  if (!problems.empty()) {
    return absl::DataLossError(
        absl::StrCat("database is damaged (PRAGMA quick_check: ", problems.front(),
                     problems.size() > 1 ? absl::StrCat(" and ", problems.size() - 1, " more") : "",
                     "); restore it from a backup or move it aside"));
  }
  {
    ASSIGN_OR_RETURN(Statement wal, db_.Prepare("PRAGMA journal_mode=WAL"));
    ASSIGN_OR_RETURN(bool row, wal.Step());
    if (!row || wal.Text(0) != "wal") {
      return absl::FailedPreconditionError("cannot switch the database to WAL mode");
    }
  }
  // FULL: a COMMIT is on disk (WAL fsynced) before the caller sends its answer.
  RETURN_IF_ERROR(db_.Exec("PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(db_.Exec("PRAGMA foreign_keys=ON"));
  sqlite3_busy_timeout(db_.get(), 5000);
  return Migrate();
}

absl::Status Store::Migrate() {
  int version = 0;
  {
    ASSIGN_OR_RETURN(Statement q, db_.Prepare("PRAGMA user_version"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) version = static_cast<int>(q.Int(0));
  }
  if (version > kStoreSchemaVersion || version < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("schema version ", version, " is newer than this verifier knows (",
                     kStoreSchemaVersion, "); use a newer bootgate-verifier"));
  }
  for (int v = version; v < kStoreSchemaVersion; ++v) {
    ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
    absl::Status s = db_.Exec(kMigrations[v]);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("migration to schema ", v + 1, " failed: ", s.message()));
    }
    RETURN_IF_ERROR(db_.Exec(absl::StrCat("PRAGMA user_version = ", v + 1)));
    RETURN_IF_ERROR(tx.Commit());
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Store::SchemaVersion() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return absl::InternalError("PRAGMA user_version returned nothing");
  return static_cast<int>(q.Int(0));
}

absl::Status Store::AuditLocked(const std::string& kind, const std::string& subject,
                                const std::string& detail, absl::Time at) {
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("INSERT INTO audit_events (at, kind, subject, detail) "
                                            "VALUES (?, ?, ?, ?)"));
  return s.Bind(1, Micros(at)).Bind(2, kind).Bind(3, subject).Bind(4, detail).Run();
}

absl::Status Store::AppendAudit(const std::string& kind, const std::string& subject,
                                const std::string& detail, absl::Time at) {
  absl::MutexLock lock(&mu_);
  return AuditLocked(kind, subject, detail, at);
}

absl::StatusOr<std::vector<AuditEvent>> Store::ListAudit(size_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT seq, at, kind, subject, detail FROM "
                                            "audit_events ORDER BY seq DESC LIMIT ?"));
  s.Bind(1, Limit(limit));
  std::vector<AuditEvent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(AuditEvent{s.Int(0), FromMicros(s.Int(1)), s.Text(2), s.Text(3), s.Text(4)});
  }
  return out;
}

// --- Enrollments

absl::Status Store::InsertEnrollment(const EnrollmentRecord& e) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(Statement s,
                   db_.Prepare(absl::StrCat("INSERT INTO enrollments (", kEnrollmentColumns,
                                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                            "?, ?, ?, ?, ?, ?)")));
  const NodeRecord& n = e.node;
  s.Bind(1, e.enrollment_id)
      .Bind(2, Micros(e.created_at))
      .Bind(3, Micros(e.expires_at))
      .Bind(4, EnrollmentStateName(e.state))
      .Bind(5, FindingsToJson(e.findings))
      .BindBlob(6, e.request);
  if (e.secret.empty()) {
    s.BindNull(7);
  } else {
    s.BindBlob(7, e.secret);
  }
  s.Bind(8, n.node_id)
      .BindBlob(9, n.ak_name)
      .BindBlob(10, n.ak_public)
      .BindBlob(11, n.ek_public)
      .Bind(12, n.ek_public_sha256)
      .Bind(13, n.ek_cert_sha256)
      .Bind(14, static_cast<int64_t>(n.ek_cert_nv_index))
      .BindBlob(15, n.ek_cert)
      .Bind(16, n.tpm_manufacturer)
      .Bind(17, n.tpm_model)
      .Bind(18, n.tpm_version)
      .Bind(19, n.hostname)
      .BindOptional(20, OptMicros(e.finished_at));
  RETURN_IF_ERROR(s.Run());
  for (const auto& [key, value] : n.labels) {
    ASSIGN_OR_RETURN(Statement l, db_.Prepare("INSERT INTO enrollment_labels (enrollment_id, key, "
                                              "value) VALUES (?, ?, ?)"));
    RETURN_IF_ERROR(l.Bind(1, e.enrollment_id).Bind(2, key).Bind(3, value).Run());
  }
  std::string detail = e.state == EnrollmentState::kRejected && !e.findings.empty()
                           ? absl::StrCat(e.findings.front().code, ": ", e.findings.front().detail)
                           : absl::StrCat("ak ", attest::HexEncode(n.ak_name));
  RETURN_IF_ERROR(AuditLocked(absl::StrCat("enrollment.", EnrollmentStateName(e.state)),
                              e.enrollment_id, detail, e.created_at));
  return tx.Commit();
}

absl::StatusOr<std::optional<EnrollmentRecord>> Store::GetEnrollment(const std::string& id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare(absl::StrCat("SELECT ", kEnrollmentColumns,
                                                         " FROM enrollments WHERE "
                                                         "enrollment_id = ?")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<EnrollmentRecord>();
  EnrollmentRecord e = ReadEnrollment(s);
  RETURN_IF_ERROR(
      ReadLabels(db_, "enrollment_labels", "enrollment_id", e.enrollment_id, &e.node.labels));
  return std::optional<EnrollmentRecord>(std::move(e));
}

absl::StatusOr<std::vector<EnrollmentRecord>> Store::ListEnrollments(size_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s,
                   db_.Prepare(absl::StrCat("SELECT ", kEnrollmentColumns,
                                            " FROM enrollments ORDER BY created_at DESC, rowid "
                                            "DESC LIMIT ?")));
  s.Bind(1, Limit(limit));
  std::vector<EnrollmentRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadEnrollment(s));
    out.back().secret.clear();  // never leaves the store through a listing
  }
  return out;
}

absl::Status Store::FinishEnrollment(const std::string& id, EnrollmentState state,
                                     const Findings& findings, absl::Time at) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(Statement get, db_.Prepare(absl::StrCat("SELECT ", kEnrollmentColumns,
                                                           " FROM enrollments WHERE "
                                                           "enrollment_id = ?")));
  get.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("enrollment ", id, " not found"));
  const EnrollmentRecord e = ReadEnrollment(get);
  if (e.state != EnrollmentState::kChallenged) {
    return absl::FailedPreconditionError(
        absl::StrCat("enrollment ", id, " is already ", EnrollmentStateName(e.state)));
  }
  ASSIGN_OR_RETURN(Statement upd,
                   db_.Prepare("UPDATE enrollments SET state = ?, findings_json = ?, secret = "
                               "NULL, finished_at = ? WHERE enrollment_id = ?"));
  RETURN_IF_ERROR(upd.Bind(1, EnrollmentStateName(state))
                      .Bind(2, FindingsToJson(findings))
                      .Bind(3, Micros(at))
                      .Bind(4, id)
                      .Run());
  if (state == EnrollmentState::kEnrolled) {
    const NodeRecord& n = e.node;
    // Re-enrolling an AK refreshes its endorsement data and keeps its attestation history.
    ASSIGN_OR_RETURN(
        Statement ins,
        db_.Prepare("INSERT INTO nodes (node_id, ak_name, ak_public, ek_public, ek_public_sha256, "
                    "ek_cert_sha256, ek_cert_nv_index, ek_cert, tpm_manufacturer, tpm_model, "
                    "tpm_version, hostname, enrolled_at, enrollment_id) VALUES (?, ?, ?, ?, ?, ?, "
                    "?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(node_id) DO UPDATE SET "
                    "ak_public = excluded.ak_public, ek_public = excluded.ek_public, "
                    "ek_public_sha256 = excluded.ek_public_sha256, ek_cert_sha256 = "
                    "excluded.ek_cert_sha256, ek_cert_nv_index = excluded.ek_cert_nv_index, "
                    "ek_cert = excluded.ek_cert, tpm_manufacturer = excluded.tpm_manufacturer, "
                    "tpm_model = excluded.tpm_model, tpm_version = excluded.tpm_version, "
                    "hostname = excluded.hostname, enrolled_at = excluded.enrolled_at, "
                    "enrollment_id = excluded.enrollment_id"));
    RETURN_IF_ERROR(ins.Bind(1, n.node_id)
                        .BindBlob(2, n.ak_name)
                        .BindBlob(3, n.ak_public)
                        .BindBlob(4, n.ek_public)
                        .Bind(5, n.ek_public_sha256)
                        .Bind(6, n.ek_cert_sha256)
                        .Bind(7, static_cast<int64_t>(n.ek_cert_nv_index))
                        .BindBlob(8, n.ek_cert)
                        .Bind(9, n.tpm_manufacturer)
                        .Bind(10, n.tpm_model)
                        .Bind(11, n.tpm_version)
                        .Bind(12, n.hostname)
                        .Bind(13, Micros(at))
                        .Bind(14, id)
                        .Run());
    // The enrollment's labels replace the node's (a re-enrollment may move it to another group).
    ASSIGN_OR_RETURN(Statement del, db_.Prepare("DELETE FROM node_labels WHERE node_id = ?"));
    RETURN_IF_ERROR(del.Bind(1, n.node_id).Run());
    ASSIGN_OR_RETURN(Statement copy,
                     db_.Prepare("INSERT INTO node_labels (node_id, key, value) SELECT ?, key, "
                                 "value FROM enrollment_labels WHERE enrollment_id = ?"));
    RETURN_IF_ERROR(copy.Bind(1, n.node_id).Bind(2, id).Run());
  }
  const std::string detail =
      state == EnrollmentState::kEnrolled
          ? absl::StrCat("node ", e.node.node_id)
          : (findings.empty() ? std::string()
                              : absl::StrCat(findings.front().code, ": ", findings.front().detail));
  RETURN_IF_ERROR(
      AuditLocked(absl::StrCat("enrollment.", EnrollmentStateName(state)), id, detail, at));
  return tx.Commit();
}

// --- Nodes

absl::StatusOr<std::optional<NodeRecord>> Store::QueryNode(const std::string& where,
                                                           const std::string& text_arg,
                                                           attest::ByteSpan blob_arg) {
  ASSIGN_OR_RETURN(Statement s,
                   db_.Prepare(absl::StrCat("SELECT ", rows::kNodeBaseColumns, kNodeStateColumns,
                                            " FROM nodes WHERE ", where)));
  if (!text_arg.empty()) {
    s.Bind(1, text_arg);
  } else {
    s.BindBlob(1, blob_arg);
  }
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<NodeRecord>();
  NodeRecord node = ReadNode(s);
  RETURN_IF_ERROR(ReadLabels(db_, "node_labels", "node_id", node.node_id, &node.labels));
  return std::optional<NodeRecord>(std::move(node));
}

absl::StatusOr<std::optional<NodeRecord>> Store::GetNode(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  if (node_id.empty()) return std::optional<NodeRecord>();
  return QueryNode("node_id = ?", node_id, {});
}

absl::StatusOr<std::optional<NodeRecord>> Store::GetNodeByAkName(attest::ByteSpan ak_name) {
  absl::MutexLock lock(&mu_);
  if (ak_name.empty()) return std::optional<NodeRecord>();
  return QueryNode("ak_name = ?", "", ak_name);
}

absl::StatusOr<std::vector<NodeRecord>> Store::ListNodes(size_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s,
                   db_.Prepare(absl::StrCat("SELECT ", rows::kNodeBaseColumns, kNodeStateColumns,
                                            " FROM nodes ORDER BY enrolled_at DESC, "
                                            "node_id LIMIT ?")));
  s.Bind(1, Limit(limit));
  std::vector<NodeRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadNode(s));
  }
  for (NodeRecord& n : out) {
    RETURN_IF_ERROR(ReadLabels(db_, "node_labels", "node_id", n.node_id, &n.labels));
  }
  return out;
}

absl::StatusOr<NodeRecord> Store::RevokeNode(const std::string& node_id, const std::string& reason,
                                             absl::Time at) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(Statement upd, db_.Prepare("UPDATE nodes SET revoked_at = ?, revoke_reason = ? "
                                              "WHERE node_id = ? AND revoked_at IS NULL"));
  RETURN_IF_ERROR(upd.Bind(1, Micros(at)).Bind(2, reason).Bind(3, node_id).Run());
  const bool changed = db_.Changes() > 0;
  ASSIGN_OR_RETURN(std::optional<NodeRecord> node, QueryNode("node_id = ?", node_id, {}));
  if (!node) return absl::NotFoundError(absl::StrCat("node ", node_id, " not found"));
  if (changed) {
    RETURN_IF_ERROR(AuditLocked("node.revoked", node_id, reason, at));
    // A recorded transition (with its notifications) like every other state change.
    RETURN_IF_ERROR(TransitionLocked(node_id, node->state, kNodeStateRevoked,
                                     {Finding{codes::kNodeRevoked, reason}}, "", at)
                        .status());
    ASSIGN_OR_RETURN(node, QueryNode("node_id = ?", node_id, {}));
  }
  RETURN_IF_ERROR(tx.Commit());
  return *std::move(node);
}

absl::StatusOr<bool> Store::IsEkRevoked(const std::string& ek_public_sha256) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT 1 FROM nodes WHERE ek_public_sha256 = ? AND "
                                            "revoked_at IS NOT NULL LIMIT 1"));
  s.Bind(1, ek_public_sha256);
  return s.Step();
}

// --- Nonces

absl::Status Store::InsertNonce(const NonceRecord& n) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("INSERT INTO nonces (nonce, node_id, selection, "
                                            "issued_at, expires_at) VALUES (?, ?, ?, ?, ?)"));
  return s.BindBlob(1, n.nonce)
      .Bind(2, n.node_id)
      .Bind(3, n.selection)
      .Bind(4, Micros(n.issued_at))
      .Bind(5, Micros(n.expires_at))
      .Run();
}

absl::StatusOr<NonceConsumption> Store::ConsumeNonce(attest::ByteSpan nonce, absl::Time now) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(Statement get, db_.Prepare("SELECT node_id, selection, issued_at, expires_at, "
                                              "used_at FROM nonces WHERE nonce = ?"));
  get.BindBlob(1, nonce);
  ASSIGN_OR_RETURN(bool row, get.Step());
  NonceConsumption out;
  if (!row) {
    out.state = NonceState::kUnknown;
    return out;
  }
  out.record.nonce.assign(nonce.begin(), nonce.end());
  out.record.node_id = get.Text(0);
  out.record.selection = get.Text(1);
  out.record.issued_at = FromMicros(get.Int(2));
  out.record.expires_at = FromMicros(get.Int(3));
  out.record.used_at = OptTime(get, 4);
  if (out.record.used_at.has_value()) {
    out.state = NonceState::kUsed;
    return out;
  }
  // Marked used whether or not it expired: an expired nonce must not become usable by any later
  // clock adjustment either.
  ASSIGN_OR_RETURN(Statement use, db_.Prepare("UPDATE nonces SET used_at = ? WHERE nonce = ? AND "
                                              "used_at IS NULL"));
  RETURN_IF_ERROR(use.Bind(1, Micros(now)).BindBlob(2, nonce).Run());
  if (db_.Changes() != 1) {
    out.state = NonceState::kUsed;
    return out;
  }
  RETURN_IF_ERROR(tx.Commit());
  out.state = now >= out.record.expires_at ? NonceState::kExpired : NonceState::kFresh;
  return out;
}

// --- Attestations

absl::Status Store::RecordAttestation(const AttestationRecord& a, const TokenRecord* token,
                                      const std::optional<ClockState>& node_clock) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(
      Statement s,
      db_.Prepare(absl::StrCat("INSERT INTO attestations (", kAttestationColumns, kEvidenceColumns,
                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                               "?, ?, ?, ?, ?, ?)")));
  s.Bind(1, a.attestation_id)
      .Bind(2, a.node_id)
      .Bind(3, Micros(a.created_at))
      .Bind(4, a.verdict)
      .Bind(5, a.checks_json)
      .Bind(6, a.policy_id);
  if (a.clock) {
    s.Bind(7, static_cast<int64_t>(a.clock->clock))
        .Bind(8, static_cast<int64_t>(a.clock->reset_count))
        .Bind(9, static_cast<int64_t>(a.clock->restart_count))
        .Bind(10, static_cast<int64_t>(a.clock->safe));
  } else {
    s.BindNull(7).BindNull(8).BindNull(9).BindNull(10);
  }
  s.Bind(11, static_cast<int64_t>(a.new_boot))
      .Bind(12, a.token_id)
      .Bind(13, a.ear_jwt)
      .Bind(14, a.appraisal_micros)
      .BindBlob(15, a.nonce)
      .BindBlob(16, a.quote)
      .BindBlob(17, a.signature)
      .Bind(18, a.pcrs_json)
      .BindBlob(19, a.event_log)
      .BindBlob(20, a.ima_log);
  RETURN_IF_ERROR(s.Run());
  ASSIGN_OR_RETURN(Statement pol, db_.Prepare("INSERT INTO attestation_policy (attestation_id, "
                                              "matched, warnings_json, explanation) VALUES (?, ?, "
                                              "?, ?)"));
  RETURN_IF_ERROR(pol.Bind(1, a.attestation_id)
                      .Bind(2, a.policy_matched)
                      .Bind(3, FindingsToJson(a.policy_warnings))
                      .Bind(4, a.policy_explanation)
                      .Run());

  for (size_t i = 0; i < a.findings.size(); ++i) {
    ASSIGN_OR_RETURN(Statement fi, db_.Prepare("INSERT INTO findings (attestation_id, seq, code, "
                                               "detail) VALUES (?, ?, ?, ?)"));
    RETURN_IF_ERROR(fi.Bind(1, a.attestation_id)
                        .Bind(2, static_cast<int64_t>(i))
                        .Bind(3, a.findings[i].code)
                        .Bind(4, a.findings[i].detail)
                        .Run());
  }

  if (token != nullptr) {
    ASSIGN_OR_RETURN(Statement t, db_.Prepare("INSERT INTO tokens (token_id, node_id, "
                                              "attestation_id, issued_at, expires_at, issuer, "
                                              "status, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    RETURN_IF_ERROR(t.Bind(1, token->token_id)
                        .Bind(2, token->node_id)
                        .Bind(3, token->attestation_id)
                        .Bind(4, Micros(token->issued_at))
                        .Bind(5, Micros(token->expires_at))
                        .Bind(6, token->issuer)
                        .Bind(7, token->status)
                        .Bind(8, token->reason)
                        .Run());
  }

  // The node's latest attestation (and clock state) when the node exists; last_attested_at and
  // the node's state are ApplyAttestationStateLocked's.
  ASSIGN_OR_RETURN(Statement n, db_.Prepare("UPDATE nodes SET last_attempt_at = ?, "
                                            "last_attestation_id = ?, last_verdict = ? WHERE "
                                            "node_id = ?"));
  RETURN_IF_ERROR(n.Bind(1, Micros(a.created_at))
                      .Bind(2, a.attestation_id)
                      .Bind(3, a.verdict)
                      .Bind(4, a.node_id)
                      .Run());
  if (node_clock) {
    ASSIGN_OR_RETURN(Statement c, db_.Prepare("UPDATE nodes SET last_clock = ?, last_reset_count = "
                                              "?, last_restart_count = ?, last_safe = ? WHERE "
                                              "node_id = ?"));
    RETURN_IF_ERROR(c.Bind(1, static_cast<int64_t>(node_clock->clock))
                        .Bind(2, static_cast<int64_t>(node_clock->reset_count))
                        .Bind(3, static_cast<int64_t>(node_clock->restart_count))
                        .Bind(4, static_cast<int64_t>(node_clock->safe))
                        .Bind(5, a.node_id)
                        .Run());
  }
  std::string detail = a.verdict;
  for (const Finding& finding : a.findings) absl::StrAppend(&detail, " ", finding.code);
  if (!a.token_id.empty()) absl::StrAppend(&detail, " token ", a.token_id);
  RETURN_IF_ERROR(AuditLocked("attestation", a.attestation_id,
                              absl::StrCat("node ", a.node_id, ": ", detail), a.created_at));
  RETURN_IF_ERROR(ApplyAttestationStateLocked(a));
  return tx.Commit();
}

namespace {

// What the policy matched; attestations recorded before schema 2 have no row.
absl::Status ReadPolicyMatch(SqliteDb& db, AttestationRecord* a) {
  ASSIGN_OR_RETURN(Statement p, db.Prepare("SELECT matched, warnings_json, explanation FROM "
                                           "attestation_policy WHERE attestation_id = ?"));
  p.Bind(1, a->attestation_id);
  ASSIGN_OR_RETURN(bool row, p.Step());
  if (!row) return absl::OkStatus();
  a->policy_matched = p.Text(0);
  a->policy_warnings = FindingsFromJson(p.Text(1));
  a->policy_explanation = p.Text(2);
  return absl::OkStatus();
}

absl::Status ReadFindings(SqliteDb& db, AttestationRecord* a) {
  RETURN_IF_ERROR(ReadPolicyMatch(db, a));
  ASSIGN_OR_RETURN(Statement f, db.Prepare("SELECT code, detail FROM findings WHERE "
                                           "attestation_id = ? ORDER BY seq"));
  f.Bind(1, a->attestation_id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, f.Step());
    if (!row) break;
    a->findings.push_back(Finding{f.Text(0), f.Text(1)});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<AttestationRecord>> Store::GetAttestation(const std::string& id,
                                                                       bool include_evidence) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s,
                   db_.Prepare(absl::StrCat("SELECT ", kAttestationColumns,
                                            include_evidence ? kEvidenceColumns : "",
                                            " FROM attestations WHERE attestation_id = ?")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<AttestationRecord>();
  AttestationRecord a = ReadAttestation(s, include_evidence);
  RETURN_IF_ERROR(ReadFindings(db_, &a));
  return std::optional<AttestationRecord>(std::move(a));
}

absl::StatusOr<std::vector<AttestationRecord>> Store::ListAttestations(const std::string& node_id,
                                                                       size_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s,
                   db_.Prepare(absl::StrCat("SELECT ", kAttestationColumns,
                                            " FROM attestations WHERE (?1 = '' OR node_id = ?1) "
                                            "ORDER BY created_at DESC, rowid DESC LIMIT ?2")));
  s.Bind(1, node_id).Bind(2, Limit(limit));
  std::vector<AttestationRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadAttestation(s, false));
  }
  for (AttestationRecord& a : out) RETURN_IF_ERROR(ReadFindings(db_, &a));
  return out;
}

absl::StatusOr<std::vector<TokenRecord>> Store::ListTokens(const std::string& node_id,
                                                           size_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s,
                   db_.Prepare("SELECT token_id, node_id, attestation_id, issued_at, expires_at, "
                               "issuer, status, reason FROM tokens WHERE (?1 = '' OR node_id = "
                               "?1) ORDER BY issued_at DESC, rowid DESC LIMIT ?2"));
  s.Bind(1, node_id).Bind(2, Limit(limit));
  std::vector<TokenRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadToken(s));
  }
  return out;
}

}  // namespace bootgate::verifier
