// A fixed-size pool of worker threads with a bounded queue.
//
// Submit blocks while the queue is full, so producers cannot run ahead of the workers and
// memory stays bounded. Thread-safe. The destructor waits for queued tasks to finish.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mlvault::util {

class ThreadPool {
 public:
  // threads == 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t threads = 0, size_t max_queued = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; blocks while max_queued tasks are waiting (max_queued 0: 4 per thread).
  void Submit(std::function<void()> task);
  // Blocks until every submitted task has finished.
  void Wait();
  size_t size() const { return workers_.size(); }

 private:
  void Run();

  const size_t max_queued_;
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable has_work_;   // guarded by mu_
  std::condition_variable has_room_;   // guarded by mu_
  std::condition_variable idle_;       // guarded by mu_
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  size_t running_ = 0;                 // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
};

}  // namespace mlvault::util
