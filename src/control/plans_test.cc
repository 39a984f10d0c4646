// Backup plans end to end inside the control layer: the plan operations with the real IAM
// authorizer, and the scheduler driven by a fake clock (no waiting): due slots, exactly one run
// per slot for several schedulers, a missed slot after downtime run once, scheduled backups as
// the plan's owner, and retention expiring through audited delete-backup workflows.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "api/types_plans_json.h"
#include "control/plan_test_util.h"
#include "control/roles.h"

namespace mlvault::control {
namespace {

using nlohmann::json;

util::TimeMicros T(const char* rfc3339) { return *util::ParseTime(rfc3339); }

class PlansTest : public testing::PlanFixture {
 protected:
  api::CreateBackupPlanRequest Nightly() {
    api::CreateBackupPlanRequest r;
    r.plan_name = "nightly";
    r.schedule = "cron(0 3 * * ? *)";
    r.time_zone = "Europe/Berlin";
    r.selection = {"tag:env=prod"};
    return r;
  }
  std::vector<PlanRunReport> Tick(const char* at) {
    clock_.Set(T(at));
    auto r = SchedulerTick(SchedulerEnvFor(db_.get()));
    EXPECT_TRUE(r) << (r ? "" : r.error().ToString());
    return r ? *r : std::vector<PlanRunReport>{};
  }
  json Runs(const std::string& plan) {
    Operations ops = OpsAs(admin_);
    auto r = ops.ListBackupPlanRuns({plan});
    EXPECT_TRUE(r) << (r ? "" : r.error().ToString());
    return r ? api::Encode(*r)["runs"] : json::array();
  }
};

TEST_F(PlansTest, CreateDescribeUpdateDelete) {
  Operations ops = OpsAs(admin_);
  auto created = ops.CreateBackupPlan(Nightly());
  ASSERT_TRUE(created) << created.error().ToString();
  EXPECT_EQ(created->plan.plan_crn.rfind("crn:mlvault:ml:us-west-1:" + admin_.account_id +
                                             ":backup_plan:",
                                         0),
            0u);
  // 03:00 in Berlin in January is 02:00 UTC.
  EXPECT_EQ(created->plan.next_run_at, "2026-01-11T02:00:00.000000+00:00");
  EXPECT_EQ(created->plan.owner_crn, admin_.principal_crn);
  EXPECT_EQ(created->plan.start_window_minutes, 60);

  auto dup = ops.CreateBackupPlan(Nightly());
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);

  auto bad = Nightly();
  bad.plan_name = "other";
  bad.schedule = "cron(0 25 * * ? *)";
  EXPECT_EQ(ops.CreateBackupPlan(bad).error().message(),
            "schedule: cron field 2 (Hours): 25 is outside 0-23");
  bad.schedule = "rate(1 day)";
  bad.selection = {"tag:env"};
  EXPECT_EQ(ops.CreateBackupPlan(bad).error().field(), "selection[0]");
  bad.selection = {"crn:mlvault:ml:us-west-1:abc:workspace:x"};
  EXPECT_EQ(ops.CreateBackupPlan(bad).error().field(), "selection[0]");
  bad.selection = {prod1_.crn};
  bad.retention.keep_daily = 0;
  EXPECT_EQ(ops.CreateBackupPlan(bad).error().field(), "keepDaily");
  bad.retention.keep_daily = 7;
  bad.time_zone = "Europe/Atlantis";
  EXPECT_EQ(ops.CreateBackupPlan(bad).error().field(), "timeZone");

  api::UpdateBackupPlanRequest u;
  u.plan_name = "nightly";
  u.retention.keep_daily = 7;
  u.retention.keep_last = 3;
  ASSERT_TRUE(ops.UpdateBackupPlan(u));
  u = {};
  u.plan_name = "nightly";
  u.retention.keep_last = 0;  // removes the rule
  u.schedule = "rate(6 hours)";
  auto updated = ops.UpdateBackupPlan(u);
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_FALSE(updated->plan.retention.keep_last);
  EXPECT_EQ(updated->plan.retention.keep_daily, 7);
  EXPECT_EQ(updated->plan.next_run_at, "2026-01-10T18:00:00.000000+00:00");

