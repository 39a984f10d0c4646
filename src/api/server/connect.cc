#include "api/server/connect.h"

#include <cstdlib>

#include "api/embedded_client.h"
#include "api/server/remote_client.h"
#include "control/identity.h"

namespace mlvault::api {

util::Result<std::unique_ptr<Client>> Connect(const ConnectOptions& options) {
  const std::string home = options.home.empty() ? control::MlvaultHomeFromEnv() : options.home;
  std::string endpoint = options.endpoint;
  std::optional<control::Credentials> creds;
  // A profile's `endpoint =` only counts when no endpoint was given; the credentials are read
  // here only when they decide something (embedded mode reads them itself, after opening the
  // catalog, so its messages stay those of embedded mode).
  if (endpoint.empty()) {
    auto found = control::FindCredentials(home, options.profile);
    if (found && *found && !(*found)->endpoint.empty()) {
      endpoint = (*found)->endpoint;
      creds = std::move(**found);
    }
  }
  if (endpoint.empty())
    return std::unique_ptr<Client>(
        std::make_unique<EmbeddedClient>(EmbeddedClientOptions{options.home, options.profile}));

  if (!creds) {
    auto found = MLV_TRY(control::FindCredentials(home, options.profile));
    if (!found)
      return util::PermissionDenied(
          "no access key to sign requests to " + endpoint +
          ": put access_key_id and private_key in a profile of " + control::CredentialsPath(home) +
          " (mlvault create-access-key --save-profile NAME on a machine with the catalog) or set "
          "MLVAULT_ACCESS_KEY_ID and MLVAULT_PRIVATE_KEY");
    creds = std::move(*found);
  }
  RemoteOptions ro;
  ro.endpoint = endpoint;
  ro.access_key_id = creds->access_key_id;
  ro.private_key = creds->private_key;
  ro.origin = creds->origin;
  ro.ca_bundle = options.ca_bundle;
  if (ro.ca_bundle.empty())
    if (const char* ca = std::getenv("MLVAULT_CA_BUNDLE"); ca && *ca) ro.ca_bundle = ca;
  auto client = MLV_TRY(RemoteClient::Open(std::move(ro)));
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace mlvault::api
