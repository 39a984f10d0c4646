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
