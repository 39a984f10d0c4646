#include "api/credentials.h"

#include "control/identity.h"

namespace mlvault::api {

std::string CredentialsFilePath() {
  return control::CredentialsPath(control::MlvaultHomeFromEnv());
}

util::Result<std::string> SaveCredentialsProfile(const std::string& profile,
                                                 const std::string& access_key_id,
                                                 const std::string& secret) {
  std::string home = control::MlvaultHomeFromEnv();
  MLV_TRY(control::SaveProfile(home, profile, access_key_id, secret));
  return control::CredentialsPath(home);
}

}  // namespace mlvault::api
