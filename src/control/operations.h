// The operations of SPEC.md section 2 (workspaces, backups, restores, workflows), embedded:
// every verb of the CLI (and later of the REST API) is one method here.
//
// Each method takes the operation's typed request (api/ml_types.h) and returns its typed
// response; api::Dispatch maps them to and from JSON. Each validates its input (an error names
// the request field: Error::field()), calls Authorizer::Authorize exactly once (before it reads or
// changes anything a caller could learn from; the request is built by one helper per resource
// kind, control/resource_authz.h), does its work against the catalog, and for mutating calls
// writes Authorizer::Audit with the outcome.
// Long operations create a workflow; `Wait` decides whether this process runs it to the end
// (with a progress bar) or a detached worker process does.
//
// An Operations object uses one catalog connection: NOT thread-safe.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "api/ml_types.h"
#include "api/types_plans.h"
#include "catalog/db.h"
#include "catalog/restore_test_store.h"
#include "control/authorizer.h"
#include "control/resource_authz.h"
#include "control/workflow_engine.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/progress.h"
#include "workspace/provider.h"

namespace mlvault::control {

// How a verb that starts a workflow returns.
struct Wait {
  bool wait = false;                       // run it here to the end (else: a worker process)
  util::ProgressSink* progress = nullptr;  // progress of a waited run (may be null)
  const std::atomic<bool>* interrupted = nullptr;  // SIGINT/SIGTERM of a waited run
};

struct OperationsEnv {
  std::string home;
  catalog::Db* db = nullptr;
  Authorizer* authorizer = nullptr;
  Caller caller;
  const util::Clock* clock = &util::Clock::System();
  workspace::Provider* provider = nullptr;
  WorkflowEngine* engine = nullptr;
};

class Operations {
 public:
  explicit Operations(OperationsEnv env) : env_(std::move(env)) {}

  // --- environments (environments_ops.cc)
  util::Result<api::CreateEnvironmentResponse> CreateEnvironment(
      const api::CreateEnvironmentRequest& request);
  util::Result<api::ListEnvironmentsResponse> ListEnvironments(
      const api::ListEnvironmentsRequest& request = {});

  // --- workspaces (workspace_ops.cc)
  // The request's document: newWorkspaceParameters (or {"newWorkspaceParameters": ...}).
  // With wait, the answer also holds the workspace's status.
  util::Result<api::CreateWorkspaceResponse> CreateWorkspace(
      const api::CreateWorkspaceRequest& request, const Wait& wait);
  // environment_name empty: all.
  util::Result<api::ListWorkspacesResponse> ListWorkspaces(
      const api::ListWorkspacesRequest& request);
  util::Result<api::DescribeWorkspaceResponse> DescribeWorkspace(
      const api::DescribeWorkspaceRequest& request);
  util::Result<api::DeleteWorkspaceResponse> DeleteWorkspace(
      const api::DeleteWorkspaceRequest& request);
  util::Result<api::GetWorkspaceApiKeyResponse> GetWorkspaceApiKey(
      const api::GetWorkspaceApiKeyRequest& request);

  // --- backups (backup_ops.cc)
  util::Result<api::BackupWorkspaceResponse> BackupWorkspace(
      const api::BackupWorkspaceRequest& request, const Wait& wait);
  // By CRN, or by workspace name + environment name (also after the workspace was deleted).
  util::Result<api::ListWorkspaceBackupsResponse> ListWorkspaceBackups(
      const api::ListWorkspaceBackupsRequest& request);
  util::Result<api::DescribeWorkspaceBackupResponse> DescribeWorkspaceBackup(
      const api::DescribeWorkspaceBackupRequest& request);
  util::Result<api::DeleteBackupResponse> DeleteBackup(const api::DeleteBackupRequest& request,
                                                       const Wait& wait);
  util::Result<api::CancelBackupResponse> CancelBackup(const api::CancelBackupRequest& request);
  // A damaged backup is returned as data (ok=false), not as an error.
  util::Result<api::VerifyBackupResponse> VerifyBackup(const api::VerifyBackupRequest& request,
                                                       util::ProgressSink* progress);

