#include "catalog/control_stores.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "catalog/control_schema.h"
#include "catalog/control_testing.h"
#include "catalog/testing.h"
#include "util/files.h"
#include "util/random.h"

namespace mlvault::catalog {
namespace {

constexpr int64_t kLease = 10'000'000;

// Every test runs on both engines (see catalog/testing.h).
class StoresTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    catalog_.Create(GetParam());
    if (IsSkipped() || HasFatalFailure()) return;
    db_ = Open();
    ASSERT_TRUE(db_->Migrate(ControlMigrations()));
  }
  void TearDown() override { db_.reset(); }
  std::unique_ptr<Db> Open() { return catalog_.Open(); }

  // An environment "e1" and a workspace `id` in it, for rows that reference a workspace.
  void InsertWorkspace(const std::string& id) {
    EnvironmentStore envs(*db_);
    if (!envs.GetById("acct", "e1")) {
      ASSERT_TRUE(envs.Insert(TestEnvironment()));
    }
    ASSERT_TRUE(WorkspaceStore(*db_).Insert(TestWorkspace(id, id)));
  }

  WorkflowRecord Wf(const std::string& queue, TimeMicros created) {
    WorkflowRecord w;
    w.id = util::NewUuid();
    w.account_id = "acct";
    w.kind = "backup";
    w.queue_key = queue;
    w.resource_crn = "crn";
    w.caller = "{}";
    w.input = "{}";
    w.created_at = w.updated_at = created;
    return w;
  }

  TestCatalog catalog_;
  std::unique_ptr<Db> db_;
};

TEST_P(StoresTest, NamesAreUniqueWhereTheSpecSaysSo) {
  EnvironmentStore envs(*db_);
  EnvironmentRecord e = TestEnvironment();
  ASSERT_TRUE(envs.Insert(e));
  e.id = "e2";
  e.crn = "crn:e2";
  auto dup = envs.Insert(e);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(dup.error().message().find("\"dev\" already exists"), std::string::npos);
  e.account_id = "other";  // another account may use the name
  ASSERT_TRUE(envs.Insert(e));
  EXPECT_EQ(envs.GetByName("acct", "nope").error().code(), util::ErrorCode::kNotFound);

  WorkspaceStore wss(*db_);
  WorkspaceRecord w = TestWorkspace("w1", "ws");
  ASSERT_TRUE(wss.Insert(w));
  WorkspaceRecord w2 = w;
  w2.id = "w2";
  w2.crn = "crn:w2";
  EXPECT_EQ(wss.Insert(w2).error().code(), util::ErrorCode::kConflict);
  ASSERT_TRUE(wss.MarkDeleted("w1", 5));  // a deleted workspace frees its name
  ASSERT_TRUE(wss.Insert(w2));
  EXPECT_EQ(wss.List("acct")->size(), 1u);
  EXPECT_EQ(wss.List("acct", true)->size(), 2u);
  EXPECT_EQ(wss.Get("acct", "w1")->environment_name, "dev");

  BackupStore bs(*db_);
  BackupRecord b = TestBackup("b1", "nightly", "w2", "pending");
  ASSERT_TRUE(bs.Insert(b));
  BackupRecord b2 = b;
  b2.id = "b2";
  b2.crn = "crn:b2";
  auto c = bs.Insert(b2);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("already has a backup named \"nightly\""), std::string::npos);
  b2.workspace_id = "w1";  // same name on another workspace is fine
  ASSERT_TRUE(bs.Insert(b2));
  // By name + environment: both generations of "ws".
  EXPECT_EQ(bs.ListByWorkspaceName("acct", "dev", "ws")->size(), 2u);
  ASSERT_TRUE(bs.MarkDeleted("b1", 9));  // a deleted backup frees its name
  b.id = "b3";
  b.crn = "crn:b3";
  ASSERT_TRUE(bs.Insert(b));
}

