// Internal to control/'s operations and workflows (the *_ops.cc and *_workflow.cc files and
// handlers.cc): the catalog's record and store names they use unqualified, and nlohmann::json as
// `json`, named once here instead of at the top of each file; and the helpers they share.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "catalog/control_stores.h"
#include "util/clock.h"
#include "util/error.h"

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

// The workspace a new backup record belongs to (a copy of a backup keeps its source's).
struct BackupWorkspace {
  std::string account_id;
  std::string workspace_id;
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_id;
  std::string environment_name;
  std::string workspace_version;
};

// Fills the fields every new backup record (backupWorkspace, copyBackup) sets alike: its
// workspace, name, vault, creator, workflow, creation time and status pending. The caller sets
// id, crn and what is particular to it (timeout_minutes).
inline void FillPendingBackup(BackupRecord& b, const BackupWorkspace& of, const std::string& name,
                              const std::string& vault_name, const std::string& creator_crn,
                              const std::string& workflow_id, util::TimeMicros now) {
  b.account_id = of.account_id;
  b.name = name;
  b.workspace_id = of.workspace_id;
  b.workspace_crn = of.workspace_crn;
  b.workspace_name = of.workspace_name;
  b.environment_id = of.environment_id;
  b.environment_name = of.environment_name;
  b.vault_name = vault_name;
  b.creator_crn = creator_crn;
  b.workspace_version = of.workspace_version;
  b.workflow_id = workflow_id;
  b.created_at = now;
  b.status = catalog::BackupStatus::kPending;
}

// The workspace's status, endpoint and domain as they are now, into the response of the
// operation that provisioned it (createWorkspace, restoreWorkspace) once its workflow finished.
// Errors of WorkspaceStore::Get.
template <typename Response>
util::Status ReadProvisionedWorkspace(catalog::Db& db, const WorkspaceRecord& ws, Response& out) {
  WorkspaceRecord now_ws = MLV_TRY(WorkspaceStore(db).Get(ws.account_id, ws.id));
  out.status = catalog::WorkspaceStatusName(now_ws.status);
  out.endpoint = now_ws.endpoint;
  out.domain = now_ws.domain;
  return util::Ok();
}

}  // namespace mlvault::control