  // --- restore and workflows (restore_ops.cc)
  // The request's document: the restore-workspace input.
  util::Result<api::RestoreWorkspaceResponse> RestoreWorkspace(
      const api::RestoreWorkspaceRequest& request, const Wait& wait);
  util::Result<api::DescribeWorkflowResponse> DescribeWorkflow(
      const api::DescribeWorkflowRequest& request);

  // --- backup plans and retention (plan_ops.cc; docs/plans.md)
  util::Result<api::BackupPlanResponse> CreateBackupPlan(const api::CreateBackupPlanRequest& r);
  util::Result<api::ListBackupPlansResponse> ListBackupPlans(const api::ListBackupPlansRequest& r);
  util::Result<api::BackupPlanResponse> DescribeBackupPlan(const api::PlanNameRequest& r);
  util::Result<api::BackupPlanResponse> UpdateBackupPlan(const api::UpdateBackupPlanRequest& r);
  util::Result<api::DeleteBackupPlanResponse> DeleteBackupPlan(const api::PlanNameRequest& r);
  util::Result<api::ListBackupPlanRunsResponse> ListBackupPlanRuns(const api::PlanNameRequest& r);
  util::Result<api::PreviewRetentionResponse> PreviewRetention(const api::PlanNameRequest& r);
  // Every live workspace: its plans, last succeeded backup and age, and whether that meets the
  // tightest recovery point objective of its plans.
  util::Result<api::GetProtectionReportResponse> GetProtectionReport(
      const api::GetProtectionReportRequest& r);
  // Deletes a backup for a plan's retention: delete-backup (authorised as ml:DeleteBackup, held
  // and locked backups refused) whose workflow and audit record say `expired_by` (the plan and
  // the rule). Never waits.
  util::Result<api::DeleteBackupResponse> ExpireBackup(const std::string& backup_crn,
                                                       const std::string& expired_by);

  // --- legal holds and vault locks (protection_ops.cc; docs/plans.md)
  util::Result<api::LegalHoldResponse> PutLegalHold(const api::PutLegalHoldRequest& r);
  util::Result<api::LegalHoldResponse> ReleaseLegalHold(const api::LegalHoldRequest& r);
  util::Result<api::ListLegalHoldsResponse> ListLegalHolds(const api::ListLegalHoldsRequest& r);
  util::Result<api::VaultLockResponse> PutVaultLock(const api::PutVaultLockRequest& r);
  util::Result<api::VaultLockResponse> DescribeVaultLock(const api::WorkspaceCrnRequest& r);
  util::Result<api::DeleteVaultLockResponse> DeleteVaultLock(const api::WorkspaceCrnRequest& r);
  // --- restore tests (drills; restore_test_ops.cc, docs/plans.md)
  // Restores a backup (or a workspace's newest succeeded one) into a throw-away workspace of the
  // sandbox environment, here and to the end, validates it (control/drill_checks.h), records the
  // result with the measured recovery time, and deletes the throw-away workspace. A drill whose
  // checks fail is an answer (status "failed", error the cause), not an error; errors are for
  // requests that cannot start one (validation, authorisation, a missing backup or environment).
  // A backup plan whose runs drill instead of backing up (authorised as ml:CreateBackupPlan;
  // shown, changed and deleted with the backup plan verbs).
  util::Result<api::BackupPlanResponse> CreateRestoreTestingPlan(
      const api::CreateRestoreTestingPlanRequest& r);
  util::Result<api::RestoreTestResponse> StartRestoreTest(const api::StartRestoreTestRequest& r,
                                                          const Wait& wait);
  // The same, recorded as run by backup plan `plan_name` ("" : by hand); the drill's workflow
  // (kind restore_test) runs here with wait.wait, else in a worker (the answer: status running).
  util::Result<api::RestoreTestResponse> RunRestoreTest(const api::StartRestoreTestRequest& r,
                                                        const Wait& wait,
                                                        const std::string& plan_name);
  // The drill itself, as the restore_test workflow runs it (`ctx` may be null): restore, checks,
  // clean-up, record. On a resumed attempt (the process of the first one died) it only ends the
  // drill: deletes the sandbox workspace (after its restore ended) and records it as failed,
  // "interrupted". Errors only when the catalog fails.
  util::Result<catalog::RestoreTestRecord> ExecuteRestoreTest(const std::string& restore_test_id,
                                                              WorkflowContext* ctx);
  util::Result<api::ListRestoreTestsResponse> ListRestoreTests(
      const api::ListRestoreTestsRequest& r);
  util::Result<api::RestoreTestResponse> DescribeRestoreTest(
      const api::DescribeRestoreTestRequest& r);

