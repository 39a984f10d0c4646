// The lifecycle statuses the control plane keeps in its catalog: one enum per resource, each with
// a Name/Parse pair (NameIn/ParseIn below build both from one table). The names are what the
// catalog columns hold and what the API answers (SPEC.md: users' scripts compare them), so they
// never change; code compares the enums.
//
// Thread-safe: pure functions over constants.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "sqlite/mapping.h"
#include "util/error.h"

namespace mlvault::catalog {

// The two halves of a Name/Parse pair over a table of (enum, name) pairs; `what` names the kind
// of status in Parse's error ("workflow status \"x\" is not one of queued, pending, ...").
template <typename E, size_t N>
std::string NameIn(const std::array<std::pair<E, const char*>, N>& names, E s) {
  for (const auto& [e, n] : names)
    if (e == s) return n;
  return "unknown";
}
template <typename E, size_t N>
util::Result<E> ParseIn(const std::array<std::pair<E, const char*>, N>& names,
                        std::string_view name, const char* what) {
  for (const auto& [e, n] : names)
    if (name == n) return e;
  std::string known;
  for (const auto& [e, n] : names) known += (known.empty() ? "" : ", ") + std::string(n);
  return util::InvalidArgument(std::string(what) + " status \"" + std::string(name) +
                               "\" is not one of " + known);
}

// workflows.status. A queued workflow waits for an older one of its queue; a pending one for a
// worker.
enum class WorkflowStatus { kQueued, kPending, kRunning, kSucceeded, kFailed, kCancelled };
// "queued", "pending", "running", "succeeded", "failed", "cancelled".
std::string WorkflowStatusName(WorkflowStatus s);
// Inverse of WorkflowStatusName; kInvalidArgument for anything else.
util::Result<WorkflowStatus> ParseWorkflowStatus(std::string_view name);
// succeeded, failed or cancelled.
bool IsTerminal(WorkflowStatus s);

// backups.status (backupStatus in SPEC.md): the backup's workflow statuses, then its deletion.
enum class BackupStatus {
  kQueued,
  kPending,
  kRunning,
  kSucceeded,
  kFailed,
  kCancelled,
  kDeleting,
  kDeleted,
};
// "queued", "pending", "running", "succeeded", "failed", "cancelled", "deleting", "deleted".
std::string BackupStatusName(BackupStatus s);
// Inverse of BackupStatusName; kInvalidArgument for anything else.
util::Result<BackupStatus> ParseBackupStatus(std::string_view name);
// The backup status that mirrors a workflow status (same name).
BackupStatus BackupStatusOf(WorkflowStatus s);
// queued, pending or running.
bool IsActive(BackupStatus s);

// workspaces.status: provisioning | restoring -> running <-> stopped; failed; deleting -> deleted.
enum class WorkspaceStatus {
  kProvisioning,
  kRestoring,
  kRunning,
  kStopped,
  kFailed,
  kDeleting,
  kDeleted,
};
// "provisioning", "restoring", "running", "stopped", "failed", "deleting", "deleted".
std::string WorkspaceStatusName(WorkspaceStatus s);
// Inverse of WorkspaceStatusName; kInvalidArgument for anything else.
util::Result<WorkspaceStatus> ParseWorkspaceStatus(std::string_view name);

// backup_plan_runs.status: running -> succeeded (every backup and expiry started) | partial
// (some) | failed (nothing started).
enum class PlanRunStatus { kRunning, kSucceeded, kPartial, kFailed };
// "running", "succeeded", "partial", "failed".
std::string PlanRunStatusName(PlanRunStatus s);
// Inverse of PlanRunStatusName; kInvalidArgument for anything else.
util::Result<PlanRunStatus> ParsePlanRunStatus(std::string_view name);

// restore_tests.status (a drill): running -> succeeded (every check passed) | failed.
enum class RestoreTestStatus { kRunning, kSucceeded, kFailed };
// "running", "succeeded", "failed".
std::string RestoreTestStatusName(RestoreTestStatus s);
// Inverse of RestoreTestStatusName; kInvalidArgument for anything else.
util::Result<RestoreTestStatus> ParseRestoreTestStatus(std::string_view name);

// How a status reads from / writes to a catalog column: its name. A column holding a name this
// build does not know (only a hand-edited catalog can) reads as `fallback` (the status that lets
// nothing proceed: failed).
template <typename E, std::string (*NameOf)(E), util::Result<E> (*ParseOf)(std::string_view),
          E kFallback>
struct StatusCodec {
  static sqlite::Value To(E v) { return NameOf(v); }
  static E From(const sqlite::Row& r, size_t i) {
    auto parsed = ParseOf(r.Text(i));
    return parsed ? *parsed : kFallback;
  }
};

}  // namespace mlvault::catalog

namespace mlvault::sqlite {
template <>
struct Codec<catalog::WorkflowStatus>
    : catalog::StatusCodec<catalog::WorkflowStatus, catalog::WorkflowStatusName,
                           catalog::ParseWorkflowStatus, catalog::WorkflowStatus::kFailed> {};
template <>
struct Codec<catalog::BackupStatus>
    : catalog::StatusCodec<catalog::BackupStatus, catalog::BackupStatusName,
                           catalog::ParseBackupStatus, catalog::BackupStatus::kFailed> {};
template <>
struct Codec<catalog::WorkspaceStatus>
    : catalog::StatusCodec<catalog::WorkspaceStatus, catalog::WorkspaceStatusName,
                           catalog::ParseWorkspaceStatus, catalog::WorkspaceStatus::kFailed> {};
template <>
struct Codec<catalog::PlanRunStatus>
    : catalog::StatusCodec<catalog::PlanRunStatus, catalog::PlanRunStatusName,
                           catalog::ParsePlanRunStatus, catalog::PlanRunStatus::kFailed> {};
template <>
struct Codec<catalog::RestoreTestStatus>
    : catalog::StatusCodec<catalog::RestoreTestStatus, catalog::RestoreTestStatusName,
                           catalog::ParseRestoreTestStatus, catalog::RestoreTestStatus::kFailed> {};
}  // namespace mlvault::sqlite
