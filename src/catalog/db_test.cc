#include "catalog/db.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "catalog/postgres_sql.h"
#include "catalog/testing.h"

namespace mlvault::catalog {
namespace {

class DbTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override { catalog_.Create(GetParam()); }
  TestCatalog catalog_;
};

TEST_P(DbTest, MigratesOnceAndMapsConstraintToConflict) {
  std::vector<Migration> ms = {{"0002_b", "ALTER TABLE t ADD COLUMN b INTEGER"},
                               {"0001_a", "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT)"}};
  {
    auto db = catalog_.Open();
    ASSERT_TRUE(db->Migrate(ms));
    ASSERT_TRUE(db->Migrate(ms));  // idempotent
    ASSERT_TRUE(db->Exec("INSERT INTO t (id, a, b) VALUES (?, ?, ?)",
                         {std::string("x"), std::string("y"), int64_t{3}}));
    auto dup = db->Exec("INSERT INTO t (id) VALUES (?)", {std::string("x")});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  }
  auto db = catalog_.Open();
  auto rows = *db->Query("SELECT id, a, b, NULL FROM t");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].Text(1), "y");
  EXPECT_EQ(rows[0].Int(2), 3);
  EXPECT_TRUE(rows[0].IsNull(3));
  EXPECT_EQ(db->Query("SELECT id FROM schema_migrations")->size(), 2u);
  // A failing transaction body leaves nothing behind.
  auto st = db->Transaction([&]() -> util::Status {
    MLV_TRY(db->Exec("INSERT INTO t (id) VALUES ('z')"));
    return util::Conflict("abort");
  });
  EXPECT_FALSE(st);
  EXPECT_EQ(db->Query("SELECT id FROM t")->size(), 1u);
}

TEST_P(DbTest, TypesRoundTripAsOnSqlite) {
  auto db = catalog_.Open();
  ASSERT_TRUE(db->Migrate({{"0001", "CREATE TABLE v (i INTEGER, r REAL, s TEXT, n INTEGER)"}}));
  const int64_t big = 1'790'000'000'000'000;  // microseconds: needs 64 bits
  ASSERT_TRUE(db->Exec("INSERT INTO v (i, r, s, n) VALUES (?, ?, ?, ?)",
                       {big, 2.5, std::string("it's ? \"q\""), nullptr}));
  auto rows =
      *db->Query("SELECT i, r, s, n, COUNT(*) OVER () FROM v WHERE i = ? AND s <> '?'", {big});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].Int(0), big);
  EXPECT_DOUBLE_EQ(rows[0].Real(1), 2.5);
  EXPECT_EQ(rows[0].Text(2), "it's ? \"q\"");
  EXPECT_TRUE(rows[0].IsNull(3));
  EXPECT_EQ(rows[0].Int(4), 1);
  EXPECT_EQ(*db->Exec("UPDATE v SET n = ? WHERE i = ?", {int64_t{7}, big}), 1);
  // A wrong parameter count is a bug in the caller, not a database error.
  auto bad = db->Query("SELECT i FROM v WHERE i = ?", {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), util::ErrorCode::kInternal);
}

