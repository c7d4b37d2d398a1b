// A thin RAII layer over the SQLite C API: one owner for sqlite3 and one for sqlite3_stmt, and the
// one place SQLite result codes become absl::Status (SqliteError).
#ifndef BOOTGATE_VERIFIER_STORE_SQLITE_H_
#define BOOTGATE_VERIFIER_STORE_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/util/bytes.h"

namespace bootgate::verifier {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

// Maps a SQLite result code (with the connection's message when there is one) to a Status whose
// message names the operation: busy/locked -> Unavailable, corrupt/not-a-database -> DataLoss,
// constraint -> AlreadyExists, full -> ResourceExhausted, cannot open/read-only/permission ->
// FailedPrecondition, everything else -> Internal.
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view operation);

// A prepared statement. Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class Statement {
 public:
  Statement(sqlite3* db, SqliteStmtPtr stmt) : db_(db), stmt_(std::move(stmt)) {}

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, absl::string_view(text)); }
  Statement& Bind(int index, const std::string& text) {
    return Bind(index, absl::string_view(text));
  }
  Statement& BindBlob(int index, attest::ByteSpan blob);
  Statement& BindNull(int index);
  template <typename T>
  Statement& BindOptional(int index, const std::optional<T>& value) {
    return value.has_value() ? Bind(index, *value) : BindNull(index);
  }

  // True when a row is available, false when done; errors (including a failed Bind) as Status.
  absl::StatusOr<bool> Step();
  // Step() that must finish without returning rows (INSERT/UPDATE/DELETE).
  absl::Status Run();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  std::string Text(int col) const;
  attest::Bytes Blob(int col) const;
  std::optional<int64_t> OptionalInt(int col) const;

 private:
  sqlite3* db_;
  SqliteStmtPtr stmt_;
  int bind_rc_ = SQLITE_OK;
};

class SqliteDb {
 public:
  // Opens (and with `create`, creates) a database file. Opening is lazy in SQLite; callers run a
  // first statement (Store runs quick_check) to find out whether the file is a database at all.
  static absl::StatusOr<SqliteDb> Open(const std::string& path, bool create);

  absl::Status Exec(absl::string_view sql);
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  int Changes() const { return sqlite3_changes(db_.get()); }
  sqlite3* get() const { return db_.get(); }
  const std::string& path() const { return path_; }

 private:
  SqliteDb(SqlitePtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

  SqlitePtr db_;
  std::string path_;
};

// BEGIN IMMEDIATE .. COMMIT; rolled back by the destructor unless committed.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(SqliteDb& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  absl::Status Commit();

 private:
  explicit Transaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_STORE_SQLITE_H_