  auto list = ops.ListBackupPlans({});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->plans.size(), 1u);
  EXPECT_EQ(ops.DescribeBackupPlan({"missing"}).error().code(), util::ErrorCode::kNotFound);
  ASSERT_TRUE(ops.DeleteBackupPlan({"nightly"}));
  EXPECT_EQ(ops.DescribeBackupPlan({"nightly"}).error().code(), util::ErrorCode::kNotFound);
  auto audited = db_->Query(
      "SELECT action, outcome FROM audit_events WHERE action LIKE '%BackupPlan' ORDER BY "
      "time_micros, event_id");
  ASSERT_TRUE(audited);
  std::vector<std::string> seen;
  for (const auto& row : *audited) seen.push_back(row.Text(0) + " " + row.Text(1));
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "ml:CreateBackupPlan failed", "ml:CreateBackupPlan succeeded",
                      "ml:DeleteBackupPlan succeeded", "ml:UpdateBackupPlan succeeded",
                      "ml:UpdateBackupPlan succeeded"}));
}

TEST_F(PlansTest, PlanVerbsNeedTheirPermission) {
  Caller reader = UserWith(admin_, "reader", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":["ml:ListBackupPlans","ml:DescribeBackupPlan"],"Resource":"*"}]})");
  Operations ops = OpsAs(reader);
  auto denied = ops.CreateBackupPlan(Nightly());
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_TRUE(ops.ListBackupPlans({}));
}

TEST_F(PlansTest, SchedulerRunsEachSlotOnceAsTheOwner) {
  ASSERT_TRUE(OpsAs(admin_).CreateBackupPlan(Nightly()));
  EXPECT_TRUE(Tick("2026-01-11T01:59:59Z").empty());  // 02:59:59 Berlin: not yet

  auto runs = Tick("2026-01-11T02:00:30Z");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, catalog::PlanRunStatus::kSucceeded) << DescribeRun(runs[0]);
  EXPECT_EQ(runs[0].backups_started, 2);  // prod1 and prod2, not dev1
  EXPECT_EQ(runs[0].missed_slots, 0);
  EXPECT_EQ(runs[0].slot_at, T("2026-01-11T02:00:00Z"));

  // The same slot again, from this scheduler and from another one with its own connection.
  EXPECT_TRUE(Tick("2026-01-11T02:01:00Z").empty());
  auto other_db = catalog::OpenSqlite(home_ + "/catalog.db");
  ASSERT_TRUE(other_db);
  auto other = SchedulerTick(SchedulerEnvFor(other_db->get(), "other-host/42"));
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->empty());

  // Ordinary backups named <plan>-<UTC slot>, created by the owner, audited from the scheduler.
  auto b1 = catalog::BackupStore(*db_).ListByWorkspace(admin_.account_id, prod1_.id);
  ASSERT_TRUE(b1);
  ASSERT_EQ(b1->size(), 1u);
  EXPECT_EQ((*b1)[0].name, "nightly-20260111T020000Z");
  EXPECT_EQ((*b1)[0].creator_crn, admin_.principal_crn);
  EXPECT_TRUE(catalog::BackupStore(*db_).ListByWorkspace(admin_.account_id, dev1_.id)->empty());
  auto audited = db_->Query(
      "SELECT COUNT(*) FROM audit_events WHERE action = 'ml:BackupWorkspace' AND source = "
      "'scheduler' AND principal_crn = ?",
      {admin_.principal_crn});
  ASSERT_TRUE(audited);
  EXPECT_EQ((*audited)[0].Int(0), 2);

  json listed = Runs("nightly");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["status"], "succeeded");
  EXPECT_EQ(listed[0]["claimedBy"], "test-scheduler");
  EXPECT_EQ(listed[0]["backups"].size(), 2u);
}