  // --- backup copies (copy_ops.cc, copy_backup_workflow.cc; docs/plans.md)
  // Copies a succeeded backup into the workspace's copy vault in another environment (its vault
  // location): a new backup of the same workspace, filled by a copy_backup workflow. Authorised
  // as ml:CopyBackup on the backup with the destination environment as a second resource.
  // kNotFound naming the environment or backup, kConflict for a backup that did not succeed.
  util::Result<api::CopyBackupResponse> CopyBackup(const api::CopyBackupRequest& r,
                                                   const Wait& wait);
  // A backup plan's copy of a backup it has just started: as CopyBackup, but the backup may not
  // have finished (the copy runs after it on the workspace's queue and fails if it did not
  // succeed). Never waits.
  util::Result<api::CopyBackupResponse> CopyPlanBackup(const std::string& backup_crn,
                                                       const std::string& environment_name);

  // --- backup contents (issue 16; contents_ops.cc, items_ops.cc)
  // What a backup holds in ML terms (computed from the backup on first ask, then cached).
  util::Result<api::DescribeBackupContentsResponse> DescribeBackupContents(
      const api::DescribeBackupContentsRequest& request);
  // What changed from one backup to another (any two backups of the account).
  util::Result<api::DiffBackupsResponse> DiffBackups(const api::DiffBackupsRequest& request);
  // Which backups (of workspaces the caller may search) hold an item or a path, newest first.
  util::Result<api::SearchBackupsResponse> SearchBackups(const api::SearchBackupsRequest& request);
  // Plain files of a backup out to a local folder (never outside it). Embedded mode only.
  util::Result<api::RestoreFilesResponse> RestoreFiles(const api::RestoreFilesRequest& request,
                                                       const Wait& wait);
  // Items of a backup into a running workspace, through its runtime's API (a workflow).
  util::Result<api::RestoreWorkspaceItemsResponse> RestoreWorkspaceItems(
      const api::RestoreWorkspaceItemsRequest& request, const Wait& wait);

  // --- workspace lifecycle (issue 16; lifecycle_ops.cc)
  // Stops a workspace's runtime (status "stopped"); its volumes and backups stay.
  util::Result<api::WorkspaceLifecycleResponse> StopWorkspace(
      const api::StopWorkspaceRequest& request);
  // Starts a stopped workspace's runtime (or one that died, e.g. after a host restart) and waits
  // until it is healthy and reconciled; with `all`, every such workspace the caller may start.
  util::Result<api::WorkspaceLifecycleResponse> StartWorkspace(
      const api::StartWorkspaceRequest& request);
  // Starts the applications and deployments a restore with --start-mode paused left "paused"
  // (an empty list when none is). kConflict unless the workspace is running.
  util::Result<api::ResumeWorkspaceResponse> ResumeWorkspace(
      const api::ResumeWorkspaceRequest& request);

