#include "control/workspace_keys.h"
#include "control/operations.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "catalog/control_stores.h"
#include "control/handlers.h"
#include "control/iam_authorizer.h"
#include "control/vaults.h"
#include "util/files.h"
#include "util/log.h"
#include "util/random.h"
#include "workspace/crn.h"
#include "workspace/parameters.h"

namespace mlvault::control {

using catalog::BackupRecord;
using catalog::BackupStore;
using catalog::EnvironmentRecord;
using catalog::EnvironmentStore;
using catalog::WorkflowRecord;
using catalog::WorkflowStore;
using catalog::WorkspaceRecord;
using catalog::WorkspaceStore;
using nlohmann::json;

namespace {

std::string Time(util::TimeMicros t) { return util::FormatTime(t); }
json OptTime(const std::optional<util::TimeMicros>& t) {
  return t ? json(Time(*t)) : json(nullptr);
}

json ParseJsonOr(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

util::ErrorCode CodeFromName(const std::string& name) {
  for (auto c :
       {util::ErrorCode::kInvalidArgument, util::ErrorCode::kNotFound, util::ErrorCode::kConflict,
        util::ErrorCode::kPermissionDenied, util::ErrorCode::kCorruption,
        util::ErrorCode::kUnavailable, util::ErrorCode::kIo, util::ErrorCode::kCancelled})
    if (util::CodeName(c) == name) return c;
  return util::ErrorCode::kInternal;
}

// "--backup-name": 1..128 of [A-Za-z0-9._-], starting with a letter or digit.
std::string CheckBackupName(const std::string& n) {
  if (n.empty()) return "must not be empty";
  if (n.size() > 128) return "must be at most 128 characters";
  if (!std::isalnum(static_cast<unsigned char>(n[0]))) return "must start with a letter or a digit";
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return "may contain only letters, digits, '.', '_' and '-'";
  return "";
}

util::Result<workspace::Crn> ParseFlagCrn(const std::string& flag, const std::string& text,
                                          std::string_view type) {
  auto crn = workspace::ParseCrn(text, type);
  if (!crn) return std::unexpected(crn.error().WithContext(flag));
  return crn;
}

std::vector<workspace::Tag> TagsOf(const std::string& parameters) {
  auto p = workspace::ParseWorkspaceParameters(parameters, "", false);
  return p ? p->tags : std::vector<workspace::Tag>{};
}

json TagsJson(const std::vector<workspace::Tag>& tags) {
  json out = json::array();
  for (const auto& t : tags) out.push_back({{"key", t.key}, {"value", t.value}});
  return out;
}

void AddWorkspaceContext(AuthzRequest& req, const WorkspaceRecord& ws) {
  req.context["ml:EnvironmentName"] = {ws.environment_name};
  req.context["ml:WorkspaceName"] = {ws.name};
  req.context["ml:WorkspaceCrn"] = {ws.crn};
  for (const auto& t : TagsOf(ws.parameters)) req.context["ml:ResourceTag/" + t.key] = {t.value};
}

std::string EffectiveStatus(const WorkspaceRecord& ws, workspace::Provider& provider,
                            std::string* reason) {
  if (ws.status == "running" && !ws.deleted_at &&
      !(ws.runtime_pid > 0 &&
        provider.RuntimeAlive(SpecOf(ws), static_cast<int>(ws.runtime_pid)))) {
    if (reason)
      *reason = "the workspace runtime (pid " + std::to_string(ws.runtime_pid) + ") is not running";
    return "stopped";
  }
  if (reason) *reason = ws.status_reason;
  return ws.status;
}

json BackupSummary(const BackupRecord& b) {
  return {{"backupCrn", b.crn},
          {"backupName", b.name},
          {"createdAt", Time(b.created_at)},
          {"creatorCrn", b.creator_crn},
          {"workspaceVersionAtBackup", b.workspace_version},
          {"backupStatus", b.status}};
}

json ProgressJson(const WorkflowRecord& w) {
  json p = {{"phase", w.phase},
            {"bytesDone", w.bytes_done},
            {"bytesTotal", w.bytes_total},
            {"filesDone", w.files_done},
            {"filesTotal", w.files_total}};
  p["percent"] = w.terminal() && w.status == "succeeded" ? json(100.0)
                 : w.bytes_total > 0
                     ? json(std::min(100.0, 100.0 * static_cast<double>(w.bytes_done) /
                                                static_cast<double>(w.bytes_total)))
                     : json(nullptr);
  return p;
}

json ErrorJson(const std::string& code, const std::string& message) {
  if (code.empty() && message.empty()) return nullptr;
  return {{"code", code.empty() ? "internal" : code}, {"message", message}};
}

json WorkflowJson(const WorkflowRecord& w) {
  json j = {
      {"workflowId", w.id},
      {"kind", w.kind},
      {"status", w.status},
      {"resourceCrn", w.resource_crn},
      {"createdAt", Time(w.created_at)},
      {"startedAt", OptTime(w.started_at)},
      {"finishedAt", OptTime(w.finished_at)},
      {"updatedAt", Time(w.updated_at)},
      {"progress", ProgressJson(w)},
      {"attempts", w.attempts},
      {"maxAttempts", w.max_attempts},
      {"timeoutMinutes", w.timeout_seconds > 0 ? json(w.timeout_seconds / 60) : json(nullptr)},
      {"cancelRequested", w.cancel_requested},
      {"warnings", ParseJsonOr(w.warnings, json::array())},
      {"error", ErrorJson(w.error_code, w.error_message)},
      {"output", ParseJsonOr(w.output, json::object())}};
  j["lease"] = w.lease_owner.empty()
                   ? json(nullptr)
                   : json{{"owner", w.lease_owner}, {"expiresAt", Time(w.lease_expires_at)}};
  return j;
}

}  // namespace

util::Status WorkflowOutcome(const WorkflowRecord& wf) {
  if (wf.status == "succeeded") return util::Ok();
  std::string msg = wf.error_message.empty() ? "it ended " + wf.status : wf.error_message;
  util::ErrorCode code =
      wf.status == "cancelled" ? util::ErrorCode::kCancelled : CodeFromName(wf.error_code);
  return util::MakeError(code,
                         "workflow " + wf.id + " (" + wf.kind + ") " + wf.status + ": " + msg);
}

void Operations::Audit(std::string_view action, std::string_view resource,
                       const util::Status& outcome, std::string_view detail) {
  env_.authorizer->Audit(env_.caller, action, resource, outcome, detail);
}

util::Result<std::optional<WorkflowRecord>> Operations::Launch(const std::string& workflow_id,
                                                               const Wait& wait) {
  if (wait.wait) {
    WorkflowRecord wf = MLV_TRY(env_.engine->Run(workflow_id, wait.progress, wait.interrupted));
    return std::optional<WorkflowRecord>(std::move(wf));
  }
  if (auto pid = env_.engine->Spawn(workflow_id); !pid)
    util::Log(util::LogLevel::kWarn,
              "workflow {} was accepted, but its worker could not start ({}); the next mlvault "
              "command retries it",
              workflow_id, pid.error().message());
  return std::optional<WorkflowRecord>();
}

// ============================================================================ environments

util::Result<Json> Operations::CreateEnvironment(const std::string& name,
                                                 const std::string& storage_root,
                                                 const std::string& region_in) {
  if (std::string why = workspace::CheckName(name); !why.empty())
    return util::InvalidArgument("--environment-name: " + why);
  std::string region = region_in.empty() ? std::string(workspace::kDefaultRegion) : region_in;
  std::string id = util::NewUuid();
  auto crn = workspace::ParseCrn(
      workspace::MakeCrn(workspace::kEnvironmentType, env_.caller.account_id, id, region)
          .ToString());
  if (!crn)
    return util::InvalidArgument("--region: \"" + region + "\" is not a region like \"us-west-1\"");
  std::string root = storage_root.empty() ? env_.home + "/environments/" + name : storage_root;
  if (root.front() != '/')
    return util::InvalidArgument("--storage-root: must be an absolute path, got \"" + root + "\"");

  AuthzRequest req{"ml:CreateEnvironment", "*", {{"ml:EnvironmentName", {name}}}};
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  EnvironmentRecord e{id,   env_.caller.account_id,    crn->ToString(),  name, region,
                      root, env_.caller.principal_crn, env_.clock->Now()};
  util::Status st = util::MakeDirs(root, 0755);
  if (st) st = EnvironmentStore(*env_.db).Insert(e);
  Audit("ml:CreateEnvironment", e.crn, st, "environment " + name);
  MLV_TRY(st);
  return json{{"environment",
               {{"crn", e.crn},
                {"name", name},
                {"region", region},
                {"storageRoot", root},
                {"createdAt", Time(e.created_at)}}}};
}

util::Result<Json> Operations::ListEnvironments() {
  MLV_TRY(env_.authorizer->Authorize(env_.caller, AuthzRequest{"ml:ListEnvironments", "*"}));
  auto envs = MLV_TRY(EnvironmentStore(*env_.db).List(env_.caller.account_id));
  auto wss = MLV_TRY(WorkspaceStore(*env_.db).List(env_.caller.account_id));
  json out = json::array();
  for (const auto& e : envs) {
    int64_t n = std::count_if(wss.begin(), wss.end(),
                              [&](const WorkspaceRecord& w) { return w.environment_id == e.id; });
    out.push_back({{"crn", e.crn},
                   {"name", e.name},
                   {"region", e.region},
                   {"storageRoot", e.storage_root},
                   {"createdAt", Time(e.created_at)},
                   {"workspaceCount", n}});
  }
  return json{{"environments", out}};
}

// ============================================================================ workspaces

util::Result<Json> Operations::CreateWorkspace(const std::string& params_json, const Wait& wait) {
  workspace::WorkspaceParameters p = MLV_TRY(workspace::ParseCreateWorkspaceInput(params_json));
  auto env = EnvironmentStore(*env_.db).GetByName(env_.caller.account_id, p.environment_name);
  AuthzRequest req{"ml:CreateWorkspace", env ? env->crn : "*"};
  req.context["ml:EnvironmentName"] = {p.environment_name};
  req.context["ml:WorkspaceName"] = {p.workspace_name};
  for (const auto& t : p.tags) req.context["ml:RequestTag/" + t.key] = {t.value};
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
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
  ws.status = "provisioning";
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
  json out = {{"workspaceCrn", ws.crn}, {"workflowId", wf.id}};
  auto done = MLV_TRY(Launch(wf.id, wait));
  if (done) {
    MLV_TRY(WorkflowOutcome(*done));
    out["status"] = MLV_TRY(WorkspaceStore(*env_.db).Get(ws.account_id, ws.id)).status;
  }
  return out;
}

util::Result<Json> Operations::ListWorkspaces(const std::string& environment_name) {
  AuthzRequest req{"ml:ListWorkspaces", "*"};
  if (!environment_name.empty()) req.context["ml:EnvironmentName"] = {environment_name};
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  if (!environment_name.empty())
    MLV_TRY(EnvironmentStore(*env_.db).GetByName(env_.caller.account_id, environment_name));
  auto wss = MLV_TRY(WorkspaceStore(*env_.db).List(env_.caller.account_id));
  json out = json::array();
  for (const auto& w : wss) {
    if (!environment_name.empty() && w.environment_name != environment_name) continue;
    out.push_back({{"crn", w.crn},
                   {"name", w.name},
                   {"environmentName", w.environment_name},
                   {"status", EffectiveStatus(w, *env_.provider, nullptr)},
                   {"endpoint", w.endpoint},
                   {"domain", w.domain},
                   {"isRestored", w.is_restored},
                   {"createdAt", Time(w.created_at)}});
  }
  return json{{"workspaces", out}};
}

util::Result<Json> Operations::DescribeWorkspace(const std::string& workspace_crn) {
  auto crn = MLV_TRY(ParseFlagCrn("--workspace-crn", workspace_crn, workspace::kWorkspaceType));
  auto ws = WorkspaceStore(*env_.db).Get(env_.caller.account_id, crn.resource_id);
  AuthzRequest req{"ml:DescribeWorkspace", workspace_crn};
  if (ws) AddWorkspaceContext(req, *ws);
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  if (!ws) return util::NotFound("workspace " + workspace_crn + " does not exist");
  if (ws->crn != workspace_crn)
    return util::NotFound("workspace " + workspace_crn + " does not exist");

  std::string reason;
  std::string status = EffectiveStatus(*ws, *env_.provider, &reason);
  json volumes = json::array();
  if (!ws->deleted_at)
    for (const auto& v : env_.provider->Volumes(SpecOf(*ws)))
      volumes.push_back(
          {{"name", v.name}, {"kind", std::string(workspace::KindName(v.kind))}, {"path", v.path}});
  auto backups = MLV_TRY(BackupStore(*env_.db).ListByWorkspace(ws->account_id, ws->id));
  json meta = {{"vaultName", VaultName(ws->id)}};
  int64_t live = 0;
  const BackupRecord* last = nullptr;
  const BackupRecord* last_ok = nullptr;
  for (const auto& b : backups) {  // newest first
    if (b.status == "deleted") continue;
    ++live;
    if (!last) last = &b;
    if (!last_ok && b.status == "succeeded") last_ok = &b;
  }
  meta["backupCount"] = live;
  meta["lastBackupCrn"] = last ? json(last->crn) : json(nullptr);
  meta["lastBackupName"] = last ? json(last->name) : json(nullptr);
  meta["lastBackupStatus"] = last ? json(last->status) : json(nullptr);
  meta["lastBackupAt"] = last ? json(Time(last->created_at)) : json(nullptr);
  meta["lastSucceededBackupCrn"] = last_ok ? json(last_ok->crn) : json(nullptr);
  meta["lastSucceededBackupAt"] = last_ok ? OptTime(last_ok->finished_at) : json(nullptr);
  json w = {{"crn", ws->crn},
            {"name", ws->name},
            {"environmentName", ws->environment_name},
            {"status", status},
            {"version", ws->version},
            {"domain", ws->domain},
            {"endpoint", ws->endpoint},
            {"isRestored", ws->is_restored},
            {"restoredFromBackupCrn",
             ws->restored_from_backup_crn ? json(*ws->restored_from_backup_crn) : json(nullptr)},
            {"createdAt", Time(ws->created_at)},
            {"tags", TagsJson(TagsOf(ws->parameters))},
            {"volumes", volumes},
            {"backupMetadata", meta}};
  if (!reason.empty()) w["statusReason"] = reason;
  if (ws->deleted_at) w["deletedAt"] = Time(*ws->deleted_at);
  if (ws->restored_from_backup_crn) {
    auto bcrn = workspace::ParseCrn(*ws->restored_from_backup_crn, workspace::kBackupType);
    if (bcrn)
      if (auto b = BackupStore(*env_.db).Get(ws->account_id, bcrn->resource_id))
        w["restoredFromEnvironmentName"] = b->environment_name;
  }
  return json{{"workspace", w}};
}

util::Result<Json> Operations::DeleteWorkspace(const std::string& workspace_crn) {
  auto crn = MLV_TRY(ParseFlagCrn("--workspace-crn", workspace_crn, workspace::kWorkspaceType));
  WorkspaceStore wss(*env_.db);
  auto ws = wss.Get(env_.caller.account_id, crn.resource_id);
  AuthzRequest req{"ml:DeleteWorkspace", workspace_crn};
  if (ws) AddWorkspaceContext(req, *ws);
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  util::Status st = [&]() -> util::Status {
    if (!ws || ws->crn != workspace_crn)
      return util::NotFound("workspace " + workspace_crn + " does not exist");
    if (ws->deleted_at)
      return util::NotFound("workspace " + workspace_crn + " was already deleted");
    MLV_TRY(env_.db->Transaction([&]() -> util::Status {
      auto active = MLV_TRY(WorkflowStore(*env_.db).ListActiveInQueue(WorkspaceQueue(ws->id)));
      if (!active.empty())
        return util::Conflict(
            "workspace " + ws->name + " has a " + active[0].kind + " workflow in progress (" +
            active[0].id + ", " + active[0].status +
            "); wait for it to end, or cancel a backup with mlvault cancel-backup");
      return wss.SetStatus(ws->id, "deleting", "", env_.clock->Now());
    }));
    auto spec = SpecOf(*ws);
    if (ws->runtime_pid > 0)
      MLV_TRY_CTX(env_.provider->StopRuntime(spec, static_cast<int>(ws->runtime_pid)),
                  "stopping the workspace runtime");
    MLV_TRY_CTX(env_.provider->RemoveVolumes(spec), "removing the workspace's volumes");
    return wss.MarkDeleted(ws->id, env_.clock->Now());
  }();
  Audit("ml:DeleteWorkspace", workspace_crn, st);
  MLV_TRY(st);
  return json{{"workspaceCrn", workspace_crn}, {"status", "deleted"}};
}

util::Result<Json> Operations::GetWorkspaceApiKey(const std::string& workspace_crn) {
  auto crn = MLV_TRY(ParseFlagCrn("--workspace-crn", workspace_crn, workspace::kWorkspaceType));
  auto ws = WorkspaceStore(*env_.db).Get(env_.caller.account_id, crn.resource_id);
  AuthzRequest req{"ml:GetWorkspaceApiKey", workspace_crn};
  if (ws) AddWorkspaceContext(req, *ws);
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  util::Status st = !ws || ws->crn != workspace_crn
                        ? util::NotFound("workspace " + workspace_crn + " does not exist")
                    : ws->deleted_at ? util::NotFound("workspace " + workspace_crn + " was deleted")
                                     : util::Ok();
  Audit("ml:GetWorkspaceApiKey", workspace_crn, st, "API key read");
  MLV_TRY(st);
  return json{{"apiKey", MLV_TRY(OpenWorkspaceKey(ws->api_key))}};
}

// ============================================================================ backups

util::Result<Json> Operations::BackupWorkspace(const std::string& workspace_crn,
                                               const std::string& backup_name,
                                               std::optional<int64_t> timeout_minutes,
                                               const Wait& wait) {
  auto crn = MLV_TRY(ParseFlagCrn("--workspace-crn", workspace_crn, workspace::kWorkspaceType));
  if (std::string why = CheckBackupName(backup_name); !why.empty())
    return util::InvalidArgument("--backup-name: " + why);
  if (timeout_minutes && (*timeout_minutes < 1 || *timeout_minutes > 7 * 24 * 60))
    return util::InvalidArgument("--backup-job-timeout-minutes: must be between 1 and 10080, got " +
                                 std::to_string(*timeout_minutes));
  WorkspaceStore wss(*env_.db);
  auto ws = wss.Get(env_.caller.account_id, crn.resource_id);
  AuthzRequest req{"ml:BackupWorkspace", workspace_crn};
  req.needs_backup_entitlement = true;
  if (ws) AddWorkspaceContext(req, *ws);
  req.context["ml:BackupName"] = {backup_name};
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));

