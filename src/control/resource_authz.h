// Authorization as data: the one place where an operation's AuthzRequest is built. Each helper
// parses the resource's CRN (an error names the request field), loads the resource if it exists,
// and fills the request's condition keys (ml:EnvironmentName, ml:WorkspaceName, ml:WorkspaceCrn,
// ml:BackupName, ml:ResourceTag/<key>); whether the action needs the backup entitlement comes
// from the action catalog (iam::ActionInfo::needs_backup_entitlement), never from the caller.
//
// The resource is loaded but not yet revealed: operations authorise first and only then answer
// "not found", so a caller who may not see a resource cannot learn whether it exists.
// Internal to the control layer; not thread-safe (uses the Db it is given).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "catalog/control_stores.h"
#include "control/authorizer.h"
#include "util/error.h"
#include "workspace/crn.h"

namespace mlvault::control {

// {action, resource}, with needs_backup_entitlement from the action catalog.
AuthzRequest ActionRequest(std::string_view action, std::string resource);

// `error` as an error about request field `field`: "<field>: <message>".
util::Error FieldError(const util::Error& error, std::string field);

// The condition keys of a workspace (name, environment, CRN and its tags).
void AddWorkspaceContext(AuthzRequest& request, const catalog::WorkspaceRecord& ws);
// The condition keys of a backup (its workspace's name, environment and CRN, and its name).
void AddBackupContext(AuthzRequest& request, const catalog::BackupRecord& b);

struct WorkspaceTarget {
  std::string crn_text;  // as given
  workspace::Crn crn;
  std::optional<catalog::WorkspaceRecord> record;  // the workspace of that id, if any
  AuthzRequest request;                            // action on crn_text, with context
  // True if the workspace exists under exactly the given CRN.
  bool found() const { return record && record->crn == crn_text; }
};
// kInvalidArgument naming `field` for a malformed CRN or one of another resource type.
util::Result<WorkspaceTarget> LoadWorkspaceTarget(catalog::Db& db, const std::string& account_id,
                                                  std::string_view action,
                                                  std::string_view field,
                                                  const std::string& crn_text);

struct BackupTarget {
  std::string crn_text;
  workspace::Crn crn;
  std::optional<catalog::BackupRecord> record;
  AuthzRequest request;
  bool found() const { return record && record->crn == crn_text; }
};
util::Result<BackupTarget> LoadBackupTarget(catalog::Db& db, const std::string& account_id,
                                            std::string_view action, std::string_view field,
                                            const std::string& crn_text);

}  // namespace mlvault::control

namespace mlvault::control {

// Narrowing a listing to what the caller may see (docs/iam.md, "Listings"). A caller allowed
// the list action on "*" (with the listing's condition keys) sees everything, as before.
// Otherwise every resource is checked with the same action on its own CRN and condition keys
// (Authorizer::Check: no audit record), and the listing holds the ones allowed. A caller who
// may see none of them is denied as before: Finish returns the audited denial of "*", which
// names the action and why. Not thread-safe; the Authorizer must outlive it.
class ListFilter {
 public:
  // Decides `all` (the list action on "*"). Errors other than kPermissionDenied (the catalog's)
  // are returned.
  static util::Result<ListFilter> Begin(Authorizer& authz, const Caller& caller,
                                        AuthzRequest all);
  // True if the caller may list "*": every resource is visible (Sees need not be asked).
  bool everything() const { return everything_; }
  // The list request on `crn` (the listing's action and condition keys), to add the resource's
  // own condition keys to before asking Sees.
  AuthzRequest On(std::string crn) const;
  // Whether the caller may see the resource of `request` (made by On). Errors other than
  // kPermissionDenied are returned.
  util::Result<bool> Sees(const AuthzRequest& request);
  // After every resource was offered to Sees: OK if the caller may list "*" or saw at least
  // one; otherwise the denial of "*" (kPermissionDenied, written to the audit log).
  util::Status Finish();

 private:
  ListFilter(Authorizer& authz, const Caller& caller, AuthzRequest all, bool everything)
      : authz_(&authz), caller_(&caller), all_(std::move(all)), everything_(everything) {}
  Authorizer* authz_;
  const Caller* caller_;
  AuthzRequest all_;
  bool everything_;
  bool any_ = false;
};

}  // namespace mlvault::control
