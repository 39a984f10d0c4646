#include "sqlite/mapping.h"

#include <gtest/gtest.h>

#include "sqlite/connection.h"
#include "util/files.h"

namespace mlvault::sqlite {
namespace {

struct Thing {
  std::string id;
  int64_t size = 0;
  bool done = false;
  double score = 0;
  std::optional<std::string> note;
  std::optional<int64_t> finished_at;
};

const Table<Thing> kThings("things",
                           {Col("id", &Thing::id), Col("size", &Thing::size),
                            Col("done", &Thing::done), Col("score", &Thing::score),
                            Col("note", &Thing::note), Col("finished_at", &Thing::finished_at)});

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *util::MakeTempDir("mlvault-sqlite-test-");
    db_ = std::move(*Connection::Open(dir_ + "/t.db", {.label = "test database"}));
  }
  void TearDown() override {
    db_.reset();
    ASSERT_TRUE(util::RemoveAll(dir_));
  }
  std::string dir_;
  std::unique_ptr<Connection> db_;
};

TEST_F(SqliteTest, MappingRoundTripsEveryFieldType) {
  EXPECT_EQ(kThings.Columns(), "id, size, done, score, note, finished_at");
  EXPECT_EQ(kThings.Columns("t"), "t.id, t.size, t.done, t.score, t.note, t.finished_at");
  ASSERT_TRUE(db_->ExecScript(
      "CREATE TABLE things (id TEXT PRIMARY KEY, size INTEGER, done INTEGER, score REAL, "
      "note TEXT, finished_at INTEGER)"));
  Thing a{"a", int64_t{1} << 40, true, 0.5, "hello", 77};
  Thing b{"b", 0, false, 0, std::nullopt, std::nullopt};
  ASSERT_TRUE(db_->Exec(kThings.InsertSql(), kThings.Values(a)));
  ASSERT_TRUE(db_->Exec(kThings.InsertSql(), kThings.Values(b)));
  auto rows = *db_->Query(kThings.SelectSql() + "ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  Thing ra = kThings.FromRow(rows[0]), rb = kThings.FromRow(rows[1]);
  EXPECT_EQ(ra.id, "a");
  EXPECT_EQ(ra.size, int64_t{1} << 40);
  EXPECT_TRUE(ra.done);
  EXPECT_DOUBLE_EQ(ra.score, 0.5);
  EXPECT_EQ(ra.note, "hello");
  EXPECT_EQ(ra.finished_at, 77);
  EXPECT_FALSE(rb.note.has_value());
  EXPECT_FALSE(rb.finished_at.has_value());
  EXPECT_TRUE((*db_->Query("SELECT note FROM things WHERE id = 'b'"))[0].IsNull(0));
}

TEST_F(SqliteTest, ErrorsHaveCategories) {
  ASSERT_TRUE(db_->ExecScript("CREATE TABLE u (id TEXT PRIMARY KEY)"));
  ASSERT_TRUE(db_->Exec("INSERT INTO u (id) VALUES (?)", {std::string("x")}));
  auto dup = db_->Exec("INSERT INTO u (id) VALUES (?)", {std::string("x")});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(dup.error().message().find("test database"), std::string::npos);
  auto bad = db_->Query("SELEC nonsense");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), util::ErrorCode::kInternal);
  // Streaming stops when the callback says so; a failed transaction leaves nothing.
  int seen = 0;
  ASSERT_TRUE(db_->Query("SELECT id FROM u", {}, [&](const Row&) { return ++seen < 1; }));
  EXPECT_EQ(seen, 1);
  auto st = db_->Transaction([&]() -> util::Status {
    MLV_TRY(db_->Exec("INSERT INTO u (id) VALUES ('y')"));
    return db_->Transaction([&]() -> util::Status { return util::Conflict("inner fails"); });
  });
  EXPECT_FALSE(st);
  EXPECT_EQ(db_->Query("SELECT id FROM u")->size(), 1u);
  // A file that is not a database fails at Open.
  ASSERT_TRUE(util::WriteFileAtomic(dir_ + "/junk.db", std::string(4096, 'x'), false));
  auto junk = Connection::Open(dir_ + "/junk.db");
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code(), util::ErrorCode::kCorruption);
}

// Statements are kept prepared between runs: a rerun gets fresh parameters and sees new rows, a
// statement run again from inside its own row callback gets its own, an error leaves the next run
// sound, a schema change is seen, and more distinct statements than the cache holds all run.
TEST_F(SqliteTest, PreparedStatementsAreReusedSoundly) {
  ASSERT_TRUE(db_->ExecScript("CREATE TABLE n (k INTEGER PRIMARY KEY, v TEXT)"));
  const std::string insert = "INSERT INTO n (k, v) VALUES (?, ?)";
  for (int64_t k = 1; k <= 3; ++k)
    ASSERT_TRUE(db_->Exec(insert, {k, std::string("v") + std::to_string(k)}));
  const std::string count = "SELECT COUNT(*) FROM n WHERE k >= ?";
  EXPECT_EQ(db_->Query(count, {int64_t{2}})->at(0).Int(0), 2);
  EXPECT_EQ(db_->Query(count, {int64_t{1}})->at(0).Int(0), 3);
  // The same statement from its own row callback.
  std::vector<int64_t> inner;
  ASSERT_TRUE(db_->Query(count, {int64_t{3}}, [&](const Row& r) {
    inner.push_back(r.Int(0));
    inner.push_back(db_->Query(count, {int64_t{1}})->at(0).Int(0));
    return true;
  }));
  EXPECT_EQ(inner, (std::vector<int64_t>{1, 3}));
  // A statement that failed (a duplicate key) runs again soundly, without the old parameters.
  auto dup = db_->Exec(insert, {int64_t{1}, std::string("again")});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  ASSERT_TRUE(db_->Exec(insert, {int64_t{4}, nullptr}));
  EXPECT_EQ(db_->Query("SELECT v FROM n WHERE k = 4")->at(0).values[0], Value(nullptr));
  // A statement stopped half-way (the callback said stop) holds no read lock: a write follows.
  ASSERT_TRUE(db_->Query("SELECT k FROM n", {}, [](const Row&) { return false; }));
  ASSERT_TRUE(db_->Transaction([&]() -> util::Status {
    MLV_TRY(db_->Exec(insert, {int64_t{5}, std::string("v5")}));
    return util::Ok();
  }));
  // A column added after the statement was prepared is seen.
  const std::string all = "SELECT * FROM n WHERE k = 1";
  EXPECT_EQ(db_->Query(all)->at(0).values.size(), 2u);
  ASSERT_TRUE(db_->ExecScript("ALTER TABLE n ADD COLUMN w INTEGER DEFAULT 7"));
  auto wide = db_->Query(all);
  ASSERT_TRUE(wide);
  ASSERT_EQ(wide->at(0).values.size(), 3u);
  EXPECT_EQ(wide->at(0).Int(2), 7);
  // More distinct statements than are kept: every one still answers.
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(db_->Query("SELECT " + std::to_string(i) + " + COUNT(*) FROM n")->at(0).Int(0),
              i + 5);
}

}  // namespace
}  // namespace mlvault::sqlite
