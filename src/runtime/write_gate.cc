#include "runtime/write_gate.h"

#include "util/log.h"

namespace mlvault::runtime {

WriteGate::WriteGate(const util::Clock& clock, Hooks hooks)
    : clock_(clock), hooks_(std::move(hooks)) {}

bool WriteGate::LapseLocked() {
  if (state_ == State::kQuiesced && clock_.Now() >= lease_expiry_) {
    state_ = State::kOpen;
    ++generation_;
    changed_.NotifyAll();
    util::Log(util::LogLevel::kWarn, "quiesce lease lapsed; the workspace resumed by itself");
    return true;
  }
  return false;
}

std::optional<WriteGate::Ticket> WriteGate::TryEnter() {
  bool lapsed;
  {
    util::MutexLock lock(mu_);
    lapsed = LapseLocked();
    if (state_ == State::kOpen) {
      ++in_flight_;
    } else {
      return std::nullopt;
    }
  }
  if (lapsed && hooks_.on_resumed) hooks_.on_resumed();
  return Ticket(this);
}

std::optional<WriteGate::Ticket> WriteGate::EnterInternal() {
  bool lapsed = false;
  {
    util::MutexLock lock(mu_);
    for (;;) {
      lapsed = LapseLocked() || lapsed;
      if (state_ != State::kQuiesced) break;
      if (shutdown_) return std::nullopt;
      // Timed, because the lease is measured on an injected clock the condition cannot watch.
      changed_.WaitFor(mu_, std::chrono::milliseconds(50));
    }
    ++in_flight_;
  }
  if (lapsed && hooks_.on_resumed) hooks_.on_resumed();
  return Ticket(this);
}

void WriteGate::Leave() {
  util::MutexLock lock(mu_);
  --in_flight_;
  changed_.NotifyAll();
}

util::Result<util::TimeMicros> WriteGate::Quiesce(std::chrono::microseconds lease,
                                                  std::chrono::milliseconds drain_timeout,
                                                  uint64_t* generation) {
  bool lapsed = false;
  std::optional<int> undrained;  // the writes still in flight when the drain timed out
  {
    util::MutexLock lock(mu_);
    lapsed = LapseLocked();
    if (state_ == State::kQuiesced) {
      lease_expiry_ = clock_.Now() + lease.count();
      ++generation_;
      if (generation) *generation = generation_;
      return lease_expiry_;
    }
    if (state_ == State::kDraining) return util::Conflict("a quiesce is already in progress");
    state_ = State::kDraining;
    changed_.NotifyAll();
    const auto deadline = std::chrono::steady_clock::now() + drain_timeout;
    while (in_flight_ != 0 && changed_.WaitUntil(mu_, deadline)) {
    }
    if (in_flight_ != 0) {
      state_ = State::kOpen;
      changed_.NotifyAll();
      undrained = in_flight_;
    } else {
      state_ = State::kQuiesced;
      lease_expiry_ = clock_.Now() + lease.count();
    }
  }
  if (undrained) {
    if (hooks_.on_resumed) hooks_.on_resumed();
    return util::Unavailable(fmt::format(
        "in-flight writes did not finish within {} s ({} still running); the workspace "
        "was resumed",
        std::chrono::duration_cast<std::chrono::seconds>(drain_timeout).count(), *undrained));
  }
  (void)lapsed;  // the gate was open again anyway; on_resumed already ran or is harmless
  if (hooks_.on_quiesced) {
    util::Status st = hooks_.on_quiesced();
    if (!st) {
      {
        util::MutexLock lock(mu_);
        state_ = State::kOpen;
        changed_.NotifyAll();
      }
      if (hooks_.on_resumed) hooks_.on_resumed();
      return std::unexpected(std::move(st).error().WithContext("cannot quiesce"));
    }
  }
  util::MutexLock lock(mu_);
  if (state_ != State::kQuiesced)  // a Resume came in while the hook ran
    return util::Conflict("the quiesce was ended by a resume before it completed");
  ++generation_;
  if (generation) *generation = generation_;
  return lease_expiry_;
}

void WriteGate::Resume() {
  bool was_quiesced;
  {
    util::MutexLock lock(mu_);
    was_quiesced = state_ == State::kQuiesced;
    if (was_quiesced) {
      state_ = State::kOpen;
      ++generation_;
    }
    changed_.NotifyAll();
  }
  if (was_quiesced && hooks_.on_resumed) hooks_.on_resumed();
}

void WriteGate::CheckLease() {
  bool lapsed;
  {
    util::MutexLock lock(mu_);
    lapsed = LapseLocked();
  }
  if (lapsed && hooks_.on_resumed) hooks_.on_resumed();
}

void WriteGate::Shutdown() {
  util::MutexLock lock(mu_);
  shutdown_ = true;
  changed_.NotifyAll();
}

bool WriteGate::quiesced() {
  CheckLease();
  util::MutexLock lock(mu_);
  return state_ == State::kQuiesced;
}

bool WriteGate::refusing_writes() {
  CheckLease();
  util::MutexLock lock(mu_);
  return state_ != State::kOpen;
}

std::optional<util::TimeMicros> WriteGate::lease_expires_at() {
  CheckLease();
  util::MutexLock lock(mu_);
  if (state_ != State::kQuiesced) return std::nullopt;
  return lease_expiry_;
}

uint64_t WriteGate::lease_generation() {
  CheckLease();
  util::MutexLock lock(mu_);
  return generation_;
}

int WriteGate::in_flight() {
  util::MutexLock lock(mu_);
  return in_flight_;
}

}  // namespace mlvault::runtime
