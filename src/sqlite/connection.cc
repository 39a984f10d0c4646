#include "sqlite/connection.h"

#include <fmt/core.h>
#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <iterator>

namespace mlvault::sqlite {

Connection::Connection(sqlite3* db, std::string path, Options options)
    : db_(db), path_(std::move(path)), options_(std::move(options)) {}

Connection::~Connection() {
  for (auto& c : cache_) sqlite3_finalize(c.stmt);
  sqlite3_close_v2(db_);
}

util::Result<Connection::Cached> Connection::Take(std::string_view sql) {
  for (auto it = cache_.rbegin(); it != cache_.rend(); ++it) {
    if (it->sql == sql) {
      Cached c = std::move(*it);
      cache_.erase(std::next(it).base());
      return c;
    }
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return Fail(rc, std::string("prepare: ") + sqlite3_errmsg(db_));
  }
  return Cached{std::string(sql), raw};
}

void Connection::Give(Cached c) {
  sqlite3_reset(c.stmt);
  sqlite3_clear_bindings(c.stmt);
  if (cache_.size() >= kCachedStatements) {
    sqlite3_finalize(cache_.front().stmt);
    cache_.erase(cache_.begin());
  }
  cache_.push_back(std::move(c));
}

util::Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                           const Options& options) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return util::Unavailable(fmt::format("cannot open the {} {}: {}", options.label, path, msg));
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  std::unique_ptr<Connection> c(new Connection(db, path, options));
  // Touches the file, so that a file that is not a database fails here with a clear error.
  MLV_TRY_CTX(c->ExecScript(fmt::format("PRAGMA journal_mode=WAL; PRAGMA synchronous={}; "
                                        "PRAGMA foreign_keys=ON;",
                                        options.synchronous_full ? "FULL" : "NORMAL")),
              fmt::format("cannot open the {} {}", options.label, path));
  return c;
}

std::unexpected<util::Error> Connection::Fail(int rc, const std::string& detail) const {
  const std::string& what = options_.label;
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return util::Conflict(fmt::format("{} constraint: {}", what, detail));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return util::Unavailable(
          fmt::format("{} {} is locked by another process: {}", what, path_, detail));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return util::Corruption(fmt::format("{} {}: {}", what, path_, detail));
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY: {
      // SQLite says "disk I/O error" (or "database or disk is full"); the system's errno says
      // why, and a full disk is worth saying plainly with what to do.
      int err = db_ ? sqlite3_system_errno(db_) : 0;
      if ((rc & 0xff) == SQLITE_FULL || err == ENOSPC || err == EDQUOT)
        return util::IoError(fmt::format(
            "{} {}: {}: {}: the disk holding it is full; free space there, then retry", what,
            path_, detail, std::strerror(err ? err : ENOSPC)));
      if (err != 0)
        return util::IoError(
            fmt::format("{} {}: {}: {}", what, path_, detail, std::strerror(err)));
      return util::IoError(fmt::format("{} {}: {}", what, path_, detail));
    }
    default:
      return util::Internal(fmt::format("{} {}: {}", what, path_, detail));
  }
}

util::Status Connection::Run(std::string_view sql, const std::vector<Value>& params,
                             const std::function<bool(const Row&)>* row_fn) {
  Cached taken = MLV_TRY(Take(sql));
  // Back to the cache however this ends (reset, so that it holds no lock and no row).
  struct Lease {
    Connection* c;
    Cached s;
    ~Lease() { c->Give(std::move(s)); }
  } lease{this, std::move(taken)};
  sqlite3_stmt* raw = lease.s.stmt;
  int rc = SQLITE_OK;
  if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(raw))
    return util::Internal(fmt::format("{}: statement takes {} parameters, given {}", options_.label,
                                      sqlite3_bind_parameter_count(raw), params.size()));
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1);
    const Value& v = params[i];
    if (std::holds_alternative<std::nullptr_t>(v))
      rc = sqlite3_bind_null(raw, idx);
    else if (auto* n = std::get_if<int64_t>(&v))
      rc = sqlite3_bind_int64(raw, idx, *n);
    else if (auto* d = std::get_if<double>(&v))
      rc = sqlite3_bind_double(raw, idx, *d);
    else {
      const auto& s = std::get<std::string>(v);
      rc = sqlite3_bind_text(raw, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) return Fail(rc, std::string("bind: ") + sqlite3_errmsg(db_));
  }
  Row row;
  for (;;) {
    rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Fail(rc, sqlite3_errmsg(db_));
    if (!row_fn) continue;
    int n = sqlite3_column_count(raw);
    row.values.clear();
    row.values.reserve(n);
    for (int c = 0; c < n; ++c) {
      switch (sqlite3_column_type(raw, c)) {
        case SQLITE_NULL:
          row.values.emplace_back(nullptr);
          break;
        case SQLITE_INTEGER:
          row.values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(raw, c)));
          break;
        case SQLITE_FLOAT:
          row.values.emplace_back(sqlite3_column_double(raw, c));
          break;
        default: {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(raw, c));
          row.values.emplace_back(std::string(p ? p : "", sqlite3_column_bytes(raw, c)));
        }
      }
    }
    if (!(*row_fn)(row)) break;
  }
  return util::Ok();
}

util::Result<std::vector<Row>> Connection::Query(std::string_view sql,
                                                 const std::vector<Value>& params) {
  std::vector<Row> rows;
  std::function<bool(const Row&)> collect = [&](const Row& r) {
    rows.push_back(r);
    return true;
  };
  MLV_TRY(Run(sql, params, &collect));
  return rows;
}

util::Status Connection::Query(std::string_view sql, const std::vector<Value>& params,
                               const std::function<bool(const Row&)>& row) {
  return Run(sql, params, &row);
}

util::Result<int64_t> Connection::Exec(std::string_view sql, const std::vector<Value>& params) {
  MLV_TRY(Run(sql, params, nullptr));
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

util::Status Connection::ExecScript(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Fail(rc, msg);
  }
  return util::Ok();
}

util::Status Connection::Transaction(const std::function<util::Status()>& body) {
  if (depth_ > 0) {
    ++depth_;
    util::Status st = body();
    --depth_;
    return st;
  }
  MLV_TRY(ExecScript("BEGIN IMMEDIATE"));
  depth_ = 1;
  util::Status st = body();
  depth_ = 0;
  if (!st) {
    (void)ExecScript("ROLLBACK");
    return st;
  }
  util::Status c = ExecScript("COMMIT");
  if (!c) (void)ExecScript("ROLLBACK");
  return c;
}

util::Status Connection::CheckpointTruncate() {
  int log = 0, done = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
  if (rc != SQLITE_OK) return Fail(rc, std::string("checkpoint: ") + sqlite3_errmsg(db_));
  if (log != done)
    return util::Unavailable(
        fmt::format("checkpoint of {} copied {} of {} frames", path_, done, log));
  return util::Ok();
}

}  // namespace mlvault::sqlite