  util::TimeMicros now = env_.clock->Now();
  BackupRecord b;
  WorkflowRecord wf;
  util::Status st = env_.db->Transaction([&]() -> util::Status {
    if (!ws || ws->crn != workspace_crn)
      return util::NotFound("workspace " + workspace_crn + " does not exist");
    WorkspaceRecord cur = MLV_TRY(wss.Get(ws->account_id, ws->id));  // re-read under the write lock
    if (cur.status == "failed")
      return util::NotFound("workspace " + workspace_crn + " failed (" + cur.status_reason +
                            ") and cannot be backed up");
    if (cur.deleted_at)
      return util::NotFound("workspace " + workspace_crn + " was deleted at " +
                            Time(*cur.deleted_at) +
                            " and cannot be backed up (its backups stay listable and restorable)");
    if (cur.status == "deleting")
      return util::Conflict("workspace " + workspace_crn + " is being deleted");
    wf.id = util::NewUuid();
    wf.account_id = cur.account_id;
    wf.kind = kBackupKind;
    wf.queue_key = WorkspaceQueue(cur.id);
    b.id = util::NewUuid();
    b.crn = workspace::MakeCrn(workspace::kBackupType, cur.account_id, b.id, crn.region).ToString();
    wf.resource_crn = b.crn;
    wf.caller = CallerToJson(env_.caller);
    wf.input = json{{"backupId", b.id}, {"workspaceId", cur.id}}.dump();
    wf.max_attempts = 2;
    wf.timeout_seconds = timeout_minutes ? *timeout_minutes * 60 : 0;
    wf.created_at = wf.updated_at = now;
    b.account_id = cur.account_id;
    b.name = backup_name;
    b.workspace_id = cur.id;
    b.workspace_crn = cur.crn;
    b.workspace_name = cur.name;
    b.environment_id = cur.environment_id;
    b.environment_name = cur.environment_name;
    b.vault_name = VaultName(cur.id);
    b.creator_crn = env_.caller.principal_crn;
    b.workspace_version = cur.version;
    b.workflow_id = wf.id;
    b.timeout_minutes = timeout_minutes;
    b.created_at = now;
    b.status = "pending";
    MLV_TRY(BackupStore(*env_.db).Insert(b));
    b.status = MLV_TRY(WorkflowStore(*env_.db).Insert(wf));
    return BackupStore(*env_.db).SetStatus(b.id, b.status, now);
  });
  Audit("ml:BackupWorkspace", st ? b.crn : workspace_crn, st, "backup " + backup_name);
  MLV_TRY(st);
  json out = {{"backupCrn", b.crn},
              {"vaultName", b.vault_name},
              {"workflowId", wf.id},
              {"backupStatus", b.status}};
  auto done = MLV_TRY(Launch(wf.id, wait));
  if (done) {
    out["backupStatus"] = MLV_TRY(BackupStore(*env_.db).Get(b.account_id, b.id)).status;
    if (auto o = WorkflowOutcome(*done); !o)
      return std::unexpected(o.error().WithContext("backup " + b.crn));
  }
  return out;
}

