// The workflows' shared parts: queues, version check, the caller record, the helpers of
// control/handlers_internal.h and the handler factory. Each workflow has its own file:
// backup_workflow.cc, provision_workflow.cc (create_workspace and restore), delete_backup_workflow.cc.
#include "control/handlers.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/handlers_internal.h"
#include "control/ops_internal.h"
#include "control/vaults.h"
#include "control/workspace_keys.h"
#include "util/log.h"
#include "util/test_hooks.h"
#include "workspace/parameters.h"
#include "workspace/runtime_client.h"

namespace mlvault::control {

std::string WorkspaceQueue(const std::string& workspace_id) { return "workspace:" + workspace_id; }
std::string VaultGcQueue(const std::string& workspace_id) { return "vault-gc:" + workspace_id; }

util::Status CheckRestorableVersion(const std::string& version) {
  if (version.empty()) return util::Ok();
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2)
    return util::InvalidArgument("the backup records an unreadable workspace version \"" + version +
                                 "\"");
  if (major > kRestorableMajor || (major == kRestorableMajor && minor > kRestorableMinor))
    return util::InvalidArgument(
        "the backup is of workspace version " + version +
        ", newer than this mlvault can restore (up to " + std::to_string(kRestorableMajor) + "." +
        std::to_string(kRestorableMinor) + ".x); upgrade mlvault to restore it");
  return util::Ok();
}

workspace::WorkspaceSpec SpecOf(const WorkspaceRecord& ws) {
  workspace::WorkspaceSpec s;
  s.workspace_id = ws.id;
  s.workspace_crn = ws.crn;
  s.workspace_name = ws.name;
  s.environment_name = ws.environment_name;
  s.environment_root = ws.environment_root;
  s.domain = ws.domain;
  // issue 10 finding 2: the catalog holds the keys sealed; opened here, where they are used.
  auto api_key = OpenWorkspaceKey(ws.api_key);
  auto control_key = OpenWorkspaceKey(ws.control_key);
  if (api_key && control_key) {
    s.api_key = *api_key;
    s.control_key = *control_key;
  } else {
    util::Log(util::LogLevel::kError, "cannot open the keys of workspace {}: {}", ws.crn,
              (api_key ? control_key.error() : api_key.error()).message());
  }
  if (auto p = workspace::ParseWorkspaceParameters(ws.parameters, "", false)) {
    s.public_bind = p->use_public_load_balancer;
    if (p->whitelist_authorized_ip_ranges) s.authorized_ip_ranges = p->authorized_ip_ranges;
  }
  return s;
}

std::string CallerToJson(const Caller& c) {
  return json{{"accountId", c.account_id},
              {"principalCrn", c.principal_crn},
              {"principalName", c.principal_name},
              {"sourceIp", c.source_ip},
              {"source", c.source}}
      .dump();
}

Caller CallerFromJson(const std::string& text) {
  Caller c;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return c;
  auto s = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  c.account_id = s("accountId");
  c.principal_crn = s("principalCrn");
  c.principal_name = s("principalName");
  c.source_ip = s("sourceIp");
  c.source = s("source");
  return c;
}



std::string InputString(const WorkflowRecord& wf, const char* key) {
  json j = json::parse(wf.input, nullptr, false);
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return "";
}

util::Status MirrorBackupStatus(catalog::Db& db, const WorkflowRecord& wf,
                                catalog::WorkflowStatus status, const util::Error* error,
                                const std::string& warnings, util::TimeMicros now,
                                const catalog::BackupOutcome* outcome) {
  using catalog::WorkflowStatus;
  catalog::BackupStore bs(db);
  std::string id = InputString(wf, "backupId");
  if (status == WorkflowStatus::kRunning) return bs.SetStarted(id, now);
  if (status == WorkflowStatus::kQueued || status == WorkflowStatus::kPending)
    return bs.SetStatus(id, catalog::BackupStatusOf(status), now);
  catalog::BackupOutcome o;
  if (status == WorkflowStatus::kSucceeded && outcome != nullptr) o = *outcome;
  o.status = catalog::BackupStatusOf(status);
  o.warnings = warnings;
  if (error) o.error = error->message();
  return bs.Finish(id, o, now);
}

