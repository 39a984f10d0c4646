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

namespace mlvault::control {

namespace {
// OK -> true, kPermissionDenied -> false, anything else is an error.
util::Result<bool> Allowed(const util::Status& st) {
  if (st) return true;
  if (st.error().code() == util::ErrorCode::kPermissionDenied) return false;
  return std::unexpected(st.error());
}
}  // namespace

util::Result<ListFilter> ListFilter::Begin(Authorizer& authz, const Caller& caller,
                                           AuthzRequest all) {
  bool everything = MLV_TRY(Allowed(authz.Check(caller, all)));
  return ListFilter(authz, caller, std::move(all), everything);
}

AuthzRequest ListFilter::On(std::string crn) const {
  AuthzRequest req = all_;
  req.resource = std::move(crn);
  return req;
}

util::Result<bool> ListFilter::Sees(const AuthzRequest& request) {
  bool seen = everything_ || MLV_TRY(Allowed(authz_->Check(*caller_, request)));
  any_ = any_ || seen;
  return seen;
}

util::Status ListFilter::Finish() {
  if (everything_ || any_) return util::Ok();
  MLV_TRY(authz_->Authorize(*caller_, all_));
  // Allowed now although Check denied it a moment ago (a policy changed in between): the
  // caller may list "*".
  return util::Ok();
}

}  // namespace mlvault::control
