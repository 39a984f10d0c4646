#include "control/resource_authz.h"

#include "iam/catalog.h"
#include "workspace/parameters.h"

namespace mlvault::control {

AuthzRequest ActionRequest(std::string_view action, std::string resource) {
  AuthzRequest req{std::string(action), std::move(resource)};
  auto info = iam::FindAction(action);
  req.needs_backup_entitlement = info && info->needs_backup_entitlement;
  return req;
}

util::Error FieldError(const util::Error& error, std::string field) {
  return util::Error(error.code(), field + ": " + error.message(), field);
}

void AddWorkspaceContext(AuthzRequest& req, const catalog::WorkspaceRecord& ws) {
  req.context["ml:EnvironmentName"] = {ws.environment_name};
  req.context["ml:WorkspaceName"] = {ws.name};
  req.context["ml:WorkspaceCrn"] = {ws.crn};
  auto p = workspace::ParseWorkspaceParameters(ws.parameters, "", false);
  if (p)
    for (const auto& t : p->tags) req.context["ml:ResourceTag/" + t.key] = {t.value};
}

void AddBackupContext(AuthzRequest& req, const catalog::BackupRecord& b) {
  req.context["ml:EnvironmentName"] = {b.environment_name};
  req.context["ml:WorkspaceName"] = {b.workspace_name};
  req.context["ml:WorkspaceCrn"] = {b.workspace_crn};
  req.context["ml:BackupName"] = {b.name};
}

util::Result<WorkspaceTarget> LoadWorkspaceTarget(catalog::Db& db, const std::string& account_id,
                                                  std::string_view action,
                                                  std::string_view field,
                                                  const std::string& crn_text) {
  auto crn = workspace::ParseCrn(crn_text, workspace::kWorkspaceType);
  if (!crn) return std::unexpected(FieldError(crn.error(), std::string(field)));
  WorkspaceTarget t{crn_text, *crn, std::nullopt, ActionRequest(action, crn_text)};
  if (auto ws = catalog::WorkspaceStore(db).Get(account_id, crn->resource_id)) {
    t.record = std::move(*ws);
    AddWorkspaceContext(t.request, *t.record);
  }
  return t;
}

util::Result<BackupTarget> LoadBackupTarget(catalog::Db& db, const std::string& account_id,
                                            std::string_view action, std::string_view field,
                                            const std::string& crn_text) {
  auto crn = workspace::ParseCrn(crn_text, workspace::kBackupType);
  if (!crn) return std::unexpected(FieldError(crn.error(), std::string(field)));
  BackupTarget t{crn_text, *crn, std::nullopt, ActionRequest(action, crn_text)};
  if (auto b = catalog::BackupStore(db).Get(account_id, crn->resource_id)) {
    t.record = std::move(*b);
    AddBackupContext(t.request, *t.record);
  }
  return t;
}

}  // namespace mlvault::control
