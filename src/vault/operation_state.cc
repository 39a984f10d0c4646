#include "vault/operation_state.h"

#include <fmt/core.h>

namespace mlvault::vault {

void OperationState::Fail(util::Error e) {
  util::MutexLock lk(mu_);
  if (!error_) error_ = std::move(e);
  failed_.store(true, std::memory_order_release);
}

bool OperationState::Stopped() {
  if (failed()) return true;
  if (cancel_ != nullptr && cancel_->cancelled()) {
    Fail(util::Error(util::ErrorCode::kCancelled, verb_ + " cancelled: " + cancel_->reason()));
    return true;
  }
  return false;
}

std::optional<util::Error> OperationState::error() const {
  util::MutexLock lk(mu_);
  return error_;
}

void OperationState::Warn(std::string warning) {
  util::MutexLock lk(mu_);
  if (warnings_.size() < kMaxWarnings)
    warnings_.push_back(std::move(warning));
  else
    ++warnings_dropped_;
}

std::vector<std::string> OperationState::Warnings() const {
  util::MutexLock lk(mu_);
  std::vector<std::string> out = warnings_;
  if (warnings_dropped_ > 0)
    out.push_back(fmt::format("... and {} more warnings", warnings_dropped_));
  return out;
}

}  // namespace mlvault::vault
