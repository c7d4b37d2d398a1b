// The store's part of the node state machine and the notification outbox: every state change is
// one row in node_transitions plus one outbox row per configured sink, written in the
// transaction that made the change (RecordAttestation, RevokeNode, MarkStaleNodes), so that a
// committed change is always notified (at least once) and an uncommitted one never is.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "verifier/store/store.h"

namespace bootgate::verifier {

namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json ReasonsJson(const Findings& reasons) {
  nlohmann::json j = nlohmann::json::array();
  for (const Finding& f : reasons) j.push_back({{"code", f.code}, {"detail", f.detail}});
  return j;
}

Findings ReasonsFromJson(const std::string& text) {
  Findings out;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return {Finding{"STORE_UNREADABLE", "reasons_json does not parse"}};
  for (const auto& f : j) {
    if (f.is_object() && f.contains("code") && f["code"].is_string()) {
      out.push_back(Finding{f["code"].get<std::string>(), f.value("detail", std::string())});
    }
  }
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

const char* kOutboxColumns =
    "event_id, sink, payload, created_at, attempts, next_attempt_at, delivered_at, last_error";

OutboxEntry ReadOutbox(const Statement& s) {
  OutboxEntry e;
  e.event_id = s.Text(0);
  e.sink = s.Text(1);
  e.payload = s.Text(2);
  e.created_at = FromMicros(s.Int(3));
  e.attempts = s.Int(4);
  e.next_attempt_at = FromMicros(s.Int(5));
  if (!s.IsNull(6)) e.delivered_at = FromMicros(s.Int(6));
  e.last_error = s.Text(7);
  return e;
}

int64_t Limit(size_t limit) {
  if (limit == 0) return 100;
  return static_cast<int64_t>(std::min(limit, kMaxListLimit));
}

}  // namespace

void Store::SetNotificationSinks(std::vector<std::string> sinks) {
  absl::MutexLock lock(&mu_);
  notification_sinks_ = std::move(sinks);
}

absl::StatusOr<NodeTransition> Store::TransitionLocked(
    const std::string& node_id, const std::string& old_state, const std::string& new_state,
    const Findings& reasons, const std::string& attestation_id, absl::Time at) {
  ASSIGN_OR_RETURN(Statement upd,
                   db_.Prepare("UPDATE nodes SET state = ?, state_since = ? WHERE node_id = ?"));
  RETURN_IF_ERROR(upd.Bind(1, new_state).Bind(2, Micros(at)).Bind(3, node_id).Run());
  if (db_.Changes() != 1) return absl::NotFoundError(absl::StrCat("node ", node_id, " not found"));

  NodeTransition t;
  t.node_id = node_id;
  t.at = at;
  t.old_state = old_state;
  t.new_state = new_state;
  t.reasons = reasons;
  t.attestation_id = attestation_id;
  // The event id is the transition's sequence number (unique in this store) and its time: stable
  // across retries and restarts, so receivers can deduplicate at-least-once deliveries.
  ASSIGN_OR_RETURN(Statement ins,
                   db_.Prepare("INSERT INTO node_transitions (event_id, node_id, at, old_state, "
                               "new_state, reasons_json, attestation_id) VALUES "
                               "('pending', ?, ?, ?, ?, ?, ?)"));
  RETURN_IF_ERROR(ins.Bind(1, node_id)
                      .Bind(2, Micros(at))
                      .Bind(3, old_state)
                      .Bind(4, new_state)
                      .Bind(5, Dump(ReasonsJson(reasons)))
                      .Bind(6, attestation_id)
                      .Run());
  const int64_t seq = sqlite3_last_insert_rowid(db_.get());
  t.event_id = absl::StrCat("evt-", seq, "-", absl::Hex(Micros(at)));
  ASSIGN_OR_RETURN(Statement name,
                   db_.Prepare("UPDATE node_transitions SET event_id = ? WHERE seq = ?"));
  RETURN_IF_ERROR(name.Bind(1, t.event_id).Bind(2, seq).Run());

  std::string hostname;
  {
    ASSIGN_OR_RETURN(Statement h, db_.Prepare("SELECT hostname FROM nodes WHERE node_id = ?"));
    h.Bind(1, node_id);
    ASSIGN_OR_RETURN(bool row, h.Step());
    if (row) hostname = h.Text(0);
  }
  const nlohmann::json payload = {{"event_id", t.event_id},
                                  {"type", "node.state_changed"},
                                  {"node", node_id},
                                  {"hostname", hostname},
                                  {"old_state", old_state},
                                  {"new_state", new_state},
                                  {"reasons", ReasonsJson(reasons)},
                                  {"attestation_id", attestation_id},
                                  {"time", Rfc3339(at)}};
  const std::string body = Dump(payload);
  for (const std::string& sink : notification_sinks_) {
    ASSIGN_OR_RETURN(Statement o,
                     db_.Prepare(absl::StrCat("INSERT INTO notification_outbox (event_id, sink, "
                                              "payload, created_at, next_attempt_at) VALUES "
                                              "(?, ?, ?, ?, ?)")));
    RETURN_IF_ERROR(o.Bind(1, t.event_id)
                        .Bind(2, sink)
                        .Bind(3, body)
                        .Bind(4, Micros(at))
                        .Bind(5, Micros(at))
                        .Run());
  }
  std::string detail = absl::StrCat(old_state, " -> ", new_state);
  for (const Finding& f : reasons) absl::StrAppend(&detail, " ", f.code);
  if (!attestation_id.empty()) absl::StrAppend(&detail, " (", attestation_id, ")");
  RETURN_IF_ERROR(AuditLocked("node.state", node_id, detail, at));
  return t;
}

absl::Status Store::ApplyAttestationStateLocked(const AttestationRecord& a) {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT state FROM nodes WHERE node_id = ?"));
  q.Bind(1, a.node_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return absl::OkStatus();
  const std::string old_state = q.Text(0);
  // Revoked is final. Only evidence signed by the node's own AK (the quote verified, so its
  // clockInfo is set) moves the state: a forged or garbled request for someone else's node id
  // is recorded, but must not flip that node to untrusted.
  if (old_state == kNodeStateRevoked || !a.clock.has_value()) return absl::OkStatus();
  const bool affirming = a.verdict == kVerdictAffirming;
  if (affirming) {
    ASSIGN_OR_RETURN(Statement u,
                     db_.Prepare("UPDATE nodes SET last_attested_at = ? WHERE node_id = ?"));
    RETURN_IF_ERROR(u.Bind(1, Micros(a.created_at)).Bind(2, a.node_id).Run());
  }
  const std::string new_state = affirming ? kNodeStateTrusted : kNodeStateUntrusted;
  if (new_state == old_state) return absl::OkStatus();
  Findings reasons;
  if (!affirming) {
    // The appraisal's findings (TOKEN_ISSUER_FAILED is about the token, not the node).
    for (const Finding& f : a.findings) {
      if (f.code != codes::kTokenIssuerFailed) reasons.push_back(f);
    }
  }
  return TransitionLocked(a.node_id, old_state, new_state, reasons, a.attestation_id, a.created_at)
      .status();
}

absl::StatusOr<std::vector<NodeTransition>> Store::MarkStaleNodes(absl::Time now,
                                                                  absl::Duration deadline) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(Statement q,
                   db_.Prepare("SELECT node_id, state, coalesce(last_attested_at, enrolled_at) "
                               "FROM nodes WHERE state IN ('enrolled', 'trusted') AND "
                               "coalesce(last_attested_at, enrolled_at) <= ? ORDER BY node_id"));
  q.Bind(1, Micros(now - deadline));
  struct Due {
    std::string node_id, state;
    absl::Time since;
  };
  std::vector<Due> due;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    due.push_back(Due{q.Text(0), q.Text(1), FromMicros(q.Int(2))});
  }
  std::vector<NodeTransition> out;
  for (const Due& d : due) {
    const std::string detail = absl::StrCat("no affirming attestation since ", Rfc3339(d.since),
                                            " (deadline ", absl::FormatDuration(deadline), ")");
    ASSIGN_OR_RETURN(NodeTransition t,
                     TransitionLocked(d.node_id, d.state, kNodeStateStale,
                                      {Finding{codes::kNodeStale, detail}}, "", now));
    out.push_back(std::move(t));
  }
  RETURN_IF_ERROR(tx.Commit());
  return out;
}

