#include "catalog/workspace_start_claim.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "catalog/control_schema.h"
#include "catalog/control_stores.h"
#include "catalog/control_testing.h"
#include "catalog/testing.h"

namespace mlvault::catalog {
namespace {

constexpr int64_t kLease = 10'000'000;

// Every test runs on both engines (see catalog/testing.h).
class StartClaimTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    catalog_.Create(GetParam());
    if (IsSkipped() || HasFatalFailure()) return;
    db_ = catalog_.Open();
    auto all = ControlMigrations();
    for (auto& m : WorkspaceStartMigrations()) all.push_back(std::move(m));
    ASSERT_TRUE(db_->Migrate(all));
    ASSERT_TRUE(EnvironmentStore(*db_).Insert(TestEnvironment()));
    ASSERT_TRUE(WorkspaceStore(*db_).Insert(TestWorkspace("w1", "w1")));
  }
  void TearDown() override { db_.reset(); }

  TestCatalog catalog_;
  std::unique_ptr<Db> db_;
};

TEST_P(StartClaimTest, OneHolderUntilReleasedOrLapsed) {
  WorkspaceStartClaim claim(*db_);
  std::string holder;
  ASSERT_TRUE(*claim.Claim("w1", "a", 1000, kLease, &holder));
  EXPECT_TRUE(*claim.Claim("w1", "a", 2000, kLease)) << "the holder renews its own claim";
  EXPECT_FALSE(*claim.Claim("w1", "b", 3000, kLease, &holder));
  EXPECT_EQ(holder, "a");
  ASSERT_TRUE(claim.Release("w1", "b"));  // not b's: nothing changes
  EXPECT_FALSE(*claim.Claim("w1", "b", 3000, kLease));
  ASSERT_TRUE(claim.Release("w1", "a"));
  EXPECT_TRUE(*claim.Claim("w1", "b", 4000, kLease)) << "free again after the release";
  // b's claim runs until 4000 + kLease; after that it has lapsed and c takes it.
  EXPECT_FALSE(*claim.Claim("w1", "c", 4000 + kLease - 1, kLease));
  EXPECT_TRUE(*claim.Claim("w1", "c", 4000 + kLease, kLease));
}

TEST_P(StartClaimTest, TakeOverOnlyFromTheHolderSeen) {
  WorkspaceStartClaim claim(*db_);
  ASSERT_TRUE(*claim.Claim("w1", "dead", 1000, kLease));
  EXPECT_FALSE(*claim.TakeOver("w1", "someone-else", "b", 2000, kLease));
  EXPECT_TRUE(*claim.TakeOver("w1", "dead", "b", 2000, kLease));
  EXPECT_FALSE(*claim.TakeOver("w1", "dead", "c", 2000, kLease)) << "b got there first";
  std::string holder;
  EXPECT_FALSE(*claim.Claim("w1", "c", 3000, kLease, &holder));
  EXPECT_EQ(holder, "b");
}

TEST_P(StartClaimTest, ADeletedOrUnknownWorkspaceIsNotClaimed) {
  ASSERT_TRUE(WorkspaceStore(*db_).MarkDeleted("w1", 500));
  WorkspaceStartClaim claim(*db_);
  EXPECT_FALSE(*claim.Claim("w1", "a", 1000, kLease));
  EXPECT_FALSE(*claim.Claim("nope", "a", 1000, kLease));
}

// Several connections (as several servers would) racing for one workspace: exactly one wins.
TEST_P(StartClaimTest, ConcurrentClaimsHaveOneWinner) {
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> won{0}, errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i)
      threads.emplace_back([&, i] {
        auto db = catalog_.Open();
        auto r = WorkspaceStartClaim(*db).Claim("w1", "s" + std::to_string(round) + "-" +
                                                          std::to_string(i),
                                                1000, kLease);
        if (!r)
          ++errors;
        else if (*r)
          ++won;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(won.load(), 1) << "round " << round;
    ASSERT_TRUE(db_->Exec("UPDATE workspaces SET start_owner = '' WHERE id = 'w1'"));
  }
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StartClaimTest, ::testing::Values(Engine::kSqlite), EngineName);
INSTANTIATE_TEST_SUITE_P(Postgres, StartClaimTest, ::testing::Values(Engine::kPostgres),
                         EngineName);

}  // namespace
}  // namespace mlvault::catalog
