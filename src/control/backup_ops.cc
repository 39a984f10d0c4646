// The backup operations: backupWorkspace, listWorkspaceBackups, describeWorkspaceBackup,
// deleteBackup, cancelBackup, verifyBackup.
#include <nlohmann/json.hpp>
#include <thread>

#include "catalog/plan_stores.h"
#include "control/backup_copies.h"
#include "control/handlers.h"
#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"
#include "control/vaults.h"
#include "util/random.h"
#include "workspace/crn.h"

namespace mlvault::control {

util::Result<api::BackupWorkspaceResponse> Operations::BackupWorkspace(
    const api::BackupWorkspaceRequest& request, const Wait& wait) {
  api::BackupWorkspaceRequest r = request;
  auto t = MLV_TRY(LoadWorkspaceOf("ml:BackupWorkspace", r));
  const std::string& backup_name = r.backup_name;
  const auto& timeout_minutes = r.backup_job_timeout_minutes;
  if (std::string why = CheckBackupName(backup_name); !why.empty())
    return util::InvalidField("backupName", why);
  if (timeout_minutes && (*timeout_minutes < 1 || *timeout_minutes > 7 * 24 * 60))
    return util::InvalidField("backupJobTimeoutMinutes", "must be between 1 and 10080, got " +
                                                             std::to_string(*timeout_minutes));
  t.request.context["ml:BackupName"] = {backup_name};
  MLV_TRY(Authorize(t.request));

  WorkspaceStore wss(*env_.db);
  util::TimeMicros now = env_.clock->Now();
  BackupRecord b;
  WorkflowRecord wf;
  util::Status st = env_.db->Transaction([&]() -> util::Status {
    b = {};  // every attempt decides afresh (a PostgreSQL retry re-runs the body)
    wf = {};
    if (!t.found()) return util::NotFound("workspace " + r.workspace_crn + " does not exist");
    // Re-read under the write lock.
    WorkspaceRecord cur = MLV_TRY(wss.Get(t.record->account_id, t.record->id));
    if (cur.status == catalog::WorkspaceStatus::kFailed)
      return util::NotFound("workspace " + r.workspace_crn + " failed (" + cur.status_reason +
                            ") and cannot be backed up");
    if (cur.deleted_at)
      return util::NotFound("workspace " + r.workspace_crn + " was deleted at " +
                            Time(*cur.deleted_at) +
                            " and cannot be backed up (its backups stay listable and restorable)");
    if (cur.status == catalog::WorkspaceStatus::kDeleting)
      return util::Conflict("workspace " + r.workspace_crn + " is being deleted");
    wf.id = util::NewUuid();
    wf.account_id = cur.account_id;
    wf.kind = kBackupKind;
    wf.queue_key = WorkspaceQueue(cur.id);
    b.id = util::NewUuid();
    b.crn =
        workspace::MakeCrn(workspace::kBackupType, cur.account_id, b.id, t.crn.region).ToString();
    wf.resource_crn = b.crn;
    wf.caller = CallerToJson(env_.caller);
    wf.input = json{{"backupId", b.id}, {"workspaceId", cur.id}}.dump();
    wf.max_attempts = 2;
    wf.timeout_seconds = timeout_minutes ? *timeout_minutes * 60 : 0;
    wf.created_at = wf.updated_at = now;
    FillPendingBackup(b,
                      {cur.account_id, cur.id, cur.crn, cur.name, cur.environment_id,
                       cur.environment_name, cur.version},
                      backup_name, VaultName(cur.id), env_.caller.principal_crn, wf.id, now);
    b.timeout_minutes = timeout_minutes;
    MLV_TRY(BackupStore(*env_.db).Insert(b));
    b.status = catalog::BackupStatusOf(MLV_TRY(WorkflowStore(*env_.db).Insert(wf)));
    return BackupStore(*env_.db).SetStatus(b.id, b.status, now);
  });
  Audit("ml:BackupWorkspace", st ? b.crn : r.workspace_crn, st, "backup " + backup_name);
  MLV_TRY(st);
  api::BackupWorkspaceResponse out{b.crn, b.vault_name, wf.id, catalog::BackupStatusName(b.status)};
  auto done = MLV_TRY(Launch(wf.id, wait));
  if (done) {
    out.backup_status =
        catalog::BackupStatusName(MLV_TRY(BackupStore(*env_.db).Get(b.account_id, b.id)).status);
    if (auto o = WorkflowOutcome(*done); !o)
      return std::unexpected(o.error().WithContext("backup " + b.crn));
  }
  return out;
}

util::Result<api::ListWorkspaceBackupsResponse> Operations::ListWorkspaceBackups(
    const api::ListWorkspaceBackupsRequest& r) {
  const std::string& workspace_name = r.workspace_name;
  const std::string& environment_name = r.environment_name;
  bool by_crn = !r.workspace_crn.empty();
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
  std::vector<BackupRecord> backups;
  // One more than the page holds: whether a next page exists.
  BackupStore::Page page;
  page.limit = MLV_TRY(api::PageSize(r.page)) + 1;
  page.include_deleted = r.include_deleted;
  if (!r.page.starting_token.empty()) {
    api::PageKey key = MLV_TRY(api::DecodePageToken(r.page.starting_token));
    page.after = std::make_pair(key.time, key.id);
  }
  if (by_crn) {
    auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, account, "ml:ListWorkspaceBackups",
                                         "workspaceCrn", r.workspace_crn));
    MLV_TRY(Authorize(t.request));
    if (!t.found()) return util::NotFound("workspace " + r.workspace_crn + " does not exist");
    backups = MLV_TRY(bs.ListByWorkspace(account, t.record->id, &page));
  } else {
    auto env = EnvironmentStore(*env_.db).GetByName(account, environment_name);
    // The workspace of that name: the live one, else the newest deleted one.
    std::optional<WorkspaceRecord> ws;
    if (env) {
      auto all = MLV_TRY(WorkspaceStore(*env_.db).List(account, /*include_deleted=*/true));
      for (auto it = all.rbegin(); it != all.rend(); ++it)
        if (it->environment_id == env->id && it->name == workspace_name &&
            (!ws || (!it->deleted_at && ws->deleted_at)))
          ws = *it;
    }
    AuthzRequest req = ActionRequest("ml:ListWorkspaceBackups", ws ? ws->crn : "*");
    if (ws) AddWorkspaceContext(req, *ws);
    req.context["ml:EnvironmentName"] = {environment_name};
    req.context["ml:WorkspaceName"] = {workspace_name};
    MLV_TRY(Authorize(req));
    if (!env) return std::unexpected(env.error());
    backups = MLV_TRY(bs.ListByWorkspaceName(account, environment_name, workspace_name, &page));
    if (!ws && backups.empty() && !page.after)
      return util::NotFound("no workspace named \"" + workspace_name +
                            "\" has existed in environment \"" + environment_name + "\"");
  }
  api::ListWorkspaceBackupsResponse out;
  if (static_cast<int64_t>(backups.size()) == page.limit) {
    backups.pop_back();
    out.next_token = api::EncodePageToken({backups.back().created_at, backups.back().id});
  }
  for (const auto& b : backups) {
    out.backups.push_back(BackupSummaryOf(b));
    MLV_TRY(AddCopyInfo(*env_.db, b, &out.backups.back()));  // backup copies (docs/plans.md)
  }
  return out;
}

