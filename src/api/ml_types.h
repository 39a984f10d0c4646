// The typed requests and responses of the `ml` and `environments` services (SPEC.md section 2):
// one struct per operation's request and response, plain values with no behaviour. Their JSON
// mapping (camelCase keys, exactly what the CLI prints) is api/json_mapping.h; the operation
// catalog is api/operations.h. Field names are the snake_case of the JSON keys.
//
// Depends on util only, so control/ can take and return these types. Thread-safe as values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/paging.h"

namespace mlvault::api {

// A JSON document the catalog keeps whole (a backup's timings, a workflow's warnings and
// output), passed through as its text. Empty or unparsable text encodes as the default given by
// the field's comment.
struct RawJson {
  std::string text;
};

struct ErrorInfo {
  std::string code;  // util::CodeName of the failure
  std::string message;
};

// ------------------------------------------------------------------------------ environments

struct Environment {
  std::string crn;
  std::string name;
  std::string region;
  std::string storage_root;
  std::string vault_location;  // "" : the local vaults folder of the control plane
  std::string created_at;
  std::optional<int64_t> workspace_count;  // in listEnvironments only
};

struct CreateEnvironmentRequest {
  std::string environment_name;  // required
  std::string storage_root;      // default $MLVAULT_HOME/environments/<name>
  std::string region;            // default us-west-1
  std::string vault_location;    // default: $MLVAULT_HOME/vaults; or s3://bucket[/prefix]
  // [btrfs snapshots] "auto" (default: btrfs subvolumes where the storage root is on btrfs,
  // else folders), "btrfs" (required; refused if the root is not on btrfs) or "folders".
  std::string storage_kind;
};
struct CreateEnvironmentResponse {
  Environment environment;
};

struct ListEnvironmentsRequest {};
struct ListEnvironmentsResponse {
  std::vector<Environment> environments;
};

// ------------------------------------------------------------------------------ workspaces

// The request is the create input document itself: newWorkspaceParameters, or
// {"newWorkspaceParameters": {...}}. workspace::ParseCreateWorkspaceInput validates it and names
// the bad field by its path.
struct CreateWorkspaceRequest {
  std::string document;  // JSON text
};
struct CreateWorkspaceResponse {
  std::string workspace_crn;
  std::string workflow_id;
  std::optional<std::string> status;  // after a waited run
  std::optional<std::string> endpoint;  // after a waited run: where the workspace answers
  std::optional<std::string> domain;    // after a waited run
};

struct ListWorkspacesRequest {
  std::string environment_name;  // empty: all
  PageRequest page;              // api/paging.h
  bool include_deleted = false;  // also deleted workspaces
};
struct WorkspaceSummary {
  std::string crn;
  std::string name;
  std::string environment_name;
  std::string status;
  std::string endpoint;
  std::string domain;
  bool is_restored = false;
  std::string created_at;
  std::optional<std::string> deleted_at;  // omitted unless deleted (includeDeleted)
};
struct ListWorkspacesResponse {
  std::vector<WorkspaceSummary> workspaces;
  std::string next_token;  // "" : this was the last page
};

struct Tag {
  std::string key;
  std::string value;
};
struct Volume {
  std::string name;
  std::string kind;  // "filesystem" | "block"
  std::string path;
};
struct BackupMetadata {
  std::string vault_name;
  int64_t backup_count = 0;
  std::optional<std::string> last_backup_crn;  // null when there is none
  std::optional<std::string> last_backup_name;
  std::optional<std::string> last_backup_status;
  std::optional<std::string> last_backup_at;
  std::optional<std::string> last_succeeded_backup_crn;
  std::optional<std::string> last_succeeded_backup_at;
};
struct Workspace {
  std::string crn;
  std::string name;
  std::string environment_name;
  std::string status;
  std::optional<std::string> status_reason;  // omitted when empty
  std::string version;
  std::string domain;
  std::string endpoint;
  bool is_restored = false;
  std::optional<std::string> restored_from_backup_crn;        // null
  std::optional<std::string> restored_from_environment_name;  // omitted
  std::string created_at;
  std::optional<std::string> deleted_at;  // omitted
  std::vector<Tag> tags;
  std::vector<Volume> volumes;
  BackupMetadata backup_metadata;
};

struct DescribeWorkspaceRequest {
  std::string workspace_crn;
  // Or by name (control resolves them; an ambiguous name is an error listing the CRNs).
  std::string workspace_name;
  std::string environment_name;
};
struct DescribeWorkspaceResponse {
  Workspace workspace;
};

struct DeleteWorkspaceRequest {
  std::string workspace_crn;
  // Or by name (control resolves them; an ambiguous name is an error listing the CRNs).
  std::string workspace_name;
  std::string environment_name;
};
struct DeleteWorkspaceResponse {
  std::string workspace_crn;
  std::string status;  // "deleted"
};

struct GetWorkspaceApiKeyRequest {
  std::string workspace_crn;
  // Or by name (control resolves them; an ambiguous name is an error listing the CRNs).
  std::string workspace_name;
  std::string environment_name;
};
struct GetWorkspaceApiKeyResponse {
  std::string api_key;
};

// ------------------------------------------------------------------------------ backups

struct BackupWorkspaceRequest {
  std::string workspace_crn;
  std::string backup_name;
  std::optional<int64_t> backup_job_timeout_minutes;
  std::string workspace_name;    // or the workspace by name, with environment_name
  std::string environment_name;
};
struct BackupWorkspaceResponse {
  std::string backup_crn;
  std::string vault_name;
  std::string workflow_id;
  std::string backup_status;
};

// By CRN, or by workspace name + environment name.
struct ListWorkspaceBackupsRequest {
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
  PageRequest page;  // api/paging.h
  bool include_deleted = false;  // also backups whose status is "deleted"
};
// Backup copies (copy-backup, docs/plans.md): where a copy's recovery points are kept.
struct BackupCopyInfo {
  std::string backup_crn;        // the copy
  std::string backup_status;     // the copy's
  std::string environment_name;  // the environment whose vault location holds it
  std::string vault_name;
  std::string vault_location;  // "" : the mlvault home
};
struct BackupSummary {
  std::string backup_crn;
  std::string backup_name;
  std::string created_at;
  std::string creator_crn;
  std::string workspace_version_at_backup;
  std::string backup_status;
  // Backup copies: a copy names the backup it copies and where it is kept ("copyOf",
  // "copyLocation"); a backup that was copied lists its copies ("copies"). Absent otherwise.
  std::optional<std::string> copy_of;
  std::optional<BackupCopyInfo> copy_location;
  std::vector<BackupCopyInfo> copies;
};
struct ListWorkspaceBackupsResponse {
  std::vector<BackupSummary> backups;
  std::string next_token;  // "" : this was the last page
};

struct RecoveryPoint {
  std::string volume;
  std::string kind;
  std::string recovery_point_id;
  std::string source_path;
  int64_t bytes_total = 0;
  int64_t files = 0;
  int64_t dirs = 0;
  // Bytes read from the volume by every pass of the backup (the prepass and the consistent
  // pass): larger than bytes_total when a file was read twice. JSON "bytesReadAllPasses".
  int64_t bytes_read = 0;
  int64_t bytes_new = 0;
  int64_t bytes_stored = 0;
  int64_t files_unchanged = 0;
  double duration_seconds = 0;
};
struct Progress {
  std::string phase;
  int64_t bytes_done = 0;
  int64_t bytes_total = 0;
  int64_t files_done = 0;
  int64_t files_total = 0;
  std::optional<double> percent;  // null when unknown
};
struct BackupSizes {
  int64_t bytes_total = 0;
  int64_t files_total = 0;
  int64_t bytes_stored = 0;
};
struct Backup : BackupSummary {
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
  std::string vault_name;
  std::string workflow_id;
  std::optional<std::string> started_at;  // null
  std::optional<std::string> finished_at;
  std::optional<double> quiesced_seconds;
  std::optional<double> duration_seconds;
  std::optional<int64_t> timeout_minutes;
  BackupSizes sizes;
  std::vector<RecoveryPoint> recovery_points;
  RawJson timings;                    // default {}
  std::optional<Progress> progress;   // null
  RawJson warnings;                   // default []
  std::optional<ErrorInfo> error;     // null; code kept as stored (may be "")
  std::optional<std::string> delete_workflow_id;  // omitted
  std::optional<std::string> deleted_at;          // omitted
};

struct DescribeWorkspaceBackupRequest {
  std::string backup_crn;
  // Or by name within its workspace (by CRN, or by name + environment).
  std::string backup_name;
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
};
struct DescribeWorkspaceBackupResponse {
  Backup backup;
};

struct DeleteBackupRequest {
  std::string backup_crn;
  // Or by name within its workspace (by CRN, or by name + environment).
  std::string backup_name;
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
};
struct DeleteBackupResponse {
  std::string workflow_id;
};

struct CancelBackupRequest {
  std::string backup_crn;
  // Or by name within its workspace (by CRN, or by name + environment).
  std::string backup_name;
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
};
struct CancelBackupResponse {
  std::string backup_crn;
  std::string workflow_id;
  std::string backup_status;
};

struct VerifyBackupRequest {
  std::string backup_crn;
  bool read_data = false;
  std::string backup_name;  // or by name within its workspace
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
};
struct VerifiedPoint {
  std::string volume;
  std::string recovery_point_id;
  bool ok = false;
};
struct Damage {
  std::string object;
  std::string problem;
  std::vector<std::string> affected;  // "<volume>:<what>"
};
// A damaged backup is data (ok=false), not an error.
struct VerifyBackupResponse {
  std::string backup_crn;
  bool ok = false;
  bool read_data = false;
  std::vector<VerifiedPoint> recovery_points;
  uint64_t packs = 0;
  uint64_t chunks = 0;
  uint64_t bytes_read = 0;
  std::vector<Damage> damaged;
  double duration_seconds = 0;
};

// ------------------------------------------------------------------------------ restore

// The request is the restore input document itself (restore-workspace --generate-cli-skeleton);
// workspace::ParseRestoreInput validates it and names the bad field by its path.
struct RestoreWorkspaceRequest {
  std::string document;  // JSON text
};
struct RestoreWorkspaceResponse {
  std::string workspace_crn;
  std::string workflow_id;
  std::optional<std::string> status;    // after a waited run
  std::optional<std::string> endpoint;  // after a waited run
  std::optional<std::string> domain;    // after a waited run
  // issue 16: after a waited run, "running" or "paused", and what the new workspace answers
  // differently from its source: [{"what": "endpoint"|"domain"|"apiKey", "from", "to"}].
  std::optional<std::string> start_mode;
  RawJson repointed;  // omitted when empty
};

// ------------------------------------------------------------------------------ workflows

struct Lease {
  std::string owner;
  std::string expires_at;
};
struct Workflow {
  std::string workflow_id;
  std::string kind;
  std::string status;
  std::string resource_crn;
  std::string created_at;
  std::optional<std::string> started_at;  // null
  std::optional<std::string> finished_at;
  std::string updated_at;
  Progress progress;
  int64_t attempts = 0;
  int64_t max_attempts = 0;
  std::optional<int64_t> timeout_minutes;  // null
  bool cancel_requested = false;
  RawJson warnings;                 // default []
  std::optional<ErrorInfo> error;   // null
  RawJson output;                   // default {}
  std::optional<Lease> lease;       // null
};

struct DescribeWorkflowRequest {
  std::string workflow_id;
};
struct DescribeWorkflowResponse {
  Workflow workflow;
};


// ------------------------------------------------------------------------------ backup contents
// (issue 16: inventory, diff, search, single files and items out of a backup)

struct DescribeBackupContentsRequest {
  std::string backup_crn;
  std::string item_type;  // empty: every type but files; project | job | experiment | model |
                          // application | file
  std::optional<int64_t> max_items;  // 1..1000, default 100
  std::string starting_token;        // a nextToken of an earlier answer
  std::string backup_name;  // or by name within its workspace (by CRN, or name + environment)
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
};
struct DescribeBackupContentsResponse {
  std::string backup_crn;
  std::string computed_at;
  RawJson summary;  // {"projects": n, ...; "files", "bytes"}; default {}
  RawJson items;    // [{"itemType", "name", ...}]; default []
  std::optional<std::string> next_token;  // omitted on the last page
};

struct DiffBackupsRequest {
  std::string from_backup_crn;
  std::string to_backup_crn;
  // Or either by name, within one workspace (by CRN, or by name + environment).
  std::string from_backup_name;
  std::string to_backup_name;
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
};
struct DiffBackupsResponse {
  std::string from_backup_crn;
  std::string to_backup_crn;
  RawJson changes;  // {"projects": {"added","removed","changed"}, "files": ..., ...}; default {}
};

struct SearchBackupsRequest {
  std::string query;  // "model:churn build:7"
  std::string path;   // a glob over inventory paths: "projects/p1/data/*.csv"
  std::optional<int64_t> max_items;
};
struct BackupMatch {
  std::string backup_crn;
  std::string backup_name;
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
  std::string created_at;
  std::vector<std::string> matched;  // the items or paths that matched
};
struct SearchBackupsResponse {
  std::vector<BackupMatch> backups;  // newest first
  int64_t backups_indexed = 0;       // backups whose inventory was computed for this search
};

struct RestoreFilesRequest {
  std::string backup_crn;
  std::vector<std::string> path;  // globs over inventory paths
  std::string target;             // a local folder
  bool overwrite = false;
  std::string backup_name;  // or by name within its workspace (by CRN, or name + environment)
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
};
struct RestoreFilesResponse {
  std::string backup_crn;
  std::string target;
  int64_t files = 0;
  int64_t bytes = 0;
  std::vector<std::string> restored;  // the paths written, relative to target
};

struct RestoreWorkspaceItemsRequest {
  std::string backup_crn;
  std::string target_workspace_crn;
  std::vector<std::string> items;  // "project:p1", "model:churn@build-7", ...
  std::string conflict_policy;     // fail (default) | rename | overwrite
  // Or the backup by name within its workspace (by CRN, or name + environment), and the target
  // by name + environment.
  std::string backup_name;
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
  std::string target_workspace_name;
  std::string target_environment_name;
};
struct RestoreWorkspaceItemsResponse {
  std::string workflow_id;
  std::string target_workspace_crn;
  std::optional<std::string> status;  // after a waited run
  RawJson results;                    // after a waited run: [{"item","result",...}]; default []
};

// ------------------------------------------------------------------------------ workspace lifecycle
// (issue 16: stop and start a workspace's runtime; start every workspace after a host restart)

struct StopWorkspaceRequest {
  std::string workspace_crn;
  // Or by name (control resolves them; an ambiguous name is an error listing the CRNs).
  std::string workspace_name;
  std::string environment_name;
};
struct StartWorkspaceRequest {
  std::string workspace_crn;  // one workspace (or by name, as above), or
  std::string workspace_name;
  std::string environment_name;
  bool all = false;  // every workspace of the account that should run and does not
};
struct WorkspaceRuntimeState {
  std::string workspace_crn;
  std::string workspace_name;
  std::string status;  // running | stopped | failed (start) | unchanged
  std::string endpoint;
  std::optional<std::string> reason;  // omitted when empty
};
struct WorkspaceLifecycleResponse {
  std::vector<WorkspaceRuntimeState> workspaces;
};

// resume-workspace: start the applications and deployments a restore with --start-mode paused
// left "paused".
struct ResumeWorkspaceRequest {
  std::string workspace_crn;
  std::string workspace_name;  // or by name, with environment_name
  std::string environment_name;
};
struct ResumedService {
  std::string type;  // application | deployment
  std::string name;
  std::string status;  // starting | running | failed
  std::optional<std::string> message;  // omitted when empty
};
struct ResumeWorkspaceResponse {
  std::string workspace_crn;
  std::string workspace_name;
  std::vector<ResumedService> started;  // empty when nothing was paused
};

}  // namespace mlvault::api