absl::StatusOr<std::vector<NodeTransition>> Store::ListNodeTransitions(const std::string& node_id,
                                                                       size_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s,
                   db_.Prepare("SELECT event_id, node_id, at, old_state, new_state, reasons_json, "
                               "attestation_id FROM node_transitions WHERE (?1 = '' OR node_id = "
                               "?1) ORDER BY seq DESC LIMIT ?2"));
  s.Bind(1, node_id).Bind(2, Limit(limit));
  std::vector<NodeTransition> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    NodeTransition t;
    t.event_id = s.Text(0);
    t.node_id = s.Text(1);
    t.at = FromMicros(s.Int(2));
    t.old_state = s.Text(3);
    t.new_state = s.Text(4);
    t.reasons = ReasonsFromJson(s.Text(5));
    t.attestation_id = s.Text(6);
    out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Store::CountNodesByState() {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int64_t> counts;
  for (const char* state : {kNodeStateEnrolled, kNodeStateTrusted, kNodeStateUntrusted,
                            kNodeStateStale, kNodeStateRevoked}) {
    counts[state] = 0;
  }
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT state, count(*) FROM nodes GROUP BY state"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    counts[s.Text(0)] = s.Int(1);
  }
  return std::vector<std::pair<std::string, int64_t>>(counts.begin(), counts.end());
}

