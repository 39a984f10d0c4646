// stopWorkspace and startWorkspace (issue 16): a workspace's runtime stopped and started again
// without touching its volumes, and, after a host restart, every workspace that was running
// brought back (start-workspace --all; the systemd unit in docs/control-plane.md runs it at boot).
// resumeWorkspace starts the applications and deployments a paused restore left "paused".
#include "control/lifecycle.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "catalog/workspace_start_claim.h"
#include "control/handlers.h"
#include "control/handlers_internal.h"
#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"
#include "control/workflow_engine.h"
#include "control/workload_status.h"
#include "util/process.h"
#include "util/random.h"

namespace mlvault::control {

namespace {

constexpr double kStartTimeoutSeconds = 90;
// A start claim lasts the start's timeout and this much more, which covers the provider's wait
// for the runtime's ready file (30 s). A holder that died is noticed when its claim lapses, or at
// once when it was a process of this host.
constexpr double kClaimMarginSeconds = 60;

// Refuses while a backup, restore or item restore of the workspace is queued or running.
util::Status NoWorkflowActive(catalog::Db& db, const WorkspaceRecord& ws, std::string_view verb) {
  auto active = MLV_TRY(WorkflowStore(db).ListActiveInQueue(WorkspaceQueue(ws.id)));
  if (!active.empty())
    return util::Conflict("workspace " + ws.name + " has a " + active[0].kind +
                          " workflow in progress (" + active[0].id + "); " + std::string(verb) +
                          " it after that ends");
  return util::Ok();
}

// What StartRuntimeOf did: the runtime's endpoint, and whether this call started it (false: it
// was running already, started by someone else).
struct Started {
  std::string endpoint;
  bool by_us = false;
};

// This process, as the holder of a start claim: "<host>/<pid>/<start ticks>/<random>" (the
// workflow engine's owner form, so OwnerIsLocalAndGone recognises a holder that died).
std::string ClaimOwner() {
  int pid = static_cast<int>(::getpid());
  return util::HostName() + "/" + std::to_string(pid) + "/" +
         std::to_string(util::ProcessStartTicks(pid)) + "/" + util::RandomHex(4);
}

bool Alive(workspace::Provider& provider, const WorkspaceRecord& ws) {
  return ws.runtime_pid > 0 && provider.RuntimeAlive(SpecOf(ws), static_cast<int>(ws.runtime_pid));
}

// Starts the runtime of `seen` unless it is alive already, waits until it is healthy and
// reconciled, and records it. Exactly one caller starts it, whichever server or process it runs
// in: the start is made under the workspace's start claim (catalog/workspace_start_claim.h), and
// the row is read again once the claim is ours. When another holds the claim, `wait` waits for
// it to end (then answers the runtime that one started); without, kConflict naming the holder.
// kConflict for a workspace neither running nor stopped, or with a workflow in progress;
// kUnavailable when the runtime does not get healthy (it is stopped again and the workspace
// recorded as stopped with the reason).
util::Result<Started> StartRuntimeOf(catalog::Db& db, workspace::Provider& provider,
                                     const util::Clock& clock, const WorkspaceRecord& seen,
                                     bool wait) {
  if (seen.status != catalog::WorkspaceStatus::kRunning &&
      seen.status != catalog::WorkspaceStatus::kStopped)
    return util::Conflict("workspace " + seen.name + " is " +
                          catalog::WorkspaceStatusName(seen.status) +
                          "; only a stopped workspace can be started");
  if (Alive(provider, seen)) return Started{seen.endpoint, false};  // already: nothing to do
  const std::string owner = ClaimOwner();
  const int64_t lease = static_cast<int64_t>((kStartTimeoutSeconds + kClaimMarginSeconds) * 1e6);
  catalog::WorkspaceStartClaim claim(db);
  const double deadline = util::MonotonicSeconds() + kStartTimeoutSeconds + kClaimMarginSeconds;
  WorkspaceRecord ws;
  for (;;) {
    std::string holder;
    bool ours = MLV_TRY(claim.Claim(seen.id, owner, clock.Now(), lease, &holder));
    if (!ours && !holder.empty() && OwnerIsLocalAndGone(holder))
      ours = MLV_TRY(claim.TakeOver(seen.id, holder, owner, clock.Now(), lease));
    auto fresh = WorkspaceStore(db).Get(seen.account_id, seen.id);
    if (!fresh || fresh->deleted_at) {
      if (ours) (void)claim.Release(seen.id, owner);
      if (!fresh) return std::unexpected(fresh.error());
      return util::NotFound("workspace " + seen.crn + " does not exist");
    }
    ws = std::move(*fresh);
    if (Alive(provider, ws)) {  // started meanwhile, by the claim's previous holder
      if (ours) (void)claim.Release(seen.id, owner);
      return Started{ws.endpoint, false};
    }
    if (ours) break;
    if (!wait)
      return util::Conflict("workspace " + ws.name + " is being started by " +
                            (holder.empty() ? std::string("another process") : holder));
    if (util::MonotonicSeconds() > deadline)
      return util::Unavailable("workspace " + ws.name + " is being started by " + holder +
                               " and did not come up; try start-workspace again");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto started = [&]() -> util::Result<Started> {
    if (ws.status != catalog::WorkspaceStatus::kRunning &&
        ws.status != catalog::WorkspaceStatus::kStopped)
      return util::Conflict("workspace " + ws.name + " is " +
                          catalog::WorkspaceStatusName(ws.status) +
                            "; only a stopped workspace can be started");
    MLV_TRY(NoWorkflowActive(db, ws, "start"));
    auto spec = SpecOf(ws);
    workspace::RuntimeInfo rt = MLV_TRY(provider.StartRuntime(spec));
    MLV_TRY(WorkspaceStore(db).RecordRuntime(ws.id, rt.pid, rt.endpoint, "", clock.Now()));
    workspace::RuntimeClient rc(rt.endpoint, spec.control_key, 10);
    util::CancelToken never;
    auto h = WaitHealthy(rc, kStartTimeoutSeconds, &never);
    if (!h) {
      (void)provider.StopRuntime(spec, rt.pid);
      (void)WorkspaceStore(db).SetStatus(ws.id, catalog::WorkspaceStatus::kStopped,
                                         h.error().message(), clock.Now());
      return std::unexpected(h.error());
    }
    MLV_TRY(WorkspaceStore(db).SetRuntime(ws.id, rt.pid, rt.endpoint, h->version, clock.Now()));
    return Started{rt.endpoint, true};
  }();
  (void)claim.Release(ws.id, owner);
  return started;
}

}  // namespace

util::Result<std::vector<api::WorkspaceRuntimeState>> BringBackWorkspaces(
    const BringBackEnv& env) {
  std::vector<api::WorkspaceRuntimeState> out;
  for (const auto& ws : MLV_TRY(WorkspaceStore(*env.db).ListAllLive())) {
    if (ws.status != catalog::WorkspaceStatus::kRunning ||
        (ws.runtime_pid > 0 &&
         env.provider->RuntimeAlive(SpecOf(ws), static_cast<int>(ws.runtime_pid))))
      continue;
    api::WorkspaceRuntimeState state{ws.crn, ws.name, RuntimeStateName(RuntimeState::kRunning),
                                      ws.endpoint, std::nullopt};
    auto endpoint = StartRuntimeOf(*env.db, *env.provider, *env.clock, ws, /*wait=*/false);
    if (!endpoint && endpoint.error().code() == util::ErrorCode::kConflict) {
      // A workflow of the workspace is in progress (a restore, a backup) and owns the runtime, or
      // another server is starting it.
      state.status = RuntimeStateName(RuntimeState::kUnchanged);
      state.reason = endpoint.error().message();
      out.push_back(std::move(state));
      continue;
    }
    if (endpoint && !endpoint->by_us) {
      // Another server brought it back first: not ours to audit.
      state.status = RuntimeStateName(RuntimeState::kUnchanged);
      state.endpoint = endpoint->endpoint;
      state.reason = "running already (started by another server)";
      out.push_back(std::move(state));
      continue;
    }
    if (endpoint) {
      state.endpoint = endpoint->endpoint;
    } else {
      state.status = RuntimeStateName(RuntimeState::kFailed);
      state.reason = endpoint.error().message();
    }
    // Audited in the workspace's account as the server (no user asked for it).
    Caller server;
    server.account_id = ws.account_id;
    server.principal_name = env.name;
    server.source = "server";
    server.source_ip = "127.0.0.1";
    if (env.authorizer)
      env.authorizer->Audit(server, "ml:StartWorkspace", ws.crn,
                            endpoint ? util::Ok() : util::Status(std::unexpected(endpoint.error())),
                            "brought back at the start of " + env.name);
    out.push_back(std::move(state));
  }
  return out;
}

util::Result<api::WorkspaceLifecycleResponse> Operations::StopWorkspace(
    const api::StopWorkspaceRequest& request) {
  api::StopWorkspaceRequest r = request;
  auto t = MLV_TRY(LoadWorkspaceOf("ml:StopWorkspace", r));
  MLV_TRY(Authorize(t.request));
  api::WorkspaceRuntimeState state;
  util::Status st = [&]() -> util::Status {
    if (!t.found() || t.record->deleted_at)
      return util::NotFound("workspace " + r.workspace_crn + " does not exist");
    const WorkspaceRecord& ws = *t.record;
    if (ws.status != catalog::WorkspaceStatus::kRunning &&
        ws.status != catalog::WorkspaceStatus::kStopped)
      return util::Conflict("workspace " + ws.name + " is " +
                            catalog::WorkspaceStatusName(ws.status) +
                            "; only a running workspace can be stopped");
    MLV_TRY(NoWorkflowActive(*env_.db, ws, "stop"));
    auto spec = SpecOf(ws);
    if (ws.runtime_pid > 0 && env_.provider->RuntimeAlive(spec, static_cast<int>(ws.runtime_pid)))
      MLV_TRY_CTX(env_.provider->StopRuntime(spec, static_cast<int>(ws.runtime_pid)),
                  "stopping the workspace runtime");
    MLV_TRY(WorkspaceStore(*env_.db).SetStatus(ws.id, catalog::WorkspaceStatus::kStopped,
                                               "stopped by " + env_.caller.principal_name,
                                               env_.clock->Now()));
    state = {ws.crn, ws.name, RuntimeStateName(RuntimeState::kStopped), "", std::nullopt};
    return util::Ok();
  }();
  Audit("ml:StopWorkspace", r.workspace_crn, st);
  MLV_TRY(st);
  return api::WorkspaceLifecycleResponse{{state}};
}

util::Result<api::WorkspaceLifecycleResponse> Operations::StartWorkspace(
    const api::StartWorkspaceRequest& request) {
  api::StartWorkspaceRequest r = request;
  const bool named = !r.workspace_crn.empty() || !r.workspace_name.empty() ||
                     !r.environment_name.empty();
  if (r.all == named)
    return util::InvalidArgument(
        "give --workspace-crn (or --workspace-name with --environment-name), or --all (not both)");
  std::vector<WorkspaceRecord> targets;
  if (!r.all) {
    auto t = MLV_TRY(LoadWorkspaceOf("ml:StartWorkspace", r));
    MLV_TRY(Authorize(t.request));
    if (!t.found() || t.record->deleted_at)
      return util::NotFound("workspace " + r.workspace_crn + " does not exist");
    targets.push_back(*t.record);
  } else {
    // Every workspace that should run (running, or stopped only because its runtime died) and
    // does not: those stopped on purpose stay stopped.
    MLV_TRY(Authorize(ActionRequest("ml:StartWorkspace", "*")));
    for (auto& ws : MLV_TRY(WorkspaceStore(*env_.db).List(env_.caller.account_id)))
      if (ws.status == catalog::WorkspaceStatus::kRunning &&
          !(ws.runtime_pid > 0 &&
            env_.provider->RuntimeAlive(SpecOf(ws), static_cast<int>(ws.runtime_pid))))
        targets.push_back(std::move(ws));
  }
  api::WorkspaceLifecycleResponse out;
  for (const auto& ws : targets) {
    api::WorkspaceRuntimeState state{ws.crn, ws.name, "", ws.endpoint, std::nullopt};
    util::Status st = [&]() -> util::Status {
      state.endpoint =
          MLV_TRY(StartRuntimeOf(*env_.db, *env_.provider, *env_.clock, ws, /*wait=*/true))
              .endpoint;
      state.status = RuntimeStateName(RuntimeState::kRunning);
      return util::Ok();
    }();
    Audit("ml:StartWorkspace", ws.crn, st);
    if (!st) {
      if (!r.all) return std::unexpected(st.error());
      state.status = RuntimeStateName(RuntimeState::kFailed);
      state.reason = st.error().message();
    }
    out.workspaces.push_back(std::move(state));
  }
  return out;
}

util::Result<api::ResumeWorkspaceResponse> Operations::ResumeWorkspace(
    const api::ResumeWorkspaceRequest& request) {
  api::ResumeWorkspaceRequest r = request;
  auto t = MLV_TRY(LoadWorkspaceOf("ml:ResumeWorkspace", r));
  MLV_TRY(Authorize(t.request));
  api::ResumeWorkspaceResponse out;
  util::Status st = [&]() -> util::Status {
    if (!t.found() || t.record->deleted_at)
      return util::NotFound("workspace " + r.workspace_crn + " does not exist");
    const WorkspaceRecord& ws = *t.record;
    out.workspace_crn = ws.crn;
    out.workspace_name = ws.name;
    auto spec = SpecOf(ws);
    if (ws.status != catalog::WorkspaceStatus::kRunning ||
        !(ws.runtime_pid > 0 &&
          env_.provider->RuntimeAlive(spec, static_cast<int>(ws.runtime_pid))))
      return util::Conflict("workspace " + ws.name + " is not running (" +
                            catalog::WorkspaceStatusName(ws.status) +
                            "); start it first: mlvault start-workspace --workspace-crn " + ws.crn);
    MLV_TRY(NoWorkflowActive(*env_.db, ws, "resume"));
    workspace::RuntimeClient rc(ws.endpoint, spec.control_key, kStartTimeoutSeconds);
    for (auto& s : MLV_TRY_CTX(rc.ResumeServices(), "starting the paused services"))
      out.started.push_back({s.type, s.name, s.status,
                             s.message.empty() ? std::nullopt
                                               : std::optional<std::string>(s.message)});
    return util::Ok();
  }();
  size_t failed = 0;
  for (const auto& s : out.started) failed += ParseServiceStatus(s.status) == ServiceStatus::kFailed;
  Audit("ml:ResumeWorkspace", r.workspace_crn, st,
        st ? std::to_string(out.started.size()) + " paused services started" +
                 (failed ? ", " + std::to_string(failed) + " failed" : "")
           : "");
  MLV_TRY(st);
  return out;
}

}  // namespace mlvault::control