util::Result<Json> Operations::ListWorkspaceBackups(const std::string& workspace_crn,
                                                    const std::string& workspace_name,
                                                    const std::string& environment_name) {
  bool by_crn = !workspace_crn.empty();
  if (by_crn == (!workspace_name.empty() || !environment_name.empty()))
    return util::InvalidArgument(
        "give either --workspace-crn, or --workspace-name together with --environment-name (not "
        "both)");
  if (!by_crn && (workspace_name.empty() || environment_name.empty()))
    return util::InvalidArgument(workspace_name.empty()
                                     ? "--workspace-name is required with --environment-name"
                                     : "--environment-name is required with --workspace-name");
  const std::string& account = env_.caller.account_id;
  BackupStore bs(*env_.db);
  WorkspaceStore wss(*env_.db);
  std::vector<BackupRecord> backups;
  if (by_crn) {
    auto crn = MLV_TRY(ParseFlagCrn("--workspace-crn", workspace_crn, workspace::kWorkspaceType));
    auto ws = wss.Get(account, crn.resource_id);
    AuthzRequest req{"ml:ListWorkspaceBackups", workspace_crn};
    req.needs_backup_entitlement = true;
    if (ws) AddWorkspaceContext(req, *ws);
    MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
    if (!ws || ws->crn != workspace_crn)
      return util::NotFound("workspace " + workspace_crn + " does not exist");
    backups = MLV_TRY(bs.ListByWorkspace(account, ws->id));
  } else {
    auto env = EnvironmentStore(*env_.db).GetByName(account, environment_name);
    // The workspace of that name: the live one, else the newest deleted one.
    std::optional<WorkspaceRecord> ws;
    if (env) {
      auto all = MLV_TRY(wss.List(account, /*include_deleted=*/true));
      for (auto it = all.rbegin(); it != all.rend(); ++it)
        if (it->environment_id == env->id && it->name == workspace_name &&
            (!ws || (!it->deleted_at && ws->deleted_at)))
          ws = *it;
    }
    AuthzRequest req{"ml:ListWorkspaceBackups", ws ? ws->crn : "*"};
    req.needs_backup_entitlement = true;
    if (ws) AddWorkspaceContext(req, *ws);
    req.context["ml:EnvironmentName"] = {environment_name};
    req.context["ml:WorkspaceName"] = {workspace_name};
    MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
    if (!env) return std::unexpected(env.error());
    backups = MLV_TRY(bs.ListByWorkspaceName(account, environment_name, workspace_name));
    if (!ws && backups.empty())
      return util::NotFound("no workspace named \"" + workspace_name +
                            "\" has existed in environment \"" + environment_name + "\"");
  }
  json out = json::array();
  for (const auto& b : backups) out.push_back(BackupSummary(b));
  return json{{"backups", out}};
}

