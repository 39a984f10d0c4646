// The typed requests and responses of backup plans, retention, legal holds and vault locks
// (service `ml`; docs/plans.md): plain values, one struct per request and response, field names
// the snake_case of the JSON keys. Their JSON mapping is api/types_plans_json.h.
//
// Depends on util only (part of mlvault_api_types), so control/ takes and returns these types.
// Thread-safe as values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/ml_types.h"

namespace mlvault::api {

// ------------------------------------------------------------------------------ plans

// The retention rules of a plan (control/retention.h). Absent: the rule is not set. In an
// update, 0 removes a rule.
struct RetentionRulesJson {
  std::optional<int64_t> keep_last;
  std::optional<int64_t> keep_hourly;
  std::optional<int64_t> keep_daily;
  std::optional<int64_t> keep_weekly;
  std::optional<int64_t> keep_monthly;
  std::optional<int64_t> keep_yearly;
  std::optional<int64_t> max_age_days;
};

struct BackupPlan {
  std::string plan_crn;
  std::string plan_name;
  std::string schedule;
  std::string time_zone;
  int64_t start_window_minutes = 60;
  std::vector<std::string> selection;  // workspace CRNs and "tag:key=value"
  RetentionRulesJson retention;
  std::string owner_crn;  // who created the plan
  std::optional<std::string> iam_role_crn;  // the role its runs act as (null: as the owner)
  std::optional<std::string> sandbox_environment_name;  // a restore testing plan's (else null)
  std::optional<std::string> copy_to_environment_name;  // each backup is copied there (else null)
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> next_run_at;    // null when the schedule has no more slots
  std::optional<std::string> last_slot_at;   // null before the first run
};

struct CreateBackupPlanRequest {
  std::string plan_name;  // required
  std::string schedule;   // required
  std::string time_zone;  // default UTC
  std::optional<int64_t> start_window_minutes;  // default 60
  std::vector<std::string> selection;           // required, not empty
  RetentionRulesJson retention;                 // flattened: keepLast, ..., maxAgeDays
  std::string iam_role_name;  // act as this role (it must trust backup.mlvault); default: the owner
  std::string sandbox_environment_name;  // not in JSON: set by createRestoreTestingPlan
  std::string copy_to_environment_name;  // copy every backup into this environment (copy-backup)
};
// A plan whose runs drill (start-restore-test) the newest backup of each selected workspace.
struct CreateRestoreTestingPlanRequest {
  std::string plan_name;
  std::string schedule;
  std::string time_zone;
  std::optional<int64_t> start_window_minutes;
  std::vector<std::string> selection;
  std::string sandbox_environment_name;  // required
  std::string iam_role_name;
};
struct BackupPlanResponse {
  BackupPlan plan;
};

struct ListBackupPlansRequest {
  PageRequest page;  // maxItems, startingToken (oldest first)
};
struct ListBackupPlansResponse {
  std::vector<BackupPlan> plans;
  std::string next_token;  // "" : this was the last page
};

struct PlanNameRequest {
  std::string plan_name;
};

// Only the fields given change.
struct UpdateBackupPlanRequest {
  std::string plan_name;
  std::string schedule;
  std::string time_zone;
  std::optional<int64_t> start_window_minutes;
  std::vector<std::string> selection;  // empty: unchanged
  RetentionRulesJson retention;        // 0 removes a rule
  std::string iam_role_name;           // act as this role from now on ("-": as the owner again)
  std::string copy_to_environment_name;  // copy backups there from now on ("-": stop copying)
};

struct DeleteBackupPlanResponse {
  std::string plan_crn;
  std::string plan_name;
  bool deleted = true;
};

struct BackupPlanRun {
  std::string run_id;
  std::string slot_at;
  std::string status;  // running | succeeded | partial | failed
  std::string claimed_by;
  std::string started_at;
  std::optional<std::string> finished_at;
  int64_t missed_slots = 0;
  bool late = false;
  RawJson backups;  // default []
  RawJson expired;  // default []
  RawJson errors;   // default []
};
struct ListBackupPlanRunsResponse {
  std::vector<BackupPlanRun> runs;
};

struct RetentionVerdict {
  std::string backup_crn;
  std::string backup_name;
  std::string workspace_crn;
  std::string created_at;
  std::string decision;  // keep | expire
  std::string rule;
  std::string reason;
};
struct PreviewRetentionResponse {
  std::string plan_name;
  std::vector<RetentionVerdict> backups;
};

// ------------------------------------------------------------------------------ legal holds

struct LegalHold {
  std::string backup_crn;
  std::string reason;
  std::string created_by;
  std::string created_at;
  std::optional<std::string> released_at;  // omitted while active
  std::optional<std::string> released_by;
};
struct PutLegalHoldRequest {
  std::string backup_crn;
  std::string reason;
};
struct LegalHoldRequest {
  std::string backup_crn;
};
struct LegalHoldResponse {
  LegalHold legal_hold;
};
struct ListLegalHoldsRequest {
  bool include_released = false;
};
struct ListLegalHoldsResponse {
  std::vector<LegalHold> legal_holds;
};

// ------------------------------------------------------------------------------ vault locks

struct VaultLock {
  std::string workspace_crn;
  std::string mode;  // governance | compliance
  int64_t min_retention_days = 0;
  std::optional<int64_t> max_retention_days;       // null
  std::optional<std::string> changeable_until;     // null: changeable (governance)
  std::string created_by;
  std::string created_at;
  std::string updated_at;
};
struct PutVaultLockRequest {
  std::string workspace_crn;
  std::string mode;
  std::optional<int64_t> min_retention_days;  // required
  std::optional<int64_t> max_retention_days;
  std::optional<int64_t> changeable_for_days;  // compliance: default 3
};
struct WorkspaceCrnRequest {
  std::string workspace_crn;
};
// S3 Object Lock retention of the vault's objects (putVaultLock answers it).
struct ObjectLockInfo {
  std::string status;    // applied | partial | bucket-without-object-lock | local-vault | unavailable
  std::string location;  // the vault's location ("" for a local vault)
  int64_t backups_retained = 0;
  int64_t objects_retained = 0;
};
struct VaultLockResponse {
  VaultLock vault_lock;
  std::optional<ObjectLockInfo> object_lock;  // putVaultLock only
  std::vector<std::string> warnings;
};
struct DeleteVaultLockResponse {
  std::string workspace_crn;
  bool deleted = true;
};

// ------------------------------------------------------------------------------ protection report

struct ProtectedWorkspace {
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
  std::vector<std::string> plans;  // the plans whose selection covers it
  std::optional<std::string> last_succeeded_backup_crn;  // null: none
  std::optional<std::string> last_succeeded_backup_at;
  std::optional<int64_t> last_succeeded_backup_age_seconds;
  // The tightest objective of its plans: the gap between the plan's slots around now plus its
  // start window. null without a plan.
  std::optional<int64_t> recovery_point_objective_seconds;
  std::optional<bool> meets_objective;  // null without a plan
  std::optional<std::string> last_drill_result;  // succeeded | failed; null: no drill yet
  std::optional<std::string> last_drill_at;      // when that drill started
  std::optional<std::string> last_drill_test_id;  // describe-restore-test shows it
  int64_t legal_holds = 0;
  std::optional<std::string> vault_lock_mode;  // null: no lock
};
struct GetProtectionReportRequest {};
struct GetProtectionReportResponse {
  std::string generated_at;
  std::vector<ProtectedWorkspace> workspaces;
};

// ------------------------------------------------------------------------------ restore tests

// One check of a drill: runtime, entities, applications, models, files.
struct RestoreTestCheck {
  std::string check;
  bool ok = false;
  std::string detail;
};
struct RestoreTest {
  std::string restore_test_id;
  std::string backup_crn;
  std::string workspace_crn;
  std::string sandbox_environment_name;
  std::string sandbox_workspace_crn;  // "" when the restore did not create it
  bool sandbox_deleted = false;
  std::string plan_name;  // "" for a drill started by hand
  std::string status;     // running | succeeded | failed
  std::string started_by;
  std::string started_at;
  std::optional<std::string> finished_at;
  std::optional<double> recovery_time_seconds;       // restore start -> validated
  std::optional<double> recovery_point_age_seconds;  // the backup's age at the drill's start
  std::vector<RestoreTestCheck> checks;
  std::string error;  // failed: the cause
};
struct StartRestoreTestRequest {
  std::string backup_crn;     // this backup, or
  std::string workspace_crn;  // the newest succeeded backup of this workspace
  std::string sandbox_environment_name;
};
struct RestoreTestResponse {
  RestoreTest restore_test;
};
struct DescribeRestoreTestRequest {
  std::string restore_test_id;
};
struct ListRestoreTestsRequest {
  std::string workspace_crn;  // "" : every workspace
  PageRequest page;           // api/paging.h
};
struct ListRestoreTestsResponse {
  std::vector<RestoreTest> restore_tests;
  std::string next_token;  // "" : the last page
};

// ------------------------------------------------------------------------------ roles (iam)

struct Role {
  std::string role_crn;
  std::string role_name;
  std::string description;
  RawJson trust_policy;                     // the document as stored
  bool trusts_backup_service = false;       // a plan may act as it
  std::vector<std::string> attached_policies;  // policy names
  std::string created_at;
};
struct CreateRoleRequest {
  std::string role_name;
  std::string trust_policy_document;  // JSON text
  std::string description;
};
struct RoleNameRequest {
  std::string role_name;
};
struct RolePolicyRequest {
  std::string role_name;
  std::string policy_name;
};
struct RoleResponse {
  Role role;
};
struct ListRolesRequest {};
struct ListRolesResponse {
  std::vector<Role> roles;
};
struct DeleteRoleResponse {
  std::string role_crn;
  std::string role_name;
  bool deleted = true;
};

// assume-role: short-lived credentials acting as a role (docs/plans.md "Roles").
struct AssumeRoleRequest {
  std::string role_name;
  std::string session_name;
  std::optional<int64_t> duration_seconds;  // 900..43200, default 3600
};
struct AssumeRoleResponse {
  std::string access_key_id;  // "MLVS..."
  std::string private_key;    // base64 Ed25519 seed: shown this once
  std::string expiration;
  std::string role_crn;
  std::string role_name;
  std::string session_name;
  std::string assumed_role_name;  // how requests with it are audited
};

// ------------------------------------------------------------------------------ backup copies
struct CopyBackupRequest {
  std::string backup_crn;                    // required: the backup to copy (succeeded)
  std::string destination_environment_name;  // required: the copy's vault is in its location
  std::string backup_name;                   // the copy's name; default "<name>-copy-<env>"
};
struct CopyBackupResponse {
  std::string backup_crn;  // the copy: a backup of the same workspace
  std::string source_backup_crn;
  std::string destination_environment_name;
  std::string vault_name;
  std::string vault_location;  // "" : the server's home
  std::string workflow_id;
  std::string backup_status;
};

}  // namespace mlvault::api
