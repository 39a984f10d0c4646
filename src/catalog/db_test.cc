#include <gtest/gtest.h>

#include "catalog/db.h"
#include "util/files.h"

namespace mlvault::catalog {
namespace {

TEST(SqliteDb, MigratesOnceAndMapsConstraintToConflict) {
  auto dir = *util::MakeTempDir("mlvault-db-test-");
  std::vector<Migration> ms = {{"0002_b", "ALTER TABLE t ADD COLUMN b INTEGER"},
                               {"0001_a", "CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT)"}};
  {
    auto db = *OpenSqlite(dir + "/c.db");
    ASSERT_TRUE(db->Migrate(ms));
    ASSERT_TRUE(db->Migrate(ms));  // idempotent
    ASSERT_TRUE(db->Exec("INSERT INTO t (id, a, b) VALUES (?, ?, ?)", {std::string("x"), std::string("y"), int64_t{3}}));
    auto dup = db->Exec("INSERT INTO t (id) VALUES (?)", {std::string("x")});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  }
  auto db = *OpenSqlite(dir + "/c.db");
  auto rows = *db->Query("SELECT id, a, b, NULL FROM t");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].Text(1), "y");
  EXPECT_EQ(rows[0].Int(2), 3);
  EXPECT_TRUE(rows[0].IsNull(3));
  // A failing transaction body leaves nothing behind.
  auto st = db->Transaction([&]() -> util::Status {
    MLV_TRY(db->Exec("INSERT INTO t (id) VALUES ('z')"));
    return util::Conflict("abort");
  });
  EXPECT_FALSE(st);
  EXPECT_EQ(db->Query("SELECT id FROM t")->size(), 1u);
  ASSERT_TRUE(util::RemoveAll(dir));
}

}  // namespace
}  // namespace mlvault::catalog
