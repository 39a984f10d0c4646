// The inventory store on both engines: migration 0400 runs after the control migrations, an
// inventory is stored once (a second Put keeps the first), items and path prefixes are found
// newest first, a suffix query finds "build 7 of any model", and Remove drops everything.
#include "catalog/inventory_store.h"

#include <gtest/gtest.h>

#include "catalog/control_schema.h"
#include "catalog/control_stores.h"
#include "catalog/control_testing.h"
#include "catalog/testing.h"

namespace mlvault::catalog {
namespace {

class InventoryStoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    catalog_.Create(GetParam());
    if (IsSkipped() || HasFatalFailure()) return;
    db_ = catalog_.Open();
    auto all = ControlMigrations();
    for (auto& m : InventoryMigrations()) all.push_back(m);
    ASSERT_TRUE(db_->Migrate(all));
    ASSERT_TRUE(EnvironmentStore(*db_).Insert(TestEnvironment()));
    ASSERT_TRUE(WorkspaceStore(*db_).Insert(TestWorkspace("w1", "ws")));
  }
  void TearDown() override { db_.reset(); }

  void Backup(const std::string& id, int64_t created, const std::string& status = "succeeded") {
    BackupRecord b = TestBackup(id, id, "w1", status);
    b.workflow_id = "wf-" + id;
    b.created_at = created;
    ASSERT_TRUE(BackupStore(*db_).Insert(b));
  }
  InventoryRecord Inv(const std::string& id, int64_t created, std::vector<InventoryItem> items,
                      std::vector<InventoryFile> files) {
    return {id, "acct", created, created + 1, "{\"backup\":\"" + id + "\"}", std::move(items),
            std::move(files)};
  }

  TestCatalog catalog_;
  std::unique_ptr<Db> db_;
};

TEST_P(InventoryStoreTest, StoresOnceAndFindsNewestFirst) {
  Backup("b1", 100);
  Backup("b2", 200);
  Backup("b3", 300);
  InventoryStore s(*db_);
  EXPECT_EQ(s.BackupsWithoutInventory("acct")->size(), 3u);
  InventoryFile a{"projects/p1/data/a.csv", "projects", "id1/data/a.csv", 10, "c1"};
  InventoryFile b{"projects/p1/data/b.csv", "projects", "id1/data/b.csv", 20, "c2"};
  InventoryFile other{"projects/p10/x.csv", "projects", "id2/x.csv", 5, "c3"};
  ASSERT_TRUE(*s.Put(Inv("b1", 100, {{"model", "churn"}, {"build", "churn@1"}}, {a})));
  ASSERT_TRUE(*s.Put(Inv("b2", 200, {{"model", "churn"}, {"build", "churn@7"}}, {a, b, other})));
  ASSERT_TRUE(*s.Put(Inv("b3", 300, {{"model", "fraud"}, {"build", "fraud@7"}}, {})));
  // A second Put of the same backup keeps the first.
  EXPECT_FALSE(*s.Put(Inv("b1", 100, {{"model", "other"}}, {})));
  EXPECT_EQ((*s.Get("b1"))->document, "{\"backup\":\"b1\"}");
  EXPECT_TRUE(s.BackupsWithoutInventory("acct")->empty());

  auto churn = *s.FindItem("acct", "model", "churn", false);
  ASSERT_EQ(churn.size(), 2u);
  EXPECT_EQ(churn[0].backup_id, "b2");  // newest first
  EXPECT_EQ(churn[1].backup_id, "b1");
  auto build7 = *s.FindItem("acct", "build", "@7", true);
  ASSERT_EQ(build7.size(), 2u);
  EXPECT_EQ(build7[0].backup_id, "b3");
  EXPECT_TRUE(s.FindItem("other-account", "model", "churn", false)->empty());

  // A prefix is a prefix of the path, not of a sibling ("projects/p1/" is not "projects/p10").
  auto under = *s.FindPathPrefix("acct", "projects/p1/");
  ASSERT_EQ(under.size(), 3u);
  EXPECT_EQ(under[0].first.backup_id, "b2");
  EXPECT_EQ(under[2].first.backup_id, "b1");
  for (const auto& [hit, path] : under) EXPECT_EQ(path.rfind("projects/p1/", 0), 0u) << path;

  auto first = *s.Files("b2", "", 1);
  ASSERT_EQ(first.size(), 1u);
  auto page = *s.Files("b2", first[0].path, 1);  // the next page: after the last path answered
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].path, "projects/p1/data/b.csv");
  EXPECT_EQ(s.Files("b2", "projects/p1/data/b.csv", 10)->size(), 1u);
  EXPECT_EQ(*s.CountFiles("b2"), (std::pair<int64_t, int64_t>(3, 35)));
  EXPECT_EQ(s.AllFiles("b2")->size(), 3u);

  ASSERT_TRUE(s.Remove("b2"));
  EXPECT_FALSE(*s.Get("b2"));
  EXPECT_EQ(s.FindItem("acct", "model", "churn", false)->size(), 1u);
  EXPECT_EQ(s.FindPathPrefix("acct", "projects/")->size(), 1u);
}

