// A client for the control endpoints of a running workspace runtime (`mlvault-workspace`):
// health, quiesce (with a lease) and resume, as agreed in docs/interfaces.md.
//
// Each call opens its own HTTP connection; a RuntimeClient is thread-compatible (use one per
// thread, or guard it). Failures to connect are kUnavailable; an answer other than the agreed
// one is kUnavailable with the status and body in the message.
#pragma once

#include <string>

#include "util/clock.h"
#include "util/error.h"

namespace mlvault::workspace {

struct Health {
  std::string status;   // "ok" when serving
  std::string version;  // the runtime's workspace version, e.g. "1.4.0"
  std::string workspace_crn;
  std::string domain;
  bool quiesced = false;
  bool reconciled = false;
};

class RuntimeClient {
 public:
  // `endpoint` is "http://127.0.0.1:<port>"; `control_key` the bearer for /internal/v1/*.
  RuntimeClient(std::string endpoint, std::string control_key, double timeout_seconds = 15);

  // GET /api/v1/health.
  util::Result<Health> GetHealth() const;
  // POST /internal/v1/quiesce {"leaseSeconds": n}; returns when the runtime is quiesced (its
  // database checkpointed, files flushed). Calling again renews the lease. Returns the lease's
  // expiry as the runtime reported it (0 if it did not say).
  util::Result<util::TimeMicros> Quiesce(int lease_seconds) const;
  // POST /internal/v1/resume.
  util::Status Resume() const;

  const std::string& endpoint() const { return endpoint_; }

 private:
  const std::string endpoint_;
  const std::string control_key_;
  const double timeout_seconds_;
};

}  // namespace mlvault::workspace
