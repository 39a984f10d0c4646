// Restore tests (drills) inside the control layer, with the real IAM authorizer and fake clock:
// requests that cannot start a drill say what to do; a drill whose restore fails is recorded as
// failed with the cause and cleans up its throw-away workspace; the protection report shows the
// last drill; a restore testing plan drills on its slot, as its owner, without taking backups.
// (The checks of a drill that restores for real: tests/control/drills_test.sh.)
#include <gtest/gtest.h>

#include "api/types_plans_json.h"
#include "catalog/restore_test_store.h"
#include "control/plan_test_util.h"
#include "control/workload_status.h"

namespace mlvault::control {
namespace {

using nlohmann::json;

class RestoreTestsTest : public testing::PlanFixture {};

TEST_F(RestoreTestsTest, RequestsThatCannotStartADrillSayWhatToDo) {
  Operations ops = OpsAs(admin_);
  auto neither = ops.StartRestoreTest({"", "", "dev"}, Wait{});
  ASSERT_FALSE(neither);
  EXPECT_EQ(neither.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(neither.error().message().find("give either --backup-crn"), std::string::npos);

  auto no_backup = ops.StartRestoreTest({"", prod1_.crn, "dev"}, Wait{});
  ASSERT_FALSE(no_backup);
  EXPECT_EQ(no_backup.error().code(), util::ErrorCode::kNotFound);
  EXPECT_NE(
      no_backup.error().message().find("mlvault backup-workspace --workspace-crn " + prod1_.crn),
      std::string::npos);

  auto b = AddBackup(prod1_, "b1", clock_.Now() - 3'600'000'000);
  auto no_env = ops.StartRestoreTest({b.crn, "", "nope"}, Wait{});
  ASSERT_FALSE(no_env);
  EXPECT_EQ(no_env.error().code(), util::ErrorCode::kNotFound);
  EXPECT_NE(no_env.error().message().find("create-environment --environment-name nope"),
            std::string::npos);

  EXPECT_EQ(ops.DescribeRestoreTest({"42"}).error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ops.DescribeRestoreTest({util::NewUuid()}).error().code(), util::ErrorCode::kNotFound);
  // Nothing was recorded for requests that did not start.
  EXPECT_TRUE(ops.ListRestoreTests({})->restore_tests.empty());
}

TEST_F(RestoreTestsTest, ADrillWhoseRestoreFailsIsRecordedWithTheCauseAndCleansUp) {
  // The backup names a vault that does not exist: the restore fails.
  auto b = AddBackup(prod1_, "b1", clock_.Now() - 3'600'000'000);
  Operations ops = OpsAs(admin_);
  auto drill = ops.StartRestoreTest({"", prod1_.crn, "dev"}, Wait{});
  ASSERT_TRUE(drill) << drill.error().ToString();
  const api::RestoreTest& t = drill->restore_test;
  EXPECT_EQ(t.backup_crn, b.crn);
  EXPECT_EQ(t.status, "failed");
  EXPECT_EQ(t.error.rfind("restore: ", 0), 0u) << t.error;
  ASSERT_FALSE(t.checks.empty());
  EXPECT_EQ(t.checks[0].check, "restore");
  EXPECT_FALSE(t.checks[0].ok);
  EXPECT_FALSE(t.recovery_time_seconds);  // only a drill that passed has one
  ASSERT_TRUE(t.recovery_point_age_seconds);
  EXPECT_EQ(*t.recovery_point_age_seconds, 3600);
  // The throw-away workspace the restore made is gone (a failed restore deletes it itself).
  ASSERT_FALSE(t.sandbox_workspace_crn.empty()) << t.error;
  EXPECT_TRUE(t.sandbox_deleted);
  auto sandbox = catalog::WorkspaceStore(*db_).Get(
      admin_.account_id, workspace::ParseCrn(t.sandbox_workspace_crn)->resource_id);
  ASSERT_TRUE(sandbox);
  EXPECT_TRUE(sandbox->deleted_at);

  auto again = ops.DescribeRestoreTest({t.restore_test_id});
  ASSERT_TRUE(again);
  EXPECT_EQ(api::Encode(*again), api::Encode(*drill));

  auto report = ops.GetProtectionReport({});
  ASSERT_TRUE(report);
  for (const auto& w : report->workspaces) {
    EXPECT_NE(w.workspace_crn,
              t.sandbox_workspace_crn);  // the sandbox is not a workspace to protect
    if (w.workspace_crn == prod1_.crn) {
      EXPECT_EQ(w.last_drill_result, "failed");
      EXPECT_EQ(w.last_drill_test_id, t.restore_test_id);
    } else {
      EXPECT_FALSE(w.last_drill_result);
    }
  }
  // Audited as the caller: the drill's start and end and its restore (no delete-workspace was
  // needed after the failed restore).
  auto audited = db_->Query(
      "SELECT action FROM audit_events WHERE principal_crn = ? AND action IN "
      "('ml:StartRestoreTest', 'ml:RestoreWorkspace', 'ml:DeleteWorkspace') ORDER BY rowid",
      {admin_.principal_crn});
  ASSERT_TRUE(audited);
  std::vector<std::string> actions;
  for (const auto& r : *audited) actions.push_back(r.Text(0));
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "ml:StartRestoreTest"), 2);
  EXPECT_GE(std::count(actions.begin(), actions.end(), "ml:RestoreWorkspace"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "ml:DeleteWorkspace"), 0);
}

TEST_F(RestoreTestsTest, ARestoreTestingPlanDrillsOnItsSlotWithoutTakingBackups) {
  Operations ops = OpsAs(admin_);
  api::CreateRestoreTestingPlanRequest r;
  r.plan_name = "drill";
  r.schedule = "rate(1 day)";
  r.selection = {prod1_.crn};
  r.sandbox_environment_name = "nope";
  auto bad = ops.CreateRestoreTestingPlan(r);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "sandboxEnvironmentName");
  r.sandbox_environment_name = "dev";
  auto plan = ops.CreateRestoreTestingPlan(r);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->plan.sandbox_environment_name, "dev");
  AddBackup(prod1_, "b1", clock_.Now() - 60'000'000);