util::Result<Json> Operations::DescribeWorkspaceBackup(const std::string& backup_crn) {
  auto crn = MLV_TRY(ParseFlagCrn("--backup-crn", backup_crn, workspace::kBackupType));
  BackupStore bs(*env_.db);
  auto b = bs.Get(env_.caller.account_id, crn.resource_id);
  AuthzRequest req{"ml:DescribeWorkspaceBackup", backup_crn};
  req.needs_backup_entitlement = true;
  if (b) {
    req.context["ml:EnvironmentName"] = {b->environment_name};
    req.context["ml:WorkspaceName"] = {b->workspace_name};
    req.context["ml:WorkspaceCrn"] = {b->workspace_crn};
    req.context["ml:BackupName"] = {b->name};
  }
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  if (!b || b->crn != backup_crn) return util::NotFound("backup " + backup_crn + " does not exist");

  json points = json::array();
  for (const auto& rp : MLV_TRY(bs.RecoveryPoints(b->id)))
    points.push_back({{"volume", rp.volume},
                      {"kind", rp.kind},
                      {"recoveryPointId", rp.vault_point_id},
                      {"sourcePath", rp.source_path},
                      {"bytesTotal", rp.bytes_total},
                      {"files", rp.files},
                      {"dirs", rp.dirs},
                      {"bytesRead", rp.bytes_read},
                      {"bytesNew", rp.bytes_new},
                      {"bytesStored", rp.bytes_stored},
                      {"filesUnchanged", rp.files_unchanged},
                      {"durationSeconds", static_cast<double>(rp.duration_micros) / 1e6}});
  WorkflowStore ws(*env_.db);
  auto wf = ws.Get(b->account_id, b->workflow_id);
  json j = BackupSummary(*b);
  j["workspaceCrn"] = b->workspace_crn;
  j["workspaceName"] = b->workspace_name;
  j["environmentName"] = b->environment_name;
  j["vaultName"] = b->vault_name;
  j["workflowId"] = b->workflow_id;
  j["startedAt"] = OptTime(b->started_at);
  j["finishedAt"] = OptTime(b->finished_at);
  j["quiescedSeconds"] =
      b->quiesced_micros ? json(static_cast<double>(*b->quiesced_micros) / 1e6) : json(nullptr);
  j["durationSeconds"] = b->started_at && b->finished_at
                             ? json(static_cast<double>(*b->finished_at - *b->started_at) / 1e6)
                             : json(nullptr);
  j["timeoutMinutes"] = b->timeout_minutes ? json(*b->timeout_minutes) : json(nullptr);
  j["sizes"] = {{"bytesTotal", b->bytes_total},
                {"filesTotal", b->files_total},
                {"bytesStored", b->bytes_stored}};
  j["recoveryPoints"] = points;
  j["timings"] = ParseJsonOr(b->details, json::object());
  j["progress"] = wf ? ProgressJson(*wf) : json(nullptr);
  j["warnings"] = ParseJsonOr(b->warnings, json::array());
  j["error"] = b->error.empty() ? json(nullptr)
                                : json{{"message", b->error}, {"code", wf ? wf->error_code : ""}};
  if (b->delete_workflow_id) j["deleteWorkflowId"] = *b->delete_workflow_id;
  if (b->deleted_at) j["deletedAt"] = Time(*b->deleted_at);
  return json{{"backup", j}};
}

