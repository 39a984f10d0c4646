// Restore tests (drills, docs/plans.md): startRestoreTest restores a backup into a throw-away
// workspace of a sandbox environment, validates it (control/drill_checks.h), records the result
// and the measured recovery time in the catalog, and deletes the throw-away workspace;
// listRestoreTests and describeRestoreTest show the reports. Each drill runs as a workflow of its
// own (kind restore_test, restore_test_workflow.cc), so that a drill whose process dies is ended
// by recovery (its sandbox workspace deleted) instead of staying "running".
//
// The drill acts as its caller throughout: the restore is an ordinary restore-workspace (with its
// authorisation, audit record and workflow) and the clean-up an ordinary delete-workspace.
#include <nlohmann/json.hpp>

#include "api/paging.h"
#include "catalog/restore_test_store.h"
#include "control/drill_checks.h"
#include "control/handlers.h"
#include "control/handlers_internal.h"
#include "control/iam_authorizer.h"
#include "control/operations.h"
#include "control/resource_authz.h"
#include "util/random.h"
#include "workspace/crn.h"

namespace mlvault::control {

using catalog::RestoreTestRecord;
using catalog::RestoreTestStore;
using nlohmann::json;

namespace {

api::RestoreTest RestoreTestOf(const RestoreTestRecord& t) {
  api::RestoreTest out;
  out.restore_test_id = t.id;
  out.backup_crn = t.backup_crn;
  out.workspace_crn = t.workspace_crn;
  out.sandbox_environment_name = t.sandbox_environment;
  out.sandbox_workspace_crn = t.sandbox_workspace_crn;
  out.sandbox_deleted = t.sandbox_deleted;
  out.plan_name = t.plan_name;
  out.status = catalog::RestoreTestStatusName(t.status);
  out.started_by = t.started_by;
  out.started_at = util::FormatTime(t.started_at);
  if (t.finished_at) out.finished_at = util::FormatTime(*t.finished_at);
  if (t.recovery_time_micros) out.recovery_time_seconds = *t.recovery_time_micros / 1e6;
  if (t.recovery_point_age_micros)
    out.recovery_point_age_seconds = *t.recovery_point_age_micros / 1e6;
  json checks = json::parse(t.checks, nullptr, false);
  if (checks.is_array())
    for (const auto& c : checks)
      out.checks.push_back({c.value("check", ""), c.value("ok", false), c.value("detail", "")});
  out.error = t.error;
  out.workflow_id = t.workflow_id;
  return out;
}

// The restore input of the throw-away workspace: the source workspace's parameters (its size),
// renamed, in the sandbox environment, without its tags (plans selecting by tag must not pick
// it up).
std::string SandboxRestoreInput(catalog::Db& db, const catalog::BackupRecord& b,
                                const std::string& name, const std::string& environment) {
  json params = json::object();
  if (auto ws = catalog::WorkspaceStore(db).Get(b.account_id, b.workspace_id)) {
    json p = json::parse(ws->parameters, nullptr, false);
    if (p.is_object()) params = p;
  }
  params["workspaceName"] = name;
  params["environmentName"] = environment;
  if (params.contains("provisionK8sRequest") && params["provisionK8sRequest"].is_object()) {
    params["provisionK8sRequest"]["environmentName"] = environment;
    params["provisionK8sRequest"]["tags"] = json::array();
  }
  return json{{"backupCrn", b.crn}, {"newWorkspaceParameters", params}}.dump();
}

}  // namespace

util::Result<api::RestoreTestResponse> Operations::StartRestoreTest(
    const api::StartRestoreTestRequest& r, const Wait& wait) {
  return RunRestoreTest(r, Wait{true, wait.progress, wait.interrupted}, "");
}

util::Result<api::RestoreTestResponse> Operations::RunRestoreTest(
    const api::StartRestoreTestRequest& r, const Wait& wait, const std::string& plan_name) {
  const std::string& account = env_.caller.account_id;
  if (r.backup_crn.empty() == r.workspace_crn.empty())
    return util::InvalidArgument(
        "give either --backup-crn (that backup) or --workspace-crn (its newest succeeded "
        "backup)");
  // The backup: given, or the newest succeeded one of the workspace (authorised on the
  // workspace before its absence is told).
  std::string backup_crn = r.backup_crn;
  if (backup_crn.empty()) {
    auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, account, "ml:StartRestoreTest", "workspaceCrn",
                                         r.workspace_crn));
    MLV_TRY(Authorize(t.request));
    if (!t.found())
      return util::NotFound("workspaceCrn: workspace " + r.workspace_crn + " does not exist");
    auto latest = MLV_TRY(catalog::BackupStore(*env_.db).LatestSucceeded(t.record->id));
    if (!latest)
      return util::NotFound("workspace " + t.record->name +
                            " has no succeeded backup to test; take one with mlvault "
                            "backup-workspace --workspace-crn " +
                            r.workspace_crn);
    backup_crn = latest->crn;
  }
  auto t =
      MLV_TRY(LoadBackupTarget(*env_.db, account, "ml:StartRestoreTest", "backupCrn", backup_crn));
  auto env = catalog::EnvironmentStore(*env_.db).GetByName(account, r.sandbox_environment_name);
  t.request.context["ml:EnvironmentName"] = {r.sandbox_environment_name};
  if (env) t.request.context[std::string(kAlsoResourceKey)] = {env->crn};
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("backupCrn: backup " + backup_crn + " does not exist");
  const catalog::BackupRecord& b = *t.record;
  if (b.status != catalog::BackupStatus::kSucceeded)
    return util::Conflict("backupCrn: backup " + b.crn + " is " +
                          catalog::BackupStatusName(b.status) +
                          "; only a succeeded backup can be tested");
  if (!env)
    return util::NotFound("sandboxEnvironmentName: environment \"" + r.sandbox_environment_name +
                          "\" does not exist; create one for drills with mlvault "
                          "create-environment --environment-name " +
                          r.sandbox_environment_name);

  // The drill and the workflow that runs it (restore_test_workflow.cc), in one transaction.
  RestoreTestRecord rec;
  catalog::WorkflowRecord wf;
  MLV_TRY(env_.db->Transaction([&]() -> util::Status {
    rec = {};
    wf = {};
    rec.id = util::NewUuid();
    rec.account_id = account;
    rec.backup_id = b.id;
    rec.backup_crn = b.crn;
    rec.workspace_crn = b.workspace_crn;
    rec.sandbox_environment = env->name;
    rec.plan_name = plan_name;
    rec.started_by = env_.caller.principal_crn;
    rec.started_at = env_.clock->Now();
    rec.recovery_point_age_micros =
        rec.started_at - (b.finished_at ? *b.finished_at : b.created_at);
    wf.id = util::NewUuid();
    wf.account_id = account;
    wf.kind = kRestoreTestKind;
    wf.resource_crn = b.crn;
    wf.caller = CallerToJson(env_.caller);
    wf.input = json{{"restoreTestId", rec.id}}.dump();
    // A second attempt does not repeat the drill: it ends it (deletes the sandbox workspace and
    // records the drill as interrupted).
    wf.max_attempts = 2;
    wf.created_at = wf.updated_at = rec.started_at;
    rec.workflow_id = wf.id;
    MLV_TRY(RestoreTestStore(*env_.db).Insert(rec));
    MLV_TRY(catalog::WorkflowStore(*env_.db).Insert(wf));
    return util::Ok();
  }));
  Audit("ml:StartRestoreTest", b.crn, util::Ok(),
        "restore test " + rec.id + " into environment " + env->name + " (workflow " + wf.id + ")");
  MLV_TRY(Launch(wf.id, wait));
  return api::RestoreTestResponse{
      RestoreTestOf(MLV_TRY(RestoreTestStore(*env_.db).Get(account, rec.id)))};
}

