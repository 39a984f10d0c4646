#include "control/responses.h"

#include <algorithm>

#include "control/handlers.h"
#include "workspace/parameters.h"

namespace mlvault::control {

std::string Time(util::TimeMicros t) { return util::FormatTime(t); }
std::optional<std::string> OptTime(const std::optional<util::TimeMicros>& t) {
  return t ? std::optional<std::string>(Time(*t)) : std::nullopt;
}

api::Environment EnvironmentOf(const catalog::EnvironmentRecord& e) {
  return {e.crn, e.name, e.region, e.storage_root, e.vault_location, Time(e.created_at), std::nullopt};
}

api::BackupSummary BackupSummaryOf(const catalog::BackupRecord& b) {
  return {b.crn,
          b.name,
          Time(b.created_at),
          b.creator_crn,
          b.workspace_version,
          catalog::BackupStatusName(b.status)};
}

api::RecoveryPoint RecoveryPointOf(const catalog::RecoveryPointRecord& rp) {
  return {rp.volume,         rp.kind,     rp.vault_point_id,
          rp.source_path,    rp.bytes_total, rp.files,
          rp.dirs,           rp.bytes_read,  rp.bytes_new,
          rp.bytes_stored,   rp.files_unchanged,
          static_cast<double>(rp.duration_micros) / 1e6};
}

api::Progress ProgressOf(const catalog::WorkflowRecord& w) {
  api::Progress p{w.phase, w.bytes_done, w.bytes_total, w.files_done, w.files_total, std::nullopt};
  // Never an empty phase: before its first heartbeat a workflow is queued or starting.
  if (p.phase.empty())
    p.phase = w.status == catalog::WorkflowStatus::kRunning ? "starting"
                                                            : catalog::WorkflowStatusName(w.status);
  if (w.status == catalog::WorkflowStatus::kSucceeded)
    p.percent = 100.0;
  else if (w.bytes_total > 0)
    p.percent = std::min(100.0, 100.0 * static_cast<double>(w.bytes_done) /
                                    static_cast<double>(w.bytes_total));
  else if (w.files_total > 0)  // sizes not known yet, the file count is
    p.percent = std::min(100.0, 100.0 * static_cast<double>(w.files_done) /
                                    static_cast<double>(w.files_total));
  return p;
}

api::Workflow WorkflowOf(const catalog::WorkflowRecord& w) {
  api::Workflow j;
  j.workflow_id = w.id;
  j.kind = w.kind;
  j.status = catalog::WorkflowStatusName(w.status);
  j.resource_crn = w.resource_crn;
  j.created_at = Time(w.created_at);
  j.started_at = OptTime(w.started_at);
  j.finished_at = OptTime(w.finished_at);
  j.updated_at = Time(w.updated_at);
  j.progress = ProgressOf(w);
  j.attempts = w.attempts;
  j.max_attempts = w.max_attempts;
  if (w.timeout_seconds > 0) j.timeout_minutes = w.timeout_seconds / 60;
  j.cancel_requested = w.cancel_requested;
  j.warnings.text = w.warnings;
  if (!w.error_code.empty() || !w.error_message.empty())
    j.error = api::ErrorInfo{w.error_code.empty() ? "internal" : w.error_code, w.error_message};
  j.output.text = w.output;
  if (!w.lease_owner.empty()) j.lease = api::Lease{w.lease_owner, Time(w.lease_expires_at)};
  return j;
}

std::vector<api::Tag> TagsOf(const catalog::WorkspaceRecord& ws) {
  std::vector<api::Tag> out;
  auto p = workspace::ParseWorkspaceParameters(ws.parameters, "", false);
  if (p)
    for (const auto& t : p->tags) out.push_back({t.key, t.value});
  return out;
}

catalog::WorkspaceStatus EffectiveStatus(const catalog::WorkspaceRecord& ws,
                                         workspace::Provider& provider, std::string* reason) {
  if (ws.status == catalog::WorkspaceStatus::kRunning && !ws.deleted_at &&
      !(ws.runtime_pid > 0 &&
        provider.RuntimeAlive(SpecOf(ws), static_cast<int>(ws.runtime_pid)))) {
    if (reason)
      *reason = "the workspace runtime (pid " + std::to_string(ws.runtime_pid) + ") is not running";
    return catalog::WorkspaceStatus::kStopped;
  }
  if (reason) *reason = ws.status_reason;
  return ws.status;
}

std::string CheckBackupName(const std::string& n) {
  if (n.empty()) return "must not be empty";
  if (n.size() > 128) return "must be at most 128 characters";
  if (!std::isalnum(static_cast<unsigned char>(n[0]))) return "must start with a letter or a digit";
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return "may contain only letters, digits, '.', '_' and '-'";
  return "";
}

}  // namespace mlvault::control