util::Result<Json> Operations::DeleteBackup(const std::string& backup_crn, const Wait& wait) {
  auto crn = MLV_TRY(ParseFlagCrn("--backup-crn", backup_crn, workspace::kBackupType));
  BackupStore bs(*env_.db);
  auto b = bs.Get(env_.caller.account_id, crn.resource_id);
  AuthzRequest req{"ml:DeleteBackup", backup_crn};
  req.needs_backup_entitlement = true;
  if (b) {
    req.context["ml:EnvironmentName"] = {b->environment_name};
    req.context["ml:WorkspaceName"] = {b->workspace_name};
    req.context["ml:WorkspaceCrn"] = {b->workspace_crn};
    req.context["ml:BackupName"] = {b->name};
  }
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  std::string workflow_id;
  bool started = false;
  util::Status st = env_.db->Transaction([&]() -> util::Status {
    if (!b || b->crn != backup_crn)
      return util::NotFound("backup " + backup_crn + " does not exist");
    BackupRecord cur = MLV_TRY(bs.Get(b->account_id, b->id));
    if (cur.status == "queued" || cur.status == "pending" || cur.status == "running")
      return util::Conflict("backup " + backup_crn + " is " + cur.status +
                            "; cancel it first with: mlvault cancel-backup --backup-crn " +
                            backup_crn);
    if (cur.status == "deleted")
      return util::Conflict("backup " + backup_crn + " was already deleted" +
                            (cur.deleted_at ? " at " + Time(*cur.deleted_at) : std::string()));
    // A restore reading this backup keeps it until it is done.
    for (const auto& w : MLV_TRY(WorkflowStore(*env_.db).ListActive())) {
      json in = json::parse(w.input, nullptr, false);
      if (w.kind == kRestoreKind && in.is_object() && in.contains("backupId") &&
          in["backupId"] == cur.id)
        return util::Conflict("backup " + backup_crn + " is being restored into workspace " +
                              w.resource_crn + " (workflow " + w.id +
                              "); delete it after the restore ends");
    }
    if (cur.status == "deleting" && cur.delete_workflow_id) {
      workflow_id = *cur.delete_workflow_id;  // already on its way: the same answer again
      return util::Ok();
    }
    util::TimeMicros now = env_.clock->Now();
    WorkflowRecord wf;
    wf.id = util::NewUuid();
    wf.account_id = cur.account_id;
    wf.kind = kDeleteBackupKind;
    wf.queue_key = VaultGcQueue(cur.workspace_id);
    wf.resource_crn = cur.crn;
    wf.caller = CallerToJson(env_.caller);
    wf.input = json{{"backupId", cur.id}}.dump();
    wf.max_attempts = 3;
    wf.created_at = wf.updated_at = now;
    MLV_TRY(WorkflowStore(*env_.db).Insert(wf));
    MLV_TRY(bs.SetDeleting(cur.id, wf.id));
    workflow_id = wf.id;
    started = true;
    return util::Ok();
  });
  Audit("ml:DeleteBackup", backup_crn, st, st ? "delete workflow " + workflow_id : "");
  MLV_TRY(st);
  if (started) {
    auto done = MLV_TRY(Launch(workflow_id, wait));
    if (done) MLV_TRY(WorkflowOutcome(*done));
  } else if (wait.wait) {
    auto done = MLV_TRY(env_.engine->Run(workflow_id, wait.progress, wait.interrupted));
    MLV_TRY(WorkflowOutcome(done));
  }
  return json{{"workflowId", workflow_id}};
}