 private:
  // Starts (spawn) or runs (wait) a workflow; returns its record after a waited run.
  util::Result<std::optional<catalog::WorkflowRecord>> Launch(const std::string& workflow_id,
                                                              const Wait& wait);
  // delete-backup with an optional retention reason (backup_ops.cc).
  util::Result<api::DeleteBackupResponse> StartDelete(const std::string& backup_crn,
                                                      const Wait& wait,
                                                      const std::string& expired_by);
  // copy-backup, for a backup that may still be running when `plan_copy` (copy_ops.cc).
  util::Result<api::CopyBackupResponse> StartCopy(const api::CopyBackupRequest& r,
                                                  const Wait& wait, bool plan_copy);
  // Refuses the deletion of a held backup or one a vault lock keeps (governance: unless the
  // caller may ml:BypassVaultLock). Called before the deletion's transaction (protection_ops.cc).
  util::Status CheckDeletable(const catalog::BackupRecord& b, const AuthzRequest& delete_request);
  // Names instead of CRNs (name_ops.cc): the CRN given, or that of the one resource the names
  // select. kInvalidArgument naming the field for neither/both or an ambiguous name (listing the
  // candidates); kNotFound (after authorising `action` with the names) for no match.
  util::Result<std::string> WorkspaceCrnOf(std::string_view action, const std::string& crn,
                                           const std::string& name, const std::string& environment);
  util::Result<std::string> BackupCrnOf(std::string_view action, const std::string& crn,
                                        const std::string& backup_name,
                                        const std::string& workspace_crn,
                                        const std::string& workspace_name,
                                        const std::string& environment);
  // The restore input document with a backup named by name replaced by its CRN.
  util::Result<std::string> RestoreInputByCrn(const std::string& document);
  // As WorkspaceCrnOf / BackupCrnOf, for a request whose fields have other names (diffBackups'
  // fromBackupName, restoreWorkspaceItems' targetWorkspaceName): `renames` maps the field names
  // those speak of to the request's, in the error's message and field.
  using FieldRenames = std::vector<std::pair<std::string, std::string>>;
  util::Result<std::string> WorkspaceCrnOf(std::string_view action, const std::string& crn,
                                           const std::string& name, const std::string& environment,
                                           const FieldRenames& renames);
  util::Result<std::string> BackupCrnOf(std::string_view action, const std::string& crn,
                                        const std::string& backup_name,
                                        const std::string& workspace_crn,
                                        const std::string& workspace_name,
                                        const std::string& environment,
                                        const FieldRenames& renames);
  // The start of every operation on one backup (workspace): the CRN the request gives or its
  // names select (BackupCrnOf / WorkspaceCrnOf; written back into the request), and the resource
  // of that CRN loaded for `action` (LoadBackupTarget / LoadWorkspaceTarget, field "backupCrn" /
  // "workspaceCrn"). Not yet authorised, and maybe not found: callers authorise first.
  template <class Request>
  util::Result<BackupTarget> LoadBackupOf(std::string_view action, Request& r) {
    r.backup_crn = MLV_TRY(BackupCrnOf(action, r.backup_crn, r.backup_name, r.workspace_crn,
                                       r.workspace_name, r.environment_name));
    return LoadBackupTarget(*env_.db, env_.caller.account_id, action, "backupCrn", r.backup_crn);
  }
  template <class Request>
  util::Result<WorkspaceTarget> LoadWorkspaceOf(std::string_view action, Request& r) {
    r.workspace_crn =
        MLV_TRY(WorkspaceCrnOf(action, r.workspace_crn, r.workspace_name, r.environment_name));
    return LoadWorkspaceTarget(*env_.db, env_.caller.account_id, action, "workspaceCrn",
                               r.workspace_crn);
  }
  void Audit(std::string_view action, std::string_view resource, const util::Status& outcome,
             std::string_view detail = {});
  util::Status Authorize(const AuthzRequest& request);

  OperationsEnv env_;
};

// An error for a waited workflow that did not succeed (for the exit code), or OK.
util::Status WorkflowOutcome(const catalog::WorkflowRecord& wf);

}  // namespace mlvault::control
