// stopWorkspace and startWorkspace (issue 16): a workspace's runtime stopped and started again
// without touching its volumes, and, after a host restart, every workspace that was running
// brought back (start-workspace --all; the systemd unit in docs/control-plane.md runs it at boot).
#include "control/handlers.h"
#include "control/handlers_internal.h"
#include "control/operations.h"
#include "control/resource_authz.h"
#include "control/responses.h"

namespace mlvault::control {

using catalog::WorkflowStore;
using catalog::WorkspaceRecord;
using catalog::WorkspaceStore;

namespace {

constexpr double kStartTimeoutSeconds = 90;

// Refuses while a backup, restore or item restore of the workspace is queued or running.
util::Status NoWorkflowActive(catalog::Db& db, const WorkspaceRecord& ws, std::string_view verb) {
  auto active = MLV_TRY(WorkflowStore(db).ListActiveInQueue(WorkspaceQueue(ws.id)));
  if (!active.empty())
    return util::Conflict("workspace " + ws.name + " has a " + active[0].kind +
                          " workflow in progress (" + active[0].id + "); " + std::string(verb) +
                          " it after that ends");
  return util::Ok();
}

}  // namespace

util::Result<api::WorkspaceLifecycleResponse> Operations::StopWorkspace(
    const api::StopWorkspaceRequest& r) {
  auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, env_.caller.account_id, "ml:StopWorkspace",
                                       "workspaceCrn", r.workspace_crn));
  MLV_TRY(Authorize(t.request));
  api::WorkspaceRuntimeState state;
  util::Status st = [&]() -> util::Status {
    if (!t.found() || t.record->deleted_at)
      return util::NotFound("workspace " + r.workspace_crn + " does not exist");
    const WorkspaceRecord& ws = *t.record;
    if (ws.status != "running" && ws.status != "stopped")
      return util::Conflict("workspace " + ws.name + " is " + ws.status +
                            "; only a running workspace can be stopped");
    MLV_TRY(NoWorkflowActive(*env_.db, ws, "stop"));
    auto spec = SpecOf(ws);
    if (ws.runtime_pid > 0 && env_.provider->RuntimeAlive(spec, static_cast<int>(ws.runtime_pid)))
      MLV_TRY_CTX(env_.provider->StopRuntime(spec, static_cast<int>(ws.runtime_pid)),
                  "stopping the workspace runtime");
    MLV_TRY(WorkspaceStore(*env_.db).SetStatus(ws.id, "stopped", "stopped by " +
                                                   env_.caller.principal_name, env_.clock->Now()));
    state = {ws.crn, ws.name, "stopped", "", std::nullopt};
    return util::Ok();
  }();
  Audit("ml:StopWorkspace", r.workspace_crn, st);
  MLV_TRY(st);
  return api::WorkspaceLifecycleResponse{{state}};
}

util::Result<api::WorkspaceLifecycleResponse> Operations::StartWorkspace(
    const api::StartWorkspaceRequest& r) {
  if (r.all == !r.workspace_crn.empty())
    return util::InvalidArgument("give --workspace-crn, or --all (not both)");
  std::vector<WorkspaceRecord> targets;
  if (!r.all) {
    auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, env_.caller.account_id, "ml:StartWorkspace",
                                         "workspaceCrn", r.workspace_crn));
    MLV_TRY(Authorize(t.request));
    if (!t.found() || t.record->deleted_at)
      return util::NotFound("workspace " + r.workspace_crn + " does not exist");
    targets.push_back(*t.record);
  } else {
    // Every workspace that should run (running, or stopped only because its runtime died) and
    // does not: those stopped on purpose stay stopped.
    MLV_TRY(Authorize(ActionRequest("ml:StartWorkspace", "*")));
    for (auto& ws : MLV_TRY(WorkspaceStore(*env_.db).List(env_.caller.account_id)))
      if (ws.status == "running" &&
          !(ws.runtime_pid > 0 &&
            env_.provider->RuntimeAlive(SpecOf(ws), static_cast<int>(ws.runtime_pid))))
        targets.push_back(std::move(ws));
  }
  api::WorkspaceLifecycleResponse out;
  for (const auto& ws : targets) {
    api::WorkspaceRuntimeState state{ws.crn, ws.name, "", ws.endpoint, std::nullopt};
    util::Status st = [&]() -> util::Status {
      if (ws.status != "running" && ws.status != "stopped")
        return util::Conflict("workspace " + ws.name + " is " + ws.status +
                              "; only a stopped workspace can be started");
      auto spec = SpecOf(ws);
      if (ws.runtime_pid > 0 && env_.provider->RuntimeAlive(spec, static_cast<int>(ws.runtime_pid))) {
        state.status = "running";  // already: nothing to do
        return util::Ok();
      }
      MLV_TRY(NoWorkflowActive(*env_.db, ws, "start"));
      workspace::RuntimeInfo rt = MLV_TRY(env_.provider->StartRuntime(spec));
      MLV_TRY(WorkspaceStore(*env_.db).RecordRuntime(ws.id, rt.pid, rt.endpoint, "", env_.clock->Now()));
      workspace::RuntimeClient rc(rt.endpoint, spec.control_key, 10);
      util::CancelToken never;
      auto h = WaitHealthy(rc, kStartTimeoutSeconds, &never);
      if (!h) {
        (void)env_.provider->StopRuntime(spec, rt.pid);
        (void)WorkspaceStore(*env_.db).SetStatus(ws.id, "stopped", h.error().message(), env_.clock->Now());
        return std::unexpected(h.error());
      }
      MLV_TRY(WorkspaceStore(*env_.db).SetRuntime(ws.id, rt.pid, rt.endpoint, h->version, env_.clock->Now()));
      state.status = "running";
      state.endpoint = rt.endpoint;
      return util::Ok();
    }();
    Audit("ml:StartWorkspace", ws.crn, st);
    if (!st) {
      if (!r.all) return std::unexpected(st.error());
      state.status = "failed";
      state.reason = st.error().message();
    }
    out.workspaces.push_back(std::move(state));
  }
  return out;
}

}  // namespace mlvault::control
