// Workloads: the lifecycle of the workspace's processes — job runs, model deployments and
// applications — kept in step with their rows in the Store.
//
// Each live process has an in-memory record (pid, port, status) that the forwarder reads; every
// state transition of one entity (spawned, answered HTTP, exited, stopped) is serialised by that
// entity's transition lock and written to the Store under a WriteGate ticket, so transitions
// never reorder and, while quiesced, wait until the workspace resumes. A monitor thread probes
// starting services over HTTP and applies lease lapses of the gate.
//
// Reconcile() brings the recorded state back to life after a start (restart or restore).
//
// Thread-safe: mu_ guards the table of live processes, the shutting-down flag and each Proc's
// mutable fields (pid, port, status, end reason, deadline); each Proc's `transition` mutex
// serialises that entity's transitions.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/store.h"
#include "runtime/supervisor.h"
#include "runtime/volume.h"
#include "runtime/write_gate.h"
#include "util/clock.h"
#include "util/mutex.h"

namespace mlvault::runtime {

struct WorkloadOptions {
  std::string workspace_crn;
  std::chrono::milliseconds start_timeout{60000};  // services must answer HTTP within this
  std::chrono::milliseconds stop_grace{5000};      // SIGTERM -> SIGKILL
  // Start paused (a restore with --start-mode paused): Reconcile starts no application or
  // deployment; those recorded as starting or running become "paused" until ResumePaused().
  bool start_paused = false;
};

// One service ResumePaused() started.
struct ResumedService {
  std::string type;  // "application" | "deployment"
  std::string id;
  std::string name;    // the application's name, the deployment's model name
  std::string status;  // its status after the start (starting, running, failed)
  std::string message;
};

class Workloads {
 public:
  Workloads(Store& store, WriteGate& gate, const Volume& projects, const Volume& models,
            const util::Clock& clock, WorkloadOptions options);
  ~Workloads();  // Shutdown()

  // Job runs. StartRun creates the run row (running) and its process; kInvalidArgument if the
  // script is missing from the project. StopRun interrupts a running run (kConflict if it is
  // not running).
  util::Result<Run> StartRun(const Job& job);
  util::Result<Run> StopRun(const std::string& run_id);
  std::string RunLogPath(const std::string& run_id) const;

  // Applications: the row must exist; Start spawns it (status starting), Stop ends it
  // (status stopped), Restart does both.
  util::Result<App> StartApp(const std::string& app_id);
  util::Result<App> StopApp(const std::string& app_id);
  util::Result<App> RestartApp(const std::string& app_id);
  std::string AppLogPath(const std::string& app_id) const;

  // Deployments, likewise. Start checks the build's files against its manifest first.
  util::Result<Deployment> StartDeployment(const std::string& deployment_id);
  util::Result<Deployment> StopDeployment(const std::string& deployment_id);
  util::Result<Deployment> RestartDeployment(const std::string& deployment_id);
  std::string DeploymentLogPath(const std::string& deployment_id) const;
  // The directory of a build on the models volume, relative to its root.
  static PathParts BuildDir(const std::string& model_id, const std::string& build_id);

  // Where to forward: the port of the running application / deployment, or nullopt.
  std::optional<int> AppPort(const std::string& subdomain);
  std::optional<int> ModelPort(const std::string& model_name);

  // Starts every application and deployment whose status is "paused" (left so by a paused
  // start), waits until each answers HTTP, fails or its start times out, and returns them with
  // their status then. kUnavailable while the reconciliation is still running (retry).
  util::Result<std::vector<ResumedService>> ResumePaused();

  // True if a process for this entity is live (any status).
  bool IsLive(const std::string& id);

  // Quiesce hooks: pause (SIGSTOP) and continue (SIGCONT) running job runs.
  void PauseRuns();
  void ContinueRuns();

  // Starts the reconciliation in the background; reconciled() turns true when it is done.
  void StartReconcile();
  bool reconciled() const { return reconciled_.load(); }

  // Stops every process (runs become interrupted, services keep their recorded status so that
  // the next start brings them back) and the monitor. Idempotent.
  void Shutdown();

 private:
  enum class Kind { kRun, kApp, kDeployment };
  enum class EndReason { kNone, kUserStop, kTimeout, kShutdown };

  struct Proc {
    std::string id;
    Kind kind;
    std::string route;      // subdomain or model name
    util::Mutex transition;  // serialises this entity's transitions and their Store writes
    // Guarded by Workloads::mu_ (not annotated: the analysis cannot name the mutex of the
    // Workloads a Proc belongs to from inside Proc):
    pid_t pid = -1;
    int port = 0;
    std::string status;  // running (runs); starting, running (services)
    EndReason end = EndReason::kNone;
    std::string end_message;
    util::TimeMicros started_at = 0;
    std::chrono::steady_clock::time_point deadline;
    bool reconciling = false;  // started by Reconcile; it waits for it to leave starting
  };

  util::Result<std::shared_ptr<Proc>> SpawnService(Kind kind, const std::string& id,
                                                   const std::string& route,
                                                   const std::string& command,
                                                   const std::string& cwd,
                                                   const std::string& log_path,
                                                   const std::string& url_prefix, bool reconciling);
  void OnExit(const std::shared_ptr<Proc>& proc, const ExitInfo& info);
  // Writes a service's state (app or deployment row).
  void WriteServiceState(Kind kind, const std::string& id, const ServiceState& s, bool internal);
  util::Status StopProc(const std::string& id, EndReason reason, const std::string& message);
  util::Status VerifyBuild(const Build& build);
  void Monitor();
  void Reconcile();
  void KillOrphan(std::optional<int64_t> pid, const std::string& entity_id);

  // Constant after construction.
  Store& store_;
  WriteGate& gate_;
  const Volume& projects_;
  const Volume& models_;
  const util::Clock& clock_;
  const WorkloadOptions options_;

  Supervisor supervisor_;

  util::Mutex mu_;
  util::CondVar changed_;  // waited on with mu_: procs_ or a Proc's status changed
  std::map<std::string, std::shared_ptr<Proc>> procs_ MLV_GUARDED_BY(mu_);  // by entity id
  bool shutting_down_ MLV_GUARDED_BY(mu_) = false;

  std::atomic<bool> reconciled_{false};
  std::atomic<bool> stop_threads_{false};
  std::thread monitor_;
  std::thread reconciler_;
};

}  // namespace mlvault::runtime
