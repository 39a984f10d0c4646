// Identity: who is calling. Accounts, their users' access keys, and the credentials the CLI
// finds the way cloud CLIs do (--profile, the credentials file under $MLVAULT_HOME, or the
// MLVAULT_ACCESS_KEY_ID / MLVAULT_PRIVATE_KEY environment variables).
//
// An account is created on first use (`mlvault init`, or implicitly by the first verb run against
// an empty catalog) with one administrator user that has the AdministratorAccess policy
// (Action "*", Resource "*") attached -- a policy, not a bypass -- and one access key, written
// to `<home>/credentials` (mode 0600) as profile [default]. Access keys are Ed25519 key pairs:
// the private key (the base64 32-byte seed) is shown once and the catalog keeps only the public
// key. Keys created before key pairs (a 40-character secret, stored as a salted verifier) keep
// working in embedded mode; a server refuses them (they cannot sign). See docs/iam.md.
//
// The schema (accounts, iam_*, audit_events) is IamMigrations(); apply it with the other areas'
// migrations before calling anything here. Functions take the Db they use; a Db is not
// thread-safe, so neither are calls sharing one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/db.h"
#include "control/authorizer.h"
#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

// The iam area's migrations (ids "0100_iam..."): accounts (id TEXT PRIMARY KEY, name, region
// default 'us-west-1', created_at), iam_users, iam_access_keys, iam_policies,
// iam_user_policies, iam_entitlements and the append-only audit_events (SQLite triggers abort
// UPDATE and DELETE on it).
std::vector<catalog::Migration> IamMigrations();

// OK if `name` is a valid user, account or policy name: 1 to 64 of letters, digits and
// + = , . @ _ -. Otherwise kInvalidArgument naming `what` ("user name", ...).
util::Status ValidateIamName(std::string_view what, std::string_view name);

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

// What InitAccount created (or found).
struct AccountInit {
  bool created = false;    // false: the account existed already; nothing was changed
  std::string account_id;  // UUID
  std::string account_name;
  std::string region;
  std::string admin_user_crn;
  std::string admin_user_name;
  std::string access_key_id;  // of the [default] profile written (empty if !created)
  std::string credentials_file;
};

struct InitOptions {
  std::string account_name = "default";
  std::string admin_user_name = "admin";
};

// Creates the account, its administrator user with AdministratorAccess attached, and an access
// key written to profile [default] of `<home>/credentials` (mode 0600), all under one catalog
// write transaction (so two first runs at once create one account). If the catalog already
// holds an account, changes nothing and returns it with created=false. kConflict if the
// credentials file already has a [default] profile but the catalog has no account (a catalog
// that was deleted or replaced: the old key would not work; the message says what to do).
util::Result<AccountInit> InitAccount(catalog::Db& db, const std::string& home,
                                      const InitOptions& options, const util::Clock& clock);

// The CLI's caller: FindCredentials(home, profile) then Authenticate. When no credentials
// exist at all and the catalog has no account yet, runs InitAccount first (first use).
// kPermissionDenied if the key is unknown, revoked or wrong, or if no credentials exist for a
// catalog that already has an account (the message says how to provide them).
util::Result<Caller> ResolveCaller(catalog::Db& db, const std::string& home,
                                   const std::string& profile);

// A fresh access key: id "MLVK" + 16 base-32 characters and an Ed25519 key pair. The catalog
// column secret_verifier stores "ed25519$<base64 public key>" (legacy keys hold
// "v1$<salt hex>$<HMAC-SHA-256(salt, secret) hex>" there).
struct NewAccessKey {
  std::string access_key_id;
  std::string private_key;  // base64 (standard, padded) of the 32-byte seed: shown once
  std::string public_key;   // base64 of the 32-byte public key
  std::string verifier;     // what the catalog stores
};
NewAccessKey GenerateAccessKey();
// True if `private_key` proves `verifier`: for "ed25519$..." the seed's public key is the
// stored one; for a legacy "v1$..." the secret's HMAC matches (constant-time comparisons).
bool VerifySecret(std::string_view verifier, std::string_view private_key);
// The 32 raw public-key bytes of an "ed25519$..." verifier; "" for anything else.
std::string PublicKeyOfVerifier(std::string_view verifier);

// Adds or replaces the key of `profile` in `<home>/credentials` (created with mode 0600,
// written atomically; other profiles and other settings of the profile, such as endpoint, are
// kept; an old secret_access_key entry is replaced by private_key).
util::Status SaveProfile(const std::string& home, const std::string& profile,
                         const std::string& access_key_id, const std::string& private_key);

}  // namespace mlvault::control
