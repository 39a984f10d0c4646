// The identity and access verbs as operations: users, access keys, policies and their
// attachments, entitlements, policy simulation and the audit log.
//
// Every operation authorises itself exactly once, first, through the Authorizer (action
// "iam:<Verb>" on the user, policy or account CRN, or "*" for create/list and for a named
// resource that does not exist), so a denied call changes nothing and reveals nothing: "not
// found" is answered only to a caller allowed to act on the resource; every mutating call then records its outcome in the audit log. api::Dispatch
// calls these and maps their typed results (api/iam_types.h) to JSON.
//
// An IamOperations uses the Db, Authorizer and Clock it is given (all must outlive it); like
// the Db it is not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/iam_types.h"
#include "api/types_plans.h"
#include "catalog/db.h"
#include "control/authorizer.h"
#include "control/iam_authorizer.h"
#include "control/iam_store.h"
#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

// The values these operations return are the API's types (api/iam_types.h), by their names here.
using UserRef = api::UserRef;
using UserInfo = api::User;
using AccessKeyInfo = api::AccessKey;
using PolicyInfo = api::Policy;
using EntitlementInfo = api::Entitlement;
using SimulateRequest = api::SimulatePolicyRequest;
using StatementInfo = api::Statement;
using SimulationResult = api::SimulationResult;
using Simulation = api::Simulation;

class IamOperations {
 public:
  IamOperations(catalog::Db& db, Authorizer& authorizer, const util::Clock& clock)
      : db_(db), authz_(authorizer), clock_(clock) {}

  // iam:CreateUser on "*". kConflict if the name is taken, kInvalidArgument for a bad name.
  util::Result<UserInfo> CreateUser(const Caller& caller, std::string_view user_name);
  // iam:ListUsers on "*".
  util::Result<std::vector<UserInfo>> ListUsers(const Caller& caller);

  // iam:CreateAccessKey on the user: a new Ed25519 key pair. The result holds the private key:
  // it is shown this once (the catalog keeps the public key).
  util::Result<AccessKeyInfo> CreateAccessKey(const Caller& caller, const UserRef& user);
  // iam:ListAccessKeys on the user. No secrets.
  util::Result<std::vector<AccessKeyInfo>> ListAccessKeys(const Caller& caller,
                                                          const UserRef& user);
  // iam:DeleteAccessKey on the key's user. The key stops working at once (kept, as deleted, so
  // its later use is reported as revoked). kNotFound for an unknown or already deleted key;
  // kConflict if it is the last active key of the last user holding AdministratorAccess.
  util::Result<AccessKeyInfo> DeleteAccessKey(const Caller& caller, std::string_view access_key_id);

  // iam:CreatePolicy on "*". The document is parsed whole first: kInvalidArgument with line,
  // column and field path if malformed (nothing stored); warnings are returned.
  util::Result<PolicyInfo> CreatePolicy(const Caller& caller, std::string_view name,
                                        std::string_view document, std::string_view description);
  // iam:ListPolicies on "*".
  util::Result<std::vector<PolicyInfo>> ListPolicies(const Caller& caller);
  // iam:GetPolicy on the policy (with its document).
  util::Result<PolicyInfo> GetPolicy(const Caller& caller, std::string_view name);
  // iam:DeletePolicy on the policy. kConflict while attached, and for AdministratorAccess.
  util::Result<PolicyInfo> DeletePolicy(const Caller& caller, std::string_view name);

  // iam:AttachUserPolicy on the user. Attaching twice is not an error.
  util::Result<UserInfo> AttachPolicy(const Caller& caller, const UserRef& user,
                                      std::string_view policy_name);
  // iam:DetachUserPolicy on the user. kNotFound if not attached; kConflict if it would leave the
  // account without any user holding AdministratorAccess.
  util::Result<UserInfo> DetachPolicy(const Caller& caller, const UserRef& user,
                                      std::string_view policy_name);

  // iam:SimulatePrincipalPolicy on the user ("*" for custom documents). Explains, for each
  // action, whether the policies allow it on the resource and which statement decided.
  util::Result<Simulation> SimulatePolicy(const Caller& caller, const SimulateRequest& request);

  // iam:GrantEntitlement / iam:RevokeEntitlement / iam:ListEntitlements on the account CRN.
  // kInvalidArgument for an unknown entitlement; revoking one not held is kNotFound.
  util::Result<EntitlementInfo> GrantEntitlement(const Caller& caller, std::string_view name);
  util::Result<EntitlementInfo> RevokeEntitlement(const Caller& caller, std::string_view name);
  // Every known entitlement with whether the account holds it.
  util::Result<std::vector<EntitlementInfo>> ListEntitlements(const Caller& caller);

  // iam:ListAuditEvents on the account CRN; filter.account_id is set to the caller's.
  util::Result<std::vector<AuditEvent>> ListAuditEvents(const Caller& caller, AuditFilter filter);

  // --- roles (role_ops.cc; control/roles.h, docs/plans.md). iam:CreateRole / iam:ListRoles on
  // "*", iam:DeleteRole / iam:AttachRolePolicy / iam:DetachRolePolicy on the role (on "*" for a
  // name that does not exist). The trust policy is parsed whole first (kInvalidArgument naming
  // the place); a role used by a backup plan cannot be deleted (kConflict).
  util::Result<api::Role> CreateRole(const Caller& caller, const api::CreateRoleRequest& r);
  util::Result<std::vector<api::Role>> ListRoles(const Caller& caller);
  util::Result<api::DeleteRoleResponse> DeleteRole(const Caller& caller, std::string_view name);
  util::Result<api::Role> AttachRolePolicy(const Caller& caller, const api::RolePolicyRequest& r);
  util::Result<api::Role> DetachRolePolicy(const Caller& caller, const api::RolePolicyRequest& r);
  // assume-role (role_sessions.cc, control/role_sessions.h): short-lived credentials acting as
  // the role, for a user its trust policy names (kPermissionDenied naming the trust policy
  // otherwise; a role session cannot assume a role). Audited as iam:AssumeRole on the role.
  util::Result<api::AssumeRoleResponse> AssumeRole(const Caller& caller,
                                                   const api::AssumeRoleRequest& r);

 private:
  // Finds the user `user` names and authorises `action` on it -- on "*" when there is no such
  // user, so that a caller who may not act on users cannot learn which exist -- then answers
  // kNotFound for a missing one.
  util::Result<UserRow> AuthorizeOnUser(const Caller& caller, const UserRef& user,
                                        std::string_view action);
  util::Result<UserInfo> Info(const UserRow& user);
  util::Result<AccountRow> Account(const Caller& caller);
  // Records the outcome of a mutating call and passes it through.
  template <class T>
  util::Result<T> Audited(const Caller& caller, std::string_view action, std::string_view resource,
                          util::Result<T> result);

  catalog::Db& db_;
  Authorizer& authz_;
  const util::Clock& clock_;
};

}  // namespace mlvault::control