TEST_P(StoresTest, BackupListsPageByKeyset) {
  ASSERT_TRUE(EnvironmentStore(*db_).Insert(TestEnvironment()));
  WorkspaceRecord w = TestWorkspace("w1", "ws");
  ASSERT_TRUE(WorkspaceStore(*db_).Insert(w));
  BackupStore bs(*db_);
  // 7 backups, two of them at the same time (ties are ordered by id).
  for (int i = 0; i < 7; ++i) {
    BackupRecord b =
        TestBackup("b" + std::to_string(i), "n" + std::to_string(i), "w1", "succeeded");
    b.created_at = i == 6 ? 5 : i;
    auto st = bs.Insert(b);
    ASSERT_TRUE(st) << st.error().message();
  }
  auto all = *bs.ListByWorkspace("acct", "w1");
  ASSERT_EQ(all.size(), 7u);
  std::vector<std::string> want;
  for (const auto& b : all) want.push_back(b.id);
  EXPECT_EQ(want, (std::vector<std::string>{"b5", "b6", "b4", "b3", "b2", "b1", "b0"}));
  for (bool by_name : {false, true}) {
    std::vector<std::string> got;
    BackupStore::Page page;
    page.limit = 3;
    for (int pages = 0; pages < 10; ++pages) {
      auto p = by_name ? *bs.ListByWorkspaceName("acct", "dev", "ws", &page)
                       : *bs.ListByWorkspace("acct", "w1", &page);
      for (const auto& b : p) got.push_back(b.id);
      if (p.size() < 3) break;
      page.after = std::make_pair(p.back().created_at, p.back().id);
    }
    EXPECT_EQ(got, want) << (by_name ? "by name" : "by workspace");
  }
  // Without deleted backups, every page but the last is full of the others.
  ASSERT_TRUE(bs.MarkDeleted("b4", 100));
  ASSERT_TRUE(bs.MarkDeleted("b2", 100));
  BackupStore::Page page;
  page.limit = 2;
  page.include_deleted = false;
  std::vector<std::vector<std::string>> pages;
  for (int n = 0; n < 10; ++n) {
    auto p = *bs.ListByWorkspace("acct", "w1", &page);
    pages.emplace_back();
    for (const auto& b : p) pages.back().push_back(b.id);
    if (p.size() < 2) break;
    page.after = std::make_pair(p.back().created_at, p.back().id);
  }
  EXPECT_EQ(pages, (std::vector<std::vector<std::string>>{{"b5", "b6"}, {"b3", "b1"}, {"b0"}}));
}

TEST_P(StoresTest, BackupFinishWritesRecoveryPointsAtomically) {
  BackupStore bs(*db_);
  BackupRecord b;
  b.id = "b1";
  b.account_id = "acct";
  b.crn = "crn:b1";
  b.name = "n";
  b.workspace_id = "w";
  b.status = BackupStatus::kRunning;
  b.workflow_id = "wf";
  ASSERT_NO_FATAL_FAILURE(InsertWorkspace("w"));
  ASSERT_TRUE(bs.Insert(b));
  BackupOutcome o;
  o.status = BackupStatus::kSucceeded;
  o.quiesced_micros = 1234;
  o.recovery_points = {
      RecoveryPointRecord{.volume = "projects", .kind = "filesystem", .vault_point_id = "aa"},
      RecoveryPointRecord{.volume = "projects", .kind = "filesystem", .vault_point_id = "bb"}};
  EXPECT_FALSE(bs.Finish("b1", o, 7));  // duplicate volume: nothing written
  EXPECT_EQ(bs.Get("acct", "b1")->status, BackupStatus::kRunning);
  o.recovery_points[1].volume = "metadata";
  ASSERT_TRUE(bs.Finish("b1", o, 7));
  auto got = *bs.Get("acct", "b1");
  EXPECT_EQ(got.status, BackupStatus::kSucceeded);
  EXPECT_EQ(got.quiesced_micros, 1234);
  EXPECT_EQ(bs.RecoveryPoints("b1")->size(), 2u);
  EXPECT_EQ(bs.LatestSucceeded("w").value()->id, "b1");
}

TEST_P(StoresTest, QueueRunsOneAtATimeOldestFirst) {
  WorkflowStore ws(*db_);
  auto a = Wf("ws1", 100), b = Wf("ws1", 200), other = Wf("ws2", 300);
  EXPECT_EQ(*ws.Insert(a), WorkflowStatus::kPending);
  EXPECT_EQ(*ws.Insert(b), WorkflowStatus::kQueued);
  EXPECT_EQ(*ws.Insert(other), WorkflowStatus::kPending);
  // b cannot start before a, even if its worker asks first.
  EXPECT_EQ(*ws.Claim(b.id, "w-b", 1000, kLease), ClaimOutcome::kWaiting);
  EXPECT_EQ(*ws.Claim(a.id, "w-a", 1000, kLease), ClaimOutcome::kClaimed);
  EXPECT_EQ(*ws.Claim(other.id, "w-o", 1000, kLease), ClaimOutcome::kClaimed);
  EXPECT_EQ(*ws.Claim(a.id, "intruder", 1000, kLease), ClaimOutcome::kOwnedByOther);
  EXPECT_EQ(*ws.Claim(b.id, "w-b", 2000, kLease), ClaimOutcome::kWaiting);
  ASSERT_TRUE(ws.Finish(a.id, "w-a", WorkflowStatus::kSucceeded, "{}", "[]", "", "", 3000));
  EXPECT_EQ(
      ws.Finish(a.id, "w-a", WorkflowStatus::kFailed, "{}", "[]", "", "", 3000).error().code(),
      util::ErrorCode::kConflict);
  EXPECT_EQ(*ws.Claim(b.id, "w-b", 4000, kLease), ClaimOutcome::kClaimed);
  auto got = *ws.Get("", b.id);
  EXPECT_EQ(got.status, WorkflowStatus::kRunning);
  EXPECT_EQ(got.attempts, 1);
  EXPECT_EQ(*ws.Claim(a.id, "w-a", 5000, kLease), ClaimOutcome::kFinished);
}

