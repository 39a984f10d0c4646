// The create_workspace and restore workflows: provision a workspace (and restore every volume
// of a backup into it), then start its runtime.
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "control/backup_copies.h"
#include "control/handlers_internal.h"
#include "control/ops_internal.h"
#include "control/vaults.h"
#include "workspace/runtime_client.h"

namespace mlvault::control {

namespace {

// ============================================================================ provision / restore

// create_workspace and restore share everything but the restore of the volumes.
class ProvisionHandler : public WorkflowHandler {
 public:
  ProvisionHandler(const HandlerEnv& env, bool restore) : env_(env), restore_(restore) {}

  util::Result<std::string> Run(WorkflowContext& ctx) override {
    const WorkflowRecord& wf = ctx.workflow();
    WorkspaceStore wss(ctx.db());
    WorkspaceRecord ws = MLV_TRY(wss.Get(wf.account_id, InputString(wf, "workspaceId")));
    workspace::WorkspaceSpec spec = SpecOf(ws);
    spec.start_paused = restore_ && InputString(wf, "startMode") == "paused";
    // A resumed attempt starts from a clean slate.
    if (ws.runtime_pid > 0)
      MLV_TRY(env_.provider->StopRuntime(spec, static_cast<int>(ws.runtime_pid)));
    MLV_TRY(env_.provider->RemoveVolumes(spec));

    ctx.SetPhase("provisioning");
    MLV_TRY(env_.provider->CreateVolumes(spec));
    auto result = Provision(ctx, ws, spec);
    if (!result) {
      if (started_pid_ > 0) (void)env_.provider->StopRuntime(spec, started_pid_);
      (void)env_.provider->RemoveVolumes(spec);
    }
    return result;
  }

  util::Status OnStatus(catalog::Db& db, const WorkflowRecord& wf, catalog::WorkflowStatus status,
                        const util::Error* error, const std::string&,
                        util::TimeMicros now) override {
    WorkspaceStore wss(db);
    std::string id = InputString(wf, "workspaceId");
    using catalog::WorkflowStatus;
    if (status == WorkflowStatus::kSucceeded)
      return wss.SetRuntime(id, started_pid_, endpoint_, version_, now);
    if (status == WorkflowStatus::kFailed || status == WorkflowStatus::kCancelled)
      return wss.MarkFailed(id,
                            (restore_ ? "restore " : "provisioning ") +
                                std::string(catalog::WorkflowStatusName(status)) + ": " +
                                (error ? error->message() : std::string("unknown cause")),
                            now);
    return util::Ok();
  }

  std::vector<std::string> Compensate(catalog::Db& db, const WorkflowRecord& wf) override {
    std::vector<std::string> out;
    auto ws = WorkspaceStore(db).Get(wf.account_id, InputString(wf, "workspaceId"));
    if (!ws) return out;
    auto spec = SpecOf(*ws);
    if (ws->runtime_pid > 0 &&
        env_.provider->RuntimeAlive(spec, static_cast<int>(ws->runtime_pid))) {
      if (auto s = env_.provider->StopRuntime(spec, static_cast<int>(ws->runtime_pid)); s)
        out.push_back("stopped the runtime the interrupted " +
                      std::string(restore_ ? "restore" : "provisioning") + " had started");
      else
        out.push_back("could not stop runtime pid " + std::to_string(ws->runtime_pid) + ": " +
                      s.error().message());
    }
    if (auto r = env_.provider->RemoveVolumes(spec); !r)
      out.push_back("could not remove the half-provisioned volumes: " + r.error().message());
    return out;
  }

  void AfterEnd(catalog::Db& db, const WorkflowRecord& wf) override {
    AuditEnd(env_, wf, restore_ ? "ml:RestoreWorkspace" : "ml:CreateWorkspace", wf.resource_crn);
    (void)db;
  }

