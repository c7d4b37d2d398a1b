#include "verifier/store/sqlite.h"

#include <climits>

#include "absl/strings/str_cat.h"

namespace bootgate::verifier {

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view operation) {
  const int primary = rc & 0xff;
  // The connection's message is more specific ("no such table: x"), but only when it describes
  // this very result code.
  const char* message = (db != nullptr && (sqlite3_errcode(db) & 0xff) == primary)
                            ? sqlite3_errmsg(db)
                            : sqlite3_errstr(rc);
  const std::string text =
      absl::StrCat(operation, ": ", message, " (", sqlite3_errstr(rc), ", code ", rc, ")");
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(text);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(text);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(text);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(text);
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::FailedPreconditionError(text);
    default:
      return absl::InternalError(text);
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ = text.size() > INT_MAX
                   ? SQLITE_TOOBIG
                   : sqlite3_bind_text(stmt_.get(), index, text.data(),
                                       static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

Statement& Statement::BindBlob(int index, attest::ByteSpan blob) {
  if (bind_rc_ == SQLITE_OK) {
    // A zero-length blob must still be a blob, not NULL: sqlite3_bind_zeroblob for empty input.
    bind_rc_ = blob.size() > INT_MAX ? SQLITE_TOOBIG
               : blob.empty()        ? sqlite3_bind_zeroblob(stmt_.get(), index, 0)
                                     : sqlite3_bind_blob(stmt_.get(), index, blob.data(),
                                                         static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return SqliteError(db_, bind_rc_, "bind");
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, absl::StrCat("step '", sqlite3_sql(stmt_.get()), "'"));
}

absl::Status Statement::Run() {
  absl::StatusOr<bool> row = Step();
  if (!row.ok()) return row.status();
  if (*row)
    return absl::InternalError(
        absl::StrCat("unexpected row from '", sqlite3_sql(stmt_.get()), "'"));
  return absl::OkStatus();
}

bool Statement::IsNull(int col) const {
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }

std::string Statement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), col);
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), n);
}

attest::Bytes Statement::Blob(int col) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_.get(), col));
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return data == nullptr ? attest::Bytes() : attest::Bytes(data, data + n);
}

std::optional<int64_t> Statement::OptionalInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

absl::StatusOr<SqliteDb> SqliteDb::Open(const std::string& path, bool create) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqlitePtr db(raw);  // owned even on failure: sqlite3_open_v2 may allocate a handle anyway
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, absl::StrCat("open ", path));
  sqlite3_extended_result_codes(db.get(), 1);
  return SqliteDb(std::move(db), path);
}

absl::Status SqliteDb::Exec(absl::string_view sql) {
  const std::string text(sql);
  const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    return SqliteError(db_.get(), rc, absl::StrCat("exec '", sql.substr(0, 60), "'"));
  return absl::OkStatus();
}

absl::StatusOr<Statement> SqliteDb::Prepare(absl::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  SqliteStmtPtr stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, absl::StrCat("prepare '", sql, "'"));
  return Statement(db_.get(), std::move(stmt));
}

absl::StatusOr<Transaction> Transaction::Begin(SqliteDb& db) {
  absl::Status s = db.Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  return Transaction(&db);
}

Transaction::~Transaction() {
  // Best effort: a failed ROLLBACK leaves SQLite to roll back when the connection closes.
  if (db_ != nullptr) db_->Exec("ROLLBACK").IgnoreError();
}

absl::Status Transaction::Commit() {
  absl::Status s = db_->Exec("COMMIT");
  if (s.ok()) db_ = nullptr;
  return s;
}

}  // namespace bootgate::verifier
