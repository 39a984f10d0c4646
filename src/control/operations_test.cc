// The authorization contract of every operation: Authorize is called exactly once, first, with
// the action, resource, entitlement flag and context keys the IAM area expects; a denial
// changes nothing; mutating calls are audited.
#include "control/operations.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "catalog/control_schema.h"
#include "catalog/control_stores.h"
#include "control/handlers.h"
#include "control/iam_authorizer.h"
#include "util/files.h"
#include "util/random.h"
#include "workspace/crn.h"

namespace mlvault::control {
namespace {

using nlohmann::json;

// Records every request; allows or denies everything (test only: the product wires the IAM one).
class RecordingAuthorizer : public Authorizer {
 public:
  explicit RecordingAuthorizer(bool allow) : allow_(allow) {}
  util::Status Authorize(const Caller&, const AuthzRequest& r) override {
    requests.push_back(r);
    ++authorized;
    if (allow_) return util::Ok();
    return util::PermissionDenied("denied " + r.action);
  }
  // The non-auditing check (list operations narrow their answer with it): recorded in order
  // with the others, but not counted as an audited decision.
  util::Status Check(const Caller&, const AuthzRequest& r) override {
    requests.push_back(r);
    if (allow_) return util::Ok();
    return util::PermissionDenied("denied " + r.action);
  }
  int authorized = 0;  // calls of Authorize (each denial of which is audited)
  void Audit(const Caller&, std::string_view action, std::string_view, const util::Status&,
             std::string_view) override {
    audited.emplace_back(action);
  }
  std::vector<AuthzRequest> requests;
  std::vector<std::string> audited;

 private:
  const bool allow_;
};

// The outcome of an operation, its typed answer dropped.
template <class T>
util::Status St(util::Result<T> r) {
  if (!r) return std::unexpected(r.error());
  return util::Ok();
}

const char kAccount[] = "0f8e5a1c-3b7d-4c2e-9a6f-1d2b3c4d5e6f";

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = *util::MakeTempDir("mlvault-ops-test-");
    db_ = std::move(*catalog::OpenSqlite(home_ + "/catalog.db"));
    ASSERT_TRUE(db_->Migrate(catalog::ControlMigrations()));
    provider_ = workspace::MakeLocalProvider({.runtime_binary = "/bin/false"});
    EngineOptions eo;
    eo.home = home_;
    eo.self_exe = "/bin/true";  // background workers do nothing here
    eo.open_db = [this]() { return catalog::OpenSqlite(home_ + "/catalog.db"); };
    handler_env_.home = home_;
    handler_env_.provider = provider_.get();
    engine_ = std::make_unique<WorkflowEngine>(*db_, eo, MakeHandlerFactory(handler_env_));
    caller_.account_id = kAccount;
    caller_.principal_crn =
        workspace::MakeCrn(workspace::kUserType, kAccount, util::NewUuid()).ToString();
    caller_.principal_name = "alice";

    env_.id = util::NewUuid();
    env_.account_id = kAccount;
    env_.crn = workspace::MakeCrn(workspace::kEnvironmentType, kAccount, env_.id).ToString();
    env_.name = "dev";
    env_.region = "us-west-1";
    env_.storage_root = home_ + "/environments/dev";
    ASSERT_TRUE(catalog::EnvironmentStore(*db_).Insert(env_));
    catalog::WorkspaceRecord ws;
    ws.id = util::NewUuid();
    ws.account_id = kAccount;
    ws.crn = ws_crn_ = workspace::MakeCrn(workspace::kWorkspaceType, kAccount, ws.id).ToString();
    ws.name = "ws1";
    ws.environment_id = env_.id;
    ws.status = catalog::WorkspaceStatus::kRunning;
    ws.domain = "ws1-00000000.dev.mlvault.local";
    ws.parameters =
        R"({"workspaceName": "ws1", "provisionK8sRequest": {"tags": [{"key": "team", "value": "nlp"}]}})";
    ws.api_key = "k";
    ws.control_key = "c";
    ws.version = "1.4.0";
    ASSERT_TRUE(catalog::WorkspaceStore(*db_).Insert(ws));
    catalog::BackupRecord b;
    b.id = util::NewUuid();
    b.account_id = kAccount;
    b.crn = backup_crn_ = workspace::MakeCrn(workspace::kBackupType, kAccount, b.id).ToString();
    b.name = "nightly";
    b.workspace_id = ws.id;
    b.workspace_crn = ws.crn;
    b.workspace_name = "ws1";
    b.environment_id = env_.id;
    b.environment_name = "dev";
    b.status = catalog::BackupStatus::kSucceeded;
    b.workspace_version = "1.4.0";
    b.workflow_id = util::NewUuid();
    ASSERT_TRUE(catalog::BackupStore(*db_).Insert(b));
  }
  void TearDown() override {
    engine_.reset();
    db_.reset();
    ASSERT_TRUE(util::RemoveAll(home_));
  }
  Operations Ops(Authorizer& a) {
    OperationsEnv oe;
    oe.home = home_;
    oe.db = db_.get();
    oe.authorizer = &a;
    oe.caller = caller_;
    oe.provider = provider_.get();
    oe.engine = engine_.get();
    return Operations(oe);
  }
  int64_t Rows(const std::string& table) {
    return (*db_->Query("SELECT COUNT(*) FROM " + table))[0].Int(0);
  }

