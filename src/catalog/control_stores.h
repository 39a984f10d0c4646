// The control plane's stores: typed access to the tables of ControlMigrations().
//
// Each store is a thin object over a Db (which must outlive it) and speaks portable SQL only.
// Like the Db they are NOT thread-safe. Every method is one statement, or one transaction when
// it reads and writes (so concurrent mlvault processes never lose an update). Lookups scoped by
// account never return another account's rows.
//
// Errors: kNotFound naming the thing that is missing; kConflict for a name that is taken
// (message names it); kUnavailable when the catalog stayed locked; kInternal for bugs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/db.h"
#include "catalog/statuses.h"
#include "util/clock.h"
#include "util/progress.h"

namespace mlvault::catalog {

using util::TimeMicros;

// ---------------------------------------------------------------------------------------------
struct EnvironmentRecord {
  std::string id;
  std::string account_id;
  std::string crn;
  std::string name;
  std::string region;
  std::string storage_root;
  std::string created_by;  // principal CRN
  TimeMicros created_at = 0;
  std::string vault_location;  // "" : <home>/vaults; else e.g. s3://bucket/prefix (control/vaults.h)
};

class EnvironmentStore {
 public:
  explicit EnvironmentStore(Db& db) : db_(db) {}
  // kConflict if the account already has an environment of that name.
  util::Status Insert(const EnvironmentRecord& env);
  util::Result<EnvironmentRecord> GetByName(const std::string& account_id, const std::string& name);
  util::Result<EnvironmentRecord> GetById(const std::string& account_id, const std::string& id);
  // Oldest first.
  util::Result<std::vector<EnvironmentRecord>> List(const std::string& account_id);

 private:
  Db& db_;
};

// ---------------------------------------------------------------------------------------------
// Workspace lifecycle: provisioning | restoring -> running <-> stopped; failed; deleting ->
// deleted.
struct WorkspaceRecord {
  std::string id;
  std::string account_id;
  std::string crn;
  std::string name;
  std::string environment_id;
  std::string environment_name;  // joined from environments (read only)
  std::string environment_root;  // joined from environments (read only)
  WorkspaceStatus status = WorkspaceStatus::kProvisioning;
  std::string status_reason;
  std::string version;
  std::string domain;
  std::string endpoint;
  int64_t runtime_pid = 0;
  std::string parameters;  // newWorkspaceParameters JSON
  std::string api_key;
  std::string control_key;
  bool is_restored = false;
  std::optional<std::string> restored_from_backup_crn;
  std::string created_by;
  TimeMicros created_at = 0;
  TimeMicros updated_at = 0;
  std::optional<TimeMicros> deleted_at;
};

class WorkspaceStore {
 public:
  explicit WorkspaceStore(Db& db) : db_(db) {}
  // kConflict if a live workspace of that name exists in the environment.
  util::Status Insert(const WorkspaceRecord& ws);
  // Deleted workspaces are returned too (check deleted_at).
  util::Result<WorkspaceRecord> Get(const std::string& account_id, const std::string& id);
  // Live workspaces (not deleted), oldest first; all of them with include_deleted.
  util::Result<std::vector<WorkspaceRecord>> List(const std::string& account_id,
                                                  bool include_deleted = false);
  // Every live workspace of every account (for recovery and shutdown tooling).
  util::Result<std::vector<WorkspaceRecord>> ListAllLive();
  // The live workspace of that name in the environment; kNotFound otherwise.
  util::Result<WorkspaceRecord> FindLiveByName(const std::string& account_id,
                                               const std::string& environment_id,
                                               const std::string& name);
  util::Status SetStatus(const std::string& id, WorkspaceStatus status, const std::string& reason,
                         TimeMicros now);
  // Records a started runtime (status "running").
  util::Status SetRuntime(const std::string& id, int64_t pid, const std::string& endpoint,
                          const std::string& version, TimeMicros now);
  // Records a runtime that was started but is not confirmed healthy yet (status unchanged).
  util::Status RecordRuntime(const std::string& id, int64_t pid, const std::string& endpoint,
                             const std::string& version, TimeMicros now);
  util::Status MarkDeleted(const std::string& id, TimeMicros now);
  // A provisioning or restore that failed: status "failed" with the reason, and the name freed.
  util::Status MarkFailed(const std::string& id, const std::string& reason, TimeMicros now);