// Files added in batches (more than one statement and more than one transaction) are invisible
// to searches until Put records the inventory; adding them again (an attempt that stopped
// half-way, or two processes computing one inventory) keeps one row per path.
TEST_P(InventoryStoreTest, FilesAddedInBatchesShowOnceTheInventoryIsPut) {
  Backup("b1", 100);
  InventoryStore s(*db_);
  std::vector<InventoryFile> files;
  const size_t n = InventoryStore::kFilesPerTransaction + InventoryStore::kFileBatch + 7;
  for (size_t i = 0; i < n; ++i) {
    std::string name = "f" + std::to_string(100000 + i);
    files.push_back({"projects/p1/" + name, "projects", "id1/" + name, static_cast<int64_t>(i),
                     "c" + std::to_string(i)});
  }
  std::vector<InventoryFile> first_part(files.begin(), files.begin() + 1000);
  ASSERT_TRUE(s.AddFiles("b1", "acct", 100, first_part));
  EXPECT_TRUE(s.FindPathPrefix("acct", "projects/p1/")->empty());  // not put yet
  EXPECT_FALSE(*s.Get("b1"));
  EXPECT_EQ(s.BackupsWithoutInventory("acct")->size(), 1u);
  ASSERT_TRUE(s.AddFiles("b1", "acct", 100, files));  // again, and the rest
  ASSERT_TRUE(*s.Put(Inv("b1", 100, {{"project", "p1"}}, {})));
  EXPECT_EQ(s.FindPathPrefix("acct", "projects/p1/")->size(), n);
  auto counted = *s.CountFiles("b1");
  EXPECT_EQ(counted.first, static_cast<int64_t>(n));
  EXPECT_EQ(counted.second, static_cast<int64_t>(n * (n - 1) / 2));
  auto last = *s.Files("b1", files[n - 2].path, 10);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].path, files[n - 1].path);
  EXPECT_EQ(last[0].volume_path, files[n - 1].volume_path);
  EXPECT_EQ(last[0].content_id, files[n - 1].content_id);
  EXPECT_TRUE(s.BackupsWithoutInventory("acct")->empty());
}

TEST_P(InventoryStoreTest, OnlySucceededBackupsWaitForAnInventory) {
  Backup("b1", 100, "failed");
  Backup("b2", 200);
  auto missing = *InventoryStore(*db_).BackupsWithoutInventory("acct");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], "b2");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, InventoryStoreTest, ::testing::Values(Engine::kSqlite), EngineName);
INSTANTIATE_TEST_SUITE_P(Postgres, InventoryStoreTest, ::testing::Values(Engine::kPostgres),
                         EngineName);

}  // namespace
}  // namespace mlvault::catalog
