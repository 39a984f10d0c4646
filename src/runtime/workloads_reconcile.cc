// Workloads at the workspace's start and end: killing what an earlier run left behind, the
// reconcile pass that settles runs and services recorded as live, resuming services paused by a
// quiesce, and the shutdown. Job runs and services while the workspace is up are in workloads.cc.
#include <fmt/core.h>
#include <signal.h>

#include "runtime/workloads.h"
#include "util/files.h"
#include "util/log.h"

namespace mlvault::runtime {

// ---- reconcile

void Workloads::KillOrphan(std::optional<int64_t> pid, const std::string& entity_id) {
  if (!pid || *pid <= 1) return;
  auto environ_text = util::ReadFile(fmt::format("/proc/{}/environ", *pid));
  if (!environ_text) return;
  // Only a process this workspace started for this entity: the pid may have been reused, and
  // a restored copy shares its source's pids but not its CRN.
  std::string crn = "MLVAULT_WORKSPACE_CRN=" + options_.workspace_crn;
  std::string pid_marker = "MLVAULT_PROCESS_ID=" + entity_id;
  bool has_crn = false, has_id = false;
  size_t pos = 0;
  const std::string& env = *environ_text;
  while (pos < env.size()) {
    size_t end = env.find('\0', pos);
    if (end == std::string::npos) end = env.size();
    std::string_view kv(env.data() + pos, end - pos);
    if (kv == crn) has_crn = true;
    if (kv == pid_marker) has_id = true;
    pos = end + 1;
  }
  if (has_crn && has_id) {
    util::Log(util::LogLevel::kWarn,
              "killing process group {} left by an earlier run of this workspace", *pid);
    ::kill(-static_cast<pid_t>(*pid), SIGKILL);
    ::kill(static_cast<pid_t>(*pid), SIGKILL);
  }
}

namespace {

ServiceState PausedState() {
  ServiceState s;
  s.status = "paused";
  s.message =
      "the workspace started paused (restore-workspace --start-mode paused); "
      "resume-workspace starts it";
  return s;
}

}  // namespace

util::Result<std::vector<ResumedService>> Workloads::ResumePaused() {
  if (!reconciled_.load())
    return util::Unavailable("the workspace is still reconciling after its start; retry shortly");
  std::vector<ResumedService> out;
  // Started services are waited for (until they answer HTTP, fail, or the start timeout).
  std::vector<std::string> started;
  for (const App& a : MLV_TRY(store_.ListApps(std::nullopt))) {
    if (a.state.status != "paused") continue;
    ResumedService r{"application", a.id, a.name, "failed", ""};
    if (auto app = StartApp(a.id); app)
      started.push_back(a.id);
    else
      r.message = app.error().message();
    out.push_back(std::move(r));
  }
  for (const Deployment& d : MLV_TRY(store_.ListDeployments())) {
    if (d.state.status != "paused") continue;
    ResumedService r{"deployment", d.id, d.model_name, "failed", ""};
    if (auto dep = StartDeployment(d.id); dep)
      started.push_back(d.id);
    else
      r.message = dep.error().message();
    out.push_back(std::move(r));
  }
  // The live ones' status as the monitor set it (the Store follows just after); those gone
  // ended (failed) and their row says why.
  std::map<std::string, std::string> live;
  {
    util::MutexLock lock(mu_);
    const auto deadline =
        std::chrono::steady_clock::now() + options_.start_timeout + std::chrono::seconds(2);
    for (;;) {
      bool starting = false;
      if (!stop_threads_.load())
        for (const auto& id : started)
          if (auto it = procs_.find(id); it != procs_.end() && it->second->status == "starting")
            starting = true;
      if (!starting || !changed_.WaitUntil(mu_, deadline)) break;
    }
    for (const auto& id : started)
      if (auto it = procs_.find(id); it != procs_.end()) live[id] = it->second->status;
  }
  for (ResumedService& r : out) {
    if (!r.message.empty()) continue;  // could not be started: said why
    if (auto it = live.find(r.id); it != live.end()) {
      r.status = it->second;
      continue;
    }
    util::Result<ServiceState> state = util::Unavailable("unknown");
    if (r.type == "application") {
      if (auto a = store_.GetApp(r.id))
        state = a->state;
      else
        state = std::unexpected(a.error());
    } else {
      if (auto d = store_.GetDeployment(r.id))
        state = d->state;
      else
        state = std::unexpected(d.error());
    }
    if (!state) {
      r.message = state.error().message();
      continue;
    }
    r.status = state->status;
    r.message = state->message;
  }
  return out;
}

void Workloads::StartReconcile() { reconciler_ = std::thread(&Workloads::Reconcile, this); }

void Workloads::Reconcile() {
  auto runs = store_.ListRunsWithStatus("running");
  if (!runs) util::Log(util::LogLevel::kError, "reconcile: {}", runs.error().ToString());
  for (Run& r : runs ? *runs : std::vector<Run>{}) {
    if (stop_threads_.load()) return;
    KillOrphan(r.pid, r.id);
    auto ticket = gate_.EnterInternal();
    if (!ticket) return;
    r.status = "interrupted";
    r.finished_at = clock_.Now();
    r.message = "the workspace restarted while the run was in flight";
    if (auto st = store_.UpdateRun(r); !st)
      util::Log(util::LogLevel::kError, "reconcile run {}: {}", r.id, st.error().ToString());
  }

  auto revive = [](const ServiceState& s) {
    return s.status == "starting" || s.status == "running";
  };
  auto apps = store_.ListApps(std::nullopt);
  if (!apps) util::Log(util::LogLevel::kError, "reconcile: {}", apps.error().ToString());
  for (const App& a : apps ? *apps : std::vector<App>{}) {
    if (stop_threads_.load()) return;
    if (!revive(a.state)) continue;
    KillOrphan(a.state.pid, a.id);
    if (options_.start_paused) {
      WriteServiceState(Kind::kApp, a.id, PausedState(), true);
      continue;
    }
    auto dir = projects_.OpenDir({a.project_id}, /*create=*/true);
    if (!dir) {
      ServiceState s{"failed", "cannot open the project directory: " + dir.error().message()};
      WriteServiceState(Kind::kApp, a.id, s, true);
      continue;
    }
    auto st =
        SpawnService(Kind::kApp, a.id, a.subdomain, a.command, projects_.PathOf({a.project_id}),
                     AppLogPath(a.id), "/apps/" + a.subdomain, /*reconciling=*/true);
    if (!st)
      util::Log(util::LogLevel::kError, "reconcile application {}: {}", a.id,
                st.error().ToString());
  }
  auto deps = store_.ListDeployments();
  if (!deps) util::Log(util::LogLevel::kError, "reconcile: {}", deps.error().ToString());
  for (const Deployment& d : deps ? *deps : std::vector<Deployment>{}) {
    if (stop_threads_.load()) return;
    if (!revive(d.state)) continue;
    KillOrphan(d.state.pid, d.id);
    if (options_.start_paused) {
      WriteServiceState(Kind::kDeployment, d.id, PausedState(), true);
      continue;
    }
    auto build = store_.GetBuild(d.build_id);
    util::Status verified =
        build ? VerifyBuild(*build) : util::Status(std::unexpected(build.error()));
    if (!verified) {
      ServiceState s{"failed", verified.error().message()};
      WriteServiceState(Kind::kDeployment, d.id, s, true);
      continue;
    }
    auto st =
        SpawnService(Kind::kDeployment, d.id, d.model_name, build->serve_command,
                     models_.PathOf(BuildDir(build->model_id, build->id)), DeploymentLogPath(d.id),
                     "/models/" + d.model_name, /*reconciling=*/true);
    if (!st)
      util::Log(util::LogLevel::kError, "reconcile deployment {}: {}", d.id, st.error().ToString());
  }

  // Done when none of the revived services is still starting (running, or failed and gone).
  util::MutexLock lock(mu_);
  for (;;) {
    bool starting = false;
    if (!stop_threads_.load())
      for (const auto& [id, p] : procs_)
        if (p->reconciling && p->status == "starting") starting = true;
    if (!starting) break;
    changed_.Wait(mu_);
  }
  if (!stop_threads_.load()) {
    reconciled_ = true;
    util::Log(util::LogLevel::kInfo, "reconciled");
  }
}

void Workloads::Shutdown() {
  {
    util::MutexLock lock(mu_);
    if (shutting_down_ && !monitor_.joinable() && !reconciler_.joinable()) return;
    shutting_down_ = true;
    for (auto& [id, p] : procs_)
      if (p->end == EndReason::kNone) p->end = EndReason::kShutdown;
    stop_threads_ = true;
    changed_.NotifyAll();
  }
  gate_.Shutdown();
  if (reconciler_.joinable()) reconciler_.join();
  if (monitor_.joinable()) monitor_.join();
  supervisor_.StopAll(options_.stop_grace);
}

}  // namespace mlvault::runtime