TEST_F(PlansTest, AMissedSlotAfterDowntimeRunsOnce) {
  ASSERT_TRUE(OpsAs(admin_).CreateBackupPlan(Nightly()));
  ASSERT_EQ(Tick("2026-01-11T02:00:00Z").size(), 1u);
  FinishPendingBackups();
  // Down from the 11th to the 15th at 10:00: the slots of the 12th, 13th, 14th and 15th passed.
  auto runs = Tick("2026-01-15T10:00:00Z");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].slot_at, T("2026-01-15T02:00:00Z"));
  EXPECT_EQ(runs[0].missed_slots, 3);
  EXPECT_TRUE(Tick("2026-01-15T10:00:01Z").empty());
  json listed = Runs("nightly");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["missedSlots"], 3);
  EXPECT_EQ(listed[0]["late"], true);   // 8 hours after its slot, window 60 minutes
  EXPECT_EQ(listed[1]["late"], false);
}

TEST_F(PlansTest, RetentionExpiresThroughAuditedDeletions) {
  auto req = Nightly();
  req.selection = {prod1_.crn};
  req.retention.keep_last = 2;
  ASSERT_TRUE(OpsAs(admin_).CreateBackupPlan(req));
  // A manual backup is never the plan's to expire.
  auto manual = AddBackup(prod1_, "manual", T("2026-01-10T13:00:00Z"));
  for (const char* at : {"2026-01-11T02:00:00Z", "2026-01-12T02:00:00Z", "2026-01-13T02:00:00Z"}) {
    auto runs = Tick(at);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].expiries_started, 0) << DescribeRun(runs[0]);
    FinishPendingBackups();
  }
  // Three plan backups succeeded, keep-last 2: preview says the oldest goes, and why.
  auto preview = OpsAs(admin_).PreviewRetention({"nightly"});
  ASSERT_TRUE(preview) << preview.error().ToString();
  ASSERT_EQ(preview->backups.size(), 3u);
  EXPECT_EQ(preview->backups[0].rule, "newest-succeeded");
  EXPECT_EQ(preview->backups[1].rule, "keep-last");
  EXPECT_EQ(preview->backups[2].decision, "expire");
  EXPECT_EQ(preview->backups[2].backup_name, "nightly-20260111T020000Z");
  EXPECT_EQ(preview->backups[2].reason, "not kept by keep-last 2");

  // The next run expires it: an audited delete-backup workflow that names the plan and rule.
  auto runs = Tick("2026-01-14T02:00:00Z");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].expiries_started, 1) << DescribeRun(runs[0]);
  std::string expired_id = workspace::ParseCrn(preview->backups[2].backup_crn)->resource_id;
  EXPECT_EQ(BackupStatus(expired_id), "deleting");
  EXPECT_EQ(BackupStatus(manual.id), "succeeded");
  auto wf = db_->Query("SELECT input FROM workflows WHERE kind = 'delete_backup'");
  ASSERT_TRUE(wf);
  ASSERT_EQ(wf->size(), 1u);
  EXPECT_EQ(json::parse((*wf)[0].Text(0))["expiredBy"],
            "backup plan nightly, rule not-kept: not kept by keep-last 2");
  auto audit = db_->Query(
      "SELECT detail, source FROM audit_events WHERE action = 'ml:DeleteBackup' AND resource = ?",
      {preview->backups[2].backup_crn});
  ASSERT_TRUE(audit);
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_NE((*audit)[0].Text(0).find("expired by backup plan nightly, rule not-kept"),
            std::string::npos)
      << (*audit)[0].Text(0);
  EXPECT_EQ((*audit)[0].Text(1), "scheduler");
  json listed = Runs("nightly");
  EXPECT_EQ(listed[0]["expired"][0]["rule"], "not-kept");
}

TEST_F(PlansTest, ARunWithNothingSelectedFailsVisibly) {
  auto req = Nightly();
  req.selection = {"tag:env=staging"};
  ASSERT_TRUE(OpsAs(admin_).CreateBackupPlan(req));
  auto runs = Tick("2026-01-11T02:00:00Z");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, catalog::PlanRunStatus::kFailed);
  ASSERT_EQ(runs[0].errors.size(), 1u);
  EXPECT_EQ(runs[0].errors[0], "the selection matched no live workspace");
}