util::Result<api::DescribeWorkspaceBackupResponse> Operations::DescribeWorkspaceBackup(
    const api::DescribeWorkspaceBackupRequest& request) {
  api::DescribeWorkspaceBackupRequest r = request;
  auto t = MLV_TRY(LoadBackupOf("ml:DescribeWorkspaceBackup", r));
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("backup " + r.backup_crn + " does not exist");
  const BackupRecord& b = *t.record;

  api::Backup j;
  static_cast<api::BackupSummary&>(j) = BackupSummaryOf(b);
  MLV_TRY(AddCopyInfo(*env_.db, b, &j));  // backup copies (docs/plans.md)
  for (const auto& rp : MLV_TRY(BackupStore(*env_.db).RecoveryPoints(b.id)))
    j.recovery_points.push_back(RecoveryPointOf(rp));
  auto wf = WorkflowStore(*env_.db).Get(b.account_id, b.workflow_id);
  j.workspace_crn = b.workspace_crn;
  j.workspace_name = b.workspace_name;
  j.environment_name = b.environment_name;
  j.vault_name = b.vault_name;
  j.workflow_id = b.workflow_id;
  j.started_at = OptTime(b.started_at);
  j.finished_at = OptTime(b.finished_at);
  if (b.quiesced_micros) j.quiesced_seconds = static_cast<double>(*b.quiesced_micros) / 1e6;
  if (b.started_at && b.finished_at)
    j.duration_seconds = static_cast<double>(*b.finished_at - *b.started_at) / 1e6;
  j.timeout_minutes = b.timeout_minutes;
  j.sizes = {b.bytes_total, b.files_total, b.bytes_stored};
  j.timings.text = b.details;
  if (wf) j.progress = ProgressOf(*wf);
  j.warnings.text = b.warnings;
  if (!b.error.empty()) j.error = api::ErrorInfo{wf ? wf->error_code : "", b.error};
  j.delete_workflow_id = b.delete_workflow_id;
  j.deleted_at = OptTime(b.deleted_at);
  return api::DescribeWorkspaceBackupResponse{std::move(j)};
}

