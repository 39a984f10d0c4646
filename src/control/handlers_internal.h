// Internal to the workflow handlers (handlers.cc and the *_workflow.cc files): the helpers they
// share and the constructor of each workflow's handler.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "control/handlers.h"
#include "util/progress.h"
#include "vault/vault.h"
#include "workspace/runtime_client.h"

namespace mlvault::control {

std::unique_ptr<WorkflowHandler> MakeBackupHandler(const HandlerEnv& env);
// restore=false: create_workspace.
std::unique_ptr<WorkflowHandler> MakeProvisionHandler(const HandlerEnv& env, bool restore);
std::unique_ptr<WorkflowHandler> MakeDeleteBackupHandler(const HandlerEnv& env);
std::unique_ptr<WorkflowHandler> MakeRestoreItemsHandler(const HandlerEnv& env);
std::unique_ptr<WorkflowHandler> MakeCopyBackupHandler(const HandlerEnv& env);  // copy-backup
std::unique_ptr<WorkflowHandler> MakeRestoreTestHandler(const HandlerEnv& env);  // drills

// The string `key` of the workflow's input document ("" if absent).
std::string InputString(const catalog::WorkflowRecord& wf, const char* key);
// Sleeps `seconds`, or less if cancelled.
void SleepOrCancel(double seconds, const util::CancelToken* cancel);
// Test hook (util/test_hooks.h, HoldFile): while that file exists, a backup waits at the start of
// its first pass. No effect in normal use.
void HoldWhileTestFileExists(const util::CancelToken* cancel);
// kCancelled with the token's reason.
std::unexpected<util::Error> CancelledStatus(const util::CancelToken* cancel);
// Waits until the runtime reports healthy, reconciled and not quiesced.
util::Result<workspace::Health> WaitHealthy(const workspace::RuntimeClient& rc, double timeout,
                                            const util::CancelToken* cancel);
// The audit record of a workflow's end, as its caller.
void AuditEnd(const HandlerEnv& env, const catalog::WorkflowRecord& wf, const std::string& action,
              const std::string& resource, const std::string& extra_detail = "");
// Mirrors a backup-making workflow's status onto its backup (input "backupId"): started,
// queued/pending, or finished with `outcome` (a succeeded run's figures; null otherwise), the
// warnings and the error.
util::Status MirrorBackupStatus(catalog::Db& db, const catalog::WorkflowRecord& wf,
                                catalog::WorkflowStatus status, const util::Error* error,
                                const std::string& warnings, util::TimeMicros now,
                                const catalog::BackupOutcome* outcome);
// Deletes every recovery point of the vault labelled with this backup id (leftovers of an
// attempt that did not finish), except `keep`. Returns problems as warnings.
std::vector<std::string> DropLeftovers(vault::Vault& v, const std::string& backup_id,
                                       const std::vector<std::string>& keep = {});

}  // namespace mlvault::control
