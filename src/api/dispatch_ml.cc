// Dispatch of the ml and environments services onto control::Operations.
#include <functional>
#include <map>

#include "api/dispatch_internal.h"
#include "api/types_plans_json.h"

namespace mlvault::api::internal {
namespace {

using Handler = std::function<util::Result<json>(control::Operations&, const json&,
                                                 const control::Wait&)>;

template <class Req, class Method>
Handler Plain(Method m) {
  return [m](control::Operations& ops, const json& body, const control::Wait&) {
    return Typed<Req>(body, [&](const Req& r) { return (ops.*m)(r); });
  };
}
template <class Req, class Method>
Handler Waited(Method m) {
  return [m](control::Operations& ops, const json& body, const control::Wait& wait) {
    return Typed<Req>(body, [&](const Req& r) { return (ops.*m)(r, wait); });
  };
}

const std::map<std::string, Handler, std::less<>>& Handlers() {
  using O = control::Operations;
  static const std::map<std::string, Handler, std::less<>> handlers = {
      {"createEnvironment", Plain<CreateEnvironmentRequest>(&O::CreateEnvironment)},
      {"listEnvironments", Plain<ListEnvironmentsRequest>(&O::ListEnvironments)},
      {"createWorkspace", Waited<CreateWorkspaceRequest>(&O::CreateWorkspace)},
      {"listWorkspaces", Plain<ListWorkspacesRequest>(&O::ListWorkspaces)},
      {"describeWorkspace", Plain<DescribeWorkspaceRequest>(&O::DescribeWorkspace)},
      {"deleteWorkspace", Plain<DeleteWorkspaceRequest>(&O::DeleteWorkspace)},
      {"getWorkspaceApiKey", Plain<GetWorkspaceApiKeyRequest>(&O::GetWorkspaceApiKey)},
      {"backupWorkspace", Waited<BackupWorkspaceRequest>(&O::BackupWorkspace)},
      {"listWorkspaceBackups", Plain<ListWorkspaceBackupsRequest>(&O::ListWorkspaceBackups)},
      {"describeWorkspaceBackup",
       Plain<DescribeWorkspaceBackupRequest>(&O::DescribeWorkspaceBackup)},
      {"deleteBackup", Waited<DeleteBackupRequest>(&O::DeleteBackup)},
      {"cancelBackup", Plain<CancelBackupRequest>(&O::CancelBackup)},
      {"verifyBackup",
       [](O& ops, const json& body, const control::Wait& wait) {
         return Typed<VerifyBackupRequest>(
             body, [&](const VerifyBackupRequest& r) { return ops.VerifyBackup(r, wait.progress); });
       }},
      {"restoreWorkspace", Waited<RestoreWorkspaceRequest>(&O::RestoreWorkspace)},
      {"describeWorkflow", Plain<DescribeWorkflowRequest>(&O::DescribeWorkflow)},
      // backup plans, retention, legal holds and vault locks (docs/plans.md)
      {"createBackupPlan", Plain<CreateBackupPlanRequest>(&O::CreateBackupPlan)},
      {"listBackupPlans", Plain<ListBackupPlansRequest>(&O::ListBackupPlans)},
      {"describeBackupPlan", Plain<PlanNameRequest>(&O::DescribeBackupPlan)},
      {"updateBackupPlan", Plain<UpdateBackupPlanRequest>(&O::UpdateBackupPlan)},
      {"deleteBackupPlan", Plain<PlanNameRequest>(&O::DeleteBackupPlan)},
      {"listBackupPlanRuns", Plain<PlanNameRequest>(&O::ListBackupPlanRuns)},
      {"previewRetention", Plain<PlanNameRequest>(&O::PreviewRetention)},
      {"getProtectionReport", Plain<GetProtectionReportRequest>(&O::GetProtectionReport)},
      {"putLegalHold", Plain<PutLegalHoldRequest>(&O::PutLegalHold)},
      {"releaseLegalHold", Plain<LegalHoldRequest>(&O::ReleaseLegalHold)},
      {"listLegalHolds", Plain<ListLegalHoldsRequest>(&O::ListLegalHolds)},
      {"putVaultLock", Plain<PutVaultLockRequest>(&O::PutVaultLock)},
      {"describeVaultLock", Plain<WorkspaceCrnRequest>(&O::DescribeVaultLock)},
      {"deleteVaultLock", Plain<WorkspaceCrnRequest>(&O::DeleteVaultLock)},
      // restore tests (drills, docs/plans.md)
      {"createRestoreTestingPlan",
       Plain<CreateRestoreTestingPlanRequest>(&O::CreateRestoreTestingPlan)},
      {"startRestoreTest", Waited<StartRestoreTestRequest>(&O::StartRestoreTest)},
      {"listRestoreTests", Plain<ListRestoreTestsRequest>(&O::ListRestoreTests)},
      {"describeRestoreTest", Plain<DescribeRestoreTestRequest>(&O::DescribeRestoreTest)},
      // backup copies (docs/plans.md)
      {"copyBackup", Waited<CopyBackupRequest>(&O::CopyBackup)},
      // backup contents (issue 16)
      {"describeBackupContents", Plain<DescribeBackupContentsRequest>(&O::DescribeBackupContents)},
      {"diffBackups", Plain<DiffBackupsRequest>(&O::DiffBackups)},
      {"searchBackups", Plain<SearchBackupsRequest>(&O::SearchBackups)},
      {"restoreFiles", Waited<RestoreFilesRequest>(&O::RestoreFiles)},
      {"restoreWorkspaceItems", Waited<RestoreWorkspaceItemsRequest>(&O::RestoreWorkspaceItems)},
      {"stopWorkspace", Plain<StopWorkspaceRequest>(&O::StopWorkspace)},
      {"startWorkspace", Plain<StartWorkspaceRequest>(&O::StartWorkspace)},
      {"resumeWorkspace", Plain<ResumeWorkspaceRequest>(&O::ResumeWorkspace)},
  };
  return handlers;
}

}  // namespace

util::Result<json> DispatchMl(ControlContext& c, std::string_view operation, const json& body,
                              const CallOptions& options) {
  auto it = Handlers().find(operation);
  if (it == Handlers().end())
    return util::Internal("operation \"" + std::string(operation) + "\" has no handler");
  if (c.ops == nullptr) return util::Internal("no operations bound to a caller");
  return it->second(*c.ops, body, control::Wait{options.wait, options.progress, options.interrupted});
}

}  // namespace mlvault::api::internal
