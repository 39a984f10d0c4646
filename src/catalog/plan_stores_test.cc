#include "catalog/plan_stores.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "catalog/backup_copy_store.h"
#include "catalog/control_schema.h"
#include "catalog/control_testing.h"
#include "catalog/model_sample_store.h"
#include "catalog/restore_test_store.h"
#include "catalog/testing.h"
#include "util/random.h"

namespace mlvault::catalog {
namespace {

// Every test runs on both engines (see catalog/testing.h).
class PlanStoresTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    catalog_.Create(GetParam());
    if (IsSkipped() || HasFatalFailure()) return;
    db_ = catalog_.Open();
    auto all = ControlMigrations();
    for (auto& m : PlanMigrations()) all.push_back(m);
    ASSERT_TRUE(db_->Migrate(all));
  }
  void TearDown() override { db_.reset(); }

  PlanRecord Plan(const std::string& name) {
    PlanRecord p;
    p.id = util::NewUuid();
    p.account_id = "acct";
    p.crn = "crn:" + p.id;
    p.name = name;
    p.schedule = "cron(0 3 * * ? *)";
    p.time_zone = "Europe/Berlin";
    p.selection = R"(["tag:env=prod"])";
    p.retention = R"({"keepLast":3})";
    p.owner_crn = "crn:user";
    p.owner_caller = "{}";
    p.anchor_at = p.created_at = p.updated_at = 100;
    return p;
  }

  TestCatalog catalog_;
  std::unique_ptr<Db> db_;
};

