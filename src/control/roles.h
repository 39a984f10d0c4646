// Roles: principals that are not people. A role has policies attached like a user, and a trust
// policy that says who may act as it: the backup service (plans act as a role that trusts
// "backup.mlvault") and/or named users. Tables iam_roles and iam_role_policies (migration
// 0301_plan_roles). docs/plans.md describes them.
//
// A trust policy document:
//   {"Version": "2012-10-17",
//    "Statement": [{"Effect": "Allow",
//                   "Principal": {"Service": "backup.mlvault", "User": ["alice", "crn:..."]},
//                   "Action": "sts:AssumeRole"}]}
// Statement may be one object or an array; Service and User a string or an array; Action must
// be (or contain) "sts:AssumeRole". A Deny statement that names a principal wins over Allows.
//
// Free functions over a Db (not thread-safe, like the Db).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/db.h"
#include "control/iam_store.h"
#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

inline constexpr std::string_view kBackupServicePrincipal = "backup.mlvault";

struct TrustStatement {
  bool allow = true;
  std::vector<std::string> services;
  std::vector<std::string> users;  // names or CRNs
};
struct TrustPolicy {
  std::vector<TrustStatement> statements;
};

// Parses a trust policy; kInvalidArgument naming the place (field trustPolicyDocument).
util::Result<TrustPolicy> ParseTrustPolicy(std::string_view document);
// True if the policy lets `service` act as the role.
bool TrustsService(const TrustPolicy& policy, std::string_view service);
// True if the policy lets the user (by name or CRN) act as the role.
bool TrustsUser(const TrustPolicy& policy, std::string_view user_name, std::string_view user_crn);

struct RoleRow {
  std::string crn;
  std::string account_id;
  std::string name;
  std::string description;
  std::string trust_policy;
  std::string created_by;
  util::TimeMicros created_at = 0;
};

util::Result<std::optional<RoleRow>> FindRoleByName(catalog::Db& db, std::string_view account_id,
                                                    std::string_view name);
util::Result<std::optional<RoleRow>> FindRoleByCrn(catalog::Db& db, std::string_view crn);
// The policies attached to a role, by name.
util::Result<std::vector<PolicyRow>> PoliciesOfRole(catalog::Db& db, std::string_view role_crn);
// True if `crn` names a role (crn:mlvault:iam:...:role:...).
bool IsRoleCrn(std::string_view crn);

}  // namespace mlvault::control