util::Result<RestoreTestRecord> Operations::ExecuteRestoreTest(const std::string& restore_test_id,
                                                               WorkflowContext* ctx) {
  RestoreTestStore store(*env_.db);
  RestoreTestRecord rec = MLV_TRY(store.Get(env_.caller.account_id, restore_test_id));
  if (rec.status != catalog::RestoreTestStatus::kRunning) return rec;  // ended already
  const catalog::BackupRecord b =
      MLV_TRY(catalog::BackupStore(*env_.db).Get(rec.account_id, rec.backup_id));
  const auto env = MLV_TRY(
      catalog::EnvironmentStore(*env_.db).GetByName(rec.account_id, rec.sandbox_environment));
  const util::CancelToken* cancel = ctx ? ctx->cancel() : nullptr;
  auto phase = [&](const std::string& p) {
    if (ctx) ctx->SetPhase(p);
  };
  std::string name = "drill-" + rec.id.substr(0, 8);
  // The throw-away workspace, if the restore made one (a failed restore leaves it failed and
  // deleted, its volumes removed by the workflow).
  auto find_sandbox = [&]() -> std::optional<catalog::WorkspaceRecord> {
    if (auto all = catalog::WorkspaceStore(*env_.db).List(rec.account_id, true))
      for (auto it = all->rbegin(); it != all->rend(); ++it)
        if (it->environment_id == env.id && it->name == name) return *it;
    return std::nullopt;
  };

  json checks = json::parse(rec.checks, nullptr, false);
  if (!checks.is_array()) checks = json::array();
  auto fail = [&](const std::string& why) {
    if (rec.error.empty()) rec.error = why;
  };
  std::optional<catalog::WorkspaceRecord> sandbox;
  bool resumed = ctx && ctx->workflow().attempts > 1;
  if (resumed) {
    // The process running this drill stopped (recovery requeued it): a drill is not repeated
    // half-way; it is ended, and its sandbox workspace deleted.
    std::string cause = "the process running the drill stopped before it ended";
    json warnings = json::parse(ctx->workflow().warnings, nullptr, false);
    if (warnings.is_array())
      for (const auto& w : warnings)
        if (w.is_string() && w.get<std::string>().find("interrupted") != std::string::npos)
          cause = w.get<std::string>();
    checks.push_back({{"check", "interrupted"}, {"ok", false}, {"detail", cause}});
    fail("interrupted: " + cause);
    phase("cleaning-up");
    sandbox = find_sandbox();
  } else {
    // 1. Restore into the throw-away workspace, here, to the end.
    phase("restoring");
    util::TimeMicros restore_start = env_.clock->Now();
    Wait here{true, ctx ? ctx->progress() : nullptr, nullptr};
    auto restored = RestoreWorkspace(
        api::RestoreWorkspaceRequest{SandboxRestoreInput(*env_.db, b, name, env.name)}, here);
    sandbox = find_sandbox();
    if (sandbox) {
      rec.sandbox_workspace_crn = sandbox->crn;
      MLV_TRY(store.Update(rec));  // recovery finds it by name too, but say it now
    }
    if (!restored) {
      checks.push_back(
          {{"check", "restore"}, {"ok", false}, {"detail", restored.error().message()}});
      fail("restore: " + restored.error().message());
    } else {
      checks.push_back(
          {{"check", "restore"},
           {"ok", true},
           {"detail", "restored into " + restored->workspace_crn + " (" + name + ")"}});
      // 2. Validate it.
      phase("validating");
      HoldWhileTestFileExists(cancel);
      DrillCheckEnv ce{env_.db, env_.home, env_.provider, 120, cancel};
      auto results = sandbox ? RunDrillChecks(ce, b, *sandbox)
                             : util::Result<std::vector<api::RestoreTestCheck>>(
                                   util::Internal("the restored workspace is not in the catalog"));
      if (!results) {
        checks.push_back(
            {{"check", "validate"}, {"ok", false}, {"detail", results.error().message()}});
        fail("validate: " + results.error().message());
      } else {
        for (const auto& c : *results) {
          checks.push_back({{"check", c.check}, {"ok", c.ok}, {"detail", c.detail}});
          if (!c.ok) fail(c.check + ": " + c.detail);
        }
      }
      if (rec.error.empty()) rec.recovery_time_micros = env_.clock->Now() - restore_start;
    }
    phase("cleaning-up");
    sandbox = find_sandbox();
  }
  // 3. Remove the throw-away workspace (also after a failed restore). After an interruption
  // its restore may still be running (resumed by recovery elsewhere): wait for it to end.
  if (sandbox) rec.sandbox_workspace_crn = sandbox->crn;
  if (sandbox && sandbox->deleted_at) {
    rec.sandbox_deleted = true;
  } else if (sandbox) {
    double deadline = util::MonotonicSeconds() + 1800;
    auto del = DeleteWorkspace(api::DeleteWorkspaceRequest{sandbox->crn, "", ""});
    while (!del && del.error().code() == util::ErrorCode::kConflict &&
           util::MonotonicSeconds() < deadline && !(cancel && cancel->cancelled())) {
      SleepOrCancel(1, cancel);
      if (auto now = find_sandbox(); now && now->deleted_at) break;
      del = DeleteWorkspace(api::DeleteWorkspaceRequest{sandbox->crn, "", ""});
    }
    if (auto now = find_sandbox(); now && now->deleted_at) del = api::DeleteWorkspaceResponse{};
    rec.sandbox_deleted = static_cast<bool>(del);
    if (!del) {
      checks.push_back({{"check", "cleanup"}, {"ok", false}, {"detail", del.error().message()}});
      fail("cleanup: deleting the sandbox workspace " + sandbox->crn + ": " +
           del.error().message() + "; delete it with mlvault delete-workspace");
    }
  }
  rec.status = rec.error.empty() ? catalog::RestoreTestStatus::kSucceeded
                                 : catalog::RestoreTestStatus::kFailed;
  rec.finished_at = env_.clock->Now();
  rec.checks = checks.dump();
  MLV_TRY(store.Update(rec));
  Audit("ml:StartRestoreTest", b.crn,
        rec.error.empty() ? util::Ok() : util::Status(util::Internal(rec.error)),
        "restore test " + rec.id + " " + catalog::RestoreTestStatusName(rec.status));
  return rec;
}

