// Names instead of CRNs: the workspace a request names by workspaceName + environmentName, the
// backup it names by backupName + its workspace (by CRN or by name), resolved here in the
// control layer so the embedded CLI and a server give the same answers.
//
// A name that matches nothing is authorised first (the action on "*" with the names as
// condition keys) and only then answered "not found", so a caller who may not act there cannot
// learn whether it exists. A name that matches several resources is an error listing them, once
// the caller has shown it may act on the first.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"

namespace mlvault::control {

namespace {

// "give either workspaceCrn, or workspaceName with environmentName (not both)" checks.
util::Status CheckWorkspaceNaming(const std::string& crn, const std::string& name,
                                  const std::string& env) {
  bool by_name = !name.empty() || !env.empty();
  if (!crn.empty() && by_name)
    return util::InvalidField("workspaceCrn",
                              "give either workspaceCrn, or workspaceName with "
                              "environmentName (not both)");
  if (crn.empty() && !by_name)
    return util::InvalidField("workspaceCrn",
                              "give workspaceCrn, or workspaceName with "
                              "environmentName");
  if (by_name && name.empty())
    return util::InvalidField("workspaceName",
                              "is required with environmentName");
  if (by_name && env.empty())
    return util::InvalidField("environmentName",
                              "is required with workspaceName");
  return util::Ok();
}

// The error with each field name `from` (a whole camelCase word) replaced by `to`.
util::Error Renamed(const util::Error& e,
                    const std::vector<std::pair<std::string, std::string>>& renames) {
  std::string message = e.message(), field = e.field();
  for (const auto& [from, to] : renames) {
    for (size_t at = 0; (at = message.find(from, at)) != std::string::npos;) {
      bool word = (at == 0 || !std::isalpha(static_cast<unsigned char>(message[at - 1]))) &&
                  (at + from.size() == message.size() ||
                   !std::isalpha(static_cast<unsigned char>(message[at + from.size()])));
      if (!word) {
        at += from.size();
        continue;
      }
      message.replace(at, from.size(), to);
      at += to.size();
    }
    if (field == from) field = to;
  }
  return util::Error(e.code(), message, field);
}

}  // namespace

util::Result<std::string> Operations::WorkspaceCrnOf(std::string_view action,
                                                     const std::string& crn,
                                                     const std::string& name,
                                                     const std::string& environment,
                                                     const FieldRenames& renames) {
  auto r = WorkspaceCrnOf(action, crn, name, environment);
  if (!r) return std::unexpected(Renamed(r.error(), renames));
  return r;
}

util::Result<std::string> Operations::BackupCrnOf(std::string_view action, const std::string& crn,
                                                  const std::string& backup_name,
                                                  const std::string& workspace_crn,
                                                  const std::string& workspace_name,
                                                  const std::string& environment,
                                                  const FieldRenames& renames) {
  auto r = BackupCrnOf(action, crn, backup_name, workspace_crn, workspace_name, environment);
  if (!r) return std::unexpected(Renamed(r.error(), renames));
  return r;
}

util::Result<std::string> Operations::WorkspaceCrnOf(std::string_view action,
                                                     const std::string& crn,
                                                     const std::string& name,
                                                     const std::string& environment) {
  MLV_TRY(CheckWorkspaceNaming(crn, name, environment));
  if (!crn.empty()) return crn;
  const std::string& account = env_.caller.account_id;
  std::vector<WorkspaceRecord> live, deleted;
  if (EnvironmentStore(*env_.db).GetByName(account, environment)) {
    for (auto& w : MLV_TRY(WorkspaceStore(*env_.db).List(account, /*include_deleted=*/true)))
      if (w.environment_name == environment && w.name == name)
        (w.deleted_at ? deleted : live).push_back(std::move(w));
  }
  // The live workspace of that name; a deleted one only when no other had it.
  std::vector<WorkspaceRecord>& found = live.empty() ? deleted : live;
  if (found.size() == 1) return found.front().crn;
  AuthzRequest req = ActionRequest(action, found.empty() ? "*" : found.front().crn);
  if (!found.empty()) AddWorkspaceContext(req, found.front());
  req.context["ml:EnvironmentName"] = {environment};
  req.context["ml:WorkspaceName"] = {name};
  MLV_TRY(Authorize(req));
  if (found.empty())
    return std::unexpected(util::Error(util::ErrorCode::kNotFound,
                                       "workspaceName: no workspace named \"" + name +
                                           "\" in environment \"" + environment + "\"",
                                       "workspaceName"));
  std::string list;
  for (const auto& w : found)
    list += "\n  " + w.crn + (w.deleted_at ? " (deleted " + Time(*w.deleted_at) + ")" : "");
  return util::InvalidField("workspaceName", "\"" + name + "\" names " +
                                                 std::to_string(found.size()) +
                                                 " workspaces; give workspaceCrn, one of:" + list);
}

util::Result<std::string> Operations::BackupCrnOf(std::string_view action,
                                                  const std::string& crn,
                                                  const std::string& backup_name,
                                                  const std::string& workspace_crn,
                                                  const std::string& workspace_name,
                                                  const std::string& environment) {
  bool by_name = !backup_name.empty() || !workspace_crn.empty() || !workspace_name.empty() ||
                 !environment.empty();
  if (!crn.empty() && by_name)
    return util::InvalidField("backupCrn",
                              "give either backupCrn, or backupName with its workspace "
                              "(not both)");
  if (!crn.empty()) return crn;
  if (backup_name.empty())
    return util::InvalidField(
        by_name ? "backupName" : "backupCrn",
        by_name ? "is required to name a backup by its workspace"
                : "give backupCrn, or backupName with workspaceCrn or "
                               "workspaceName and environmentName");
  if (workspace_crn.empty() && workspace_name.empty() && environment.empty())
    return util::InvalidField("workspaceCrn",
                              "backupName needs its workspace: give workspaceCrn, "
                              "or workspaceName with environmentName");
  MLV_TRY(CheckWorkspaceNaming(workspace_crn, workspace_name, environment));
  const std::string& account = env_.caller.account_id;
  BackupStore bs(*env_.db);
  std::vector<BackupRecord> candidates;
  if (!workspace_crn.empty()) {
    auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, account, action, "workspaceCrn",
                                         workspace_crn));
    if (t.found()) candidates = MLV_TRY(bs.ListByWorkspace(account, t.record->id));
  } else if (EnvironmentStore(*env_.db).GetByName(account, environment)) {
    // Also the backups of deleted workspaces of that name: they stay restorable.
    candidates = MLV_TRY(bs.ListByWorkspaceName(account, environment, workspace_name));
  }
  std::vector<BackupRecord> live, deleted;
  for (auto& b : candidates)
    if (b.name == backup_name)
      (b.status == catalog::BackupStatus::kDeleted ? deleted : live).push_back(std::move(b));
  std::vector<BackupRecord>& found = live.empty() ? deleted : live;
  if (found.size() == 1) return found.front().crn;
  AuthzRequest req = ActionRequest(action, found.empty() ? "*" : found.front().crn);
  if (!found.empty()) AddBackupContext(req, found.front());
  if (!workspace_name.empty()) {
    req.context["ml:EnvironmentName"] = {environment};
    req.context["ml:WorkspaceName"] = {workspace_name};
  }
  if (!workspace_crn.empty()) req.context["ml:WorkspaceCrn"] = {workspace_crn};
  req.context["ml:BackupName"] = {backup_name};
  MLV_TRY(Authorize(req));
  std::string of = !workspace_crn.empty()
                       ? "workspace " + workspace_crn
                       : "workspace \"" + workspace_name + "\" of environment \"" + environment +
                             "\"";
  if (found.empty())
    return std::unexpected(util::Error(util::ErrorCode::kNotFound,
                                       "backupName: no backup named \"" + backup_name +
                                           "\" in " + of,
                                       "backupName"));
  std::string list;
  for (const auto& b : found)
    list += "\n  " + b.crn + " (" + catalog::BackupStatusName(b.status) + ", created " +
            Time(b.created_at) + ")";
  return util::InvalidField("backupName", "\"" + backup_name + "\" names " +
                                              std::to_string(found.size()) + " backups in " + of +
                                              "; give backupCrn, one of:" + list);
}

}  // namespace mlvault::control

