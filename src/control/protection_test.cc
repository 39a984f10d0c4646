// Legal holds and vault locks with the real IAM authorizer and a fake clock: a held backup
// cannot be deleted until released; a governance lock needs ml:BypassVaultLock; a compliance
// lock refuses the administrator too, and becomes unchangeable after its changeable period.
#include <gtest/gtest.h>

#include "control/plan_test_util.h"

namespace mlvault::control {
namespace {

constexpr int64_t kDay = 86'400'000'000;

class ProtectionTest : public testing::PlanFixture {
 protected:
  api::PutVaultLockRequest Lock(const std::string& mode, int64_t min_days) {
    api::PutVaultLockRequest r;
    r.workspace_crn = prod1_.crn;
    r.mode = mode;
    r.min_retention_days = min_days;
    return r;
  }
  int64_t Audited(const std::string& action, const std::string& outcome) {
    auto rows = db_->Query("SELECT COUNT(*) FROM audit_events WHERE action = ? AND outcome = ?",
                           {action, outcome});
    return rows ? (*rows)[0].Int(0) : -1;
  }
};

TEST_F(ProtectionTest, AHeldBackupIsNotDeletedUntilReleased) {
  auto b = AddBackup(prod1_, "b1", clock_.Now());
  Operations ops = OpsAs(admin_);
  auto held = ops.PutLegalHold({b.crn, "case 2026-17"});
  ASSERT_TRUE(held) << held.error().ToString();
  EXPECT_EQ(held->legal_hold.reason, "case 2026-17");
  EXPECT_EQ(ops.PutLegalHold({b.crn, "again"}).error().code(), util::ErrorCode::kConflict);
  EXPECT_EQ(ops.PutLegalHold({b.crn, ""}).error().field(), "reason");

  auto del = ops.DeleteBackup({b.crn}, Wait{});
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code(), util::ErrorCode::kConflict);
  EXPECT_EQ(del.error().message(),
            "backup " + b.crn +
                " is under a legal hold (case 2026-17); release it first with: mlvault "
                "release-legal-hold --backup-crn " +
                b.crn);
  EXPECT_EQ(BackupStatus(b.id), "succeeded");

  auto list = ops.ListLegalHolds({});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->legal_holds.size(), 1u);
  EXPECT_EQ(list->legal_holds[0].backup_crn, b.crn);

  auto released = ops.ReleaseLegalHold({b.crn});
  ASSERT_TRUE(released) << released.error().ToString();
  EXPECT_TRUE(released->legal_hold.released_at);
  EXPECT_EQ(ops.ReleaseLegalHold({b.crn}).error().code(), util::ErrorCode::kNotFound);
  EXPECT_TRUE(ops.ListLegalHolds({})->legal_holds.empty());
  EXPECT_EQ(ops.ListLegalHolds({true})->legal_holds.size(), 1u);
  ASSERT_TRUE(ops.DeleteBackup({b.crn}, Wait{}));
  EXPECT_EQ(BackupStatus(b.id), "deleting");

  EXPECT_EQ(Audited("ml:PutLegalHold", "succeeded"), 1);
  EXPECT_EQ(Audited("ml:ReleaseLegalHold", "succeeded"), 1);
  EXPECT_GE(Audited("ml:DeleteBackup", "failed"), 1);  // the refused delete is on record
}

TEST_F(ProtectionTest, GovernanceLockNeedsTheBypassPermission) {
  auto b = AddBackup(prod1_, "b1", clock_.Now());
  Operations admin = OpsAs(admin_);
  ASSERT_TRUE(admin.PutVaultLock(Lock("governance", 7)));
  Caller deleter = UserWith(admin_, "deleter", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"ml:DeleteBackup","Resource":"*"}]})");
  auto denied = OpsAs(deleter).DeleteBackup({b.crn}, Wait{});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(denied.error().message().find("needs the ml:BypassVaultLock permission"),
            std::string::npos)
      << denied.error().message();
  EXPECT_EQ(BackupStatus(b.id), "succeeded");

  Caller bypasser = UserWith(admin_, "bypasser", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":["ml:DeleteBackup","ml:BypassVaultLock"],"Resource":"*"}]})");
  ASSERT_TRUE(OpsAs(bypasser).DeleteBackup({b.crn}, Wait{}));
  EXPECT_EQ(BackupStatus(b.id), "deleting");

  // Older than the minimum: no bypass needed.
  auto old = AddBackup(prod1_, "old", clock_.Now() - 8 * kDay);
  ASSERT_TRUE(OpsAs(deleter).DeleteBackup({old.crn}, Wait{}));
}

