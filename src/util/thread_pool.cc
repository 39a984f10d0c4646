#include "util/thread_pool.h"

namespace mlvault::util {

ThreadPool::ThreadPool(size_t threads, size_t max_queued)
    : max_queued_(max_queued ? max_queued
                             : 4 * (threads ? threads : std::max(1u, std::thread::hardware_concurrency()))) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Run(); });
}

ThreadPool::~ThreadPool() {
  Wait();
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  has_work_.NotifyAll();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  MutexLock lock(mu_);
  while (queue_.size() >= max_queued_) has_room_.Wait(mu_);
  queue_.push_back(std::move(task));
  has_work_.NotifyOne();
}

void ThreadPool::Wait() {
  MutexLock lock(mu_);
  while (!queue_.empty() || running_ != 0) idle_.Wait(mu_);
}

void ThreadPool::Run() {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) has_work_.Wait(mu_);
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      has_room_.NotifyOne();
    }
    task();
    {
      MutexLock lock(mu_);
      --running_;
      if (queue_.empty() && running_ == 0) idle_.NotifyAll();
    }
  }
}

}  // namespace mlvault::util