namespace mlvault::control {

// The restore input may name its backup as "backupName" with "sourceWorkspaceName" +
// "sourceEnvironmentName" (or "sourceWorkspaceCrn") instead of "backupCrn": they are replaced by
// the CRN they name. Errors name the restore input's own fields.
util::Result<std::string> Operations::RestoreInputByCrn(const std::string& document) {
  nlohmann::json doc = nlohmann::json::parse(document, nullptr, false);
  static const FieldRenames kFields = {
      {"workspaceCrn", "sourceWorkspaceCrn"},
      {"workspaceName", "sourceWorkspaceName"},
      {"environmentName", "sourceEnvironmentName"}};
  if (!doc.is_object() ||
      (!doc.contains("backupName") && !doc.contains("sourceWorkspaceCrn") &&
       !doc.contains("sourceWorkspaceName") && !doc.contains("sourceEnvironmentName")))
    return document;
  auto text = [&](const char* key) -> util::Result<std::string> {
    if (!doc.contains(key)) return std::string();
    if (!doc[key].is_string()) return util::InvalidField(key, "must be a string");
    std::string v = doc[key].get<std::string>();
    doc.erase(key);
    return v;
  };
  std::string crn = MLV_TRY(text("backupCrn")), name = MLV_TRY(text("backupName")),
              ws_crn = MLV_TRY(text("sourceWorkspaceCrn")),
              ws_name = MLV_TRY(text("sourceWorkspaceName")),
              env = MLV_TRY(text("sourceEnvironmentName"));
  std::string resolved = MLV_TRY(BackupCrnOf("ml:RestoreWorkspace", crn, name, ws_crn, ws_name,
                                             env, kFields));
  doc["backupCrn"] = resolved;
  return doc.dump();
}

}  // namespace mlvault::control
