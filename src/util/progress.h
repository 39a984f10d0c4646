// Progress reporting and cancellation for long operations (backup, restore, verify, GC).
//
// The operation owns the counters and calls the sink; the sink decides how to show them
// (a terminal bar, a catalog row, nothing). Sinks must be thread-safe: parallel workers report.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "util/clock.h"
#include "util/mutex.h"

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
  Mutex mu_;
  double last_draw_ MLV_GUARDED_BY(mu_) = 0;
  bool drawn_ MLV_GUARDED_BY(mu_) = false;
};

// One operation over several parts (a backup pass over a workspace's volumes): forwards each
// part's reports to `next` with the counters of the parts done before added, so a bar shows one
// total across parts instead of starting again at each. A part's total is only shown once the
// part knows it (0 = unknown until then). The phase is prefixed with the part's name ("volume
// data: scanning"). EndPart(stats) folds a finished part into the base. Report is thread-safe
// (a part's workers report in parallel); Begin/EndPart are called between parts.
class PartsProgress : public ProgressSink {
 public:
  explicit PartsProgress(ProgressSink* next) : next_(next) {}
  // The part now running, named in the phase.
  void BeginPart(std::string name);
  // The part ended having processed `bytes` and `files`: they join the base as done and total.
  void EndPart(uint64_t bytes, uint64_t files);
  void Report(const ProgressSnapshot& p) override;
  // What Report forwards for the part's snapshot `p`.
  ProgressSnapshot Combined(const ProgressSnapshot& p) const;

 private:
  ProgressSink* const next_;
  mutable Mutex mu_;
  std::string part_ MLV_GUARDED_BY(mu_);
  uint64_t bytes_ MLV_GUARDED_BY(mu_) = 0;  // of the parts done
  uint64_t files_ MLV_GUARDED_BY(mu_) = 0;  // of the parts done
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
  mutable Mutex mu_;
  std::string reason_ MLV_GUARDED_BY(mu_);
};

// Formats a byte count for people: "1.5 GiB".
std::string HumanBytes(uint64_t n);

}  // namespace mlvault::util