  clock_.Set(clock_.Now() + 86'400'000'000 + 1);
  auto runs = SchedulerTick(SchedulerEnvFor(db_.get()));
  ASSERT_TRUE(runs) << runs.error().ToString();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].backups_started, 1);  // one drill
  // The step only started it: a restore_test workflow for a worker (which does nothing here).
  EXPECT_EQ((*runs)[0].status, catalog::PlanRunStatus::kSucceeded) << DescribeRun((*runs)[0]);
  EXPECT_TRUE((*runs)[0].errors.empty());
  // No backup was taken; the drill is recorded as the plan's.
  EXPECT_EQ(catalog::BackupStore(*db_).ListByWorkspace(admin_.account_id, prod1_.id)->size(), 1u);
  auto tests = ops.ListRestoreTests({prod1_.crn, {}});
  ASSERT_TRUE(tests);
  ASSERT_EQ(tests->restore_tests.size(), 1u);
  EXPECT_EQ(tests->restore_tests[0].plan_name, "drill");
  EXPECT_EQ(tests->restore_tests[0].status, "running");
  const std::string wf_id = tests->restore_tests[0].workflow_id;
  ASSERT_FALSE(wf_id.empty());
  // A worker runs it: the drill fails (no vault here) with the cause, as the plan's caller.
  auto wf = engine_->Run(wf_id, nullptr);
  ASSERT_TRUE(wf) << wf.error().ToString();
  EXPECT_EQ(wf->kind, "restore_test");
  EXPECT_EQ(wf->status, catalog::WorkflowStatus::kSucceeded);  // it ran the drill to its end
  auto done = ops.DescribeRestoreTest({tests->restore_tests[0].restore_test_id});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->restore_test.status, "failed");
  EXPECT_EQ(done->restore_test.error.rfind("restore: ", 0), 0u) << done->restore_test.error;
  EXPECT_TRUE(done->restore_test.sandbox_deleted);
  auto listed = api::Encode(*ops.ListBackupPlanRuns({"drill"}))["runs"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["backups"][0]["restoreTestId"], tests->restore_tests[0].restore_test_id);
}