 private:
  util::Result<std::string> Provision(WorkflowContext& ctx, const WorkspaceRecord& ws,
                                      const workspace::WorkspaceSpec& spec) {
    const WorkflowRecord& wf = ctx.workflow();
    json out = {
        {"workspaceCrn", ws.crn}, {"environmentName", ws.environment_name}, {"domain", ws.domain}};
    uint64_t bytes = 0, files = 0;
    if (restore_) {
      BackupStore bs(ctx.db());
      BackupRecord b = MLV_TRY(bs.Get(wf.account_id, InputString(wf, "backupId")));
      auto points = MLV_TRY(bs.RecoveryPoints(b.id));
      auto v = MLV_TRY(OpenBackupVault(ctx.db(), env_.home, b));
      std::map<std::string, workspace::Volume> volumes;
      for (auto& vol : env_.provider->Volumes(spec)) volumes[vol.name] = vol;
      ctx.SetPhase("restoring");
      for (const auto& rp : points) {
        auto it = volumes.find(rp.volume);
        if (it == volumes.end()) {
          ctx.Warn("the backup's volume \"" + rp.volume +
                   "\" has no counterpart in the new workspace; skipped");
          continue;
        }
        vault::RestoreOptions ro;
        auto st = v->Restore(rp.vault_point_id, it->second.path, ro, ctx.progress(), ctx.cancel());
        if (!st) return std::unexpected(st.error().WithContext("restoring volume " + rp.volume));
        for (const auto& w : st->warnings) ctx.Warn("volume " + rp.volume + ": " + w);
        bytes += st->bytes_written;
        files += st->files;
      }
      out["restoredFromBackupCrn"] = b.crn;
      out["sourceWorkspaceCrn"] = b.workspace_crn;
      out["sourceEnvironmentName"] = b.environment_name;
      out["bytesRestored"] = bytes;
      out["filesRestored"] = files;
    }
    if (ctx.cancel()->cancelled()) return CancelledStatus(ctx.cancel());
    ctx.SetPhase("starting");
    workspace::RuntimeInfo rt = MLV_TRY(env_.provider->StartRuntime(spec));
    started_pid_ = rt.pid;
    endpoint_ = rt.endpoint;
    MLV_TRY(
        WorkspaceStore(ctx.db()).RecordRuntime(ws.id, rt.pid, rt.endpoint, "", ctx.clock().Now()));
    ctx.SetPhase(restore_ ? "reconciling" : "waiting for health");
    workspace::RuntimeClient rc(rt.endpoint, spec.control_key, 10);
    workspace::Health h = MLV_TRY(WaitHealthy(rc, env_.health_timeout_seconds, ctx.cancel()));
    if (!h.workspace_crn.empty() && h.workspace_crn != ws.crn)
      return util::Internal("the runtime at " + rt.endpoint + " serves " + h.workspace_crn +
                            ", not " + ws.crn);
    version_ = h.version;
    if (restore_) {
      out["startMode"] = spec.start_paused ? "paused" : "running";
      out["repointed"] = Repointed(ctx, ws, rt.endpoint);
    }
    ctx.SetPhase("done");
    ctx.progress()->Report({bytes, bytes, files, files, ""});
    out["endpoint"] = rt.endpoint;
    out["version"] = h.version;
    return out.dump();
  }

  // What a restored workspace answers differently from its source: the endpoint, the domain and
  // the API key (a new one: the source's key is not valid on it).
  static json Repointed(WorkflowContext& ctx, const WorkspaceRecord& ws,
                        const std::string& endpoint) {
    std::string src_endpoint, src_domain, src_crn;
    auto b = BackupStore(ctx.db()).Get(ws.account_id, InputString(ctx.workflow(), "backupId"));
    if (b) {
      src_crn = b->workspace_crn;
      if (auto src = WorkspaceStore(ctx.db()).Get(ws.account_id, b->workspace_id)) {
        src_endpoint = src->endpoint;
        src_domain = src->domain;
      }
    }
    auto from = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
    return json::array(
        {{{"what", "endpoint"}, {"from", from(src_endpoint)}, {"to", endpoint}},
         {{"what", "domain"}, {"from", from(src_domain)}, {"to", ws.domain}},
         {{"what", "apiKey"},
          {"from", "the API key of " + (src_crn.empty() ? std::string("the source") : src_crn) +
                       " (not valid here)"},
          {"to", "a new key: mlvault get-workspace-api-key --workspace-crn " + ws.crn}}});
  }

  const HandlerEnv& env_;
  const bool restore_;
  int started_pid_ = 0;
  std::string endpoint_, version_;
};

}  // namespace

std::unique_ptr<WorkflowHandler> MakeProvisionHandler(const HandlerEnv& env, bool restore) {
  return std::make_unique<ProvisionHandler>(env, restore);
}

}  // namespace mlvault::control
