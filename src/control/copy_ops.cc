// copyBackup (docs/plans.md): a backup's recovery points copied into the workspace's copy vault
// in another environment, as a backup of the same workspace that records where it is.
#include <nlohmann/json.hpp>

#include "catalog/backup_copy_store.h"
#include "control/backup_copies.h"
#include "control/handlers.h"
#include "control/iam_authorizer.h"
#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"
#include "util/random.h"
#include "workspace/crn.h"

namespace mlvault::control {

util::Result<api::CopyBackupResponse> Operations::CopyBackup(const api::CopyBackupRequest& r,
                                                             const Wait& wait) {
  return StartCopy(r, wait, /*plan_copy=*/false);
}

util::Result<api::CopyBackupResponse> Operations::CopyPlanBackup(
    const std::string& backup_crn, const std::string& environment_name) {
  return StartCopy({backup_crn, environment_name, ""}, Wait{}, /*plan_copy=*/true);
}

util::Result<api::CopyBackupResponse> Operations::StartCopy(const api::CopyBackupRequest& r,
                                                            const Wait& wait, bool plan_copy) {
  const std::string& account = env_.caller.account_id;
  if (r.destination_environment_name.empty())
    return util::InvalidField("destinationEnvironmentName",
                              "name the environment whose vault location receives the copy");
  auto t = MLV_TRY(LoadBackupTarget(*env_.db, account, "ml:CopyBackup", "backupCrn", r.backup_crn));
  auto env = catalog::EnvironmentStore(*env_.db).GetByName(account, r.destination_environment_name);
  t.request.context["ml:EnvironmentName"] = {r.destination_environment_name};
  if (env) t.request.context[std::string(kAlsoResourceKey)] = {env->crn};
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("backupCrn: backup " + r.backup_crn + " does not exist");
  if (!env)
    return util::NotFound("destinationEnvironmentName: environment \"" +
                          r.destination_environment_name +
                          "\" does not exist; list-environments shows those there are, "
                          "create-environment --vault-location makes one for copies");
  const BackupRecord src = *t.record;
  std::string name = r.backup_name.empty() ? src.name + "-copy-" + env->name : r.backup_name;
  if (std::string why = CheckBackupName(name); !why.empty())
    return util::InvalidField("backupName",
                              why + (r.backup_name.empty() ? " (the default name \"" + name +
                                                                 "\"; give one with --backup-name)"
                                                           : std::string()));

  BackupStore bs(*env_.db);
  util::TimeMicros now = env_.clock->Now();
  BackupRecord b;
  WorkflowRecord wf;
  catalog::BackupCopyRecord copy;
  util::Status st = env_.db->Transaction([&]() -> util::Status {
    b = {};  // every attempt decides afresh (a PostgreSQL retry re-runs the body)
    wf = {};
    BackupRecord cur = MLV_TRY(bs.Get(src.account_id, src.id));
    bool unfinished = catalog::IsActive(cur.status);
    if (cur.status != catalog::BackupStatus::kSucceeded && !(plan_copy && unfinished))
      return util::Conflict("backupCrn: backup " + cur.crn + " is " +
                            catalog::BackupStatusName(cur.status) +
                            "; only a succeeded backup can be copied");
    wf.id = util::NewUuid();
    wf.account_id = cur.account_id;
    wf.kind = kCopyBackupKind;
    wf.queue_key = WorkspaceQueue(cur.workspace_id);  // after a backup of it still running
    b.id = util::NewUuid();
    auto region = workspace::ParseCrn(cur.crn);
    b.crn = workspace::MakeCrn(workspace::kBackupType, cur.account_id, b.id,
                               region ? region->region : env->region)
                .ToString();
    wf.resource_crn = b.crn;
    wf.caller = CallerToJson(env_.caller);
    wf.input = json{{"backupId", b.id}, {"sourceBackupId", cur.id}}.dump();
    wf.max_attempts = 2;
    wf.created_at = wf.updated_at = now;
    FillPendingBackup(b,
                      {cur.account_id, cur.workspace_id, cur.workspace_crn, cur.workspace_name,
                       cur.environment_id, cur.environment_name, cur.workspace_version},
                      name, CopyVaultName(cur.workspace_id, env->id), env_.caller.principal_crn,
                      wf.id, now);
    copy.backup_id = b.id;
    copy.account_id = cur.account_id;
    copy.source_backup_id = cur.id;
    copy.source_backup_crn = cur.crn;
    copy.environment_id = env->id;
    copy.environment_name = env->name;
    copy.vault_location = env->vault_location;
    copy.created_at = now;
    MLV_TRY(bs.Insert(b));
    MLV_TRY(catalog::BackupCopyStore(*env_.db).Insert(copy));
    b.status = catalog::BackupStatusOf(MLV_TRY(WorkflowStore(*env_.db).Insert(wf)));
    return bs.SetStatus(b.id, b.status, now);
  });
  Audit("ml:CopyBackup", st ? b.crn : r.backup_crn, st,
        st ? "copy of " + src.crn + " into environment " + env->name : "");
  MLV_TRY(st);
  api::CopyBackupResponse out{b.crn, src.crn, env->name, b.vault_name, env->vault_location,
                              wf.id, catalog::BackupStatusName(b.status)};
  auto done = MLV_TRY(Launch(wf.id, wait));
  if (done) {
    out.backup_status = catalog::BackupStatusName(MLV_TRY(bs.Get(b.account_id, b.id)).status);
    if (auto o = WorkflowOutcome(*done); !o)
      return std::unexpected(o.error().WithContext("backup copy " + b.crn));
  }
  return out;
}

}  // namespace mlvault::control
