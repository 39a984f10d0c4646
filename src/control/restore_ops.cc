// The restore operation (restoreWorkspace) and describeWorkflow.
#include <nlohmann/json.hpp>

#include "control/handlers.h"
#include "control/iam_authorizer.h"
#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"
#include "control/workspace_keys.h"
#include "util/files.h"
#include "util/random.h"
#include "workspace/crn.h"
#include "workspace/parameters.h"

namespace mlvault::control {

util::Result<api::RestoreWorkspaceResponse> Operations::RestoreWorkspace(
    const api::RestoreWorkspaceRequest& r, const Wait& wait) {
  workspace::RestoreInput in =
      MLV_TRY(workspace::ParseRestoreInput(MLV_TRY(RestoreInputByCrn(r.document))));
  const std::string& account = env_.caller.account_id;
  auto bcrn = MLV_TRY(workspace::ParseCrn(in.backup_crn, workspace::kBackupType));
  BackupStore bs(*env_.db);
  auto b = bs.Get(account, bcrn.resource_id);
  std::string target_env = !in.params.environment_name.empty() ? in.params.environment_name
                           : b                                 ? b->environment_name
                                                               : "";
  auto env = target_env.empty() ? util::Result<EnvironmentRecord>(util::NotFound("no environment"))
                                : EnvironmentStore(*env_.db).GetByName(account, target_env);
  AuthzRequest req = ActionRequest("ml:RestoreWorkspace", in.backup_crn);
  req.context["ml:EnvironmentName"] = {target_env};
  req.context["ml:WorkspaceName"] = {in.params.workspace_name};
  if (b) {
    req.context["ml:WorkspaceCrn"] = {b->workspace_crn};
    req.context["ml:BackupName"] = {b->name};
  }
  for (const auto& t : in.params.tags) req.context["ml:RequestTag/" + t.key] = {t.value};
  if (env) req.context[std::string(kAlsoResourceKey)] = {env->crn};
  MLV_TRY(Authorize(req));

  util::TimeMicros now = env_.clock->Now();
  WorkspaceRecord ws;
  WorkflowRecord wf;
  util::Status st = [&]() -> util::Status {
    if (!b || b->crn != in.backup_crn)
      return util::NotFound("backupCrn: backup " + in.backup_crn + " does not exist");
    if (b->status != catalog::BackupStatus::kSucceeded)
      return util::Conflict("backupCrn: backup " + in.backup_crn + " is " +
                            catalog::BackupStatusName(b->status) +
                            "; only succeeded backups can be restored");
    MLV_TRY(CheckRestorableVersion(b->workspace_version));
    if (!env)
      return util::NotFound("newWorkspaceParameters.environmentName: environment \"" + target_env +
                            "\" does not exist");
    auto points = MLV_TRY(bs.RecoveryPoints(b->id));
    ws.id = util::NewUuid();
    ws.account_id = account;
    ws.crn = workspace::MakeCrn(workspace::kWorkspaceType, account, ws.id, env->region).ToString();
    ws.name = in.params.workspace_name;
    ws.environment_id = env->id;
    ws.environment_name = env->name;
    ws.environment_root = env->storage_root;
    if (!in.params.skip_validation) {
      // Pre-flight: the name, the quota, the disk.
      if (WorkspaceStore(*env_.db).FindLiveByName(account, env->id, ws.name))
        return util::Conflict("newWorkspaceParameters.workspaceName: a workspace named \"" +
                              ws.name + "\" already exists in environment \"" + env->name + "\"");
      uint64_t need = 0;
      for (const auto& rp : points) need += static_cast<uint64_t>(rp.bytes_total);
      uint64_t quota = in.params.QuotaBytes();
      if (need > quota) {
        size_t idx = 0;
        for (size_t i = 0; i < in.params.instance_groups.size(); ++i)
          if (in.params.instance_groups[i].root_volume_size_gib >
              in.params.instance_groups[idx].root_volume_size_gib)
            idx = i;
        return util::InvalidArgument("newWorkspaceParameters.provisionK8sRequest.instanceGroups[" +
                                     std::to_string(idx) + "].rootVolume.size: the backup holds " +
                                     util::HumanBytes(need) + ", more than the quota of " +
                                     std::to_string(quota >> 30) + " GiB");
      }
      MLV_TRY(util::MakeDirs(env->storage_root));
      uint64_t free = MLV_TRY(env_.provider->FreeBytes(SpecOf(ws)));
      uint64_t margin = need / 10 + (64ull << 20);
      if (free < need + margin)
        return util::MakeError(util::ErrorCode::kIo, "not enough disk space in environment \"" +
                                                         env->name + "\" (" + env->storage_root +
                                                         "): the restore needs " +
                                                         util::HumanBytes(need + margin) + ", " +
                                                         util::HumanBytes(free) + " is free");
    }
    ws.status = catalog::WorkspaceStatus::kRestoring;
    ws.domain = workspace::MakeDomain(ws.name, env->name);
    workspace::WorkspaceParameters p = in.params;
    p.environment_name = p.k8s_environment_name = env->name;
    ws.parameters = workspace::ToJson(p);
    // issue 10 finding 2: the catalog holds the keys sealed (control/workspace_keys.h).
    ws.api_key = MLV_TRY(SealWorkspaceKey(env_.home, util::RandomHex(32)));
    ws.control_key = MLV_TRY(SealWorkspaceKey(env_.home, util::RandomHex(32)));
    ws.is_restored = true;
    ws.restored_from_backup_crn = b->crn;
    ws.version = b->workspace_version;
    ws.created_by = env_.caller.principal_crn;
    ws.created_at = ws.updated_at = now;
    wf.id = util::NewUuid();
    wf.account_id = account;
    wf.kind = kRestoreKind;
    wf.queue_key = WorkspaceQueue(ws.id);
    wf.resource_crn = ws.crn;
    wf.caller = CallerToJson(env_.caller);
    wf.input =
        json{{"workspaceId", ws.id}, {"backupId", b->id}, {"startMode", in.start_mode}}.dump();
    wf.max_attempts = 2;
    wf.timeout_seconds = in.restore_job_timeout_minutes ? *in.restore_job_timeout_minutes * 60 : 0;
    wf.created_at = wf.updated_at = now;
    return env_.db->Transaction([&]() -> util::Status {
      auto taken = WorkspaceStore(*env_.db).Insert(ws);
      if (!taken && taken.error().code() == util::ErrorCode::kConflict)
        return util::Conflict("newWorkspaceParameters.workspaceName: " + taken.error().message());
      MLV_TRY(taken);
      MLV_TRY(WorkflowStore(*env_.db).Insert(wf));
      return util::Ok();
    });
  }();
  Audit("ml:RestoreWorkspace", in.backup_crn, st,
        st ? "restore into workspace " + ws.crn + " (" + ws.name + ") in environment " +
                 ws.environment_name +
                 (b && b->environment_name != ws.environment_name
                      ? " from environment " + b->environment_name
                      : "")
           : "");
  MLV_TRY(st);
  api::RestoreWorkspaceResponse out{ws.crn, wf.id};
  auto done = MLV_TRY(Launch(wf.id, wait));
  if (done) {
    MLV_TRY(WorkflowOutcome(*done));
    MLV_TRY(ReadProvisionedWorkspace(*env_.db, ws, out));
    // What the restore re-pointed and how it started (the workflow's output).
    json o = json::parse(done->output, nullptr, false);
    if (o.is_object()) {
      if (o.contains("startMode") && o["startMode"].is_string())
        out.start_mode = o["startMode"].get<std::string>();
      if (o.contains("repointed")) out.repointed = api::RawJson{o["repointed"].dump()};
    }
  }
  return out;
}

util::Result<api::DescribeWorkflowResponse> Operations::DescribeWorkflow(
    const api::DescribeWorkflowRequest& r) {
  if (!util::IsUuid(r.workflow_id))
    return util::InvalidField("workflowId", "must be a lowercase UUID, got \"" +
                                                r.workflow_id.substr(0, 64) + "\"");
  // Whoever started a workflow may follow it (what `--wait` does against a server) without
  // ml:DescribeWorkflow; anyone else needs the permission, asked before existence is said.
  auto wf = WorkflowStore(*env_.db).Get(env_.caller.account_id, r.workflow_id);
  const bool own = wf && !env_.caller.principal_crn.empty() &&
                   CallerFromJson(wf->caller).principal_crn == env_.caller.principal_crn;
  if (!own) MLV_TRY(Authorize(ActionRequest("ml:DescribeWorkflow", "*")));
  if (!wf) return std::unexpected(wf.error());
  return api::DescribeWorkflowResponse{WorkflowOf(*wf)};
}

}  // namespace mlvault::control
