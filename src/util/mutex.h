// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with clang's
// thread-safety annotations (util/thread_annotations.h), so members declared
// MLV_GUARDED_BY(mu_) are checked by clang builds.
//
//   util::Mutex mu_;
//   int count_ MLV_GUARDED_BY(mu_) = 0;
//   util::CondVar changed_;
//   ...
//   util::MutexLock lock(mu_);
//   while (count_ == 0) changed_.Wait(mu_);
//
// A CondVar waits with a condition written as a loop in the function that holds the mutex (not
// as a predicate lambda, which the analysis would check as a function of its own). Thread-safe,
// as the std types they wrap; neither copyable nor movable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "util/thread_annotations.h"

namespace mlvault::util {

class MLV_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() MLV_ACQUIRE() { mu_.lock(); }
  void Unlock() MLV_RELEASE() { mu_.unlock(); }
  bool TryLock() MLV_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex from construction to destruction.
class MLV_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) MLV_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() MLV_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases mu, waits for a notification (or a spurious wake-up), takes mu again.
  void Wait(Mutex& mu) MLV_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held: the caller's
  }
  // As Wait, giving up at `deadline`; false when the deadline passed.
  template <class Clock, class Duration>
  bool WaitUntil(Mutex& mu, const std::chrono::time_point<Clock, Duration>& deadline)
      MLV_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    bool notified = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return notified;
  }
  // As Wait, giving up after `timeout`; false when it passed.
  template <class Rep, class Period>
  bool WaitFor(Mutex& mu, const std::chrono::duration<Rep, Period>& timeout) MLV_REQUIRES(mu) {
    return WaitUntil(mu, std::chrono::steady_clock::now() + timeout);
  }

  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace mlvault::util