 private:
  Db& db_;
};

// ---------------------------------------------------------------------------------------------
// backupStatus: queued | pending | running | succeeded | failed | cancelled | deleting | deleted
struct BackupRecord {
  std::string id;
  std::string account_id;
  std::string crn;
  std::string name;
  std::string workspace_id;
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_id;
  std::string environment_name;
  std::string vault_name;
  BackupStatus status = BackupStatus::kPending;
  std::string creator_crn;
  std::string workspace_version;
  std::string workflow_id;
  std::optional<std::string> delete_workflow_id;
  std::optional<int64_t> timeout_minutes;
  TimeMicros created_at = 0;
  std::optional<TimeMicros> started_at;
  std::optional<TimeMicros> finished_at;
  std::optional<int64_t> quiesced_micros;
  int64_t bytes_total = 0;
  int64_t files_total = 0;
  int64_t bytes_stored = 0;
  std::string details = "{}";   // JSON: passes, timings
  std::string warnings = "[]";  // JSON array of strings
  std::string error;
  std::optional<TimeMicros> deleted_at;
};

struct RecoveryPointRecord {
  std::string backup_id;
  std::string volume;  // "projects", "models", "metadata"
  std::string kind;    // "filesystem" | "block"
  std::string vault_point_id;
  std::string source_path;
  int64_t bytes_total = 0;
  int64_t files = 0;
  int64_t dirs = 0;
  int64_t bytes_read = 0;
  int64_t bytes_new = 0;
  int64_t bytes_stored = 0;
  int64_t files_unchanged = 0;
  int64_t duration_micros = 0;
  TimeMicros created_at = 0;
};

// What a finished backup writes back, in one transaction with its recovery points.
struct BackupOutcome {
  BackupStatus status = BackupStatus::kSucceeded;  // succeeded | failed | cancelled
  std::string workspace_version;
  std::optional<int64_t> quiesced_micros;
  int64_t bytes_total = 0;
  int64_t files_total = 0;
  int64_t bytes_stored = 0;
  std::string details = "{}";
  std::string warnings = "[]";
  std::string error;
  std::vector<RecoveryPointRecord> recovery_points;  // only for succeeded
};

class BackupStore {
 public:
  explicit BackupStore(Db& db) : db_(db) {}
  // kConflict if the workspace already has a (not deleted) backup of that name.
  util::Status Insert(const BackupRecord& b);
  util::Result<BackupRecord> Get(const std::string& account_id, const std::string& id);
  // Newest first (created_at descending, then id). With `page`: at most page->limit backups,
  // those after the one whose (created_at, id) is page->after (keyset paging: an index seek).
  struct Page {
    std::optional<std::pair<TimeMicros, std::string>> after;
    int64_t limit = 0;
    // false: deleted backups are left out by the query itself, so a page holds `limit` of the
    // others when there are that many.
    bool include_deleted = true;
  };
  util::Result<std::vector<BackupRecord>> ListByWorkspace(const std::string& account_id,
                                                          const std::string& workspace_id,
                                                          const Page* page = nullptr);
  // Every backup of every workspace (live or deleted) that had this name in this environment.
  util::Result<std::vector<BackupRecord>> ListByWorkspaceName(const std::string& account_id,
                                                              const std::string& environment_name,
                                                              const std::string& workspace_name,
                                                              const Page* page = nullptr);
  // The newest succeeded backup of the workspace, if any.
  util::Result<std::optional<BackupRecord>> LatestSucceeded(const std::string& workspace_id);
  util::Status SetStatus(const std::string& id, BackupStatus status, TimeMicros now);
  util::Status SetStarted(const std::string& id, TimeMicros now);
  util::Status Finish(const std::string& id, const BackupOutcome& outcome, TimeMicros now);
  util::Status SetDeleting(const std::string& id, const std::string& delete_workflow_id);
  util::Status MarkDeleted(const std::string& id, TimeMicros now);
  // Records an error on a backup whose deletion failed (status failed, recovery points kept
  // listed so a retry can finish the job).
  util::Status MarkDeleteFailed(const std::string& id, const std::string& error);
  util::Result<std::vector<RecoveryPointRecord>> RecoveryPoints(const std::string& backup_id);

