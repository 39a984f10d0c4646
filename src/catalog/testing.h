// Test support: a fresh, empty catalog on either engine, for tests parameterised over both.
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, MyTest, ::testing::Values(catalog::Engine::kSqlite), ...)
//   INSTANTIATE_TEST_SUITE_P(Postgres, MyTest, ::testing::Values(catalog::Engine::kPostgres), ...)
//
// SQLite: a file in a new temp folder. PostgreSQL: a new database (CREATE DATABASE) on the
// server named by MLVAULT_TEST_PG (a libpq URL, exported by the CTest fixture that runs
// scripts/start-postgres.sh), dropped again at the end. Without MLVAULT_TEST_PG, PostgreSQL
// tests call GTEST_SKIP() with what to do. Not thread-safe; Open() may be called from any thread.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "catalog/db.h"
#include "util/files.h"
#include "util/random.h"

namespace mlvault::catalog {

enum class Engine { kSqlite, kPostgres };

inline void PrintTo(Engine engine, std::ostream* os) {
  *os << (engine == Engine::kSqlite ? "sqlite" : "postgres");
}

inline std::string EngineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "sqlite" : "postgres";
}

// `url` with its database (the path) replaced by `db`; query parameters are kept.
inline std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?', scheme == std::string::npos ? 0 : scheme + 3);
  std::string base = url.substr(0, std::min(slash, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + rest;
}

class TestCatalog {
 public:
  // Call from SetUp() inside ASSERT_NO_FATAL_FAILURE; skips when PostgreSQL is not configured.
  void Create(Engine engine) {
    engine_ = engine;
    if (engine == Engine::kSqlite) {
      dir_ = *util::MakeTempDir("mlvault-catalog-test-");
      location_ = dir_ + "/catalog.db";
      return;
    }
    const char* admin = std::getenv("MLVAULT_TEST_PG");
    if (!admin || !*admin)
      GTEST_SKIP() << "MLVAULT_TEST_PG is not set: start a server with "
                      "`scripts/start-postgres.sh start` and export the URL it prints (ctest "
                      "does this through the postgres fixture)";
    admin_ = admin;
    name_ = "mlvault_test_" + util::NewUuid().substr(0, 8);
    auto db = OpenPostgres(admin_);
    ASSERT_TRUE(db) << db.error().message();
    ASSERT_TRUE((*db)->Exec("CREATE DATABASE " + name_, {})) << "CREATE DATABASE " << name_;
    location_ = WithDatabase(admin_, name_);
  }

  ~TestCatalog() {
    if (!dir_.empty()) (void)util::RemoveAll(dir_);
    if (!name_.empty())
      if (auto db = OpenPostgres(admin_); db)
        (void)(*db)->Exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", {});
  }

  // A new connection to the test catalog.
  std::unique_ptr<Db> Open() const {
    auto db = OpenCatalog(location_);
    EXPECT_TRUE(db) << (db ? "" : db.error().message());
    return db ? std::move(*db) : nullptr;
  }

  Engine engine() const { return engine_; }
  const std::string& location() const { return location_; }

 private:
  Engine engine_ = Engine::kSqlite;
  std::string dir_;
  std::string admin_;
  std::string name_;
  std::string location_;
};

// A Db whose next write transaction loses a race at COMMIT, to test that a transaction body
// decides everything afresh on every attempt (PostgreSQL runs the body again after a
// serialization failure, which SERIALIZABLE may report only at COMMIT, after the whole body ran).
//
// The next outermost Transaction is played as PostgresDb plays a failed COMMIT: the body runs to
// its end, that attempt is rolled back, `race` runs (another connection commits a change, as the
// transaction that won would have), and the body runs again. The same on both engines (SQLite
// itself never re-runs a body: it takes the write lock up front). Not thread-safe (as every Db).
class RacingDb : public Db {
 public:
  RacingDb(Db& inner, std::function<void()> race) : inner_(inner), race_(std::move(race)) {}

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    return inner_.Query(sql, params);
  }
  Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params) override {
    return inner_.Exec(sql, params);
  }
  Status Transaction(const std::function<Status()>& body) override {
    if (depth_ > 0 || !race_) return Counted(body);
    bool lost = false;
    Status first = inner_.Transaction([&]() -> Status {
      MLV_TRY(Counted(body));
      lost = true;
      return util::Unavailable("could not serialize access (played by RacingDb)");
    });
    if (!lost) return first;  // the body itself failed: no retry, as PostgresDb
    std::exchange(race_, nullptr)();
    return inner_.Transaction([&] { return Counted(body); });
  }
  Status Migrate(const std::vector<Migration>& migrations) override {
    return inner_.Migrate(migrations);
  }
  std::string Describe() const override { return inner_.Describe(); }

  // How many times an outermost transaction body ran (every attempt counts).
  int attempts() const { return attempts_; }

 private:
  Status Counted(const std::function<Status()>& body) {
    if (++depth_ == 1) ++attempts_;
    Status st = body();
    --depth_;
    return st;
  }

  Db& inner_;
  std::function<void()> race_;
  int depth_ = 0;
  int attempts_ = 0;
};

}  // namespace mlvault::catalog
