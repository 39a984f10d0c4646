// One interface for calling the control plane, embedded or remote: an operation of a service
// (api/operations.h) with its request JSON, answering its response JSON -- the same documents
// whichever client runs it. EmbeddedClient (api/embedded_client.h) runs the dispatcher
// in-process; RemoteClient (server side of the house) signs and POSTs to `mlvault server`.
//
// A Client is used by one thread at a time.
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>
#include <string_view>

#include "util/error.h"
#include "util/progress.h"

namespace mlvault::api {

struct CallOptions {
  bool wait = false;                               // a workflow-starting call runs to its end
  util::ProgressSink* progress = nullptr;          // progress of a waited run (may be null)
  const std::atomic<bool>* interrupted = nullptr;  // SIGINT/SIGTERM of a waited run
};

class Client {
 public:
  virtual ~Client() = default;
  // The operation's response JSON, or its error: kInvalidArgument (naming the field in
  // Error::field()) for a malformed request, an unknown operation or field; otherwise the
  // operation's own errors (see control/operations.h and control/iam_ops.h).
  virtual util::Result<nlohmann::json> Call(std::string_view service, std::string_view operation,
                                            const nlohmann::json& request,
                                            const CallOptions& options) = 0;
};

}  // namespace mlvault::api
