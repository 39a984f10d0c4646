// The operations of SPEC.md section 2 (workspaces, backups, restores, workflows), embedded:
// every verb of the CLI (and later of the REST API) is one method here.
//
// Each method validates its input, calls Authorizer::Authorize exactly once (before it reads or
// changes anything a caller could learn from), does its work against the catalog, and for
// mutating calls writes Authorizer::Audit with the outcome. Results are the JSON documents of
// SPEC.md (camelCase keys) -- the response types the CLI prints and the REST API returns.
// Long operations create a workflow; `Wait` decides whether this process runs it to the end
// (with a progress bar) or a detached worker process does.
//
// An Operations object uses one catalog connection: NOT thread-safe.
#pragma once

#include <atomic>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "catalog/db.h"
#include "control/authorizer.h"
#include "control/workflow_engine.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/progress.h"
#include "workspace/provider.h"

namespace mlvault::control {

using Json = nlohmann::json;

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

  // --- environments
  // {"environment": {crn, name, region, storageRoot, createdAt}}
  util::Result<Json> CreateEnvironment(const std::string& name, const std::string& storage_root,
                                       const std::string& region);
  // {"environments": [...]}
  util::Result<Json> ListEnvironments();

  // --- workspaces
  // `params_json`: the newWorkspaceParameters (or {"newWorkspaceParameters": ...}) document.
  // {"workspaceCrn", "workflowId"} (with wait: also "status").
  util::Result<Json> CreateWorkspace(const std::string& params_json, const Wait& wait);
  // {"workspaces": [...]}; environment_name empty: all.
  util::Result<Json> ListWorkspaces(const std::string& environment_name);
  // {"workspace": {...}}
  util::Result<Json> DescribeWorkspace(const std::string& workspace_crn);
  // {"workspaceCrn", "status": "deleted"}
  util::Result<Json> DeleteWorkspace(const std::string& workspace_crn);
  // {"apiKey"}
  util::Result<Json> GetWorkspaceApiKey(const std::string& workspace_crn);

  // --- backups
  // {"backupCrn", "vaultName", "workflowId", "backupStatus"}
  util::Result<Json> BackupWorkspace(const std::string& workspace_crn,
                                     const std::string& backup_name,
                                     std::optional<int64_t> timeout_minutes, const Wait& wait);
  // By CRN, or by workspace name + environment name (also after the workspace was deleted).
  // {"backups": [...]}
  util::Result<Json> ListWorkspaceBackups(const std::string& workspace_crn,
                                          const std::string& workspace_name,
                                          const std::string& environment_name);
  // {"backup": {...}}
  util::Result<Json> DescribeWorkspaceBackup(const std::string& backup_crn);
  // {"workflowId"}
  util::Result<Json> DeleteBackup(const std::string& backup_crn, const Wait& wait);
  // {"backupCrn", "workflowId", "backupStatus"}
  util::Result<Json> CancelBackup(const std::string& backup_crn);
  // Verification report; a damaged backup is returned as data (ok=false), not as an error.
  util::Result<Json> VerifyBackup(const std::string& backup_crn, bool read_data,
                                  util::ProgressSink* progress);

  // --- restore
  // `input_json`: the restore-workspace document. {"workspaceCrn", "workflowId"}
  util::Result<Json> RestoreWorkspace(const std::string& input_json, const Wait& wait);

  // --- workflows
  // {"workflow": {...}}
  util::Result<Json> DescribeWorkflow(const std::string& workflow_id);

 private:
  // Starts (spawn) or runs (wait) a workflow; returns its record after a waited run.
  util::Result<std::optional<catalog::WorkflowRecord>> Launch(const std::string& workflow_id,
                                                              const Wait& wait);
  void Audit(std::string_view action, std::string_view resource, const util::Status& outcome,
             std::string_view detail = {});

  OperationsEnv env_;
};

// An error for a waited workflow that did not succeed (for the exit code), or OK.
util::Status WorkflowOutcome(const catalog::WorkflowRecord& wf);

}  // namespace mlvault::control
