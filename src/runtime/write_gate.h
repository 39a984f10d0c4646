// WriteGate: the quiesce switch of the workspace's core services.
//
// Every change to the workspace state (database rows, project files, builds) happens while a
// Ticket is held. Writes from the API take one with TryEnter, which fails at once while the
// workspace is quiescing or quiesced; writes made by the runtime itself (a run finishing, an
// application becoming running) take one with EnterInternal, which waits until the workspace is
// resumed. Quiesce first refuses new API writes, then waits (bounded) for the tickets in flight
// to be returned, then blocks internal writes too and runs the on-quiesced hook (checkpoint,
// flush) while nothing can change. A quiesce is a lease: when it is neither renewed nor ended
// by Resume before it expires, the gate resumes by itself, so a crashed backup cannot freeze a
// workspace for good.
//
// Thread-safe: mu_ guards the gate's state, the tickets in flight, the lease and its generation.
// Hooks run on the calling thread without mu_ held.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "util/clock.h"
#include "util/error.h"
#include "util/mutex.h"

namespace mlvault::runtime {

class WriteGate {
 public:
  struct Hooks {
    // Runs once everything in flight has finished and nothing can start; an error aborts the
    // quiesce (the gate resumes and Quiesce returns the error).
    std::function<util::Status()> on_quiesced;
    // Runs after the gate resumed, by Resume or by lease lapse.
    std::function<void()> on_resumed;
  };

  // A held permission to write; returns it on destruction. Move-only.
  class Ticket {
   public:
    Ticket(Ticket&& o) noexcept : gate_(o.gate_) { o.gate_ = nullptr; }
    Ticket& operator=(Ticket&& o) noexcept {
      if (this != &o) {
        if (gate_) gate_->Leave();
        gate_ = o.gate_;
        o.gate_ = nullptr;
      }
      return *this;
    }
    Ticket(const Ticket&) = delete;
    ~Ticket() {
      if (gate_) gate_->Leave();
    }

   private:
    friend class WriteGate;
    explicit Ticket(WriteGate* gate) : gate_(gate) {}
    WriteGate* gate_;
  };

  explicit WriteGate(const util::Clock& clock, Hooks hooks = {});

  // For API writes: a ticket, or nullopt while quiescing or quiesced (answer 503).
  std::optional<Ticket> TryEnter();

  // For the runtime's own writes: waits while quiesced (until Resume or lease lapse). Returns
  // nullopt only after Shutdown(), when it would otherwise have to wait.
  std::optional<Ticket> EnterInternal();

  // Quiesces, or renews the lease when already quiesced. Returns the new lease expiry, and the
  // lease generation of this grant in `*generation` when given. Fails
  // with kUnavailable when the writes in flight do not finish within `drain_timeout` (the gate
  // is then resumed), kConflict while another Quiesce call is draining, or the hook's error.
  util::Result<util::TimeMicros> Quiesce(std::chrono::microseconds lease,
                                         std::chrono::milliseconds drain_timeout,
                                         uint64_t* generation = nullptr);

  // Ends the quiesce (no-op when not quiesced).
  void Resume();

  // Applies a lapsed lease now; the runtime calls it periodically so that a lapse is noticed
  // even when nobody writes.
  void CheckLease();

  // Makes EnterInternal stop waiting (it returns nullopt) so that shutdown never blocks on a
  // quiesce.
  void Shutdown();

  // True while writes are refused and the hook has run (quiesced, lease not lapsed).
  bool quiesced();
  // True while API writes are refused (quiescing or quiesced).
  bool refusing_writes();
  std::optional<util::TimeMicros> lease_expires_at();
  int in_flight();
  // The lease generation: 0 at start, +1 on every quiesce grant (renewals included), every
  // Resume that ends a quiesce and every lapse. A holder that saw generation g at its last grant
  // and still sees g held the lease without a gap since (docs/interfaces.md).
  uint64_t lease_generation();

 private:
  enum class State { kOpen, kDraining, kQuiesced };

  void Leave();
  // Returns true if the lease lapsed and the gate opened; caller must run on_resumed.
  bool LapseLocked() MLV_REQUIRES(mu_);

  // Constant after construction.
  const util::Clock& clock_;
  const Hooks hooks_;

  util::Mutex mu_;
  util::CondVar changed_;  // waited on with mu_: in_flight_ or state_ changed
  State state_ MLV_GUARDED_BY(mu_) = State::kOpen;
  int in_flight_ MLV_GUARDED_BY(mu_) = 0;
  util::TimeMicros lease_expiry_ MLV_GUARDED_BY(mu_) = 0;  // meaningful when kQuiesced
  bool shutdown_ MLV_GUARDED_BY(mu_) = false;
  uint64_t generation_ MLV_GUARDED_BY(mu_) = 0;
};

}  // namespace mlvault::runtime
