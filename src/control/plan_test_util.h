// Shared fixture of the plan, scheduler and protection tests: the iam fixture's catalog (with
// every area's migrations), its real IAM authorizer and fake clock, an administrator with the
// backup entitlement, an environment with three workspaces (two tagged env=prod), and a workflow
// engine whose background workers do nothing (/bin/true), so started backups stay pending until
// a test finishes them.
#pragma once

#include <nlohmann/json.hpp>

#include "catalog/control_stores.h"
#include "catalog/plan_stores.h"
#include "control/embedded.h"
#include "control/handlers.h"
#include "control/iam_test_util.h"
#include "control/operations.h"
#include "control/scheduler.h"
#include "util/random.h"
#include "workspace/crn.h"

namespace mlvault::control::testing {

class PlanFixture : public IamFixture {
 protected:
  void SetUp() override {
    IamFixture::SetUp();
    ASSERT_TRUE(db_->Migrate(AllMigrations()));
    clock_.Set(*util::ParseTime("2026-01-10T12:00:00Z"));
    admin_ = Admin();
    ASSERT_TRUE(ops_->GrantEntitlement(admin_, "ML_ENABLE_BACKUP_RESTORE"));
    provider_ = workspace::MakeLocalProvider({.runtime_binary = "/bin/false"});
    EngineOptions eo;
    eo.home = home_;
    eo.self_exe = "/bin/true";  // background workers do nothing here
    eo.clock = &clock_;
    eo.open_db = [this]() { return catalog::OpenSqlite(home_ + "/catalog.db"); };
    handler_env_.home = home_;
    handler_env_.provider = provider_.get();
    handler_env_.authorizer = authz_.get();  // drills (restore_test workflows) act as their caller
    handler_env_.clock = &clock_;
    engine_ = std::make_unique<WorkflowEngine>(*db_, eo, MakeHandlerFactory(handler_env_));

    env_.id = util::NewUuid();
    env_.account_id = admin_.account_id;
    env_.crn =
        workspace::MakeCrn(workspace::kEnvironmentType, env_.account_id, env_.id).ToString();
    env_.name = "dev";
    env_.region = "us-west-1";
    env_.storage_root = home_ + "/environments/dev";
    env_.created_by = admin_.principal_crn;
    ASSERT_TRUE(catalog::EnvironmentStore(*db_).Insert(env_));
    prod1_ = AddWorkspace("prod1", "prod");
    prod2_ = AddWorkspace("prod2", "prod");
    dev1_ = AddWorkspace("dev1", "dev");
  }
  void TearDown() override {
    engine_.reset();
    IamFixture::TearDown();
  }

  catalog::WorkspaceRecord AddWorkspace(const std::string& name, const std::string& env_tag) {
    catalog::WorkspaceRecord ws;
    ws.id = util::NewUuid();
    ws.account_id = admin_.account_id;
    ws.crn = workspace::MakeCrn(workspace::kWorkspaceType, ws.account_id, ws.id).ToString();
    ws.name = name;
    ws.environment_id = env_.id;
    ws.status = catalog::WorkspaceStatus::kRunning;
    ws.domain = name + "-00000000.dev.mlvault.local";
    ws.parameters = nlohmann::json{{"workspaceName", name},
                                   {"provisionK8sRequest",
                                    {{"tags", {{{"key", "env"}, {"value", env_tag}}}}}}}
                        .dump();
    ws.api_key = "k";
    ws.control_key = "c";
    ws.version = "1.4.0";
    ws.created_by = admin_.principal_crn;
    ws.created_at = ws.updated_at = clock_.Now();
    EXPECT_TRUE(catalog::WorkspaceStore(*db_).Insert(ws));
    return ws;
  }

  // A succeeded backup of `ws` made at `at` (not by a plan).
  catalog::BackupRecord AddBackup(const catalog::WorkspaceRecord& ws, const std::string& name,
                                  util::TimeMicros at) {
    catalog::BackupRecord b;
    b.id = util::NewUuid();
    b.account_id = ws.account_id;
    b.crn = workspace::MakeCrn(workspace::kBackupType, ws.account_id, b.id).ToString();
    b.name = name;
    b.workspace_id = ws.id;
    b.workspace_crn = ws.crn;
    b.workspace_name = ws.name;
    b.environment_id = env_.id;
    b.environment_name = env_.name;
    b.vault_name = "mlv-" + ws.id;
    b.status = catalog::BackupStatus::kSucceeded;
    b.creator_crn = admin_.principal_crn;
    b.workspace_version = "1.4.0";
    b.workflow_id = util::NewUuid();
    b.created_at = at;
    EXPECT_TRUE(catalog::BackupStore(*db_).Insert(b));
    return b;
  }

  // Marks every pending or queued backup succeeded, as their workers would.
  void FinishPendingBackups() {
    auto rows = db_->Query("SELECT id FROM backups WHERE status IN ('pending', 'queued')");
    ASSERT_TRUE(rows);
    for (const auto& r : *rows) {
      catalog::BackupOutcome o;
      o.status = catalog::BackupStatus::kSucceeded;
      ASSERT_TRUE(catalog::BackupStore(*db_).Finish(r.Text(0), o, clock_.Now()));
    }
    ASSERT_TRUE(db_->Exec("UPDATE workflows SET status = 'succeeded' WHERE kind = 'backup'"));
  }

  Operations OpsAs(const Caller& caller) {
    OperationsEnv oe;
    oe.home = home_;
    oe.db = db_.get();
    oe.authorizer = authz_.get();
    oe.caller = caller;
    oe.clock = &clock_;
    oe.provider = provider_.get();
    oe.engine = engine_.get();
    return Operations(oe);
  }

  SchedulerEnv SchedulerEnvFor(catalog::Db* db, const std::string& name = "test-scheduler") {
    return {home_, db, authz_.get(), &clock_, provider_.get(), engine_.get(), name};
  }

  std::string BackupStatus(const std::string& id) {
    auto b = catalog::BackupStore(*db_).Get(admin_.account_id, id);
    return b ? catalog::BackupStatusName(b->status) : "?";
  }

  Caller admin_;
  std::unique_ptr<workspace::Provider> provider_;
  HandlerEnv handler_env_;
  std::unique_ptr<WorkflowEngine> engine_;
  catalog::EnvironmentRecord env_;
  catalog::WorkspaceRecord prod1_, prod2_, dev1_;
};

}  // namespace mlvault::control::testing
