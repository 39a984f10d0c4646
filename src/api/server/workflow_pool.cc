#include "api/server/workflow_pool.h"

#include "util/log.h"

namespace mlvault::api {

WorkflowPool::WorkflowPool(int workers, EngineFactory make_engine, double poll_seconds)
    : workers_(std::max(1, workers)),
      make_engine_(std::move(make_engine)),
      poll_(static_cast<int64_t>(poll_seconds * 1000)) {}

WorkflowPool::~WorkflowPool() { Drain(std::chrono::milliseconds(0)); }

util::Status WorkflowPool::Start() {
  for (int i = 0; i < workers_; ++i) contexts_.push_back(MLV_TRY(make_engine_()));
  for (int i = 0; i < workers_; ++i)
    threads_.emplace_back([this, i] { Loop(i, contexts_[i].get()); });
  return util::Ok();
}

bool WorkflowPool::TryClaimOne(PoolThreadContext& ctx) {
  auto rows = ctx.db->Query(
      "SELECT id FROM workflows WHERE status IN ('pending', 'queued') AND lease_owner = '' "
      "ORDER BY created_at, id LIMIT 32");
  if (!rows) {
    util::Log(util::LogLevel::kWarn, "workflow pool: cannot read the catalog: {}",
              rows.error().message());
    return false;
  }
  std::string id;
  {
    util::MutexLock lock(mu_);
    for (const auto& r : *rows) {
      if (!in_hand_.contains(r.Text(0))) {
        id = r.Text(0);
        in_hand_.insert(id);
        break;
      }
    }
  }
  if (id.empty()) return false;
  ++running_;
  ++started_;
  // Run claims it (compare-and-set in the catalog: another server may win), waits its turn in
  // its queue, holds and renews the lease, and ends it.
  auto r = ctx.engine->Run(id, nullptr, nullptr);
  if (!r)
    util::Log(util::LogLevel::kWarn, "workflow pool: workflow {}: {}", id, r.error().message());
  --running_;
  {
    util::MutexLock lock(mu_);
    in_hand_.erase(id);
  }
  cv_.NotifyAll();
  return true;
}

void WorkflowPool::Loop(int index, PoolThreadContext* ctx) {
  auto last_recover = std::chrono::steady_clock::time_point{};
  const auto recover_every =
      std::chrono::milliseconds(std::max<int64_t>(1000, ctx->engine->lease_micros() / 4000));
  while (!draining_) {
    if (index == 0 && std::chrono::steady_clock::now() - last_recover > recover_every) {
      last_recover = std::chrono::steady_clock::now();
      auto report = ctx->engine->Recover(false);
      if (!report)
        util::Log(util::LogLevel::kWarn, "workflow recovery failed: {}", report.error().message());
      else
        for (const auto& line : *report) util::Log(util::LogLevel::kInfo, "{}", line);
    }
    if (TryClaimOne(*ctx)) continue;
    util::MutexLock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + poll_;
    while (!draining_.load() && cv_.WaitUntil(mu_, until)) {
    }
  }
}

int WorkflowPool::Drain(std::chrono::milliseconds deadline) {
  draining_ = true;
  cv_.NotifyAll();
  const auto until = std::chrono::steady_clock::now() + deadline;
  {
    util::MutexLock lock(mu_);
    while (running_.load() != 0 && cv_.WaitUntil(mu_, until)) {
    }
  }
  int left = running_.load();
  if (left == 0) {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  } else {
    // Still running past the deadline: the process exits with their leases held; they are
    // resumed (or failed with the cause) by whoever recovers next.
    for (auto& t : threads_)
      if (t.joinable()) t.detach();
  }
  threads_.clear();
  return left;
}

std::string WorkflowPool::MetricsText() const {
  return "# HELP mlvault_workflow_pool_running Workflows this server's pool is running.\n"
         "# TYPE mlvault_workflow_pool_running gauge\nmlvault_workflow_pool_running " +
         std::to_string(running_.load()) +
         "\n# HELP mlvault_workflow_pool_started_total Workflows this server's pool took.\n"
         "# TYPE mlvault_workflow_pool_started_total "
         "counter\nmlvault_workflow_pool_started_total " +
         std::to_string(started_.load()) + "\n";
}

}  // namespace mlvault::api
