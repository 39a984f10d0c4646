// The shared state of one long vault operation (a backup or a restore) run by many threads:
// the first failure, cancellation, and the warnings collected on the way.
//
// Thread-safety: every method may be called from any thread at any time; mu_ guards the first
// failure and the warnings.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/mutex.h"
#include "util/progress.h"

namespace mlvault::vault {

class OperationState {
 public:
  // `verb` names the operation in the cancellation error ("backup cancelled: <reason>").
  // `cancel` may be null; it must outlive this object.
  OperationState(std::string verb, const util::CancelToken* cancel)
      : verb_(std::move(verb)), cancel_(cancel) {}

  // Records a failure; the first one is the operation's error, later ones are dropped (they
  // are usually consequences of the first).
  void Fail(util::Error e);
  // True once the operation failed or was cancelled (a cancellation is recorded as the failure
  // kCancelled "<verb> cancelled: <reason>"). Workers check it between units of work.
  bool Stopped();
  // True once Fail was called (cancellation is noticed only by Stopped).
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // The first failure, if any.
  std::optional<util::Error> error() const;

  // Adds a warning (one sentence). Up to kMaxWarnings are kept; the rest are counted and
  // reported by Warnings() as a last line, never dropped silently.
  void Warn(std::string warning);
  // The warnings so far, with "... and N more warnings" when some were not kept.
  std::vector<std::string> Warnings() const;

  static constexpr size_t kMaxWarnings = 1000;

 private:
  const std::string verb_;
  const util::CancelToken* const cancel_;
  mutable util::Mutex mu_;
  std::optional<util::Error> error_ MLV_GUARDED_BY(mu_);
  std::vector<std::string> warnings_ MLV_GUARDED_BY(mu_);
  size_t warnings_dropped_ MLV_GUARDED_BY(mu_) = 0;
  std::atomic<bool> failed_{false};
};

}  // namespace mlvault::vault
