// Account bootstrap: the iam area's schema and the first account of a catalog.
//
// An account is created on first use (`mlvault init`, or implicitly by the first verb run against
// an empty catalog, see ResolveCaller in control/identity.h) with one administrator user that has
// the AdministratorAccess policy (Action "*", Resource "*") attached -- a policy, not a bypass --
// and one access key, written to `<home>/credentials` (mode 0600) as profile [default].
//
// Thread-safety: a Db is not thread-safe, so neither are calls sharing one. Two processes
// running InitAccount at once against one catalog create one account (one write transaction).
#pragma once

#include <string>
#include <vector>

#include "catalog/db.h"
#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

// The iam area's migrations (ids "0100_iam..."): accounts (id TEXT PRIMARY KEY, name, region
// default 'us-west-1', created_at), iam_users, iam_access_keys, iam_policies,
// iam_user_policies, iam_entitlements and the append-only audit_events (SQLite triggers abort
// UPDATE and DELETE on it).
std::vector<catalog::Migration> IamMigrations();

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
// holds an account, changes nothing and returns it with created=false. kInvalidArgument for an
// invalid account or user name (see ValidateIamName). kConflict if the credentials file already
// has a [default] profile but the catalog has no account (a catalog that was deleted or
// replaced: the old key would not work; the message says what to do).
util::Result<AccountInit> InitAccount(catalog::Db& db, const std::string& home,
                                      const InitOptions& options, const util::Clock& clock);

}  // namespace mlvault::control