TEST_P(DbTest, AutoIncrementAndAppendOnlyGuards) {
  auto db = catalog_.Open();
  ASSERT_TRUE(db->Migrate({{"0001", R"sql(
CREATE TABLE log (seq INTEGER PRIMARY KEY, what TEXT NOT NULL);
CREATE TRIGGER log_no_update BEFORE UPDATE ON log
BEGIN SELECT RAISE(ABORT, 'log is append-only: events cannot be changed'); END;
CREATE TRIGGER log_no_delete BEFORE DELETE ON log
BEGIN SELECT RAISE(ABORT, 'log is append-only: events cannot be deleted'); END;
)sql"}}));
  ASSERT_TRUE(db->Exec("INSERT INTO log (what) VALUES ('a')"));
  ASSERT_TRUE(db->Exec("INSERT INTO log (what) VALUES ('b')"));
  auto rows = *db->Query("SELECT seq, what FROM log ORDER BY seq");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_LT(rows[0].Int(0), rows[1].Int(0));
  auto upd = db->Exec("UPDATE log SET what = 'x'");
  ASSERT_FALSE(upd);
  EXPECT_EQ(upd.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(upd.error().message().find("cannot be changed"), std::string::npos);
  auto del = db->Exec("DELETE FROM log");
  ASSERT_FALSE(del);
  EXPECT_NE(del.error().message().find("cannot be deleted"), std::string::npos);
  EXPECT_EQ(db->Query("SELECT seq FROM log")->size(), 2u);
}

TEST_P(DbTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  // Several processes starting together (here: connections on threads) all migrate; each
  // migration runs exactly once (a second CREATE TABLE would fail) and every migrator succeeds.
  std::vector<Migration> ms;
  for (int i = 0; i < 6; ++i)
    ms.push_back({"000" + std::to_string(i), "CREATE TABLE t" + std::to_string(i) +
                                                 " (id INTEGER PRIMARY KEY, v TEXT);"
                                                 "INSERT INTO t" +
                                                 std::to_string(i) + " (v) VALUES ('once');"});
  std::vector<std::unique_ptr<Db>> dbs;
  for (int i = 0; i < 4; ++i) dbs.push_back(catalog_.Open());
  std::vector<util::Status> results(dbs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < dbs.size(); ++i)
    threads.emplace_back([&, i] { results[i] = dbs[i]->Migrate(ms); });
  for (auto& t : threads) t.join();
  for (auto& r : results) EXPECT_TRUE(r) << r.error().message();
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(dbs[0]->Query("SELECT v FROM t" + std::to_string(i))->size(), 1u);
  EXPECT_EQ(dbs[0]->Query("SELECT id FROM schema_migrations")->size(), 6u);
}

TEST_P(DbTest, ConflictingTransactionsBothCommitWithoutLostUpdates) {
  auto setup = catalog_.Open();
  ASSERT_TRUE(setup->Migrate({{"0001", "CREATE TABLE c (id TEXT PRIMARY KEY, n INTEGER)"}}));
  ASSERT_TRUE(setup->Exec("INSERT INTO c (id, n) VALUES ('k', 0)"));
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      auto db = catalog_.Open();
      for (int i = 0; i < kEach; ++i) {
        auto st = db->Transaction([&]() -> util::Status {
          auto rows = MLV_TRY(db->Query("SELECT n FROM c WHERE id = 'k'"));
          MLV_TRY(db->Exec("UPDATE c SET n = ? WHERE id = 'k'", {rows[0].Int(0) + 1}));
          return util::Ok();
        });
        if (!st) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*setup->Query("SELECT n FROM c"))[0].Int(0), kThreads * kEach);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, DbTest, ::testing::Values(Engine::kSqlite), EngineName);
INSTANTIATE_TEST_SUITE_P(Postgres, DbTest, ::testing::Values(Engine::kPostgres), EngineName);

// ---------------------------------------------------------------- PostgreSQL only

class PostgresDbTest : public DbTest {};

TEST_P(PostgresDbTest, UniqueViolationNamesTheConstraint) {
  auto db = catalog_.Open();
  ASSERT_TRUE(db->Migrate({{"0001",
                            "CREATE TABLE e (id TEXT PRIMARY KEY, a TEXT, name TEXT, "
                            "CONSTRAINT e_name_unique UNIQUE (a, name))"}}));
  ASSERT_TRUE(db->Exec("INSERT INTO e VALUES ('1', 'a', 'dev')"));
  auto dup = db->Exec("INSERT INTO e VALUES ('2', 'a', 'dev')");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(dup.error().message().find("e_name_unique"), std::string::npos)
      << dup.error().message();
}

TEST_P(PostgresDbTest, ConnectionLossIsUnavailableAndTheNextCallReconnects) {
  auto db = catalog_.Open();
  auto other = catalog_.Open();
  auto pid = (*db->Query("SELECT pg_backend_pid()"))[0].Int(0);
  ASSERT_TRUE(other->Query("SELECT pg_terminate_backend(?)", {pid}));
  auto lost = db->Query("SELECT 1");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code(), util::ErrorCode::kUnavailable) << lost.error().message();
  auto again = db->Query("SELECT 1");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ((*again)[0].Int(0), 1);
}

TEST_P(PostgresDbTest, UnreachableServerIsUnavailable) {
  auto db = OpenPostgres("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), util::ErrorCode::kUnavailable);
  EXPECT_NE(db.error().message().find("MLVAULT_CATALOG"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Postgres, PostgresDbTest, ::testing::Values(Engine::kPostgres),
                         EngineName);

// ---------------------------------------------------------------- translation (no server)

TEST(PostgresSql, PlaceholdersSkipQuotesAndComments) {
  int n = 0;
  EXPECT_EQ(PostgresPlaceholders("SELECT a FROM t WHERE b = ? AND c = '?' AND \"d?\" = ? -- ?\n"
                                 "AND e = ?",
                                 &n),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND \"d?\" = $2 -- ?\nAND e = $3");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(PostgresPlaceholders("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1");
  EXPECT_EQ(PostgresPlaceholders("SELECT a FROM t WHERE b = ?1 OR c = ?1 OR d = ?2", &n),
            "SELECT a FROM t WHERE b = $1 OR c = $1 OR d = $2");
  EXPECT_EQ(n, 2);
}

TEST(PostgresSql, MigrationTypes) {
  EXPECT_EQ(*PostgresMigration("CREATE TABLE t (seq INTEGER PRIMARY KEY, n integer NOT NULL, "
                               "r REAL, note TEXT DEFAULT 'INTEGER')"),
            "CREATE TABLE t (seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT "
            "NOT NULL, r DOUBLE PRECISION, note TEXT DEFAULT 'INTEGER')");
  EXPECT_EQ(*PostgresMigration("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)"),
            "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)");
  EXPECT_EQ(*PostgresMigration("CREATE TABLE t (integers_total INTEGER)"),
            "CREATE TABLE t (integers_total BIGINT)");
}

TEST(PostgresSql, UntranslatableTriggerIsRefused) {
  auto r =
      PostgresMigration("CREATE TRIGGER t AFTER INSERT ON x BEGIN UPDATE y SET n = n + 1; END;");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlvault::catalog
