// Identity: who is calling. An access key is checked against the catalog (embedded mode) or
// looked up for a server to verify its signature; the CLI's caller is resolved from the
// credentials it finds (creating the first account on first use).
//
// The identity area is four files, one job each; this header includes the other three, so its
// users see the whole of it:
//   - control/credentials_file.h: finding and saving credentials (profiles, environment);
//   - control/access_key_secrets.h: generating access keys and verifying private keys;
//   - control/account_bootstrap.h: the iam schema (IamMigrations) and the first account.
// See docs/iam.md.
//
// Apply IamMigrations() with the other areas' migrations before calling anything here.
// Functions take the Db they use; a Db is not thread-safe, so neither are calls sharing one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "catalog/db.h"
#include "control/access_key_secrets.h"
#include "control/account_bootstrap.h"
#include "control/authorizer.h"
#include "control/credentials_file.h"
#include "util/error.h"

namespace mlvault::control {

// OK if `name` is a valid user, account or policy name: 1 to 64 of letters, digits and
// + = , . @ _ -. Otherwise kInvalidArgument naming `what` ("user name", ...).
util::Status ValidateIamName(std::string_view what, std::string_view name);

// Checks an access key against the catalog (embedded mode: the private key's public key must be
// the stored one; a legacy secret must match its verifier). Returns the Caller (source "cli",
// source_ip "127.0.0.1"). kPermissionDenied for an unknown key, a deleted (revoked) key or a
// wrong private key -- the message says which key and why, never the key.
util::Result<Caller> Authenticate(catalog::Db& db, std::string_view access_key_id,
                                  std::string_view private_key);

// An access key as a server sees it, to verify a signature.
struct KeyOwner {
  std::string access_key_id;
  std::string status;      // "active" | "deleted"
  std::string deleted_at;  // "" while active
  // The 32-byte Ed25519 public key; empty for a legacy secret key (it cannot sign).
  std::string public_key;
  Caller caller;  // the key's user (source "cli", source_ip "127.0.0.1": the server sets them)
};
// nullopt for an unknown key id. kInternal if the key's user is missing.
util::Result<std::optional<KeyOwner>> FindKeyOwner(catalog::Db& db, std::string_view access_key_id);

// Writes an iam:Authenticate "denied" event for a failed authentication of a known key (best
// effort: a failed write is logged).
void AuditAuthenticationFailure(catalog::Db& db, const KeyOwner& key, const std::string& message,
                                const std::string& source, const std::string& source_ip);

// The CLI's caller: FindCredentials(home, profile) then Authenticate. When no credentials
// exist at all and the catalog has no account yet, runs InitAccount first (first use).
// kPermissionDenied if the key is unknown, revoked or wrong, or if no credentials exist for a
// catalog that already has an account (the message says how to provide them).
util::Result<Caller> ResolveCaller(catalog::Db& db, const std::string& home,
                                   const std::string& profile);

}  // namespace mlvault::control
