// EmbeddedClient: the Client (api/client.h) that runs the dispatcher in this process over the
// catalog under $MLVAULT_HOME (control::Embedded), as the caller its credentials name. The
// control plane is opened on the first call (which also recovers workflows whose worker died)
// and kept for the client's life. Not thread-safe (one catalog connection).
//
// RunWorker is the engine's own entry point (`mlvault worker`), not an API operation.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/client.h"

namespace mlvault::control {
class Embedded;
}

namespace mlvault::api {

struct EmbeddedClientOptions {
  std::string home;     // empty: $MLVAULT_HOME (or ~/.mlvault)
  std::string profile;  // credentials profile; empty: default resolution
};

class EmbeddedClient : public Client {
 public:
  explicit EmbeddedClient(EmbeddedClientOptions options);
  ~EmbeddedClient() override;

  // Errors: those of the operation; opening the catalog or resolving the caller fails with
  // the errors of control::Embedded::Open (kPermissionDenied for missing or wrong credentials).
  util::Result<nlohmann::json> Call(std::string_view service, std::string_view operation,
                                    const nlohmann::json& request,
                                    const CallOptions& options) override;

 private:
  EmbeddedClientOptions options_;
  std::unique_ptr<control::Embedded> embedded_;
};

// What a worker run ends with: its output document, and the workflow's outcome (an error for a
// workflow that did not succeed).
struct WorkerRun {
  nlohmann::json output;
  util::Status outcome;
};
// Runs workflow `workflow_id` (a lowercase UUID) to its end in this process, or, with an empty
// id, recovers every interrupted workflow running them here ({"recovered": [...]}).
util::Result<WorkerRun> RunWorker(const std::string& home, const std::string& workflow_id,
                                  const std::atomic<bool>* interrupted);

}  // namespace mlvault::api
