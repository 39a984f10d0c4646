#include "runtime/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "util/files.h"

namespace mlvault::runtime {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = util::MakeTempDir("mlv-store-");
    ASSERT_TRUE(dir);
    dir_ = *dir;
    auto s = Store::Open(dir_ + "/ws.db");
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->CreateProject({"p1", "alpha", "", 1}));
  }
  void TearDown() override {
    store_.reset();
    (void)util::RemoveAll(dir_);
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, DuplicatesAndUnknownIdsAreClearErrors) {
  auto dup = store_->CreateProject({"p2", "alpha", "", 2});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(dup.error().message().find("alpha"), std::string::npos);
  auto missing = store_->GetProject("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), util::ErrorCode::kNotFound);
  auto orphan = store_->CreateJob({"j1", "nope", "train", "t.py", "python3", {}, 1});
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), util::ErrorCode::kNotFound);
}

TEST_F(StoreTest, MetricsBatchIsAllOrNothing) {
  ASSERT_TRUE(store_->CreateExperiment({"e1", "p1", "exp", "", 1}));
  ExperimentRun r{"r1", "e1", "run", "running", "{}", 1, std::nullopt};
  ASSERT_TRUE(store_->CreateExperimentRun(r));
  ASSERT_TRUE(store_->LogMetrics("r1", {{"loss", 0, 1.0}, {"loss", 1, 0.5}}, 2));
  auto dup = store_->LogMetrics("r1", {{"acc", 0, 0.1}, {"loss", 1, 0.4}}, 3);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  auto all = store_->GetMetrics("r1", std::nullopt);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);  // "acc" of the refused batch is not there
  ASSERT_TRUE(store_->EndExperimentRun("r1", "finished", 4));
  EXPECT_FALSE(store_->EndExperimentRun("r1", "failed", 5));
}

TEST_F(StoreTest, OneActiveDeploymentPerModelAndBusyDeletesRefused) {
  ASSERT_TRUE(store_->CreateModel({"m1", "churn", "p1", "", 1}));
  ASSERT_TRUE(store_->CreateBuild({"b1", "m1", "python3 serve.py", {{"a", 1, "x"}}, "h", 1}));
  Deployment d{"d1", "m1", "", "b1", {"starting"}, 1};
  ASSERT_TRUE(store_->CreateDeployment(d));
  Deployment d2{"d2", "m1", "", "b1", {"starting"}, 2};
  auto second = store_->CreateDeployment(d2);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), util::ErrorCode::kConflict);
  EXPECT_FALSE(store_->DeleteModel("m1"));
  EXPECT_FALSE(store_->DeleteBuild("b1"));
  ASSERT_TRUE(store_->UpdateDeploymentState("d1", {"stopped"}));
  ASSERT_TRUE(store_->CreateDeployment(d2));
  ASSERT_TRUE(store_->UpdateDeploymentState("d2", {"failed"}));
  auto got = store_->GetDeployment("d1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->model_name, "churn");
  ASSERT_TRUE(store_->DeleteModel("m1"));
  EXPECT_FALSE(store_->GetBuild("b1"));
}

TEST_F(StoreTest, ProjectWithRunningWorkCannotBeDeleted) {
  ASSERT_TRUE(store_->CreateJob({"j1", "p1", "train", "t.py", "python3", {"--x", "1"}, 1}));
  runtime::Run run;
  run.id = "r1";
  run.job_id = "j1";
  run.project_id = "p1";
  run.status = "running";
  run.started_at = 1;
  ASSERT_TRUE(store_->CreateRun(run));
  auto busy = store_->DeleteProject("p1");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), util::ErrorCode::kConflict);
  run.status = "succeeded";
  run.exit_code = 0;
  ASSERT_TRUE(store_->UpdateRun(run));
  auto job = store_->GetJob("j1");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->args, (std::vector<std::string>{"--x", "1"}));
  ASSERT_TRUE(store_->DeleteProject("p1"));
  EXPECT_FALSE(store_->GetRun("r1"));  // cascaded
}

TEST_F(StoreTest, CheckpointLeavesACompleteFileAndNewerSchemaIsRefused) {
  ASSERT_TRUE(store_->Checkpoint());
  // The main file alone (as a backup would copy it) has the project.
  std::filesystem::copy_file(dir_ + "/ws.db", dir_ + "/copy.db");
  {
    auto copy = Store::Open(dir_ + "/copy.db");
    ASSERT_TRUE(copy);
    auto p = (*copy)->GetProject("p1");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "alpha");
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/copy.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto newer = Store::Open(dir_ + "/copy.db");
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(newer.error().message().find("newer"), std::string::npos);
}

TEST_F(StoreTest, GarbageFileIsRefused) {
  ASSERT_TRUE(util::WriteFileAtomic(dir_ + "/junk.db", std::string(8192, 'j')));
  auto s = Store::Open(dir_ + "/junk.db");
  ASSERT_FALSE(s);
}

}  // namespace
}  // namespace mlvault::runtime
