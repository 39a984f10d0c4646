// The workspace operations: createWorkspace, listWorkspaces, describeWorkspace, deleteWorkspace,
// getWorkspaceApiKey.
#include <nlohmann/json.hpp>

#include "control/handlers.h"
#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"
#include "control/vaults.h"
#include "control/workspace_keys.h"
#include "util/random.h"
#include "workspace/crn.h"
#include "workspace/parameters.h"

namespace mlvault::control {

util::Result<api::CreateWorkspaceResponse> Operations::CreateWorkspace(
    const api::CreateWorkspaceRequest& r, const Wait& wait) {
  workspace::WorkspaceParameters p = MLV_TRY(workspace::ParseCreateWorkspaceInput(r.document));
  auto env = EnvironmentStore(*env_.db).GetByName(env_.caller.account_id, p.environment_name);
  AuthzRequest req = ActionRequest("ml:CreateWorkspace", env ? env->crn : "*");
  req.context["ml:EnvironmentName"] = {p.environment_name};
  req.context["ml:WorkspaceName"] = {p.workspace_name};
  for (const auto& t : p.tags) req.context["ml:RequestTag/" + t.key] = {t.value};
  MLV_TRY(Authorize(req));
  if (!env) {
    Audit("ml:CreateWorkspace", req.resource, std::unexpected(env.error()));
    return std::unexpected(env.error());
  }

  util::TimeMicros now = env_.clock->Now();
  WorkspaceRecord ws;
  ws.id = util::NewUuid();
  ws.account_id = env_.caller.account_id;
  ws.crn =
      workspace::MakeCrn(workspace::kWorkspaceType, ws.account_id, ws.id, env->region).ToString();
  ws.name = p.workspace_name;
  ws.environment_id = env->id;
  ws.environment_name = env->name;
  ws.status = catalog::WorkspaceStatus::kProvisioning;
  ws.domain = workspace::MakeDomain(ws.name, env->name);
  ws.parameters = workspace::ToJson(p);
  // issue 10 finding 2: the catalog holds the keys sealed (control/workspace_keys.h).
  ws.api_key = MLV_TRY(SealWorkspaceKey(env_.home, util::RandomHex(32)));
  ws.control_key = MLV_TRY(SealWorkspaceKey(env_.home, util::RandomHex(32)));
  ws.created_by = env_.caller.principal_crn;
  ws.created_at = ws.updated_at = now;
  WorkflowRecord wf;
  wf.id = util::NewUuid();
  wf.account_id = ws.account_id;
  wf.kind = kCreateWorkspaceKind;
  wf.queue_key = WorkspaceQueue(ws.id);
  wf.resource_crn = ws.crn;
  wf.caller = CallerToJson(env_.caller);
  wf.input = json{{"workspaceId", ws.id}}.dump();
  wf.max_attempts = 2;
  wf.created_at = wf.updated_at = now;
  util::Status st = env_.db->Transaction([&]() -> util::Status {
    MLV_TRY(WorkspaceStore(*env_.db).Insert(ws));
    MLV_TRY(WorkflowStore(*env_.db).Insert(wf));
    return util::Ok();
  });
  Audit("ml:CreateWorkspace", ws.crn, st, "workspace " + ws.name + " in environment " + env->name);
  MLV_TRY(st);
  api::CreateWorkspaceResponse out{ws.crn, wf.id};
  auto done = MLV_TRY(Launch(wf.id, wait));
  if (done) {
    MLV_TRY(WorkflowOutcome(*done));
    MLV_TRY(ReadProvisionedWorkspace(*env_.db, ws, out));
  }
  return out;
}

util::Result<api::ListWorkspacesResponse> Operations::ListWorkspaces(
    const api::ListWorkspacesRequest& r) {
  AuthzRequest req = ActionRequest("ml:ListWorkspaces", "*");
  if (!r.environment_name.empty()) req.context["ml:EnvironmentName"] = {r.environment_name};
  // Only the workspaces the caller may list, when it may not list "*" (docs/iam.md).
  ListFilter visible = MLV_TRY(ListFilter::Begin(*env_.authorizer, env_.caller, req));
  const int64_t size = MLV_TRY(api::PageSize(r.page));
  int64_t last_created_at = 0;
  std::string last_id;
  std::optional<api::PageKey> after;
  if (!r.page.starting_token.empty()) after = MLV_TRY(api::DecodePageToken(r.page.starting_token));
  auto wss = MLV_TRY(WorkspaceStore(*env_.db).List(env_.caller.account_id, r.include_deleted));  // oldest first
  api::ListWorkspacesResponse out;
  bool env_seen = false;
  for (const auto& w : wss) {
    if (!r.environment_name.empty() && w.environment_name != r.environment_name) continue;
    env_seen = true;
    AuthzRequest one = visible.On(w.crn);
    AddWorkspaceContext(one, w);
    if (!MLV_TRY(visible.Sees(one))) continue;
    if (after && std::make_pair(w.created_at, w.id) <= std::make_pair(after->time, after->id))
      continue;
    if (static_cast<int64_t>(out.workspaces.size()) == size) {
      out.next_token = api::EncodePageToken({last_created_at, last_id});
      break;
    }
    last_created_at = w.created_at;
    last_id = w.id;
    out.workspaces.push_back(
        {w.crn, w.name, w.environment_name,
         catalog::WorkspaceStatusName(EffectiveStatus(w, *env_.provider, nullptr)), w.endpoint,
         w.domain, w.is_restored, Time(w.created_at), OptTime(w.deleted_at)});
  }
  MLV_TRY(visible.Finish());
  if (!r.environment_name.empty() && !env_seen)
    MLV_TRY(EnvironmentStore(*env_.db).GetByName(env_.caller.account_id, r.environment_name));
  return out;
}

util::Result<api::DescribeWorkspaceResponse> Operations::DescribeWorkspace(
    const api::DescribeWorkspaceRequest& request) {
  api::DescribeWorkspaceRequest r = request;
  auto t = MLV_TRY(LoadWorkspaceOf("ml:DescribeWorkspace", r));
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("workspace " + r.workspace_crn + " does not exist");
  const WorkspaceRecord& ws = *t.record;

  api::Workspace w;
  std::string reason;
  w.status = catalog::WorkspaceStatusName(EffectiveStatus(ws, *env_.provider, &reason));
  if (!reason.empty()) w.status_reason = reason;
  if (!ws.deleted_at)
    for (const auto& v : env_.provider->Volumes(SpecOf(ws)))
      w.volumes.push_back({v.name, std::string(workspace::KindName(v.kind)), v.path});
  auto backups = MLV_TRY(BackupStore(*env_.db).ListByWorkspace(ws.account_id, ws.id));
  api::BackupMetadata& meta = w.backup_metadata;
  meta.vault_name = VaultName(ws.id);
  const BackupRecord* last = nullptr;
  const BackupRecord* last_ok = nullptr;
  for (const auto& b : backups) {  // newest first
    if (b.status == catalog::BackupStatus::kDeleted) continue;
    ++meta.backup_count;
    if (!last) last = &b;
    if (!last_ok && b.status == catalog::BackupStatus::kSucceeded) last_ok = &b;
  }
  if (last) {
    meta.last_backup_crn = last->crn;
    meta.last_backup_name = last->name;
    meta.last_backup_status = catalog::BackupStatusName(last->status);
    meta.last_backup_at = Time(last->created_at);
  }
  if (last_ok) {
    meta.last_succeeded_backup_crn = last_ok->crn;
    meta.last_succeeded_backup_at = OptTime(last_ok->finished_at);
  }
  w.crn = ws.crn;
  w.name = ws.name;
  w.environment_name = ws.environment_name;
  w.version = ws.version;
  w.domain = ws.domain;
  w.endpoint = ws.endpoint;
  w.is_restored = ws.is_restored;
  w.restored_from_backup_crn = ws.restored_from_backup_crn;
  w.created_at = Time(ws.created_at);
  w.tags = TagsOf(ws);
  w.deleted_at = OptTime(ws.deleted_at);
  if (ws.restored_from_backup_crn) {
    auto bcrn = workspace::ParseCrn(*ws.restored_from_backup_crn, workspace::kBackupType);
    if (bcrn)
      if (auto b = BackupStore(*env_.db).Get(ws.account_id, bcrn->resource_id))
        w.restored_from_environment_name = b->environment_name;
  }
  return api::DescribeWorkspaceResponse{std::move(w)};
}

util::Result<api::DeleteWorkspaceResponse> Operations::DeleteWorkspace(
    const api::DeleteWorkspaceRequest& request) {
  api::DeleteWorkspaceRequest r = request;
  auto t = MLV_TRY(LoadWorkspaceOf("ml:DeleteWorkspace", r));
  MLV_TRY(Authorize(t.request));
  WorkspaceStore wss(*env_.db);
  util::Status st = [&]() -> util::Status {
    if (!t.found()) return util::NotFound("workspace " + r.workspace_crn + " does not exist");
    const WorkspaceRecord& ws = *t.record;
    if (ws.deleted_at)
      return util::NotFound("workspace " + r.workspace_crn + " was already deleted");
    MLV_TRY(env_.db->Transaction([&]() -> util::Status {
      auto active = MLV_TRY(WorkflowStore(*env_.db).ListActiveInQueue(WorkspaceQueue(ws.id)));
      if (!active.empty())
        return util::Conflict(
            "workspace " + ws.name + " has a " + active[0].kind + " workflow in progress (" +
            active[0].id + ", " + catalog::WorkflowStatusName(active[0].status) +
            "); wait for it to end, or cancel a backup with mlvault cancel-backup");
      return wss.SetStatus(ws.id, catalog::WorkspaceStatus::kDeleting, "", env_.clock->Now());
    }));
    auto spec = SpecOf(ws);
    if (ws.runtime_pid > 0)
      MLV_TRY_CTX(env_.provider->StopRuntime(spec, static_cast<int>(ws.runtime_pid)),
                  "stopping the workspace runtime");
    MLV_TRY_CTX(env_.provider->RemoveVolumes(spec), "removing the workspace's volumes");
    return wss.MarkDeleted(ws.id, env_.clock->Now());
  }();
  Audit("ml:DeleteWorkspace", r.workspace_crn, st);
  MLV_TRY(st);
  return api::DeleteWorkspaceResponse{r.workspace_crn, "deleted"};
}

util::Result<api::GetWorkspaceApiKeyResponse> Operations::GetWorkspaceApiKey(
    const api::GetWorkspaceApiKeyRequest& request) {
  api::GetWorkspaceApiKeyRequest r = request;
  auto t = MLV_TRY(LoadWorkspaceOf("ml:GetWorkspaceApiKey", r));
  MLV_TRY(Authorize(t.request));
  util::Status st = !t.found()
                        ? util::NotFound("workspace " + r.workspace_crn + " does not exist")
                    : t.record->deleted_at
                        ? util::NotFound("workspace " + r.workspace_crn + " was deleted")
                        : util::Ok();
  Audit("ml:GetWorkspaceApiKey", r.workspace_crn, st, "API key read");
  MLV_TRY(st);
  return api::GetWorkspaceApiKeyResponse{MLV_TRY(OpenWorkspaceKey(t.record->api_key))};
}

}  // namespace mlvault::control