  struct Case {
    std::string action;
    std::string resource;
    bool entitlement;
    std::vector<std::string> context_keys;
    bool mutating;
    std::function<util::Status(Operations&)> call;
  };
  std::vector<Case> Cases() {
    std::string restore = json{
        {"newWorkspaceParameters", {{"workspaceName", "copy"}, {"environmentName", "dev"}}},
        {"backupCrn",
         backup_crn_}}.dump();
    Wait bg;
    return {
        {"ml:CreateEnvironment",
         "*",
         false,
         {"ml:EnvironmentName"},
         true,
         [](Operations& o) { return St(o.CreateEnvironment({"prod"})); }},
        {"ml:ListEnvironments",
         "*",
         false,
         {},
         false,
         [](Operations& o) { return St(o.ListEnvironments()); }},
        {"ml:CreateWorkspace",
         env_.crn,
         false,
         {"ml:EnvironmentName", "ml:WorkspaceName", "ml:RequestTag/team"},
         true,
         [bg](Operations& o) {
           return St(o.CreateWorkspace({R"({"environmentName": "dev", "workspaceName": "ws2",
               "provisionK8sRequest": {"tags": [{"key": "team", "value": "cv"}]}})"},
                                       bg));
         }},
        {"ml:ListWorkspaces",
         "*",
         false,
         {},
         false,
         [](Operations& o) { return St(o.ListWorkspaces({})); }},
        {"ml:DescribeWorkspace",
         ws_crn_,
         false,
         {"ml:EnvironmentName", "ml:WorkspaceName", "ml:WorkspaceCrn", "ml:ResourceTag/team"},
         false,
         [this](Operations& o) { return St(o.DescribeWorkspace({ws_crn_})); }},
        {"ml:GetWorkspaceApiKey",
         ws_crn_,
         false,
         {"ml:WorkspaceCrn"},
         true,
         [this](Operations& o) { return St(o.GetWorkspaceApiKey({ws_crn_})); }},
        {"ml:BackupWorkspace",
         ws_crn_,
         true,
         {"ml:EnvironmentName", "ml:WorkspaceName", "ml:WorkspaceCrn", "ml:BackupName"},
         true,
         [this, bg](Operations& o) {
           return St(o.BackupWorkspace({ws_crn_, "second", std::nullopt}, bg));
         }},
        {"ml:ListWorkspaceBackups",
         ws_crn_,
         true,
         {"ml:WorkspaceCrn"},
         false,
         [this](Operations& o) { return St(o.ListWorkspaceBackups({ws_crn_, "", ""})); }},
        {"ml:ListWorkspaceBackups",
         ws_crn_,
         true,
         {"ml:EnvironmentName", "ml:WorkspaceName"},
         false,
         [](Operations& o) { return St(o.ListWorkspaceBackups({"", "ws1", "dev"})); }},
        {"ml:DescribeWorkspaceBackup",
         backup_crn_,
         true,
         {"ml:BackupName", "ml:WorkspaceCrn"},
         false,
         [this](Operations& o) { return St(o.DescribeWorkspaceBackup({backup_crn_})); }},
        {"ml:VerifyBackup",
         backup_crn_,
         true,
         {"ml:BackupName"},
         false,
         [this](Operations& o) { return St(o.VerifyBackup({backup_crn_, false}, nullptr)); }},
        {"ml:CancelBackup",
         backup_crn_,
         true,
         {"ml:BackupName"},
         true,
         [this](Operations& o) { return St(o.CancelBackup({backup_crn_})); }},
        {"ml:RestoreWorkspace",
         backup_crn_,
         true,
         {"ml:EnvironmentName", "ml:WorkspaceName", "ml:BackupName", std::string(kAlsoResourceKey)},
         true,
         [restore, bg](Operations& o) { return St(o.RestoreWorkspace({restore}, bg)); }},
        {"ml:DescribeWorkflow",
         "*",
         false,
         {},
         false,
         [](Operations& o) { return St(o.DescribeWorkflow({"00000000-0000-4000-8000-000000000000"})); }},
        {"ml:DeleteBackup",
         backup_crn_,
         true,
         {"ml:BackupName"},
         true,
         [this, bg](Operations& o) { return St(o.DeleteBackup({backup_crn_}, bg)); }},
        {"ml:DeleteWorkspace",
         ws_crn_,
         false,
         {"ml:WorkspaceName"},
         true,
         [this](Operations& o) { return St(o.DeleteWorkspace({ws_crn_})); }},
        // backup contents and workspace lifecycle (issue 16)
        {"ml:DescribeBackupContents",
         backup_crn_,
         true,
         {"ml:BackupName", "ml:WorkspaceCrn"},
         false,
         [this](Operations& o) { return St(o.DescribeBackupContents({backup_crn_, "", {}, ""})); }},
        {"ml:DiffBackups",
         backup_crn_,
         true,
         {"ml:BackupName", std::string(kAlsoResourceKey)},
         false,
         [this](Operations& o) { return St(o.DiffBackups({backup_crn_, backup_crn_})); }},
        {"ml:SearchBackups",
         "*",
         true,
         {},
         false,
         [](Operations& o) { return St(o.SearchBackups({"model:churn", "", {}})); }},
        {"ml:RestoreFiles",
         backup_crn_,
         true,
         {"ml:BackupName"},
         false,
         [this, bg](Operations& o) {
           return St(o.RestoreFiles({backup_crn_, {"projects/**"}, home_ + "/files", false}, bg));
         }},
        {"ml:RestoreWorkspaceItems",
         backup_crn_,
         true,
         {"ml:BackupName", std::string(kAlsoResourceKey)},
         true,
         [this, bg](Operations& o) {
           return St(o.RestoreWorkspaceItems({backup_crn_, ws_crn_, {"project:p1"}, ""}, bg));
         }},
        {"ml:StopWorkspace",
         ws_crn_,
         false,
         {"ml:WorkspaceName"},
         true,
         [this](Operations& o) { return St(o.StopWorkspace({ws_crn_})); }},
        {"ml:ResumeWorkspace",
         ws_crn_,
         false,
         {"ml:WorkspaceName"},
         true,
         [this](Operations& o) { return St(o.ResumeWorkspace({ws_crn_})); }},
    };
  }

  std::string home_;
  std::unique_ptr<catalog::Db> db_;
  std::unique_ptr<workspace::Provider> provider_;
  HandlerEnv handler_env_;
  std::unique_ptr<WorkflowEngine> engine_;
  Caller caller_;
  catalog::EnvironmentRecord env_;
  std::string ws_crn_, backup_crn_;
};

