// The durable workflow engine: runs backup, restore, delete and create-workspace workflows that
// live in the catalog (table workflows), one worker at a time per workflow, and recovers the
// ones whose worker died.
//
// A worker owns a workflow through a lease (lease_owner, lease_expires_at) that it renews with
// every heartbeat; progress, phase and cancellation requests travel with the heartbeat. A
// workflow whose lease expired -- or whose owner was a process on this machine that no longer
// exists -- is stale: Recover() takes it over (compare-and-set on the row it saw, so two
// recovering processes never both act), lets its handler compensate (e.g. resume a workspace
// left quiesced), and then resumes it from the start in a new worker if it has attempts left,
// or marks it failed with the cause. Workflows sharing a queue key (a workspace's backups) run
// one at a time, oldest first; a waiting worker holds a lease too, so a dead waiter is noticed.
//
// Thread-safety: a WorkflowEngine is NOT thread-safe (it uses one Db); Run() starts its own
// heartbeat thread with its own Db connection.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/control_stores.h"
#include "catalog/db.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/progress.h"

namespace mlvault::control {

using DbOpener = std::function<util::Result<std::unique_ptr<catalog::Db>>()>;

// What a handler sees while it runs.
class WorkflowContext {
 public:
  virtual ~WorkflowContext() = default;
  virtual const catalog::WorkflowRecord& workflow() const = 0;
  // This worker's catalog connection (for the handler's own reads and writes).
  virtual catalog::Db& db() = 0;
  virtual const util::Clock& clock() const = 0;
  // Report progress here; it reaches the catalog with the next heartbeat and the terminal.
  virtual util::ProgressSink* progress() = 0;
  // Fires on cancel-backup, on the workflow's timeout ("timed out"), on SIGINT/SIGTERM of a
  // --wait run, and when the lease is lost to another process.
  virtual const util::CancelToken* cancel() const = 0;
  // A short name of the current step ("prepass", "quiescing", ...), kept on the workflow.
  virtual void SetPhase(const std::string& phase) = 0;
  // Something skipped or degraded; ends up in the workflow's (and resource's) warnings[].
  virtual void Warn(const std::string& warning) = 0;
  virtual std::vector<std::string> warnings() const = 0;
};

class WorkflowHandler {
 public:
  virtual ~WorkflowHandler() = default;
  // Does the work, from the start (a resumed workflow runs again). Returns the output JSON.
  virtual util::Result<std::string> Run(WorkflowContext& ctx) = 0;
  // Mirrors a status change into the resource's own tables (e.g. backups.status): "queued",
  // "pending" and "running" outside of, and the terminal ones inside, the transaction that ends
  // the workflow (error is set for failed/cancelled). `warnings` is the JSON array kept.
  virtual util::Status OnStatus(catalog::Db& db, const catalog::WorkflowRecord& wf,
                                catalog::WorkflowStatus status, const util::Error* error,
                                const std::string& warnings, util::TimeMicros now) = 0;
  // After the worker died: undo what must not stay (resume a workspace left quiesced, stop a
  // half-started runtime). Best effort; problems are returned as warnings.
  virtual std::vector<std::string> Compensate(catalog::Db& db,
                                              const catalog::WorkflowRecord& wf) = 0;
  // Called after the workflow ended (outside any transaction), e.g. to write the audit log.
  virtual void AfterEnd(catalog::Db&, const catalog::WorkflowRecord&) {}
};

using HandlerFactory = std::function<std::unique_ptr<WorkflowHandler>(const std::string& kind)>;

struct EngineOptions {
  std::string home;      // $MLVAULT_HOME (worker logs go to <home>/logs)
  std::string self_exe;  // the mlvault binary, to spawn `mlvault worker --workflow-id ID`
  const util::Clock* clock = &util::Clock::System();
  double lease_seconds = 30;     // $MLVAULT_WORKFLOW_LEASE_SECONDS overrides
  double heartbeat_seconds = 1;  // how often a worker renews its lease and stores progress
  double poll_seconds = 0.2;     // how often a queued worker looks whether it may start
  DbOpener open_db;              // a new catalog connection (for the heartbeat thread)
  // false in `mlvault server`: Spawn starts no process (it returns 0) and recovered workflows
  // stay queued with no owner, for the server's worker pool to claim.
  bool spawn_workers = true;
};

class WorkflowEngine {
 public:
  WorkflowEngine(catalog::Db& db, EngineOptions options, HandlerFactory handlers);

  // Runs workflow `id` in this process until it ends: waits for its turn in its queue, holds
  // and renews the lease, reports progress to `progress` (may be null). If another live worker
  // owns it, waits for that one to finish (showing its progress). `interrupted` (may be null)
  // is polled: when it turns true the workflow is cancelled cleanly. Returns the final record.
  util::Result<catalog::WorkflowRecord> Run(const std::string& id, util::ProgressSink* progress,
                                            const std::atomic<bool>* interrupted = nullptr);

  // Starts a detached worker process for `id` (`<self_exe> worker --workflow-id <id>`, own
  // session, log <home>/logs/worker-<id>.log). Returns its pid (0 without spawn_workers: the
  // workflow stays queued for a server's pool).
  util::Result<int> Spawn(const std::string& id);

  // Detects stale workflows and resumes them (spawning workers, or running them here one after
  // the other when `run_inline`) or fails them. Returns one sentence per workflow acted on.
  util::Result<std::vector<std::string>> Recover(bool run_inline);

  // This process's owner name: "<host>/<pid>/<start ticks>/<random>".
  const std::string& owner() const { return owner_; }
  int64_t lease_micros() const;

 private:
  bool Stale(const catalog::WorkflowRecord& w, util::TimeMicros now) const;

  catalog::Db& db_;
  const EngineOptions options_;
  const HandlerFactory handlers_;
  const std::string owner_;
};

// True if `owner` names a process on this machine that no longer exists.
bool OwnerIsLocalAndGone(std::string_view owner);

// Appends `warning` to a JSON array of strings; returns the new JSON text.
std::string AppendWarning(const std::string& warnings_json, const std::string& warning);

}  // namespace mlvault::control
