// RemoteClient: the api::Client that talks to `mlvault server` over HTTP(S), signing every
// request with the caller's Ed25519 access key (docs/api.md). The CLI uses it when given
// --endpoint, MLVAULT_ENDPOINT or `endpoint =` in its credentials profile; the documents and
// errors are the same as embedded (the server's {"error": {code, message, field}} becomes the
// util::Error of that category, so exit codes match).
//
// With CallOptions::wait, a call that answers a workflowId follows describeWorkflow until the
// workflow ends, driving the progress sink, and then answers what the embedded waited call
// answers (the final backupStatus / workspace status, or the workflow's error).
// A 429 is retried after its Retry-After (up to 5 times).
//
// Not thread-safe (one connection); a Client is used by one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "api/client.h"
#include "util/error.h"

namespace httplib {
class Client;
}

namespace mlvault::api {

struct RemoteOptions {
  std::string endpoint;       // http://host:port or https://host:port
  std::string access_key_id;  // MLVK...
  std::string private_key;    // base64 Ed25519 seed
  std::string origin;         // where the key came from, for messages
  std::string ca_bundle;      // PEM file to trust for https (default: the system's)
  double timeout_seconds = 120;
  double poll_seconds = 0.5;  // --wait: how often describeWorkflow is asked
};

class RemoteClient : public Client {
 public:
  // kInvalidArgument for an endpoint that is not http(s)://host[:port]; kPermissionDenied for
  // a private key that cannot sign (a key made before key pairs), as a wrong key is embedded.
  static util::Result<std::unique_ptr<RemoteClient>> Open(RemoteOptions options);
  ~RemoteClient() override;

  util::Result<nlohmann::json> Call(std::string_view service, std::string_view operation,
                                    const nlohmann::json& request,
                                    const CallOptions& options) override;

 private:
  explicit RemoteClient(RemoteOptions options);
  // One signed POST; the answer's JSON or its error.
  util::Result<nlohmann::json> Post(std::string_view service, std::string_view operation,
                                    const nlohmann::json& request);
  util::Result<nlohmann::json> FollowWorkflow(std::string_view operation, nlohmann::json answer,
                                              const CallOptions& options);

  RemoteOptions options_;
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace mlvault::api
