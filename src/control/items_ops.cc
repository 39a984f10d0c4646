// restoreWorkspaceItems (issue 16): single items of a backup (projects, models with builds and
// deployment, experiments, jobs, applications) into a running workspace, as a workflow
// (items_workflow.cc) that writes through the target runtime's API.
#include <nlohmann/json.hpp>
#include <set>

#include "control/handlers.h"
#include "control/iam_authorizer.h"
#include "control/inventory.h"
#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/resource_authz.h"
#include "util/random.h"

namespace mlvault::control {

util::Result<api::RestoreWorkspaceItemsResponse> Operations::RestoreWorkspaceItems(
    const api::RestoreWorkspaceItemsRequest& request, const Wait& wait) {
  api::RestoreWorkspaceItemsRequest r = request;
  r.backup_crn = MLV_TRY(BackupCrnOf("ml:RestoreWorkspaceItems", r.backup_crn, r.backup_name,
                                     r.workspace_crn, r.workspace_name, r.environment_name));
  r.target_workspace_crn = MLV_TRY(WorkspaceCrnOf(
      "ml:RestoreWorkspaceItems", r.target_workspace_crn, r.target_workspace_name,
      r.target_environment_name,
      {{"workspaceCrn", "targetWorkspaceCrn"}, {"workspaceName", "targetWorkspaceName"},
       {"environmentName", "targetEnvironmentName"}}));
  const std::string& account = env_.caller.account_id;
  auto b = MLV_TRY(LoadBackupTarget(*env_.db, account, "ml:RestoreWorkspaceItems", "backupCrn",
                                    r.backup_crn));
  auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, account, "ml:RestoreWorkspaceItems",
                                       "targetWorkspaceCrn", r.target_workspace_crn));
  std::string policy = r.conflict_policy.empty() ? "fail" : r.conflict_policy;
  if (policy != "fail" && policy != "rename" && policy != "overwrite")
    return util::InvalidField("conflictPolicy", "must be fail, rename or overwrite, got \"" +
                                                    policy.substr(0, 40) + "\"");
  if (r.items.empty())
    return util::InvalidField("items", "give at least one item, e.g. project:p1,model:churn");
  std::vector<ItemRef> items;
  std::set<std::string> seen;
  for (const auto& list : r.items) {
    // Accepted as a list and as one comma-separated value (--items a,b,c).
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string one = list.substr(start, comma == std::string::npos ? comma : comma - start);
      start = comma == std::string::npos ? list.size() + 1 : comma + 1;
      if (one.empty()) continue;
      ItemRef ref = MLV_TRY(ParseItemRef(one));
      if (!seen.insert(ref.type + ":" + ref.name).second)
        return util::InvalidField("items", "\"" + one + "\" is named twice");
      items.push_back(std::move(ref));
    }
  }
  // Authorised on the backup and on the target workspace (also-resource).
  AuthzRequest req = b.request;
  req.context[std::string(kAlsoResourceKey)] = {r.target_workspace_crn};
  MLV_TRY(Authorize(req));

  WorkflowRecord wf;
  util::Status st = [&]() -> util::Status {
    auto missing = [](std::string field, std::string what) {
      return std::unexpected(
          util::Error(util::ErrorCode::kNotFound, field + ": " + what + " does not exist", field));
    };
    if (!b.found()) return missing("backupCrn", "backup " + r.backup_crn);
    if (!t.found()) return missing("targetWorkspaceCrn", "workspace " + r.target_workspace_crn);
    if (b.record->status != catalog::BackupStatus::kSucceeded)
      return util::Conflict("backup " + r.backup_crn + " is " +
                            catalog::BackupStatusName(b.record->status) +
                            "; only succeeded backups can be restored");
    if (t.record->deleted_at || t.record->status != catalog::WorkspaceStatus::kRunning)
      return util::Conflict("targetWorkspaceCrn: workspace " + r.target_workspace_crn + " is " +
                            (t.record->deleted_at
                                 ? std::string("deleted")
                                 : catalog::WorkspaceStatusName(t.record->status)) +
                            "; items are restored into a running workspace");
    auto inv = MLV_TRY(EnsureInventory(*env_.db, env_.home, *b.record, env_.clock->Now()));
    for (const auto& item : items)
      if (auto found = FindItemInInventory(inv.document, item, r.backup_crn); !found)
        return std::unexpected(util::Error(found.error().code(),
                                           "items: " + found.error().message(), "items"));
    util::TimeMicros now = env_.clock->Now();
    json names = json::array();
    for (const auto& item : items) names.push_back(item.text);
    wf.id = util::NewUuid();
    wf.account_id = account;
    wf.kind = kRestoreItemsKind;
    wf.queue_key = WorkspaceQueue(t.record->id);  // not during a backup of the target
    wf.resource_crn = r.target_workspace_crn;
    wf.caller = CallerToJson(env_.caller);
    wf.input = json{{"backupId", b.record->id},
                    {"workspaceId", t.record->id},
                    {"items", names},
                    {"conflictPolicy", policy}}
                   .dump();
    wf.max_attempts = 1;  // a half-done attempt is not repeated blindly: its results say what is done
    wf.created_at = wf.updated_at = now;
    MLV_TRY(WorkflowStore(*env_.db).Insert(wf));
    return util::Ok();
  }();
  Audit("ml:RestoreWorkspaceItems", r.target_workspace_crn, st,
        st ? "restore items from backup " + r.backup_crn + " (workflow " + wf.id + ")" : "");
  MLV_TRY(st);
  api::RestoreWorkspaceItemsResponse out;
  out.workflow_id = wf.id;
  out.target_workspace_crn = r.target_workspace_crn;
  auto done = MLV_TRY(Launch(wf.id, wait));
  if (done) {
    out.status = catalog::WorkflowStatusName(done->status);
    json o = json::parse(done->output, nullptr, false);
    out.results.text = o.is_object() && o.contains("results") ? o["results"].dump() : "[]";
    MLV_TRY(WorkflowOutcome(*done));
  }
  return out;
}

}  // namespace mlvault::control
