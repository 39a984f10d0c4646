// A fixed-size pool of worker threads with a bounded queue.
//
// Submit blocks while the queue is full, so producers cannot run ahead of the workers and
// memory stays bounded. Thread-safe. The destructor waits for queued tasks to finish.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "util/mutex.h"

namespace mlvault::util {

class ThreadPool {
 public:
  // threads == 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t threads = 0, size_t max_queued = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; blocks while max_queued tasks are waiting (max_queued 0: 4 per thread).
  void Submit(std::function<void()> task) MLV_EXCLUDES(mu_);
  // Blocks until every submitted task has finished.
  void Wait() MLV_EXCLUDES(mu_);
  size_t size() const { return workers_.size(); }

 private:
  void Run() MLV_EXCLUDES(mu_);

  const size_t max_queued_;
  std::vector<std::thread> workers_;

  Mutex mu_;
  CondVar has_work_;  // waited on with mu_: queue_ or stopping_ changed
  CondVar has_room_;  // waited on with mu_: queue_ shrank
  CondVar idle_;      // waited on with mu_: queue_ empty and running_ 0
  std::deque<std::function<void()>> queue_ MLV_GUARDED_BY(mu_);
  size_t running_ MLV_GUARDED_BY(mu_) = 0;
  bool stopping_ MLV_GUARDED_BY(mu_) = false;
};

}  // namespace mlvault::util
