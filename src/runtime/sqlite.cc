#include "runtime/sqlite.h"

#include <fmt/core.h>
#include <sqlite3.h>

namespace mlvault::runtime {

bool SqlRow::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t SqlRow::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double SqlRow::Real(int col) const { return sqlite3_column_double(stmt_, col); }
std::string SqlRow::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::unexpected<util::Error> Sqlite::Fail(int rc, std::string_view what) const {
  std::string msg = fmt::format("{} ({}): {}", what, path_, sqlite3_errmsg(db_));
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return util::Conflict(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return util::Unavailable(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return util::Corruption(msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return util::IoError(msg);
    default:
      return util::Internal(msg);
  }
}

util::Result<std::unique_ptr<Sqlite>> Sqlite::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return util::IoError("cannot open the metadata database " + path + ": " + msg);
  }
  std::unique_ptr<Sqlite> s(new Sqlite(db, path));
  sqlite3_busy_timeout(db, 5000);
  // Touch the file so that a file that is not a database fails here with a clear error.
  MLV_TRY_CTX(s->ExecScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                            "PRAGMA foreign_keys=ON;"),
              "cannot open the metadata database " + path);
  return s;
}

Sqlite::~Sqlite() { sqlite3_close_v2(db_); }

util::Result<sqlite3_stmt*> Sqlite::Prepare(std::string_view sql,
                                            std::initializer_list<SqlValue> args) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return Fail(rc, "cannot prepare a statement");
  int i = 1;
  for (const SqlValue& v : args) {
    if (std::holds_alternative<std::nullptr_t>(v))
      rc = sqlite3_bind_null(stmt, i);
    else if (auto* n = std::get_if<int64_t>(&v))
      rc = sqlite3_bind_int64(stmt, i, *n);
    else if (auto* d = std::get_if<double>(&v))
      rc = sqlite3_bind_double(stmt, i, *d);
    else {
      const auto& s = std::get<std::string>(v);
      rc = sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Fail(rc, "cannot bind a value");
    }
    ++i;
  }
  return stmt;
}

util::Result<int> Sqlite::Exec(std::string_view sql, std::initializer_list<SqlValue> args) {
  sqlite3_stmt* stmt = MLV_TRY(Prepare(sql, args));
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Fail(rc, "cannot write the metadata database");
  return sqlite3_changes(db_);
}

util::Status Sqlite::ExecScript(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    auto e = Fail(rc, "cannot run a statement");
    return std::unexpected(util::Error(e.error().code(), msg + " (" + path_ + ")"));
  }
  return util::Ok();
}

util::Status Sqlite::Query(std::string_view sql, std::initializer_list<SqlValue> args,
                           const std::function<bool(const SqlRow&)>& row) {
  sqlite3_stmt* stmt = MLV_TRY(Prepare(sql, args));
  int rc;
  SqlRow r(stmt);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (!row(r)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Fail(rc, "cannot read the metadata database");
  return util::Ok();
}

util::Status Sqlite::Transaction(const std::function<util::Status()>& body) {
  MLV_TRY(Exec("BEGIN IMMEDIATE"));
  util::Status st = body();
  if (!st) {
    (void)Exec("ROLLBACK");
    return st;
  }
  auto c = Exec("COMMIT");
  if (!c) {
    (void)Exec("ROLLBACK");
    return std::unexpected(c.error());
  }
  return util::Ok();
}

util::Status Sqlite::CheckpointTruncate() {
  int log = 0, done = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
  if (rc != SQLITE_OK) return Fail(rc, "cannot checkpoint the metadata database");
  if (log != done)
    return util::Unavailable(
        fmt::format("checkpoint of {} copied {} of {} frames", path_, done, log));
  return util::Ok();
}

}  // namespace mlvault::runtime
