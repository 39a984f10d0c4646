// The SQLite driver of catalog::Db: a thin adapter over sqlite::Connection (the one SQLite
// wrapper), adding the migrations table.
#include <algorithm>

#include "catalog/db.h"
#include "sqlite/connection.h"

namespace mlvault::catalog {
namespace {

class SqliteDb : public Db {
 public:
  explicit SqliteDb(std::unique_ptr<sqlite::Connection> c) : c_(std::move(c)) {}

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    return c_->Query(sql, params);
  }
  Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params) override {
    return c_->Exec(sql, params);
  }
  Status Transaction(const std::function<Status()>& body) override { return c_->Transaction(body); }

  Status Migrate(const std::vector<Migration>& migrations) override {
    MLV_TRY(c_->ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT "
        "NULL)"));
    std::vector<Migration> sorted = migrations;
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.id < b.id; });
    for (const auto& m : sorted) {
      // BEGIN IMMEDIATE takes the write lock first, so concurrent migrators run one at a time.
      MLV_TRY(c_->Transaction([&]() -> Status {
        auto done = MLV_TRY(c_->Query("SELECT 1 FROM schema_migrations WHERE id = ?", {m.id}));
        if (!done.empty()) return util::Ok();
        MLV_TRY_CTX(c_->ExecScript(m.sql), "migration " + m.id);
        MLV_TRY(c_->Exec(
            "INSERT INTO schema_migrations (id, applied_at) VALUES (?, datetime('now'))", {m.id}));
        return util::Ok();
      }));
    }
    return util::Ok();
  }

  std::string Describe() const override { return "sqlite:" + c_->path(); }

 private:
  std::unique_ptr<sqlite::Connection> c_;
};

}  // namespace

Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path) {
  auto c = MLV_TRY(sqlite::Connection::Open(
      path, {.label = "catalog", .synchronous_full = false, .busy_timeout_ms = 30000}));
  return std::unique_ptr<Db>(std::make_unique<SqliteDb>(std::move(c)));
}

}  // namespace mlvault::catalog
