// Workloads while the workspace is up: job runs, applications and deployed models as supervised
// processes, their exits and the monitor; start-up reconcile and shutdown are in
// workloads_reconcile.cc. See workloads.h.
#include "runtime/workloads.h"

#include <fmt/core.h>
#include <httplib.h>
#include <signal.h>

#include <cstring>

#include "runtime/net.h"
#include "util/files.h"
#include "util/log.h"
#include "util/random.h"

namespace mlvault::runtime {

namespace {

std::string DescribeExit(const ExitInfo& info) {
  if (info.exited) return fmt::format("exited with code {}", info.exit_code);
  const char* name = sigabbrev_np(info.signal);
  return fmt::format("killed by signal {}{}{}", info.signal, name ? " (SIG" : "",
                     name ? std::string(name) + ")" : "");
}

// Any HTTP answer, whatever its status, means the service is up.
bool AnswersHttp(int port) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(0, 200000);
  cli.set_read_timeout(1, 0);
  cli.set_write_timeout(1, 0);
  auto res = cli.Get("/");
  return static_cast<bool>(res);
}

}  // namespace

Workloads::Workloads(Store& store, WriteGate& gate, const Volume& projects, const Volume& models,
                     const util::Clock& clock, WorkloadOptions options)
    : store_(store),
      gate_(gate),
      projects_(projects),
      models_(models),
      clock_(clock),
      options_(std::move(options)) {
  (void)util::MakeDirs(projects_.root() + "/.logs/runs");
  (void)util::MakeDirs(projects_.root() + "/.logs/apps");
  monitor_ = std::thread(&Workloads::Monitor, this);
}

Workloads::~Workloads() { Shutdown(); }

std::string Workloads::RunLogPath(const std::string& run_id) const {
  return projects_.root() + "/.logs/runs/" + run_id + ".log";
}
std::string Workloads::AppLogPath(const std::string& app_id) const {
  return projects_.root() + "/.logs/apps/" + app_id + ".log";
}
std::string Workloads::DeploymentLogPath(const std::string& deployment_id) const {
  return models_.root() + "/.logs/" + deployment_id + ".log";
}
PathParts Workloads::BuildDir(const std::string& model_id, const std::string& build_id) {
  return {model_id, build_id};
}

// ---- job runs

util::Result<Run> Workloads::StartRun(const Job& job) {
  PathParts script = MLV_TRY(SplitRelativePath(job.script));
  PathParts full = {job.project_id};
  full.insert(full.end(), script.begin(), script.end());
  auto fd = projects_.OpenFile(full);
  if (!fd) {
    if (fd.error().code() == util::ErrorCode::kNotFound)
      return util::InvalidArgument("the job's script '" + job.script +
                                   "' does not exist in the project; upload it first");
    return std::unexpected(fd.error().WithContext("the job's script"));
  }
  Run run;
  run.id = util::NewUuid();
  run.job_id = job.id;
  run.project_id = job.project_id;
  run.status = "running";
  run.started_at = clock_.Now();
  MLV_TRY(store_.CreateRun(run));

  SpawnSpec spec;
  spec.argv.push_back(job.interpreter);
  if (job.interpreter == "python3") spec.argv.push_back("-u");
  spec.argv.push_back(job.script);
  spec.argv.insert(spec.argv.end(), job.args.begin(), job.args.end());
  spec.cwd = projects_.PathOf({job.project_id});
  spec.log_path = RunLogPath(run.id);
  auto port = PickFreePort();
  spec.env = {{"PORT", port ? std::to_string(*port) : ""},
              {"MLVAULT_RUN_ID", run.id},
              {"MLVAULT_PROJECT_ID", job.project_id},
              {"MLVAULT_WORKSPACE_CRN", options_.workspace_crn},
              {"MLVAULT_PROCESS_ID", run.id},
              {"PYTHONUNBUFFERED", "1"}};

  auto proc = std::make_shared<Proc>();
  proc->id = run.id;
  proc->kind = Kind::kRun;
  util::MutexLock transition(proc->transition);
  util::Result<pid_t> pid = util::Unavailable("the workspace is stopping");
  {
    util::MutexLock lock(mu_);
    if (!shutting_down_) {
      pid = supervisor_.Spawn(spec,
                              [this, proc](pid_t, const ExitInfo& info) { OnExit(proc, info); });
      if (pid) {
        proc->pid = *pid;
        proc->status = "running";
        proc->started_at = run.started_at;
        procs_[run.id] = proc;
      }
    }
  }
  auto ticket = gate_.EnterInternal();
  if (!pid) {
    run.status = "failed";
    run.finished_at = clock_.Now();
    run.message = pid.error().message();
  } else {
    run.pid = *pid;
  }
  if (ticket) MLV_TRY(store_.UpdateRun(run));
  return run;
}