absl::StatusOr<std::vector<OutboxEntry>> Store::DueNotifications(absl::Time now, size_t limit) {
  absl::MutexLock lock(&mu_);
  // Per node and sink, only the oldest undelivered event is ever due: a hook sees a node's
  // changes in the order they happened (cordon, then uncordon), never the reverse after a retry.
  const std::string columns =
      absl::StrCat("o.", absl::StrReplaceAll(kOutboxColumns, {{", ", ", o."}}));
  ASSIGN_OR_RETURN(
      Statement s,
      db_.Prepare(absl::StrCat(
          "SELECT ", columns,
          " FROM notification_outbox o JOIN node_transitions t ON t.event_id = o.event_id "
          "WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ?1 AND NOT EXISTS (SELECT 1 "
          "FROM notification_outbox o2 JOIN node_transitions t2 ON t2.event_id = o2.event_id "
          "WHERE o2.sink = o.sink AND o2.delivered_at IS NULL AND t2.node_id = t.node_id AND "
          "t2.seq < t.seq) ORDER BY t.seq, o.sink LIMIT ?2")));
  s.Bind(1, Micros(now)).Bind(2, Limit(limit));
  std::vector<OutboxEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadOutbox(s));
  }
  return out;
}

absl::Status Store::MarkNotificationDelivered(const std::string& event_id, const std::string& sink,
                                              absl::Time at) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("UPDATE notification_outbox SET delivered_at = ?, "
                                            "attempts = attempts + 1, last_error = '' WHERE "
                                            "event_id = ? AND sink = ? AND delivered_at IS NULL"));
  return s.Bind(1, Micros(at)).Bind(2, event_id).Bind(3, sink).Run();
}

absl::Status Store::MarkNotificationFailed(const std::string& event_id, const std::string& sink,
                                           const std::string& error, absl::Time next_attempt_at) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("UPDATE notification_outbox SET attempts = attempts + "
                                            "1, last_error = ?, next_attempt_at = ? WHERE "
                                            "event_id = ? AND sink = ? AND delivered_at IS NULL"));
  return s.Bind(1, error.substr(0, 1024))
      .Bind(2, Micros(next_attempt_at))
      .Bind(3, event_id)
      .Bind(4, sink)
      .Run();
}

absl::StatusOr<std::vector<OutboxEntry>> Store::ListNotifications(size_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare(absl::StrCat("SELECT ", kOutboxColumns,
                                                         " FROM notification_outbox ORDER BY "
                                                         "created_at, rowid LIMIT ?")));
  s.Bind(1, Limit(limit));
  std::vector<OutboxEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadOutbox(s));
  }
  return out;
}

absl::StatusOr<int64_t> Store::NotificationBacklog() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT count(*) FROM notification_outbox WHERE "
                                            "delivered_at IS NULL"));
  ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

absl::StatusOr<int64_t> Store::SizeBytes() {
  absl::MutexLock lock(&mu_);
  int64_t pages = 0, page_size = 0;
  for (auto [pragma, out] : {std::pair<const char*, int64_t*>{"PRAGMA page_count", &pages},
                             {"PRAGMA page_size", &page_size}}) {
    ASSIGN_OR_RETURN(Statement s, db_.Prepare(pragma));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) *out = s.Int(0);
  }
  int64_t total = pages * page_size;
  struct stat st;
  if (stat(absl::StrCat(path_, "-wal").c_str(), &st) == 0) total += st.st_size;
  return total;
}

void Store::RememberFileLocked() {
  struct stat st;
  if (stat(path_.c_str(), &st) == 0) {
    file_dev_ = static_cast<uint64_t>(st.st_dev);
    file_ino_ = static_cast<uint64_t>(st.st_ino);
  }
}

absl::Status Store::Ping() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Statement s, db_.Prepare("SELECT count(*) FROM sqlite_master"));
  RETURN_IF_ERROR(s.Step().status());
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(path_, ": ", std::strerror(errno)));
  }
  struct stat st;
  char header[16] = {};
  const bool same = fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_dev) == file_dev_ &&
                    static_cast<uint64_t>(st.st_ino) == file_ino_;
  const bool intact = pread(fd, header, sizeof(header), 0) == sizeof(header) &&
                      std::memcmp(header, "SQLite format 3", 16) == 0;
  close(fd);
  if (!same) {
    return absl::DataLossError(
        absl::StrCat(path_, " is no longer the database file this verifier opened"));
  }
  if (!intact) {
    return absl::DataLossError(absl::StrCat(path_, ": the SQLite header is damaged"));
  }
  return absl::OkStatus();
}

}  // namespace bootgate::verifier