TEST_P(StoresTest, HeartbeatCancelAndTakeOver) {
  WorkflowStore ws(*db_);
  auto a = Wf("q", 100);
  ASSERT_TRUE(ws.Insert(a));
  ASSERT_EQ(*ws.Claim(a.id, "w1", 1000, kLease), ClaimOutcome::kClaimed);
  util::ProgressSnapshot p{
      .bytes_done = 10, .bytes_total = 100, .files_done = 1, .files_total = 2, .phase = "upload"};
  auto hb = ws.Heartbeat(a.id, "w1", 2000, kLease, &p);
  ASSERT_TRUE(hb);
  EXPECT_FALSE(hb->cancel_requested);
  EXPECT_EQ(ws.Get("", a.id)->bytes_done, 10);
  EXPECT_EQ(*ws.RequestCancel(a.id, "cancelled by admin", 2500), false);  // running: flagged only
  hb = ws.Heartbeat(a.id, "w1", 3000, kLease, nullptr);
  EXPECT_TRUE(hb->cancel_requested);
  EXPECT_EQ(hb->cancel_reason, "cancelled by admin");
  // Recovery takes over only the row it saw.
  auto seen = *ws.Get("", a.id);
  ASSERT_TRUE(ws.Heartbeat(a.id, "w1", 4000, kLease, nullptr));
  EXPECT_FALSE(*ws.TakeOver(seen, "rec", 5000, kLease));
  seen = *ws.Get("", a.id);
  EXPECT_TRUE(*ws.TakeOver(seen, "rec", 5000, kLease));
  EXPECT_EQ(ws.Heartbeat(a.id, "w1", 6000, kLease, nullptr).error().code(),
            util::ErrorCode::kConflict);
  ASSERT_TRUE(ws.Requeue(a.id, "rec", "[\"resumed\"]", 7000));
  EXPECT_EQ(ws.Get("", a.id)->status, WorkflowStatus::kPending);
  EXPECT_EQ(*ws.Claim(a.id, "w2", 8000, kLease), ClaimOutcome::kClaimed);
  EXPECT_EQ(ws.Get("", a.id)->attempts, 2);
  // Not started yet: cancel ends it at once.
  auto b = Wf("q2", 100);
  ASSERT_TRUE(ws.Insert(b));
  EXPECT_EQ(*ws.RequestCancel(b.id, "cancelled by admin", 9000), true);
  EXPECT_EQ(ws.Get("", b.id)->status, WorkflowStatus::kCancelled);
  EXPECT_EQ(ws.RequestCancel(b.id, "again", 9000).error().code(), util::ErrorCode::kConflict);
}

// A cancel whose transaction is retried after a worker claimed the workflow in between: the
// retry sees it running, so it only flags it (the first attempt's "ended" must not survive).
TEST_P(StoresTest, CancelRetriedAfterAClaimOnlyFlagsTheRunningWorkflow) {
  auto a = Wf("q", 100);
  ASSERT_TRUE(WorkflowStore(*db_).Insert(a));
  auto other = Open();
  RacingDb racing(*db_, [&] {
    ASSERT_EQ(*WorkflowStore(*other).Claim(a.id, "w1", 1000, kLease), ClaimOutcome::kClaimed);
  });
  auto ended = WorkflowStore(racing).RequestCancel(a.id, "cancelled by admin", 2000);
  ASSERT_TRUE(ended) << ended.error().message();
  EXPECT_EQ(racing.attempts(), 2);
  EXPECT_FALSE(*ended);
  auto got = *WorkflowStore(*db_).Get("", a.id);
  EXPECT_EQ(got.status, WorkflowStatus::kRunning);
  EXPECT_EQ(got.lease_owner, "w1");
  EXPECT_TRUE(got.cancel_requested);
}

