// IamStore: the iam area's tables in the catalog (accounts, users, access keys, policies,
// attachments, entitlements), read and written through catalog::Db in portable SQL.
//
// The store checks nothing about who may do what (that is the Authorizer's job) and holds no
// state of its own besides the Db reference; like the Db it is not thread-safe. Every method
// returns the catalog's errors (kUnavailable when locked, kConflict on a uniqueness violation,
// kInternal for SQL bugs); "not found" is an empty optional or `false`, not an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/db.h"
#include "util/error.h"

namespace mlvault::control {

inline constexpr std::string_view kDefaultRegion = "us-west-1";

struct AccountRow {
  std::string id;
  std::string name;
  std::string region;
  std::string created_at;
};

struct UserRow {
  std::string crn;
  std::string account_id;
  std::string name;
  std::string created_at;
};

struct AccessKeyRow {
  std::string access_key_id;
  std::string account_id;
  std::string user_crn;
  std::string secret_verifier;
  std::string status;  // "active" | "deleted"
  std::string created_at;
  std::string deleted_at;  // "" while active
};

struct PolicyRow {
  std::string crn;
  std::string account_id;
  std::string name;
  std::string description;
  std::string document;  // the text as submitted
  std::string created_at;
  std::string created_by;
};

struct EntitlementRow {
  std::string account_id;
  std::string name;
  std::string granted_at;
  std::string granted_by;  // principal CRN
};

// CRNs of the iam service: crn:mlvault:iam:<region>:<account>:<type>:<id>.
std::string IamCrn(std::string_view region, std::string_view account_id, std::string_view type,
                   std::string_view id);
// The account itself as a resource (grant/revoke/list entitlements, audit events).
std::string AccountCrn(const AccountRow& account);
// The account UUID a CRN names (its fifth part), or "" if `crn` is not a 7-part CRN.
std::string CrnAccount(std::string_view crn);

class IamStore {
 public:
  explicit IamStore(catalog::Db& db) : db_(db) {}

  util::Result<std::optional<AccountRow>> FirstAccount();
  util::Result<std::optional<AccountRow>> GetAccount(std::string_view id);
  util::Status InsertAccount(const AccountRow& row);

  util::Result<std::optional<UserRow>> FindUserByCrn(std::string_view crn);
  util::Result<std::optional<UserRow>> FindUserByName(std::string_view account_id,
                                                      std::string_view name);
  util::Result<std::vector<UserRow>> ListUsers(std::string_view account_id);
  util::Status InsertUser(const UserRow& row);

  util::Result<std::optional<AccessKeyRow>> FindAccessKey(std::string_view access_key_id);
  util::Result<std::vector<AccessKeyRow>> ListAccessKeys(std::string_view user_crn);
  util::Status InsertAccessKey(const AccessKeyRow& row);
  // Marks an active key deleted; false if it was not active.
  util::Result<bool> DeleteAccessKey(std::string_view access_key_id, std::string_view deleted_at);

  util::Result<std::optional<PolicyRow>> FindPolicyByName(std::string_view account_id,
                                                          std::string_view name);
  util::Result<std::optional<PolicyRow>> FindPolicyByCrn(std::string_view crn);
  util::Result<std::vector<PolicyRow>> ListPolicies(std::string_view account_id);
  util::Status InsertPolicy(const PolicyRow& row);
  util::Result<bool> DeletePolicy(std::string_view policy_crn);

  // false if already attached / not attached.
  util::Result<bool> Attach(std::string_view user_crn, std::string_view policy_crn,
                            std::string_view at);
  util::Result<bool> Detach(std::string_view user_crn, std::string_view policy_crn);
  // Policies attached to a user, by name.
  util::Result<std::vector<PolicyRow>> PoliciesOfUser(std::string_view user_crn);
  // CRNs of the users a policy is attached to.
  util::Result<std::vector<std::string>> UsersOfPolicy(std::string_view policy_crn);

  // Active access keys of users that have AdministratorAccess attached, leaving out the key
  // `except_key_id` and the user `except_user_crn` (either may be empty): what would remain to
  // administer the account after deleting that key or detaching that user's policy.
  util::Result<int64_t> CountAdministratorKeys(std::string_view account_id,
                                               std::string_view except_key_id,
                                               std::string_view except_user_crn);

  util::Result<bool> HasEntitlement(std::string_view account_id, std::string_view name);
  util::Result<std::optional<EntitlementRow>> GetEntitlement(std::string_view account_id,
                                                             std::string_view name);
  // false if already granted / not granted.
  util::Result<bool> Grant(const EntitlementRow& row);
  util::Result<bool> Revoke(std::string_view account_id, std::string_view name);
  util::Result<std::vector<EntitlementRow>> ListEntitlements(std::string_view account_id);

  catalog::Db& db() { return db_; }

 private:
  catalog::Db& db_;
};

}  // namespace mlvault::control