TEST_P(PlanStoresTest, PlansRoundTripAndNamesAreUnique) {
  PlanStore plans(*db_);
  PlanRecord p = Plan("nightly");
  ASSERT_TRUE(plans.Insert(p));
  auto dup = plans.Insert(Plan("nightly"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  EXPECT_EQ(dup.error().message(), "a backup plan named \"nightly\" exists already");
  auto got = plans.GetByName("acct", "nightly");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->schedule, p.schedule);
  EXPECT_EQ(got->selection, p.selection);
  EXPECT_FALSE(got->last_slot_at);
  EXPECT_EQ(plans.GetByName("other", "nightly").error().code(), util::ErrorCode::kNotFound);

  ASSERT_TRUE(plans.AdvanceCursor(p.id, 500));
  ASSERT_TRUE(plans.AdvanceCursor(p.id, 400));  // never back
  EXPECT_EQ(plans.GetByName("acct", "nightly")->last_slot_at, 500);

  p.schedule = "rate(6 hours)";
  p.updated_at = 200;
  ASSERT_TRUE(plans.Update(p));
  EXPECT_EQ(plans.GetByName("acct", "nightly")->schedule, "rate(6 hours)");
  EXPECT_EQ(plans.List("acct")->size(), 1u);
  ASSERT_TRUE(plans.Delete(p.id));
  EXPECT_TRUE(plans.ListAll()->empty());
}

TEST_P(PlanStoresTest, ASlotIsClaimedExactlyOnceByConcurrentSchedulers) {
  PlanRecord p = Plan("hourly");
  ASSERT_TRUE(PlanStore(*db_).Insert(p));
  constexpr int kSchedulers = 6;
  std::atomic<int> won{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kSchedulers; ++i)
    threads.emplace_back([&, i] {
      auto db = catalog_.Open();
      PlanRunRecord run;
      run.id = util::NewUuid();
      run.plan_id = p.id;
      run.account_id = "acct";
      run.slot_at = 3600;
      run.claimed_by = "scheduler-" + std::to_string(i);
      run.started_at = 3601;
      auto claimed = PlanRunStore(*db).Claim(run);
      if (!claimed) ++failed;
      else if (*claimed) ++won;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(won.load(), 1);
  auto runs = PlanRunStore(*db_).List(p.id);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  PlanRunRecord r = runs->front();
  r.status = PlanRunStatus::kSucceeded;
  r.finished_at = 4000;
  r.backups = R"([{"backupName":"x"}])";
  ASSERT_TRUE(PlanRunStore(*db_).Finish(r));
  EXPECT_EQ(PlanRunStore(*db_).List(p.id)->front().status, PlanRunStatus::kSucceeded);
  EXPECT_EQ(PlanRunStore(*db_).List(p.id)->front().backups, r.backups);
}

TEST_P(PlanStoresTest, LegalHoldsAndVaultLocks) {
  LegalHoldStore holds(*db_);
  LegalHoldRecord h{util::NewUuid(), "acct", "b1", "crn:b1", "case 7", "crn:user", 10, {}, {}};
  ASSERT_TRUE(holds.Put(h));
  h.id = util::NewUuid();
  auto again = holds.Put(h);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), util::ErrorCode::kConflict);
  EXPECT_EQ(holds.Active("b1")->value().reason, "case 7");
  auto released = holds.Release("b1", "crn:admin", 20);
  ASSERT_TRUE(released);
  EXPECT_EQ(released->released_at, 20);
  EXPECT_FALSE(holds.Active("b1")->has_value());
  EXPECT_EQ(holds.Release("b1", "x", 30).error().code(), util::ErrorCode::kNotFound);
  ASSERT_TRUE(holds.Put(h));  // held again after the release
  EXPECT_EQ(holds.List("acct", false)->size(), 1u);
  EXPECT_EQ(holds.List("acct", true)->size(), 2u);

  VaultLockStore locks(*db_);
  VaultLockRecord l{"w1", "acct", "crn:w1", "governance", 7, std::nullopt, std::nullopt,
                    "crn:user", 1, 1};
  ASSERT_TRUE(locks.Put(l));
  l.mode = "compliance";
  l.changeable_until = 99;
  ASSERT_TRUE(locks.Put(l));
  auto got = locks.Get("w1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->mode, "compliance");
  EXPECT_EQ((*got)->changeable_until, 99);
  ASSERT_TRUE(locks.Delete("w1"));
  EXPECT_FALSE(locks.Get("w1")->has_value());
}

TEST_P(PlanStoresTest, RestoreTestsPageNewestFirstAndTheLatestFinishedIsFound) {
  RestoreTestStore tests(*db_);
  auto make = [&](const std::string& ws, int64_t at) {
    RestoreTestRecord t;
    t.id = util::NewUuid();
    t.account_id = "acct";
    t.backup_id = "b";
    t.backup_crn = "crn:b";
    t.workspace_crn = ws;
    t.sandbox_environment = "drills";
    t.started_by = "crn:user";
    t.started_at = at;
    EXPECT_TRUE(tests.Insert(t));
    return t;
  };
  RestoreTestRecord a = make("crn:w1", 10), b = make("crn:w1", 20), c = make("crn:w2", 20);
  EXPECT_FALSE(*tests.LatestFinished("acct", "crn:w1"));  // all still running
  a.status = RestoreTestStatus::kSucceeded;
  a.finished_at = 15;
  a.recovery_time_micros = 4'000'000;
  a.sandbox_deleted = true;
  a.checks = R"j([{"check":"files","ok":true,"detail":"2 file(s)"}])j";
  ASSERT_TRUE(tests.Update(a));
  auto got = tests.Get("acct", a.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, RestoreTestStatus::kSucceeded);
  EXPECT_EQ(got->recovery_time_micros, 4'000'000);
  EXPECT_FALSE(got->recovery_point_age_micros);
  EXPECT_TRUE(got->sandbox_deleted);
  EXPECT_EQ(got->checks, a.checks);
  EXPECT_EQ(tests.Get("other", a.id).error().code(), util::ErrorCode::kNotFound);
  auto latest = tests.LatestFinished("acct", "crn:w1");
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->id, a.id);  // b is newer but still running
  b.status = RestoreTestStatus::kFailed;
  b.error = "models: model churn: deployment is failed";
  ASSERT_TRUE(tests.Update(b));
  EXPECT_EQ((*tests.LatestFinished("acct", "crn:w1"))->id, b.id);

  // Pages: newest first, the sort key (started_at, id) continues without repeats.
  auto all = tests.List("acct", "", 10);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(all->back().id, a.id);
  auto first = tests.List("acct", "", 2);
  ASSERT_EQ(first->size(), 2u);
  auto rest = tests.List("acct", "", 2, std::make_pair(first->back().started_at, first->back().id));
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(rest->front().id, a.id);
  EXPECT_EQ(tests.List("acct", "crn:w2", 10)->size(), 1u);
  EXPECT_EQ(tests.List("acct", "crn:w2", 10)->front().id, c.id);
}

// Backup copies (copy-backup): the copy record, the copies of a backup, the parent of the next
// backup passing copies over, and a plan's copy environment.
TEST_P(PlanStoresTest, ModelSamplesAreReplacedPerBackup) {
  ModelSampleStore store(*db_);
  ModelSampleRecord a;
  a.model_name = "churn";
  a.method = "POST";
  a.path = "/predict";
  a.content_type = "application/json";
  a.request_body = R"({"x": 1})";
  a.status_code = 200;
  a.response_body = "{\"p\": 0.25, \"name\": \"\u00fcber\"}";
  a.response_sha256 = "ab";
  a.response_bytes = static_cast<int64_t>(a.response_body.size());
  a.recorded_at = 42;
  ModelSampleRecord b = a;
  b.model_name = "apple";
  b.status_code = 0;
  b.error = "no answer";
  ASSERT_TRUE(store.Replace("b1", {a, b}));
  ASSERT_TRUE(store.Replace("b2", {a}));
  auto got = store.List("b1");
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].model_name, "apple");  // by name
  EXPECT_EQ((*got)[0].error, "no answer");
  EXPECT_EQ((*got)[1].backup_id, "b1");
  EXPECT_EQ((*got)[1].request_body, a.request_body);
  EXPECT_EQ((*got)[1].response_body, a.response_body);
  EXPECT_EQ((*got)[1].status_code, 200);
  EXPECT_EQ((*got)[1].recorded_at, 42);
  // A retried backup records afresh: the earlier rows go.
  ASSERT_TRUE(store.Replace("b1", {b}));
  EXPECT_EQ(store.List("b1")->size(), 1u);
  EXPECT_EQ(store.List("b2")->size(), 1u);
  ASSERT_TRUE(store.DeleteForBackup("b2"));
  EXPECT_TRUE(store.List("b2")->empty());
  EXPECT_TRUE(store.List("nope")->empty());
}