TEST_F(PlansTest, AnOwnerWithoutPermissionGetsTheDenialInTheRun) {
  Caller planner = UserWith(admin_, "planner", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":["ml:CreateBackupPlan","ml:ListBackupPlanRuns"],"Resource":"*"}]})");
  ASSERT_TRUE(OpsAs(planner).CreateBackupPlan(Nightly()));
  auto runs = Tick("2026-01-11T02:00:00Z");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, catalog::PlanRunStatus::kFailed);
  ASSERT_EQ(runs[0].errors.size(), 2u);
  EXPECT_NE(runs[0].errors[0].find("ml:BackupWorkspace"), std::string::npos) << runs[0].errors[0];
}

}  // namespace
}  // namespace mlvault::control

namespace mlvault::control {
namespace {

constexpr char kTrustBackup[] = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":{"Service":"backup.mlvault"},"Action":"sts:AssumeRole"}]})";
constexpr char kBackupPolicy[] = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":["ml:BackupWorkspace","ml:DeleteBackup"],"Resource":"*"}]})";

class PlanRolesTest : public PlansTest {
 protected:
  void MakeRole(const std::string& name, const std::string& trust, bool with_policy) {
    auto r = ops_->CreateRole(admin_, {name, trust, "for plans"});
    ASSERT_TRUE(r) << r.error().ToString();
    if (!with_policy) return;
    if (!IamStore(*db_).FindPolicyByName(admin_.account_id, "backups").value_or(std::nullopt))
      ASSERT_TRUE(ops_->CreatePolicy(admin_, "backups", kBackupPolicy, ""));
    ASSERT_TRUE(ops_->AttachRolePolicy(admin_, {name, "backups"}));
  }
};

TEST_F(PlanRolesTest, TrustPoliciesAreChecked) {
  auto bad = ops_->CreateRole(admin_, {"r", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":{"Service":"backup.example"},"Action":"sts:AssumeRole"}]})",
                                       ""});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "trustPolicyDocument");
  EXPECT_EQ(bad.error().message(),
            "trustPolicyDocument: Statement[0].Principal.Service: unknown service "
            "\"backup.example\" (known: backup.mlvault)");
  auto no_action = ops_->CreateRole(
      admin_, {"r", R"({"Statement":{"Effect":"Allow","Principal":{"User":"alice"}}})", ""});
  ASSERT_FALSE(no_action);
  EXPECT_EQ(no_action.error().message(),
            "trustPolicyDocument: Statement[0].Action: must be (or contain) sts:AssumeRole");
  auto t = ParseTrustPolicy(R"({"Statement":[
      {"Effect":"Allow","Principal":{"Service":"backup.mlvault","User":["alice","bob"]},"Action":"sts:AssumeRole"},
      {"Effect":"Deny","Principal":{"User":"bob"},"Action":"sts:AssumeRole"}]})");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_TRUE(TrustsService(*t, kBackupServicePrincipal));
  EXPECT_TRUE(TrustsUser(*t, "alice", ""));
  EXPECT_FALSE(TrustsUser(*t, "bob", ""));  // the Deny wins
  EXPECT_FALSE(TrustsUser(*t, "carol", ""));
}