util::Result<Json> Operations::CancelBackup(const std::string& backup_crn) {
  auto crn = MLV_TRY(ParseFlagCrn("--backup-crn", backup_crn, workspace::kBackupType));
  BackupStore bs(*env_.db);
  auto b = bs.Get(env_.caller.account_id, crn.resource_id);
  AuthzRequest req{"ml:CancelBackup", backup_crn};
  req.needs_backup_entitlement = true;
  if (b) {
    req.context["ml:EnvironmentName"] = {b->environment_name};
    req.context["ml:WorkspaceName"] = {b->workspace_name};
    req.context["ml:WorkspaceCrn"] = {b->workspace_crn};
    req.context["ml:BackupName"] = {b->name};
  }
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  std::string reason =
      "cancelled by " +
      (env_.caller.principal_name.empty() ? env_.caller.principal_crn : env_.caller.principal_name);
  util::Status st = env_.db->Transaction([&]() -> util::Status {
    if (!b || b->crn != backup_crn)
      return util::NotFound("backup " + backup_crn + " does not exist");
    BackupRecord cur = MLV_TRY(bs.Get(b->account_id, b->id));
    if (cur.status != "queued" && cur.status != "pending" && cur.status != "running")
      return util::Conflict("backup " + backup_crn + " is " + cur.status +
                            "; only queued, pending or running backups can be cancelled");
    util::TimeMicros now = env_.clock->Now();
    if (MLV_TRY(WorkflowStore(*env_.db).RequestCancel(cur.workflow_id, reason, now))) {
      catalog::BackupOutcome o;
      o.status = "cancelled";
      o.warnings = cur.warnings;
      o.error = reason;
      MLV_TRY(bs.Finish(cur.id, o, now));
    }
    return util::Ok();
  });
  Audit("ml:CancelBackup", backup_crn, st);
  MLV_TRY(st);
  // A running backup stops at its worker's next heartbeat; wait a little to answer its end.
  std::string status;
  for (int i = 0; i < 100; ++i) {
    status = MLV_TRY(bs.Get(b->account_id, b->id)).status;
    if (status != "running" && status != "pending" && status != "queued") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return json{{"backupCrn", backup_crn}, {"workflowId", b->workflow_id}, {"backupStatus", status}};
}

util::Result<Json> Operations::VerifyBackup(const std::string& backup_crn, bool read_data,
                                            util::ProgressSink* progress) {
  auto crn = MLV_TRY(ParseFlagCrn("--backup-crn", backup_crn, workspace::kBackupType));
  BackupStore bs(*env_.db);
  auto b = bs.Get(env_.caller.account_id, crn.resource_id);
  AuthzRequest req{"ml:VerifyBackup", backup_crn};
  req.needs_backup_entitlement = true;
  if (b) {
    req.context["ml:EnvironmentName"] = {b->environment_name};
    req.context["ml:WorkspaceName"] = {b->workspace_name};
    req.context["ml:WorkspaceCrn"] = {b->workspace_crn};
    req.context["ml:BackupName"] = {b->name};
  }
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));
  if (!b || b->crn != backup_crn) return util::NotFound("backup " + backup_crn + " does not exist");
  if (b->status != "succeeded")
    return util::Conflict("backup " + backup_crn + " is " + b->status +
                          "; only succeeded backups can be verified");
  auto points = MLV_TRY(bs.RecoveryPoints(b->id));
  auto v = MLV_TRY(OpenExistingVault(env_.home, b->workspace_id));
  double t0 = util::MonotonicSeconds();
  bool ok = true;
  uint64_t packs = 0, chunks = 0, bytes_read = 0;
  json per_point = json::array(), damaged = json::array();
  for (const auto& rp : points) {
    auto r = v->Verify(rp.vault_point_id, read_data, progress, nullptr);
    if (!r) return std::unexpected(r.error().WithContext("verifying volume " + rp.volume));
    ok = ok && r->ok;
    packs += r->packs;
    chunks += r->chunks;
    bytes_read += r->bytes_read;
    per_point.push_back(
        {{"volume", rp.volume}, {"recoveryPointId", rp.vault_point_id}, {"ok", r->ok}});
    for (const auto& d : r->damaged) {
      json affected = json::array();
      for (const auto& a : d.affected) {
        // "<recovery point id>:<what>" -> "<volume>:<what>"
        std::string s = a;
        for (const auto& p : points)
          if (s.rfind(p.vault_point_id + ":", 0) == 0)
            s = p.volume + ":" + s.substr(p.vault_point_id.size() + 1);
        affected.push_back(s);
      }
      damaged.push_back({{"object", d.object}, {"problem", d.problem}, {"affected", affected}});
    }
  }
  return json{{"backupCrn", backup_crn},
              {"ok", ok},
              {"readData", read_data},
              {"recoveryPoints", per_point},
              {"packs", packs},
              {"chunks", chunks},
              {"bytesRead", bytes_read},
              {"damaged", damaged},
              {"durationSeconds", util::MonotonicSeconds() - t0}};
}

