#include "catalog/statuses.h"

namespace mlvault::catalog {
namespace {

constexpr std::array<std::pair<WorkflowStatus, const char*>, 6> kWorkflowNames{{
    {WorkflowStatus::kQueued, "queued"},
    {WorkflowStatus::kPending, "pending"},
    {WorkflowStatus::kRunning, "running"},
    {WorkflowStatus::kSucceeded, "succeeded"},
    {WorkflowStatus::kFailed, "failed"},
    {WorkflowStatus::kCancelled, "cancelled"},
}};

constexpr std::array<std::pair<BackupStatus, const char*>, 8> kBackupNames{{
    {BackupStatus::kQueued, "queued"},
    {BackupStatus::kPending, "pending"},
    {BackupStatus::kRunning, "running"},
    {BackupStatus::kSucceeded, "succeeded"},
    {BackupStatus::kFailed, "failed"},
    {BackupStatus::kCancelled, "cancelled"},
    {BackupStatus::kDeleting, "deleting"},
    {BackupStatus::kDeleted, "deleted"},
}};

constexpr std::array<std::pair<WorkspaceStatus, const char*>, 7> kWorkspaceNames{{
    {WorkspaceStatus::kProvisioning, "provisioning"},
    {WorkspaceStatus::kRestoring, "restoring"},
    {WorkspaceStatus::kRunning, "running"},
    {WorkspaceStatus::kStopped, "stopped"},
    {WorkspaceStatus::kFailed, "failed"},
    {WorkspaceStatus::kDeleting, "deleting"},
    {WorkspaceStatus::kDeleted, "deleted"},
}};

constexpr std::array<std::pair<PlanRunStatus, const char*>, 4> kPlanRunNames{{
    {PlanRunStatus::kRunning, "running"},
    {PlanRunStatus::kSucceeded, "succeeded"},
    {PlanRunStatus::kPartial, "partial"},
    {PlanRunStatus::kFailed, "failed"},
}};

constexpr std::array<std::pair<RestoreTestStatus, const char*>, 3> kRestoreTestNames{{
    {RestoreTestStatus::kRunning, "running"},
    {RestoreTestStatus::kSucceeded, "succeeded"},
    {RestoreTestStatus::kFailed, "failed"},
}};

}  // namespace

std::string WorkflowStatusName(WorkflowStatus s) { return NameIn(kWorkflowNames, s); }
util::Result<WorkflowStatus> ParseWorkflowStatus(std::string_view name) {
  return ParseIn(kWorkflowNames, name, "workflow");
}
bool IsTerminal(WorkflowStatus s) {
  return s == WorkflowStatus::kSucceeded || s == WorkflowStatus::kFailed ||
         s == WorkflowStatus::kCancelled;
}

std::string BackupStatusName(BackupStatus s) { return NameIn(kBackupNames, s); }
util::Result<BackupStatus> ParseBackupStatus(std::string_view name) {
  return ParseIn(kBackupNames, name, "backup");
}
BackupStatus BackupStatusOf(WorkflowStatus s) {
  switch (s) {
    case WorkflowStatus::kQueued:
      return BackupStatus::kQueued;
    case WorkflowStatus::kPending:
      return BackupStatus::kPending;
    case WorkflowStatus::kRunning:
      return BackupStatus::kRunning;
    case WorkflowStatus::kSucceeded:
      return BackupStatus::kSucceeded;
    case WorkflowStatus::kFailed:
      return BackupStatus::kFailed;
    case WorkflowStatus::kCancelled:
      return BackupStatus::kCancelled;
  }
  return BackupStatus::kFailed;
}
bool IsActive(BackupStatus s) {
  return s == BackupStatus::kQueued || s == BackupStatus::kPending || s == BackupStatus::kRunning;
}

std::string WorkspaceStatusName(WorkspaceStatus s) { return NameIn(kWorkspaceNames, s); }
util::Result<WorkspaceStatus> ParseWorkspaceStatus(std::string_view name) {
  return ParseIn(kWorkspaceNames, name, "workspace");
}

std::string PlanRunStatusName(PlanRunStatus s) { return NameIn(kPlanRunNames, s); }
util::Result<PlanRunStatus> ParsePlanRunStatus(std::string_view name) {
  return ParseIn(kPlanRunNames, name, "plan run");
}

std::string RestoreTestStatusName(RestoreTestStatus s) { return NameIn(kRestoreTestNames, s); }
util::Result<RestoreTestStatus> ParseRestoreTestStatus(std::string_view name) {
  return ParseIn(kRestoreTestNames, name, "restore test");
}

}  // namespace mlvault::catalog