TEST_F(PlanRolesTest, APlanActsAsItsRole) {
  MakeRole("backup-operator", kTrustBackup, true);
  MakeRole("users-only", R"({"Statement":{"Effect":"Allow","Principal":{"User":"alice"},"Action":"sts:AssumeRole"}})",
           true);
  auto req = Nightly();
  req.iam_role_name = "users-only";
  auto refused = OpsAs(admin_).CreateBackupPlan(req);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field(), "iamRoleName");
  EXPECT_NE(refused.error().message().find("does not trust the backup service"), std::string::npos);

  req.iam_role_name = "backup-operator";
  auto plan = OpsAs(admin_).CreateBackupPlan(req);
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto role = FindRoleByName(*db_, admin_.account_id, "backup-operator");
  ASSERT_TRUE(role && *role);
  EXPECT_EQ(plan->plan.iam_role_crn, (*role)->crn);

  auto runs = Tick("2026-01-11T02:00:00Z");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, catalog::PlanRunStatus::kSucceeded) << DescribeRun(runs[0]);
  auto b = catalog::BackupStore(*db_).ListByWorkspace(admin_.account_id, prod1_.id);
  ASSERT_TRUE(b && b->size() == 1u);
  EXPECT_EQ((*b)[0].creator_crn, (*role)->crn);
  auto audited = db_->Query(
      "SELECT COUNT(*) FROM audit_events WHERE action = 'ml:BackupWorkspace' AND "
      "principal_name = 'backup-operator/nightly' AND source = 'scheduler'");
  ASSERT_TRUE(audited);
  EXPECT_EQ((*audited)[0].Int(0), 2);

  // The role in use cannot be deleted; without its policy the next run fails, naming the denial.
  EXPECT_EQ(ops_->DeleteRole(admin_, "backup-operator").error().code(),
            util::ErrorCode::kConflict);
  ASSERT_TRUE(ops_->DetachRolePolicy(admin_, {"backup-operator", "backups"}));
  runs = Tick("2026-01-12T02:00:00Z");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, catalog::PlanRunStatus::kFailed);
  ASSERT_FALSE(runs[0].errors.empty());
  EXPECT_NE(runs[0].errors[0].find("is not allowed to perform ml:BackupWorkspace"),
            std::string::npos)
      << runs[0].errors[0];
}

TEST_F(PlanRolesTest, HandingARoleToAPlanNeedsPassRole) {
  MakeRole("backup-operator", kTrustBackup, true);
  Caller planner = UserWith(admin_, "planner", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"ml:CreateBackupPlan","Resource":"*"}]})");
  auto req = Nightly();
  req.iam_role_name = "backup-operator";
  auto denied = OpsAs(planner).CreateBackupPlan(req);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(denied.error().message().find("iam:PassRole"), std::string::npos);
}

}  // namespace
}  // namespace mlvault::control

namespace mlvault::control {
namespace {

TEST_F(PlansTest, ProtectionReport) {
  ASSERT_TRUE(OpsAs(admin_).CreateBackupPlan(Nightly()));  // covers prod1 and prod2
  clock_.Set(T("2026-01-12T12:00:00Z"));
  auto recent = AddBackup(prod1_, "recent", T("2026-01-12T02:00:00Z"));
  AddBackup(prod2_, "old", T("2026-01-10T02:00:00Z"));
  ASSERT_TRUE(OpsAs(admin_).PutLegalHold({recent.crn, "keep"}));
  auto r = OpsAs(admin_).GetProtectionReport({});
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->workspaces.size(), 3u);
  std::map<std::string, api::ProtectedWorkspace> by;
  for (const auto& w : r->workspaces) by[w.workspace_name] = w;
  // Daily at 03:00 Berlin, 60 minutes of start window: 25 hours.
  EXPECT_EQ(by["prod1"].recovery_point_objective_seconds, 25 * 3600);
  EXPECT_EQ(by["prod1"].plans, std::vector<std::string>{"nightly"});
  EXPECT_EQ(by["prod1"].last_succeeded_backup_crn, recent.crn);
  EXPECT_EQ(by["prod1"].last_succeeded_backup_age_seconds, 10 * 3600);
  EXPECT_EQ(by["prod1"].meets_objective, true);
  EXPECT_EQ(by["prod1"].legal_holds, 1);
  EXPECT_EQ(by["prod2"].meets_objective, false);  // 58 hours old
  EXPECT_TRUE(by["dev1"].plans.empty());
  EXPECT_FALSE(by["dev1"].meets_objective.has_value());
  EXPECT_FALSE(by["dev1"].last_succeeded_backup_crn.has_value());
}

}  // namespace
}  // namespace mlvault::control