util::Result<api::DeleteBackupResponse> Operations::DeleteBackup(const api::DeleteBackupRequest& request,
                                                                 const Wait& wait) {
  const std::string backup_crn =
      MLV_TRY(BackupCrnOf("ml:DeleteBackup", request.backup_crn, request.backup_name,
                          request.workspace_crn, request.workspace_name, request.environment_name));
  return StartDelete(backup_crn, wait, "");
}

util::Result<api::DeleteBackupResponse> Operations::StartDelete(const std::string& backup_crn,
                                                                const Wait& wait,
                                                                const std::string& expired_by) {
  auto t = MLV_TRY(LoadBackupTarget(*env_.db, env_.caller.account_id, "ml:DeleteBackup",
                                    "backupCrn", backup_crn));
  MLV_TRY(Authorize(t.request));
  // Legal holds and vault locks (docs/plans.md); checked again under the write lock below.
  if (t.found()) {
    util::Status protect = CheckDeletable(*t.record, t.request);
    if (!protect) Audit("ml:DeleteBackup", backup_crn, protect, expired_by);
    MLV_TRY(protect);
  }
  BackupStore bs(*env_.db);
  std::string workflow_id;
  bool started = false;
  util::Status st = env_.db->Transaction([&]() -> util::Status {
    // Decided afresh on every attempt: PostgreSQL re-runs the body after a serialization failure
    // (another delete may have started in between: then its workflow is the answer).
    workflow_id.clear();
    started = false;
    if (!t.found()) return util::NotFound("backup " + backup_crn + " does not exist");
    BackupRecord cur = MLV_TRY(bs.Get(t.record->account_id, t.record->id));
    if (catalog::IsActive(cur.status))
      return util::Conflict(
          "backup " + backup_crn + " is " + catalog::BackupStatusName(cur.status) +
          "; cancel it first with: mlvault cancel-backup --backup-crn " + backup_crn);
    if (cur.status == catalog::BackupStatus::kDeleted)
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
      if (w.kind == kCopyBackupKind && in.is_object() && in.value("sourceBackupId", "") == cur.id)
        return util::Conflict("backup " + backup_crn + " is being copied into backup " +
                              w.resource_crn + " (workflow " + w.id +
                              "); delete it after the copy ends");
    }
    if (auto hold = MLV_TRY(catalog::LegalHoldStore(*env_.db).Active(cur.id)))
      return util::Conflict("backup " + backup_crn + " is under a legal hold (" + hold->reason +
                            "); release it first with: mlvault release-legal-hold --backup-crn " +
                            backup_crn);
    if (cur.status == catalog::BackupStatus::kDeleting && cur.delete_workflow_id) {
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
    json input = {{"backupId", cur.id}};
    if (!expired_by.empty()) input["expiredBy"] = expired_by;
    wf.input = input.dump();
    wf.max_attempts = 3;
    wf.created_at = wf.updated_at = now;
    MLV_TRY(WorkflowStore(*env_.db).Insert(wf));
    MLV_TRY(bs.SetDeleting(cur.id, wf.id));
    workflow_id = wf.id;
    started = true;
    return util::Ok();
  });
  std::string detail = st ? "delete workflow " + workflow_id : "";
  if (!expired_by.empty()) detail += (detail.empty() ? "" : "; ") + std::string("expired by ") + expired_by;
  Audit("ml:DeleteBackup", backup_crn, st, detail);
  MLV_TRY(st);
  if (started) {
    auto done = MLV_TRY(Launch(workflow_id, wait));
    if (done) MLV_TRY(WorkflowOutcome(*done));
  } else if (wait.wait) {
    auto done = MLV_TRY(env_.engine->Run(workflow_id, wait.progress, wait.interrupted));
    MLV_TRY(WorkflowOutcome(done));
  }
  return api::DeleteBackupResponse{workflow_id};
}