TEST_F(ProtectionTest, ComplianceLockRefusesTheAdministrator) {
  auto b = AddBackup(prod1_, "b1", clock_.Now());
  Operations admin = OpsAs(admin_);
  auto lock = admin.PutVaultLock(Lock("compliance", 30));
  ASSERT_TRUE(lock) << lock.error().ToString();
  EXPECT_EQ(lock->vault_lock.changeable_until, "2026-01-13T12:00:00.000000+00:00");

  auto del = admin.DeleteBackup({b.crn}, Wait{});
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(del.error().message().find("cannot be deleted by anyone, administrators included"),
            std::string::npos)
      << del.error().message();

  // Within the changeable period the lock can still be changed; after it, by nobody.
  ASSERT_TRUE(admin.PutVaultLock(Lock("compliance", 20)));  // restarts the 3 days
  clock_.Advance(std::chrono::microseconds(4 * kDay));
  auto change = admin.PutVaultLock(Lock("governance", 1));
  ASSERT_FALSE(change);
  EXPECT_EQ(change.error().code(), util::ErrorCode::kConflict);
  EXPECT_EQ(admin.DeleteVaultLock({prod1_.crn}).error().code(), util::ErrorCode::kConflict);
  EXPECT_EQ(admin.DescribeVaultLock({prod1_.crn})->vault_lock.min_retention_days, 20);

  // Once the backup is older than the minimum retention, it can be deleted.
  EXPECT_FALSE(admin.DeleteBackup({b.crn}, Wait{}));
  clock_.Advance(std::chrono::microseconds(17 * kDay));
  ASSERT_TRUE(admin.DeleteBackup({b.crn}, Wait{}));
}

TEST_F(ProtectionTest, RetentionKeepsHeldAndLockedBackups) {
  api::CreateBackupPlanRequest r;
  r.plan_name = "p";
  r.schedule = "rate(1 day)";
  r.selection = {prod1_.crn};
  r.retention.keep_last = 1;
  ASSERT_TRUE(OpsAs(admin_).CreateBackupPlan(r));
  Operations admin = OpsAs(admin_);
  for (int i = 1; i <= 4; ++i) {
    clock_.Advance(std::chrono::microseconds(kDay));
    auto runs = SchedulerTick(SchedulerEnvFor(db_.get()));
    ASSERT_TRUE(runs) << runs.error().ToString();
    ASSERT_EQ(runs->size(), 1u) << i;
    EXPECT_EQ((*runs)[0].status, catalog::PlanRunStatus::kSucceeded) << DescribeRun((*runs)[0]);
    EXPECT_EQ((*runs)[0].expiries_started, 0) << DescribeRun((*runs)[0]);
    FinishPendingBackups();
    if (i == 2) {
      // keep-last 1 would expire the first backup at the next run: hold it, and lock the vault
      // for 3 days.
      auto first = catalog::BackupStore(*db_).ListByWorkspace(admin_.account_id, prod1_.id);
      ASSERT_TRUE(first && first->size() == 2u);
      ASSERT_TRUE(admin.PutLegalHold({first->back().crn, "audit"}));
      ASSERT_TRUE(admin.PutVaultLock(Lock("governance", 3)));
    }
  }
  auto preview = admin.PreviewRetention({"p"});
  ASSERT_TRUE(preview);
  std::vector<std::string> rules;
  for (const auto& v : preview->backups) rules.push_back(v.decision + " " + v.rule);
  EXPECT_EQ(rules, (std::vector<std::string>{"keep vault-lock", "keep vault-lock",
                                             "keep vault-lock", "keep legal-hold"}));
  // Once the lock's minimum has passed, keep-last 1 expires what the hold does not keep.
  clock_.Advance(std::chrono::microseconds(4 * kDay));
  preview = admin.PreviewRetention({"p"});
  ASSERT_TRUE(preview);
  rules.clear();
  for (const auto& v : preview->backups) rules.push_back(v.decision + " " + v.rule);
  EXPECT_EQ(rules, (std::vector<std::string>{"keep newest-succeeded", "expire not-kept",
                                             "expire not-kept", "keep legal-hold"}));
}

TEST_F(ProtectionTest, VaultLockInputIsChecked) {
  Operations admin = OpsAs(admin_);
  EXPECT_EQ(admin.PutVaultLock(Lock("strict", 7)).error().field(), "mode");
  EXPECT_EQ(admin.PutVaultLock(Lock("governance", 0)).error().field(), "minRetentionDays");
  auto r = Lock("governance", 7);
  r.max_retention_days = 3;
  EXPECT_EQ(admin.PutVaultLock(r).error().field(), "maxRetentionDays");
  r = Lock("governance", 7);
  r.changeable_for_days = 5;
  EXPECT_EQ(admin.PutVaultLock(r).error().field(), "changeableForDays");
  r = Lock("compliance", 7);
  r.changeable_for_days = 1;
  EXPECT_EQ(admin.PutVaultLock(r).error().field(), "changeableForDays");
  EXPECT_EQ(admin.DescribeVaultLock({prod1_.crn}).error().code(), util::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace mlvault::control
