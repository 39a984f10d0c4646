#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "catalog/db.h"
#include "util/random.h"

namespace mlvault::catalog {

int64_t Row::Int(size_t i) const {
  if (auto* v = std::get_if<int64_t>(&values.at(i))) return *v;
  if (auto* d = std::get_if<double>(&values.at(i))) return static_cast<int64_t>(*d);
  return 0;
}
double Row::Real(size_t i) const {
  if (auto* v = std::get_if<double>(&values.at(i))) return *v;
  if (auto* n = std::get_if<int64_t>(&values.at(i))) return static_cast<double>(*n);
  return 0;
}
std::string Row::Text(size_t i) const {
  if (auto* v = std::get_if<std::string>(&values.at(i))) return *v;
  if (auto* n = std::get_if<int64_t>(&values.at(i))) return std::to_string(*n);
  return "";
}
std::optional<std::string> Row::OptText(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Text(i);
}
std::optional<int64_t> Row::OptInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}
bool Row::IsNull(size_t i) const { return std::holds_alternative<std::nullptr_t>(values.at(i)); }

namespace {

constexpr int kBusyTimeoutMs = 30000;

class SqliteDb : public Db {
 public:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteDb() override { sqlite3_close_v2(db_); }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
    if (rc != SQLITE_OK) return ToError(rc, "prepare");
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, sqlite3_finalize);
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(raw))
      return util::Internal("catalog: statement takes " + std::to_string(sqlite3_bind_parameter_count(raw)) +
                            " parameters, given " + std::to_string(params.size()));
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const Value& v = params[i];
      if (std::holds_alternative<std::nullptr_t>(v)) rc = sqlite3_bind_null(raw, idx);
      else if (auto* n = std::get_if<int64_t>(&v)) rc = sqlite3_bind_int64(raw, idx, *n);
      else if (auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(raw, idx, *d);
      else {
        const auto& s = std::get<std::string>(v);
        rc = sqlite3_bind_text(raw, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) return ToError(rc, "bind");
    }
    std::vector<Row> rows;
    for (;;) {
      rc = sqlite3_step(raw);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return ToError(rc, "step");
      Row row;
      int n = sqlite3_column_count(raw);
      row.values.reserve(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(raw, c)) {
          case SQLITE_NULL: row.values.emplace_back(nullptr); break;
          case SQLITE_INTEGER: row.values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(raw, c))); break;
          case SQLITE_FLOAT: row.values.emplace_back(sqlite3_column_double(raw, c)); break;
          default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(raw, c));
            row.values.emplace_back(std::string(p ? p : "", sqlite3_column_bytes(raw, c)));
          }
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params) override {
    MLV_TRY(Query(sql, params));
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  Status Transaction(const std::function<Status()>& body) override {
    if (depth_ > 0) {
      ++depth_;
      Status st = body();
      --depth_;
      return st;
    }
    MLV_TRY(ExecRaw("BEGIN IMMEDIATE"));
    depth_ = 1;
    Status st = body();
    depth_ = 0;
    if (!st) {
      (void)ExecRaw("ROLLBACK");
      return st;
    }
    Status c = ExecRaw("COMMIT");
    if (!c) (void)ExecRaw("ROLLBACK");
    return c;
  }

  Status Migrate(const std::vector<Migration>& migrations) override {
    MLV_TRY(ExecRaw("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"));
    std::vector<Migration> sorted = migrations;
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.id < b.id; });
    for (const auto& m : sorted) {
      Status st = Transaction([&]() -> Status {
        auto done = MLV_TRY(Query("SELECT 1 FROM schema_migrations WHERE id = ?", {m.id}));
        if (!done.empty()) return util::Ok();
        MLV_TRY_CTX(ExecRaw(m.sql), "migration " + m.id);
        MLV_TRY(Exec("INSERT INTO schema_migrations (id, applied_at) VALUES (?, datetime('now'))", {m.id}));
        return util::Ok();
      });
      if (!st) return st;
    }
    return util::Ok();
  }

  std::string Describe() const override { return "sqlite:" + path_; }

  Status ExecRaw(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return ToErrorMsg(rc, msg);
    }
    return util::Ok();
  }

 private:
  std::unexpected<util::Error> ToError(int rc, std::string_view what) {
    return ToErrorMsg(rc, std::string(what) + ": " + sqlite3_errmsg(db_));
  }
  std::unexpected<util::Error> ToErrorMsg(int rc, const std::string& msg) {
    int primary = rc & 0xff;
    if (primary == SQLITE_CONSTRAINT) return util::Conflict("catalog constraint: " + msg);
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
      return util::Unavailable("catalog " + path_ + " is locked by another process: " + msg);
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR) return util::IoError("catalog " + path_ + ": " + msg);
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return util::Corruption("catalog " + path_ + ": " + msg);
    return util::Internal("catalog: " + msg);
  }

  sqlite3* db_;
  std::string path_;
  int depth_ = 0;
};

}  // namespace

Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return util::Unavailable("cannot open catalog " + path + ": " + msg);
  }
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  auto db = std::make_unique<SqliteDb>(raw, path);
  MLV_TRY(db->ExecRaw("PRAGMA journal_mode=WAL"));
  MLV_TRY(db->ExecRaw("PRAGMA synchronous=NORMAL"));
  MLV_TRY(db->ExecRaw("PRAGMA foreign_keys=ON"));
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace mlvault::catalog