TEST_F(RestoreTestsTest, ADrillWhoseWorkerDiedIsEndedByRecoveryAndItsSandboxDeleted) {
  AddBackup(prod1_, "b1", clock_.Now() - 60'000'000);
  Operations ops = OpsAs(admin_);
  auto started = ops.RunRestoreTest({"", prod1_.crn, "dev"}, Wait{}, "");
  ASSERT_TRUE(started) << started.error().ToString();
  const api::RestoreTest& t = started->restore_test;
  EXPECT_EQ(t.status, "running");
  // A worker took it, restored the sandbox workspace, and died during the checks.
  catalog::WorkspaceRecord sandbox = AddWorkspace("drill-" + t.restore_test_id.substr(0, 8), "");
  ASSERT_TRUE(
      db_->Exec("UPDATE workflows SET status = 'running', attempts = 1, phase = 'validating', "
                "lease_owner = 'elsewhere/4242/1/x', lease_expires_at = ? WHERE id = ?",
                {clock_.Now() + 30'000'000, t.workflow_id}));
  // Not stale before its lease ends.
  auto early = engine_->Recover(true);
  ASSERT_TRUE(early);
  EXPECT_TRUE(early->empty());
  EXPECT_EQ(ops.DescribeRestoreTest({t.restore_test_id})->restore_test.status, "running");

  clock_.Set(clock_.Now() + 31'000'000);
  auto recovered = engine_->Recover(true);
  ASSERT_TRUE(recovered) << recovered.error().ToString();
  ASSERT_FALSE(recovered->empty());
  EXPECT_NE((*recovered)[0].find("resumed workflow " + t.workflow_id + " (restore_test)"),
            std::string::npos)
      << (*recovered)[0];
  auto done = ops.DescribeRestoreTest({t.restore_test_id});
  ASSERT_TRUE(done);
  const api::RestoreTest& d = done->restore_test;
  EXPECT_EQ(d.status, "failed");
  EXPECT_EQ(d.error.rfind("interrupted: workflow interrupted during phase \"validating\": its "
                          "worker elsewhere/4242/1/x stopped (lease expired at ",
                          0),
            0u)
      << d.error;
  ASSERT_FALSE(d.checks.empty());
  EXPECT_EQ(d.checks.back().check, "interrupted");
  EXPECT_FALSE(d.checks.back().ok);
  EXPECT_FALSE(d.recovery_time_seconds);
  EXPECT_EQ(d.sandbox_workspace_crn, sandbox.crn);
  EXPECT_TRUE(d.sandbox_deleted);
  EXPECT_TRUE(catalog::WorkspaceStore(*db_).Get(admin_.account_id, sandbox.id)->deleted_at);
  auto wf = catalog::WorkflowStore(*db_).Get("", t.workflow_id);
  ASSERT_TRUE(wf);
  EXPECT_EQ(wf->status, catalog::WorkflowStatus::kSucceeded);
  EXPECT_EQ(wf->attempts, 2);
  // Nothing is left to recover.
  auto again = engine_->Recover(true);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

// The statuses a drill reads from the runtime and start/stop answer: each name parses back, and
// a status this build does not know (or none) reads as no status rather than as a running one.
TEST(WorkloadStatusTest, NamesParseBackAndUnknownOnesAreNoStatus) {
  for (auto s : {ServiceStatus::kStarting, ServiceStatus::kRunning, ServiceStatus::kPaused,
                 ServiceStatus::kStopped, ServiceStatus::kFailed})
    EXPECT_EQ(ParseServiceStatus(ServiceStatusName(s)).value(), s);
  for (auto s : {RuntimeState::kRunning, RuntimeState::kStopped, RuntimeState::kFailed,
                 RuntimeState::kUnchanged})
    EXPECT_EQ(ParseRuntimeState(RuntimeStateName(s)).value(), s);
  EXPECT_EQ(RuntimeStateName(RuntimeState::kUnchanged), "unchanged");
  EXPECT_EQ(ServiceStatusIn(json{{"status", "running"}}), ServiceStatus::kRunning);
  EXPECT_FALSE(ServiceStatusIn(json{{"status", "Running"}}));
  EXPECT_FALSE(ServiceStatusIn(json{{"status", 1}}));
  EXPECT_FALSE(ServiceStatusIn(json::object()));
  EXPECT_FALSE(ServiceStatusIn(json()));
  auto bad = ParseServiceStatus("up");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("starting, running, paused"), std::string::npos);
}

}  // namespace
}  // namespace mlvault::control
