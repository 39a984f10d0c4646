// The server's workflow pool: `workers` threads that claim queued workflows from the catalog and
// run them with the workflow engine's leases (control/workflow_engine.h), so the API answers a
// workflow-starting call at once and the work happens here.
//
// Each thread has its own catalog connection and WorkflowEngine (made by `make_engine`, with
// spawn_workers off). Every few seconds one thread runs Recover(), which takes over workflows
// whose worker died (a previous server killed with -9, a crashed CLI worker) and requeues them
// for the pool or fails them with the cause.
//
// Drain (SIGTERM): Drain(deadline) stops claiming, waits for the running workflows up to the
// deadline and returns how many were still running; those keep their lease until this process
// exits, after which any mlvault (the next server) sees the owner gone and resumes them.
//
// Thread-safe: mu_ guards the ids of the workflows the pool's threads hold; the counters and the
// draining flag are atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catalog/db.h"
#include "control/workflow_engine.h"
#include "util/error.h"
#include "util/mutex.h"

namespace mlvault::api {

// What one pool thread works with: its catalog connection and its engine over it.
struct PoolThreadContext {
  std::unique_ptr<catalog::Db> db;
  std::shared_ptr<void> keep_alive;  // whatever the engine's handlers point to
  std::unique_ptr<control::WorkflowEngine> engine;
};
using EngineFactory = std::function<util::Result<std::unique_ptr<PoolThreadContext>>()>;

class WorkflowPool {
 public:
  WorkflowPool(int workers, EngineFactory make_engine, double poll_seconds = 0.2);
  ~WorkflowPool();

  util::Status Start();
  // Stops claiming; waits up to `deadline` for running workflows; returns how many still run.
  int Drain(std::chrono::milliseconds deadline);
  int running() const { return running_.load(); }
  uint64_t started() const { return started_.load(); }
  // Prometheus lines about the pool.
  std::string MetricsText() const;

 private:
  void Loop(int index, PoolThreadContext* ctx);
  bool TryClaimOne(PoolThreadContext& ctx);

  const int workers_;
  EngineFactory make_engine_;
  const std::chrono::milliseconds poll_;
  std::atomic<bool> draining_{false};
  std::atomic<int> running_{0};
  std::atomic<uint64_t> started_{0};
  util::Mutex mu_;
  util::CondVar cv_;  // waited on with mu_: a workflow ended, or draining began
  // Workflow ids a thread of this pool is running.
  std::set<std::string> in_hand_ MLV_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<PoolThreadContext>> contexts_;
  std::vector<std::thread> threads_;
};

}  // namespace mlvault::api
