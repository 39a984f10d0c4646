// The client side of access keys: the credentials file under $MLVAULT_HOME that the CLI reads
// its key from (control/identity.h describes its format). A client, embedded or remote, saves
// a key it was just given here (`create-access-key --save-profile`).
#pragma once

#include <string>

#include "util/error.h"

namespace mlvault::api {

// Adds or replaces `profile` in $MLVAULT_HOME/credentials (mode 0600, written atomically);
// returns the file's path.
util::Result<std::string> SaveCredentialsProfile(const std::string& profile,
                                                 const std::string& access_key_id,
                                                 const std::string& secret);

// The credentials file the embedded client reads: $MLVAULT_HOME/credentials.
std::string CredentialsFilePath();

}  // namespace mlvault::api