TEST_P(PlanStoresTest, BackupCopiesAndPlansThatCopy) {
  ASSERT_TRUE(EnvironmentStore(*db_).Insert(TestEnvironment()));
  ASSERT_TRUE(WorkspaceStore(*db_).Insert(TestWorkspace("w1", "ws")));
  BackupStore bs(*db_);
  BackupRecord b = TestBackup("b1", "one", "w1", "succeeded");
  b.vault_name = "mlv-w1";
  b.created_at = 10;
  ASSERT_TRUE(bs.Insert(b));
  BackupRecord c = TestBackup("c1", "one-copy-offsite", "w1", "succeeded");
  c.vault_name = "mlv-w1-copy-e2";
  c.created_at = 20;  // newer than the backup it copies
  ASSERT_TRUE(bs.Insert(c));

  BackupCopyStore copies(*db_);
  BackupCopyRecord r{"c1", "acct", "b1", "crn:b1", "e2", "offsite", "s3://bucket/copies", 20};
  ASSERT_TRUE(copies.Insert(r));
  auto got = copies.Get("c1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->source_backup_crn, "crn:b1");
  EXPECT_EQ((*got)->environment_name, "offsite");
  EXPECT_EQ((*got)->vault_location, "s3://bucket/copies");
  auto none = copies.Get("b1");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);  // not a copy
  auto of = copies.ListBySource("b1");
  ASSERT_TRUE(of);
  ASSERT_EQ(of->size(), 1u);
  EXPECT_EQ(of->front().backup_id, "c1");
  EXPECT_TRUE(copies.ListBySource("c1")->empty());
  EXPECT_FALSE(copies.Insert(r));  // one record per copy

  // The newest succeeded backup is the copy; the parent of the next backup is the original.
  EXPECT_EQ((*bs.LatestSucceeded("w1"))->id, "c1");
  auto parent = copies.LatestSucceededIn("w1", "mlv-w1");
  ASSERT_TRUE(parent && *parent);
  EXPECT_EQ(**parent, "b1");
  EXPECT_FALSE(*copies.LatestSucceededIn("w2", "mlv-w2"));

  PlanStore plans(*db_);
  PlanRecord p = Plan("nightly");
  p.copy_to_environment = "offsite";
  ASSERT_TRUE(plans.Insert(p));
  EXPECT_EQ(plans.GetByName("acct", "nightly")->copy_to_environment, "offsite");
  p.copy_to_environment.reset();
  ASSERT_TRUE(plans.Update(p));
  EXPECT_FALSE(plans.GetByName("acct", "nightly")->copy_to_environment);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, PlanStoresTest, ::testing::Values(Engine::kSqlite), EngineName);
INSTANTIATE_TEST_SUITE_P(Postgres, PlanStoresTest, ::testing::Values(Engine::kPostgres),
                         EngineName);

}  // namespace
}  // namespace mlvault::catalog