 private:
  Db& db_;
};

// ---------------------------------------------------------------------------------------------
// Workflows: durable long-running operations. Status: queued | pending | running | succeeded |
// failed | cancelled. Workflows sharing a non-empty queue_key run one at a time, oldest first.
// A running workflow is owned by the worker holding its lease (lease_owner, lease_expires_at);
// the worker renews the lease while it works, so a dead worker is detected when it expires.
struct WorkflowRecord {
  std::string id;
  std::string account_id;
  std::string kind;  // backup | restore | delete_backup | create_workspace
  WorkflowStatus status = WorkflowStatus::kPending;
  std::string queue_key;
  std::string resource_crn;
  std::string caller;  // JSON of the Caller that started it
  std::string input;   // JSON
  std::string output = "{}";
  std::string phase;
  int64_t bytes_done = 0;
  int64_t bytes_total = 0;
  int64_t files_done = 0;
  int64_t files_total = 0;
  std::string warnings = "[]";
  std::string error_code;
  std::string error_message;
  int64_t attempts = 0;
  int64_t max_attempts = 1;
  int64_t timeout_seconds = 0;  // 0: none; counted from started_at
  std::string lease_owner;
  TimeMicros lease_expires_at = 0;
  bool cancel_requested = false;
  std::string cancel_reason;
  TimeMicros created_at = 0;
  TimeMicros updated_at = 0;
  std::optional<TimeMicros> started_at;
  std::optional<TimeMicros> finished_at;

  bool terminal() const { return IsTerminal(status); }
};

enum class ClaimOutcome {
  kClaimed,       // status is now running, the lease is ours
  kWaiting,       // another workflow of the queue goes first; we hold the waiting lease
  kOwnedByOther,  // another live worker holds the lease
  kFinished,      // terminal already
};

// What a heartbeat learned.
struct HeartbeatResult {
  bool cancel_requested = false;
  std::string cancel_reason;
};

class WorkflowStore {
 public:
  explicit WorkflowStore(Db& db) : db_(db) {}
  // Inserts with status "queued" if another active workflow has the same queue key, else
  // "pending"; returns the status chosen.
  util::Result<WorkflowStatus> Insert(const WorkflowRecord& w);
  // kNotFound if unknown. account_id empty: any account (workers).
  util::Result<WorkflowRecord> Get(const std::string& account_id, const std::string& id);
  // Tries to take the workflow for `owner` (see ClaimOutcome). One transaction.
  util::Result<ClaimOutcome> Claim(const std::string& id, const std::string& owner, TimeMicros now,
                                   int64_t lease_micros);
  // Renews the lease and stores progress. kConflict if the lease is no longer ours (another
  // process took the workflow over).
  util::Result<HeartbeatResult> Heartbeat(const std::string& id, const std::string& owner,
                                          TimeMicros now, int64_t lease_micros,
                                          const util::ProgressSnapshot* progress);
  util::Status SetPhase(const std::string& id, const std::string& owner, const std::string& phase,
                        TimeMicros now);
  util::Status AddWarning(const std::string& id, const std::string& warnings_json, TimeMicros now);
  // Ends the workflow (status succeeded | failed | cancelled), releasing the lease. kConflict
  // if the lease is not ours (owner empty: end it regardless, for recovery and cancel).
  util::Status Finish(const std::string& id, const std::string& owner, WorkflowStatus status,
                      const std::string& output, const std::string& warnings_json,
                      const std::string& error_code, const std::string& error_message,
                      TimeMicros now);
  // Requests cancellation. Not started yet (queued/pending): ends it as cancelled at once and
  // returns true. Running: flags it for its worker and returns false.
  util::Result<bool> RequestCancel(const std::string& id, const std::string& reason,
                                   TimeMicros now);
  // Active workflows (queued, pending, running), oldest first.
  util::Result<std::vector<WorkflowRecord>> ListActive();
  // Active workflows with this queue key.
  util::Result<std::vector<WorkflowRecord>> ListActiveInQueue(const std::string& queue_key);
  // Takes a stale workflow over for recovery if it still has the lease we saw (compare-and-set):
  // sets lease_owner = new_owner until now + lease_micros. Returns false if someone else got there.
  util::Result<bool> TakeOver(const WorkflowRecord& seen, const std::string& new_owner,
                              TimeMicros now, int64_t lease_micros);
  // After a takeover: back to "pending" (to be resumed by a new worker) with warnings, lease
  // released.
  util::Status Requeue(const std::string& id, const std::string& owner,
                       const std::string& warnings_json, TimeMicros now);

 private:
  Db& db_;
};

}  // namespace mlvault::catalog