// ============================================================================ restore

util::Result<Json> Operations::RestoreWorkspace(const std::string& input_json, const Wait& wait) {
  workspace::RestoreInput in = MLV_TRY(workspace::ParseRestoreInput(input_json));
  const std::string& account = env_.caller.account_id;
  auto bcrn = MLV_TRY(workspace::ParseCrn(in.backup_crn, workspace::kBackupType));
  BackupStore bs(*env_.db);
  auto b = bs.Get(account, bcrn.resource_id);
  std::string target_env = !in.params.environment_name.empty() ? in.params.environment_name
                           : b                                 ? b->environment_name
                                                               : "";
  auto env = target_env.empty() ? util::Result<EnvironmentRecord>(util::NotFound("no environment"))
                                : EnvironmentStore(*env_.db).GetByName(account, target_env);
  AuthzRequest req{"ml:RestoreWorkspace", in.backup_crn};
  req.needs_backup_entitlement = true;
  req.context["ml:EnvironmentName"] = {target_env};
  req.context["ml:WorkspaceName"] = {in.params.workspace_name};
  if (b) {
    req.context["ml:WorkspaceCrn"] = {b->workspace_crn};
    req.context["ml:BackupName"] = {b->name};
  }
  for (const auto& t : in.params.tags) req.context["ml:RequestTag/" + t.key] = {t.value};
  if (env) req.context[std::string(kAlsoResourceKey)] = {env->crn};
  MLV_TRY(env_.authorizer->Authorize(env_.caller, req));

  util::TimeMicros now = env_.clock->Now();
  WorkspaceRecord ws;
  WorkflowRecord wf;
  util::Status st = [&]() -> util::Status {
    if (!b || b->crn != in.backup_crn)
      return util::NotFound("backupCrn: backup " + in.backup_crn + " does not exist");
    if (b->status != "succeeded")
      return util::Conflict("backupCrn: backup " + in.backup_crn + " is " + b->status +
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
    ws.status = "restoring";
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
    wf.input = json{{"workspaceId", ws.id}, {"backupId", b->id}}.dump();
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
  auto done = MLV_TRY(Launch(wf.id, wait));
  if (done) MLV_TRY(WorkflowOutcome(*done));
  return json{{"workspaceCrn", ws.crn}, {"workflowId", wf.id}};
}

// ============================================================================ workflows

util::Result<Json> Operations::DescribeWorkflow(const std::string& workflow_id) {
  if (!util::IsUuid(workflow_id))
    return util::InvalidArgument("--workflow-id: must be a lowercase UUID, got \"" +
                                 workflow_id.substr(0, 64) + "\"");
  MLV_TRY(env_.authorizer->Authorize(env_.caller, AuthzRequest{"ml:DescribeWorkflow", "*"}));
  WorkflowRecord wf = MLV_TRY(WorkflowStore(*env_.db).Get(env_.caller.account_id, workflow_id));
  return json{{"workflow", WorkflowJson(wf)}};
}

}  // namespace mlvault::control