TEST_F(OperationsTest, EveryOperationAuthorizesExactlyOnceWithTheAgreedRequest) {
  for (auto& c : Cases()) {
    RecordingAuthorizer authz(true);
    Operations ops = Ops(authz);
    auto r = c.call(ops);
    SCOPED_TRACE(c.action + (r ? std::string(" ok") : " -> " + r.error().ToString()));
    ASSERT_EQ(authz.requests.size(), 1u);
    const AuthzRequest& req = authz.requests[0];
    EXPECT_EQ(req.action, c.action);
    EXPECT_EQ(req.resource, c.resource);
    EXPECT_EQ(req.needs_backup_entitlement, c.entitlement);
    for (const auto& k : c.context_keys)
      EXPECT_TRUE(req.context.count(k)) << "missing context key " << k;
    if (c.action == "ml:RestoreWorkspace")
      EXPECT_EQ(req.context.at(std::string(kAlsoResourceKey)), std::vector<std::string>{env_.crn});
    if (c.mutating) EXPECT_FALSE(authz.audited.empty()) << "not audited";
  }
}

TEST_F(OperationsTest, ADenialChangesNothing) {
  int64_t envs = Rows("environments"), wss = Rows("workspaces"), bs = Rows("backups"),
          wfs = Rows("workflows");
  for (auto& c : Cases()) {
    RecordingAuthorizer authz(false);
    Operations ops = Ops(authz);
    auto r = c.call(ops);
    SCOPED_TRACE(c.action);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), util::ErrorCode::kPermissionDenied);
    // One audited decision, the last request made; a list operation asks the non-auditing
    // check first (on "*", then on each resource) before it denies.
    EXPECT_EQ(authz.authorized, 1);
    EXPECT_EQ(authz.requests.back().action, c.action);
  }
  EXPECT_EQ(Rows("environments"), envs);
  EXPECT_EQ(Rows("workspaces"), wss);
  EXPECT_EQ(Rows("backups"), bs);
  EXPECT_EQ(Rows("workflows"), wfs);
  EXPECT_EQ(catalog::BackupStore(*db_)
                .Get(kAccount, backup_crn_.substr(backup_crn_.rfind(':') + 1))
                ->status,
            catalog::BackupStatus::kSucceeded);
}

TEST_F(OperationsTest, BadInputIsRefusedBeforeAuthorization) {
  RecordingAuthorizer authz(true);
  Operations ops = Ops(authz);
  EXPECT_EQ(ops.DescribeWorkspace({"crn:mlvault:ml:us-west-1:x:workspace:y"}).error().code(),
            util::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ops.BackupWorkspace({ws_crn_, "bad name", std::nullopt}, {}).error().code(),
            util::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ops.RestoreWorkspace({"{"}, {}).error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(authz.requests.empty());
}

}  // namespace
}  // namespace mlvault::control
