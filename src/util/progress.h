// Progress reporting and cancellation for long operations (backup, restore, verify, GC).
//
// The operation owns the counters and calls the sink; the sink decides how to show them
// (a terminal bar, a catalog row, nothing). Sinks must be thread-safe: parallel workers report.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "util/clock.h"

namespace mlvault::util {

struct ProgressSnapshot {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0 when not known yet
  uint64_t files_done = 0;
  uint64_t files_total = 0;  // 0 when not known yet
  std::string phase;         // e.g. "scanning", "uploading", "restoring"
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // Called often (possibly from many threads); implementations rate-limit themselves.
  virtual void Report(const ProgressSnapshot& p) = 0;
  // Called once when the operation ends (success or not).
  virtual void Finish() {}
};

// Draws a one-line bar on stderr, at most 10 times a second, only if stderr is a terminal.
class TerminalProgress : public ProgressSink {
 public:
  explicit TerminalProgress(std::string label);
  void Report(const ProgressSnapshot& p) override;
  void Finish() override;

 private:
  const std::string label_;
  const bool enabled_;
  std::mutex mu_;
  double last_draw_ = 0;  // guarded by mu_
  bool drawn_ = false;    // guarded by mu_
};

// Cooperative cancellation with an optional deadline. Thread-safe; cheap to poll.
class CancelToken {
 public:
  void Cancel(std::string reason = "cancelled");
  // Cancels automatically once the clock passes `deadline` (microseconds since the epoch).
  void SetDeadline(TimeMicros deadline, const Clock* clock = &Clock::System());
  bool cancelled() const;
  std::string reason() const;

 private:
  std::atomic<bool> cancelled_{false};
  std::atomic<TimeMicros> deadline_{0};
  const Clock* clock_ = &Clock::System();
  mutable std::mutex mu_;
  std::string reason_;  // guarded by mu_
};

// Formats a byte count for people: "1.5 GiB".
std::string HumanBytes(uint64_t n);

}  // namespace mlvault::util