void SleepOrCancel(double seconds, const util::CancelToken* cancel) {
  double until = util::MonotonicSeconds() + seconds;
  while (util::MonotonicSeconds() < until && !(cancel && cancel->cancelled()))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void HoldWhileTestFileExists(const util::CancelToken* cancel) {
  std::string f = util::test_hooks::HoldFile();
  if (f.empty()) return;
  while (::access(f.c_str(), F_OK) == 0 && !(cancel && cancel->cancelled()))
    SleepOrCancel(0.05, cancel);
}

std::unexpected<util::Error> CancelledStatus(const util::CancelToken* cancel) {
  return util::Cancelled(cancel && !cancel->reason().empty() ? cancel->reason() : "cancelled");
}

// Waits until the runtime reports healthy, reconciled and not quiesced.
util::Result<workspace::Health> WaitHealthy(const workspace::RuntimeClient& rc, double timeout,
                                            const util::CancelToken* cancel) {
  double deadline = util::MonotonicSeconds() + timeout;
  std::string last = "no answer yet";
  for (;;) {
    if (cancel && cancel->cancelled()) return CancelledStatus(cancel);
    auto h = rc.GetHealth();
    if (h && h->status == "ok" && h->reconciled && !h->quiesced) return *h;
    if (h)
      last = "status \"" + h->status + "\", reconciled " + (h->reconciled ? "true" : "false");
    else
      last = h.error().message();
    if (util::MonotonicSeconds() > deadline)
      return util::Unavailable("the workspace runtime did not become healthy within " +
                               std::to_string(static_cast<int>(timeout)) + " s (last: " + last +
                               ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void AuditEnd(const HandlerEnv& env, const WorkflowRecord& wf, const std::string& action,
              const std::string& resource, const std::string& extra_detail) {
  if (!env.authorizer) return;
  util::Status outcome = util::Ok();
  if (wf.status != catalog::WorkflowStatus::kSucceeded) {
    auto code = wf.status == catalog::WorkflowStatus::kCancelled ? util::ErrorCode::kCancelled
                                                                 : util::ErrorCode::kInternal;
    outcome = std::unexpected(util::Error(code, wf.error_message.empty()
                                                    ? catalog::WorkflowStatusName(wf.status)
                                                    : wf.error_message));
  }
  env.authorizer->Audit(CallerFromJson(wf.caller), action, resource, outcome,
                        "workflow " + wf.id + " (" + wf.kind + ") ended " +
                            catalog::WorkflowStatusName(wf.status) +
                            (extra_detail.empty() ? "" : "; " + extra_detail));
}

// Deletes every recovery point of the vault labelled with this backup id (leftovers of an
// attempt that did not finish). Returns problems as warnings.
std::vector<std::string> DropLeftovers(vault::Vault& v, const std::string& backup_id,
                                       const std::vector<std::string>& keep) {
  std::vector<std::string> warnings;
  auto all = v.List();
  if (!all) return {"could not list the vault to remove leftovers: " + all.error().message()};
  for (const auto& rp : *all) {
    auto it = rp.labels.find("backup");
    if (it == rp.labels.end() || it->second != backup_id) continue;
    if (std::find(keep.begin(), keep.end(), rp.id) != keep.end()) continue;
    if (auto d = v.Delete(rp.id); !d && d.error().code() != util::ErrorCode::kNotFound)
      warnings.push_back("could not remove leftover recovery point " + rp.id + ": " +
                         d.error().message());
  }
  return warnings;
}

HandlerFactory MakeHandlerFactory(const HandlerEnv& env) {
  return [&env](const std::string& kind) -> std::unique_ptr<WorkflowHandler> {
    if (kind == kBackupKind) return MakeBackupHandler(env);
    if (kind == kRestoreKind) return MakeProvisionHandler(env, true);
    if (kind == kCreateWorkspaceKind) return MakeProvisionHandler(env, false);
    if (kind == kDeleteBackupKind) return MakeDeleteBackupHandler(env);
    if (kind == kRestoreItemsKind) return MakeRestoreItemsHandler(env);
    if (kind == kCopyBackupKind) return MakeCopyBackupHandler(env);
    if (kind == kRestoreTestKind) return MakeRestoreTestHandler(env);
    return nullptr;
  };
}

}  // namespace mlvault::control
