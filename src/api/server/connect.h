// Which client a command line talks through: embedded (the catalog under $MLVAULT_HOME, in this
// process) or remote (`mlvault server` at an endpoint, every request signed with the caller's
// access key). The endpoint comes from --endpoint / MLVAULT_ENDPOINT, else from `endpoint =` in
// the credentials profile in use; without one the client is embedded.
#pragma once

#include <memory>
#include <string>

#include "api/client.h"
#include "util/error.h"

namespace mlvault::api {

struct ConnectOptions {
  std::string endpoint;   // --endpoint / MLVAULT_ENDPOINT; "" : the profile's, else embedded
  std::string profile;    // --profile / MLVAULT_PROFILE
  std::string home;       // "" : $MLVAULT_HOME (or ~/.mlvault)
  std::string ca_bundle;  // "" : MLVAULT_CA_BUNDLE, else the system's trust store
};

// The client for these options. Errors: kInvalidArgument for an endpoint that is not a server
// URL or a key that cannot sign requests (a secret made before key pairs); kPermissionDenied
// when an endpoint is set but no access key is found (the message says where keys are looked
// for); the errors of control::FindCredentials (a missing --profile is kNotFound).
util::Result<std::unique_ptr<Client>> Connect(const ConnectOptions& options);

}  // namespace mlvault::api