util::Result<api::ListRestoreTestsResponse> Operations::ListRestoreTests(
    const api::ListRestoreTestsRequest& r) {
  if (!r.workspace_crn.empty())
    if (auto crn = workspace::ParseCrn(r.workspace_crn, workspace::kWorkspaceType); !crn)
      return std::unexpected(FieldError(crn.error(), "workspaceCrn"));
  MLV_TRY(Authorize(ActionRequest("ml:ListRestoreTests", "*")));
  int64_t limit = MLV_TRY(api::PageSize(r.page)) + 1;
  std::optional<std::pair<int64_t, std::string>> after;
  if (!r.page.starting_token.empty()) {
    api::PageKey key = MLV_TRY(api::DecodePageToken(r.page.starting_token));
    after = std::make_pair(key.time, key.id);
  }
  auto rows = MLV_TRY(
      RestoreTestStore(*env_.db).List(env_.caller.account_id, r.workspace_crn, limit, after));
  api::ListRestoreTestsResponse out;
  if (static_cast<int64_t>(rows.size()) == limit) {
    rows.pop_back();
    out.next_token = api::EncodePageToken({rows.back().started_at, rows.back().id});
  }
  for (const auto& t : rows) out.restore_tests.push_back(RestoreTestOf(t));
  return out;
}

util::Result<api::RestoreTestResponse> Operations::DescribeRestoreTest(
    const api::DescribeRestoreTestRequest& r) {
  if (!util::IsUuid(r.restore_test_id))
    return util::InvalidField("restoreTestId",
                              "must be a lowercase UUID (list-restore-tests "
                              "shows them), got \"" +
                                  r.restore_test_id.substr(0, 64) + "\"");
  MLV_TRY(Authorize(ActionRequest("ml:DescribeRestoreTest", "*")));
  return api::RestoreTestResponse{RestoreTestOf(
      MLV_TRY(RestoreTestStore(*env_.db).Get(env_.caller.account_id, r.restore_test_id)))};
}

}  // namespace mlvault::control
