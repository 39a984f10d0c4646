// A client for the control endpoints of a running workspace runtime (`mlvault-workspace`):
// health, quiesce (with a lease) and resume, as agreed in docs/interfaces.md.
//
// Each call opens its own HTTP connection; a RuntimeClient is thread-compatible (use one per
// thread, or guard it). Failures to connect are kUnavailable; an answer other than the agreed
// one is kUnavailable with the status and body in the message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/error.h"

namespace mlvault::workspace {

struct Health {
  std::string status;   // "ok" when serving
  std::string version;  // the runtime's workspace version, e.g. "1.4.0"
  std::string
      workspace_crn;  // told only to a caller with a key (this client sends the control key)
  std::string domain;
  bool quiesced = false;
  bool reconciled = false;
  uint64_t lease_generation = 0;
};

// A granted (or renewed) quiesce lease.
struct Lease {
  util::TimeMicros expires_at = 0;  // as the runtime reported it (0 if it did not say)
  // The runtime's lease generation at this grant: +1 on every grant, resume and lapse. The
  // lease was held without a gap from one grant to a later observation exactly when the
  // generation did not move in between (LeaseHeld).
  uint64_t generation = 0;
};

// An application or deployment a paused start left "paused" and ResumeServices started.
struct ResumedService {
  std::string type;  // "application" | "deployment"
  std::string name;  // the application's name, the deployment's model name
  std::string status;  // after the start: starting, running or failed
  std::string message;
};

class RuntimeClient {
 public:
  // `endpoint` is "http://127.0.0.1:<port>"; `control_key` the bearer for /internal/v1/*.
  RuntimeClient(std::string endpoint, std::string control_key, double timeout_seconds = 15);

  // GET /api/v1/health, with the control key (so the answer names the workspace).
  util::Result<Health> GetHealth() const;
  // POST /internal/v1/quiesce {"leaseSeconds": n}; returns when the runtime is quiesced (its
  // database checkpointed, files flushed). Calling again renews the lease (a new generation).
  util::Result<Lease> Quiesce(int lease_seconds) const;
  // GET /internal/v1/status: Ok if the runtime is still quiesced under the lease granted as
  // `generation` (no other grant, resume or lapse since); kUnavailable naming what happened
  // otherwise, or when the runtime does not report a generation (an older runtime).
  util::Status LeaseHeld(uint64_t generation) const;
  // POST /internal/v1/resume.
  util::Status Resume() const;
  // POST /internal/v1/resume-services: starts every application and deployment left "paused"
  // by a paused start (--start-paused) and lists them (empty if none was paused).
  // kUnavailable while the runtime is still reconciling, or from a runtime without the route.
  util::Result<std::vector<ResumedService>> ResumeServices() const;

  const std::string& endpoint() const { return endpoint_; }

 private:
  const std::string endpoint_;
  const std::string control_key_;
  const double timeout_seconds_;
};

}  // namespace mlvault::workspace
