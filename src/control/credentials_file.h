// The CLI's credentials file: where the access key to run with is found, the way cloud CLIs do
// (--profile, the INI file `<home>/credentials` under $MLVAULT_HOME, or the
// MLVAULT_ACCESS_KEY_ID / MLVAULT_PRIVATE_KEY environment variables), and how a key is saved to
// a profile. The file holds secrets: it is written with mode 0600 and refused when group or
// others may read it.
//
// Thread-safety: the functions share no state; two processes saving profiles to the same file
// at once may lose one of the writes (each write is atomic, the read-modify-write is not).
#pragma once

#include <optional>
#include <string>

#include "util/error.h"

namespace mlvault::control {

// $MLVAULT_HOME, or ~/.mlvault when it is unset or empty.
std::string MlvaultHomeFromEnv();

// `<home>/credentials`.
std::string CredentialsPath(const std::string& home);

// An access key and where it was found ("profile 'ops' in /h/credentials",
// "environment variables MLVAULT_ACCESS_KEY_ID/MLVAULT_PRIVATE_KEY").
struct Credentials {
  std::string access_key_id;
  // `private_key` of the profile or MLVAULT_PRIVATE_KEY: the base64 Ed25519 seed, or (a key made
  // before key pairs) the 40-character secret, also read from `secret_access_key`.
  std::string private_key;
  std::string endpoint;  // `endpoint =` of the profile, "" if none (or from the environment)
  std::string origin;
};

// Finds the credentials to run with, in this order:
//   1. `profile` non-empty: that profile of the credentials file (kNotFound if the file or the
//      profile is missing; kInvalidArgument if the profile lacks a key);
//   2. MLVAULT_ACCESS_KEY_ID and MLVAULT_PRIVATE_KEY (kInvalidArgument if only one is set);
//   3. profile [default] of the credentials file.
// Returns nullopt if none of these exist. kPermissionDenied if the credentials file is
// readable by group or others (it holds secrets).
util::Result<std::optional<Credentials>> FindCredentials(const std::string& home,
                                                         const std::string& profile);

// True if `<home>/credentials` exists and has a [profile] section. kPermissionDenied if the
// file is readable by group or others; kInvalidArgument (with the line) if it is not valid INI.
util::Result<bool> CredentialsFileHasProfile(const std::string& home, const std::string& profile);

// Adds or replaces the key of `profile` in `<home>/credentials` (created with mode 0600,
// written atomically; other profiles and other settings of the profile, such as endpoint, are
// kept; an old secret_access_key entry is replaced by private_key). kInvalidArgument for a
// profile name that is empty or holds [ ] = or a line break.
util::Status SaveProfile(const std::string& home, const std::string& profile,
                         const std::string& access_key_id, const std::string& private_key);

}  // namespace mlvault::control
