// What every operation shares: launching workflows, the audit record, the authorisation call,
// and a waited workflow's outcome as an error. The operations themselves are in one file per
// resource: environment_ops.cc, workspace_ops.cc, backup_ops.cc, restore_ops.cc.
#include "control/operations.h"

#include "util/log.h"

namespace mlvault::control {
namespace {

util::ErrorCode CodeFromName(const std::string& name) {
  for (auto c :
       {util::ErrorCode::kInvalidArgument, util::ErrorCode::kNotFound, util::ErrorCode::kConflict,
        util::ErrorCode::kPermissionDenied, util::ErrorCode::kCorruption,
        util::ErrorCode::kUnavailable, util::ErrorCode::kIo, util::ErrorCode::kCancelled})
    if (util::CodeName(c) == name) return c;
  return util::ErrorCode::kInternal;
}

}  // namespace

util::Status WorkflowOutcome(const catalog::WorkflowRecord& wf) {
  if (wf.status == catalog::WorkflowStatus::kSucceeded) return util::Ok();
  std::string msg = wf.error_message.empty() ? "it ended " + catalog::WorkflowStatusName(wf.status)
                                             : wf.error_message;
  util::ErrorCode code = wf.status == catalog::WorkflowStatus::kCancelled
                             ? util::ErrorCode::kCancelled
                             : CodeFromName(wf.error_code);
  return util::MakeError(code, "workflow " + wf.id + " (" + wf.kind + ") " +
                                   catalog::WorkflowStatusName(wf.status) + ": " + msg);
}

void Operations::Audit(std::string_view action, std::string_view resource,
                       const util::Status& outcome, std::string_view detail) {
  env_.authorizer->Audit(env_.caller, action, resource, outcome, detail);
}

util::Status Operations::Authorize(const AuthzRequest& request) {
  return env_.authorizer->Authorize(env_.caller, request);
}

util::Result<std::optional<catalog::WorkflowRecord>> Operations::Launch(
    const std::string& workflow_id, const Wait& wait) {
  if (wait.wait) {
    catalog::WorkflowRecord wf =
        MLV_TRY(env_.engine->Run(workflow_id, wait.progress, wait.interrupted));
    return std::optional<catalog::WorkflowRecord>(std::move(wf));
  }
  if (auto pid = env_.engine->Spawn(workflow_id); !pid)
    util::Log(util::LogLevel::kWarn,
              "workflow {} was accepted, but its worker could not start ({}); the next mlvault "
              "command retries it",
              workflow_id, pid.error().message());
  return std::optional<catalog::WorkflowRecord>();
}

}  // namespace mlvault::control