util::Result<Run> Workloads::StopRun(const std::string& run_id) {
  Run run = MLV_TRY(store_.GetRun(run_id));
  if (run.status != "running")
    return util::Conflict("run '" + run_id + "' is not running (" + run.status + ")");
  auto st = StopProc(run_id, EndReason::kUserStop, "stopped by a user");
  if (!st) {
    // Recorded as running but without a process (an earlier runtime's run not reconciled yet).
    run.status = "interrupted";
    run.finished_at = clock_.Now();
    run.message = "stopped by a user";
    auto ticket = gate_.EnterInternal();
    if (ticket) MLV_TRY(store_.UpdateRun(run));
  }
  return store_.GetRun(run_id);
}

// ---- services

void Workloads::WriteServiceState(Kind kind, const std::string& id, const ServiceState& s,
                                  bool internal) {
  std::optional<WriteGate::Ticket> ticket;
  if (internal) {
    ticket = gate_.EnterInternal();
    if (!ticket) return;  // stopping while quiesced: the next start reconciles
  }
  util::Status st =
      kind == Kind::kApp ? store_.UpdateAppState(id, s) : store_.UpdateDeploymentState(id, s);
  if (!st && st.error().code() != util::ErrorCode::kNotFound)
    util::Log(util::LogLevel::kError, "cannot record the state of {}: {}", id,
              st.error().ToString());
}

util::Result<std::shared_ptr<Workloads::Proc>> Workloads::SpawnService(
    Kind kind, const std::string& id, const std::string& route, const std::string& command,
    const std::string& cwd, const std::string& log_path, const std::string& url_prefix,
    bool reconciling) {
  auto proc = std::make_shared<Proc>();
  proc->id = id;
  proc->kind = kind;
  proc->route = route;
  util::MutexLock transition(proc->transition);
  auto port = PickFreePort();
  util::Result<pid_t> pid = util::Unavailable("the workspace is stopping");
  if (!port) pid = std::unexpected(port.error());
  ServiceState state;
  state.started_at = clock_.Now();
  {
    util::MutexLock lock(mu_);
    if (procs_.count(id)) return util::Conflict("'" + id + "' is already running; stop it first");
    if (!shutting_down_ && port) {
      SpawnSpec spec;
      spec.argv = {"/bin/sh", "-c", command};
      spec.cwd = cwd;
      spec.log_path = log_path;
      spec.env = {{"PORT", std::to_string(*port)},
                  {"MLVAULT_URL_PREFIX", url_prefix},
                  {"MLVAULT_WORKSPACE_CRN", options_.workspace_crn},
                  {"MLVAULT_PROCESS_ID", id},
                  {"PYTHONUNBUFFERED", "1"}};
      pid = supervisor_.Spawn(spec,
                              [this, proc](pid_t, const ExitInfo& info) { OnExit(proc, info); });
      if (pid) {
        proc->pid = *pid;
        proc->port = *port;
        proc->status = "starting";
        proc->started_at = *state.started_at;
        proc->deadline = std::chrono::steady_clock::now() + options_.start_timeout;
        proc->reconciling = reconciling;
        procs_[id] = proc;
      }
    }
  }
  if (pid) {
    state.status = "starting";
    state.pid = *pid;
    state.port = *port;
  } else {
    state.status = "failed";
    state.message = "cannot start: " + pid.error().message();
  }
  WriteServiceState(kind, id, state, /*internal=*/true);
  return proc;
}

util::Result<App> Workloads::StartApp(const std::string& app_id) {
  App app = MLV_TRY(store_.GetApp(app_id));
  MLV_TRY(projects_.OpenDir({app.project_id}, /*create=*/true));
  MLV_TRY(SpawnService(Kind::kApp, app.id, app.subdomain, app.command,
                       projects_.PathOf({app.project_id}), AppLogPath(app.id),
                       "/apps/" + app.subdomain, /*reconciling=*/false));
  return store_.GetApp(app_id);
}

