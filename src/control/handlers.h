// The workflows of the control plane, as WorkflowHandlers:
//   backup           two-pass consistent backup of every volume of a workspace (see
//   control-plane.md) restore          provision a new workspace and restore every volume of a
//   backup into it delete_backup    remove a backup's recovery points and reclaim space in its
//   vault create_workspace provision a workspace and start its runtime
// Internal to the control layer.
#pragma once

#include <memory>
#include <string>

#include "catalog/control_stores.h"
#include "control/authorizer.h"
#include "control/workflow_engine.h"
#include "util/clock.h"
#include "workspace/provider.h"

namespace mlvault::control {

// What handlers need from the process they run in. Pointers must outlive the handlers.
struct HandlerEnv {
  std::string home;
  const util::Clock* clock = &util::Clock::System();
  workspace::Provider* provider = nullptr;
  Authorizer* authorizer = nullptr;    // for the audit records of workflow ends (may be null)
  double health_timeout_seconds = 60;  // how long a started runtime may take to be healthy
};

inline constexpr char kBackupKind[] = "backup";
inline constexpr char kRestoreKind[] = "restore";
inline constexpr char kDeleteBackupKind[] = "delete_backup";
inline constexpr char kCreateWorkspaceKind[] = "create_workspace";
inline constexpr char kRestoreItemsKind[] = "restore_items";  // items_workflow.cc (issue 16)
inline constexpr char kCopyBackupKind[] = "copy_backup";  // copy_backup_workflow.cc (plans)

// The queue key of everything that must not overlap on one workspace (its backups, its
// provisioning or restore).
std::string WorkspaceQueue(const std::string& workspace_id);
// Deletions of one vault's backups run one at a time (each ends with a GC).
std::string VaultGcQueue(const std::string& workspace_id);

HandlerFactory MakeHandlerFactory(const HandlerEnv& env);

// The newest workspace version this mlvault can restore (major.minor; any patch level).
inline constexpr int kRestorableMajor = 1;
inline constexpr int kRestorableMinor = 4;
// OK if a workspace of `version` ("1.4.0") can be restored by this mlvault; kInvalidArgument
// naming both versions otherwise. An empty version (unknown) is accepted.
util::Status CheckRestorableVersion(const std::string& version);

// The provider's view of a workspace record (parameters parsed for bind address and IP ranges).
workspace::WorkspaceSpec SpecOf(const catalog::WorkspaceRecord& ws);

// Caller <-> JSON, to remember who started a workflow.
std::string CallerToJson(const Caller& c);
Caller CallerFromJson(const std::string& json);

}  // namespace mlvault::control