util::Result<api::CancelBackupResponse> Operations::CancelBackup(
    const api::CancelBackupRequest& request) {
  api::CancelBackupRequest r = request;
  auto t = MLV_TRY(LoadBackupOf("ml:CancelBackup", r));
  const std::string& backup_crn = r.backup_crn;
  MLV_TRY(Authorize(t.request));
  BackupStore bs(*env_.db);
  std::string reason =
      "cancelled by " +
      (env_.caller.principal_name.empty() ? env_.caller.principal_crn : env_.caller.principal_name);
  util::Status st = env_.db->Transaction([&]() -> util::Status {
    if (!t.found()) return util::NotFound("backup " + backup_crn + " does not exist");
    BackupRecord cur = MLV_TRY(bs.Get(t.record->account_id, t.record->id));
    if (!catalog::IsActive(cur.status))
      return util::Conflict("backup " + backup_crn + " is " +
                            catalog::BackupStatusName(cur.status) +
                            "; only queued, pending or running backups can be cancelled");
    util::TimeMicros now = env_.clock->Now();
    if (MLV_TRY(WorkflowStore(*env_.db).RequestCancel(cur.workflow_id, reason, now))) {
      catalog::BackupOutcome o;
      o.status = catalog::BackupStatus::kCancelled;
      o.warnings = cur.warnings;
      o.error = reason;
      MLV_TRY(bs.Finish(cur.id, o, now));
    }
    return util::Ok();
  });
  Audit("ml:CancelBackup", backup_crn, st);
  MLV_TRY(st);
  // A running backup stops at its worker's next heartbeat; wait a little to answer its end.
  const BackupRecord& b = *t.record;
  catalog::BackupStatus status = catalog::BackupStatus::kPending;
  for (int i = 0; i < 100; ++i) {
    status = MLV_TRY(bs.Get(b.account_id, b.id)).status;
    if (!catalog::IsActive(status)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return api::CancelBackupResponse{backup_crn, b.workflow_id, catalog::BackupStatusName(status)};
}

util::Result<api::VerifyBackupResponse> Operations::VerifyBackup(
    const api::VerifyBackupRequest& request, util::ProgressSink* progress) {
  api::VerifyBackupRequest r = request;
  auto t = MLV_TRY(LoadBackupOf("ml:VerifyBackup", r));
  const std::string& backup_crn = r.backup_crn;
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("backup " + backup_crn + " does not exist");
  const BackupRecord& b = *t.record;
  if (b.status != catalog::BackupStatus::kSucceeded)
    return util::Conflict("backup " + backup_crn + " is " + catalog::BackupStatusName(b.status) +
                          "; only succeeded backups can be verified");
  auto points = MLV_TRY(BackupStore(*env_.db).RecoveryPoints(b.id));
  auto v = MLV_TRY(OpenBackupVault(*env_.db, env_.home, b));
  double t0 = util::MonotonicSeconds();
  api::VerifyBackupResponse out;
  out.backup_crn = backup_crn;
  out.ok = true;
  out.read_data = r.read_data;
  for (const auto& rp : points) {
    auto res = v->Verify(rp.vault_point_id, r.read_data, progress, nullptr);
    if (!res) return std::unexpected(res.error().WithContext("verifying volume " + rp.volume));
    out.ok = out.ok && res->ok;
    out.packs += res->packs;
    out.chunks += res->chunks;
    out.bytes_read += res->bytes_read;
    out.recovery_points.push_back({rp.volume, rp.vault_point_id, res->ok});
    for (const auto& d : res->damaged) {
      api::Damage damage{d.object, d.problem, {}};
      for (const auto& a : d.affected) {
        // "<recovery point id>:<what>" -> "<volume>:<what>"
        std::string s = a;
        for (const auto& p : points)
          if (s.rfind(p.vault_point_id + ":", 0) == 0)
            s = p.volume + ":" + s.substr(p.vault_point_id.size() + 1);
        damage.affected.push_back(s);
      }
      out.damaged.push_back(std::move(damage));
    }
  }
  out.duration_seconds = util::MonotonicSeconds() - t0;
  return out;
}

}  // namespace mlvault::control