util::Result<App> Workloads::StopApp(const std::string& app_id) {
  App app = MLV_TRY(store_.GetApp(app_id));
  if (!StopProc(app_id, EndReason::kUserStop, "stopped by a user") &&
      app.state.status != "stopped") {
    ServiceState s;
    s.status = "stopped";
    s.message = "stopped by a user";
    WriteServiceState(Kind::kApp, app_id, s, /*internal=*/true);
  }
  return store_.GetApp(app_id);
}

util::Result<App> Workloads::RestartApp(const std::string& app_id) {
  MLV_TRY(store_.GetApp(app_id));
  (void)StopProc(app_id, EndReason::kUserStop, "stopped by a user (restart)");
  return StartApp(app_id);
}

util::Status Workloads::VerifyBuild(const Build& build) {
  PathParts dir = BuildDir(build.model_id, build.id);
  PathParts manifest = dir;
  manifest.push_back("manifest.json");
  auto mfd = models_.OpenFile(manifest);
  if (!mfd)
    return util::Corruption("the build's manifest.json is missing: " + mfd.error().message());
  FileInfo minfo = MLV_TRY(models_.Describe(mfd->get(), "manifest.json"));
  if (minfo.sha256 != build.manifest_sha256)
    return util::Corruption("the build's manifest.json does not match its recorded checksum");
  for (const BuildFile& f : build.files) {
    PathParts parts = dir;
    PathParts rel = MLV_TRY(SplitRelativePath(f.path));
    parts.insert(parts.end(), rel.begin(), rel.end());
    auto fd = models_.OpenFile(parts);
    if (!fd)
      return util::Corruption("build file '" + f.path + "' is missing: " + fd.error().message());
    FileInfo info = MLV_TRY(models_.Describe(fd->get(), f.path));
    if (info.sha256 != f.sha256 || info.size != f.size)
      return util::Corruption("build file '" + f.path + "' does not match the build's manifest");
  }
  return util::Ok();
}

util::Result<Deployment> Workloads::StartDeployment(const std::string& deployment_id) {
  Deployment d = MLV_TRY(store_.GetDeployment(deployment_id));
  Build build = MLV_TRY(store_.GetBuild(d.build_id));
  util::Status verified = VerifyBuild(build);
  if (!verified) {
    ServiceState s;
    s.status = "failed";
    s.message = verified.error().message();
    WriteServiceState(Kind::kDeployment, d.id, s, /*internal=*/true);
    return store_.GetDeployment(deployment_id);
  }
  MLV_TRY(SpawnService(Kind::kDeployment, d.id, d.model_name, build.serve_command,
                       models_.PathOf(BuildDir(build.model_id, build.id)), DeploymentLogPath(d.id),
                       "/models/" + d.model_name, /*reconciling=*/false));
  return store_.GetDeployment(deployment_id);
}

util::Result<Deployment> Workloads::StopDeployment(const std::string& deployment_id) {
  Deployment d = MLV_TRY(store_.GetDeployment(deployment_id));
  if (!StopProc(deployment_id, EndReason::kUserStop, "stopped by a user") &&
      d.state.status != "stopped") {
    ServiceState s;
    s.status = "stopped";
    s.message = "stopped by a user";
    WriteServiceState(Kind::kDeployment, deployment_id, s, /*internal=*/true);
  }
  return store_.GetDeployment(deployment_id);
}

util::Result<Deployment> Workloads::RestartDeployment(const std::string& deployment_id) {
  MLV_TRY(store_.GetDeployment(deployment_id));
  (void)StopProc(deployment_id, EndReason::kUserStop, "stopped by a user (restart)");
  return StartDeployment(deployment_id);
}

// ---- common

util::Status Workloads::StopProc(const std::string& id, EndReason reason,
                                 const std::string& message) {
  pid_t pid;
  {
    util::MutexLock lock(mu_);
    auto it = procs_.find(id);
    if (it == procs_.end()) return util::NotFound("no process for '" + id + "'");
    it->second->end = reason;
    it->second->end_message = message;
    pid = it->second->pid;
  }
  supervisor_.Stop(pid, options_.stop_grace);
  return util::Ok();
}