// The same for a new workflow's queue place (WorkflowStore::Insert): decided on the last attempt.
TEST_P(StoresTest, InsertRetriedAfterAnotherInsertTakesTheQueuePlaceItSeesLast) {
  auto first = Wf("q", 100), second = Wf("q", 200);
  auto other = Open();
  RacingDb racing(*db_, [&] { ASSERT_TRUE(WorkflowStore(*other).Insert(first)); });
  auto status = WorkflowStore(racing).Insert(second);
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_EQ(racing.attempts(), 2);
  EXPECT_EQ(*status, WorkflowStatus::kQueued);
  EXPECT_EQ(WorkflowStore(*db_).Get("", first.id)->status, WorkflowStatus::kPending);
  EXPECT_EQ(WorkflowStore(*db_).Get("", second.id)->status, WorkflowStatus::kQueued);
}

// Several connections (as several processes would) racing for one workflow: exactly one wins,
// and concurrent inserts into one queue each get their own place (no lost update).
TEST_P(StoresTest, ConcurrentClaimsHaveOneWinner) {
  WorkflowStore ws(*db_);
  auto a = Wf("q", 100);
  ASSERT_TRUE(ws.Insert(a));
  std::atomic<int> claimed{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto db = Open();
      WorkflowStore mine(*db);
      auto r = mine.Claim(a.id, "worker-" + std::to_string(i), 1000, kLease);
      if (!r)
        ++errors;
      else if (*r == ClaimOutcome::kClaimed)
        ++claimed;
      for (int k = 0; k < 5; ++k) {
        auto w = Wf("burst", 2000 + i * 10 + k);
        if (!mine.Insert(w)) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claimed.load(), 1);
  auto burst = *ws.ListActiveInQueue("burst");
  ASSERT_EQ(burst.size(), 30u);
  int pending = 0;
  for (const auto& w : burst) pending += w.status == WorkflowStatus::kPending;
  EXPECT_EQ(pending, 1);
}

// The status names are the catalog's column values and the API's strings: each one parses back
// to its status, and anything else is refused with the list of names.
TEST(StatusesTest, NamesParseBackAndOthersAreRefused) {
  for (auto s : {WorkflowStatus::kQueued, WorkflowStatus::kPending, WorkflowStatus::kRunning,
                 WorkflowStatus::kSucceeded, WorkflowStatus::kFailed, WorkflowStatus::kCancelled})
    EXPECT_EQ(ParseWorkflowStatus(WorkflowStatusName(s)).value(), s);
  for (auto s : {BackupStatus::kQueued, BackupStatus::kPending, BackupStatus::kRunning,
                 BackupStatus::kSucceeded, BackupStatus::kFailed, BackupStatus::kCancelled,
                 BackupStatus::kDeleting, BackupStatus::kDeleted})
    EXPECT_EQ(ParseBackupStatus(BackupStatusName(s)).value(), s);
  for (auto s : {WorkspaceStatus::kProvisioning, WorkspaceStatus::kRestoring,
                 WorkspaceStatus::kRunning, WorkspaceStatus::kStopped, WorkspaceStatus::kFailed,
                 WorkspaceStatus::kDeleting, WorkspaceStatus::kDeleted})
    EXPECT_EQ(ParseWorkspaceStatus(WorkspaceStatusName(s)).value(), s);
  for (auto s : {PlanRunStatus::kRunning, PlanRunStatus::kSucceeded, PlanRunStatus::kPartial,
                 PlanRunStatus::kFailed})
    EXPECT_EQ(ParsePlanRunStatus(PlanRunStatusName(s)).value(), s);
  for (auto s : {RestoreTestStatus::kRunning, RestoreTestStatus::kSucceeded,
                 RestoreTestStatus::kFailed})
    EXPECT_EQ(ParseRestoreTestStatus(RestoreTestStatusName(s)).value(), s);
  EXPECT_EQ(BackupStatusName(BackupStatus::kSucceeded), "succeeded");
  EXPECT_EQ(PlanRunStatusName(PlanRunStatus::kPartial), "partial");
  EXPECT_EQ(WorkspaceStatusName(WorkspaceStatus::kProvisioning), "provisioning");
  auto bad = ParseWorkflowStatus("Running");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("queued, pending, running"), std::string::npos);
  EXPECT_FALSE(ParseBackupStatus(""));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoresTest, ::testing::Values(Engine::kSqlite), EngineName);
INSTANTIATE_TEST_SUITE_P(Postgres, StoresTest, ::testing::Values(Engine::kPostgres), EngineName);

}  // namespace
}  // namespace mlvault::catalog