void Workloads::OnExit(const std::shared_ptr<Proc>& proc, const ExitInfo& info) {
  util::MutexLock transition(proc->transition);
  EndReason reason;
  std::string end_message;
  bool shutting;
  {
    util::MutexLock lock(mu_);
    reason = proc->end;
    end_message = proc->end_message;
    shutting = shutting_down_;
    auto it = procs_.find(proc->id);
    if (it != procs_.end() && it->second == proc) procs_.erase(it);
    changed_.NotifyAll();
  }
  if (shutting && reason == EndReason::kNone) reason = EndReason::kShutdown;

  if (proc->kind == Kind::kRun) {
    auto ticket = gate_.EnterInternal();
    if (!ticket) return;  // stopping while quiesced: the next start marks it interrupted
    auto run = store_.GetRun(proc->id);
    if (!run) return;  // deleted meanwhile
    run->finished_at = clock_.Now();
    if (reason == EndReason::kUserStop) {
      run->status = "interrupted";
      run->message = end_message;
    } else if (reason == EndReason::kShutdown) {
      run->status = "interrupted";
      run->message = "the workspace stopped while the run was in flight";
    } else if (info.exited && info.exit_code == 0) {
      run->status = "succeeded";
      run->exit_code = 0;
    } else {
      run->status = "failed";
      if (info.exited) run->exit_code = info.exit_code;
      run->message = DescribeExit(info);
    }
    if (auto st = store_.UpdateRun(*run); !st)
      util::Log(util::LogLevel::kError, "cannot record the end of run {}: {}", proc->id,
                st.error().ToString());
    return;
  }
  // Services keep their recorded status when the runtime stops, so the next start revives them.
  if (reason == EndReason::kShutdown) return;
  ServiceState s;
  if (reason == EndReason::kUserStop) {
    s.status = "stopped";
    s.message = end_message;
  } else if (reason == EndReason::kTimeout) {
    s.status = "failed";
    s.message = end_message;
  } else {
    s.status = "failed";
    s.message = DescribeExit(info);
  }
  WriteServiceState(proc->kind, proc->id, s, /*internal=*/true);
}

std::optional<int> Workloads::AppPort(const std::string& subdomain) {
  util::MutexLock lock(mu_);
  for (const auto& [id, p] : procs_)
    if (p->kind == Kind::kApp && p->route == subdomain && p->status == "running") return p->port;
  return std::nullopt;
}

std::optional<int> Workloads::ModelPort(const std::string& model_name) {
  util::MutexLock lock(mu_);
  for (const auto& [id, p] : procs_)
    if (p->kind == Kind::kDeployment && p->route == model_name && p->status == "running")
      return p->port;
  return std::nullopt;
}

bool Workloads::IsLive(const std::string& id) {
  util::MutexLock lock(mu_);
  return procs_.count(id) > 0;
}

void Workloads::PauseRuns() {
  util::MutexLock lock(mu_);
  for (const auto& [id, p] : procs_)
    if (p->kind == Kind::kRun) supervisor_.Signal(p->pid, SIGSTOP);
}

void Workloads::ContinueRuns() {
  util::MutexLock lock(mu_);
  for (const auto& [id, p] : procs_)
    if (p->kind == Kind::kRun) supervisor_.Signal(p->pid, SIGCONT);
}

void Workloads::Monitor() {
  while (!stop_threads_.load()) {
    gate_.CheckLease();
    struct Probe {
      std::shared_ptr<Proc> proc;
      int port;
      bool expired;
    };
    std::vector<Probe> probes;
    {
      util::MutexLock lock(mu_);
      auto now = std::chrono::steady_clock::now();
      for (const auto& [id, p] : procs_)
        if (p->kind != Kind::kRun && p->status == "starting")
          probes.push_back({p, p->port, now > p->deadline});
    }
    for (const Probe& pr : probes) {
      if (stop_threads_.load()) break;
      if (AnswersHttp(pr.port)) {
        util::MutexLock transition(pr.proc->transition);
        ServiceState s;
        {
          util::MutexLock lock(mu_);
          auto it = procs_.find(pr.proc->id);
          if (it == procs_.end() || it->second != pr.proc || pr.proc->status != "starting")
            continue;
          pr.proc->status = "running";
          s.status = "running";
          s.pid = pr.proc->pid;
          s.port = pr.proc->port;
          s.started_at = pr.proc->started_at;
          changed_.NotifyAll();
        }
        WriteServiceState(pr.proc->kind, pr.proc->id, s, /*internal=*/true);
      } else if (pr.expired) {
        std::string message = fmt::format(
            "did not answer HTTP on its port within {} s",
            std::chrono::duration_cast<std::chrono::seconds>(options_.start_timeout).count());
        (void)StopProc(pr.proc->id, EndReason::kTimeout, message);
      }
    }
    util::MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (!stop_threads_.load() && changed_.WaitUntil(mu_, deadline)) {
    }
  }
}

}  // namespace mlvault::runtime
