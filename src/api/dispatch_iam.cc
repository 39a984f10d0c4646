// Dispatch of the iam service onto control::IamOperations (and, for init and
// getCallerIdentity, the identity functions).
#include <functional>
#include <map>

#include "api/dispatch_internal.h"
#include "api/types_plans_json.h"
#include "control/identity.h"

namespace mlvault::api::internal {
namespace {

using Handler = std::function<util::Result<json>(ControlContext&, const json&)>;

// An operation's result wrapped in its response type.
template <class Resp, class T>
util::Result<Resp> As(util::Result<T> r) {
  if (!r) return std::unexpected(std::move(r).error());
  return Resp{std::move(*r)};
}

util::Result<json> Init(ControlContext& c, const json& body) {
  InitRequest r = MLV_TRY(Decode<InitRequest>(body));
  if (c.db == nullptr) return util::Internal("init needs the catalog");
  control::InitOptions o{r.account_name, r.admin_user_name};
  auto init = MLV_TRY(control::InitAccount(*c.db, c.home, o, *c.clock));
  InitResponse out{init.created,        init.account_id,      init.account_name,
                   init.region,         init.admin_user_name, init.admin_user_crn,
                   init.credentials_file, init.access_key_id, std::nullopt};
  if (!init.created) {
    auto caller = MLV_TRY(control::ResolveCaller(*c.db, c.home, c.profile));
    out.caller = User{caller.principal_name, caller.principal_crn};
  }
  return Encode(out);
}

const std::map<std::string, Handler, std::less<>>& Handlers() {
  static const std::map<std::string, Handler, std::less<>> handlers = {
      {"init", Init},
      {"getCallerIdentity",
       [](ControlContext& c, const json& body) -> util::Result<json> {
         MLV_TRY(Decode<GetCallerIdentityRequest>(body));
         return Encode(GetCallerIdentityResponse{c.caller.account_id, c.caller.principal_name,
                                                 c.caller.principal_crn});
       }},
      // roles that backup plans act as (docs/plans.md)
      {"assumeRole",
       [](ControlContext& c, const json& body) {
         return Typed<AssumeRoleRequest>(body, [&](const AssumeRoleRequest& r) {
           return c.iam->AssumeRole(c.caller, r);
         });
       }},
      {"createRole",
       [](ControlContext& c, const json& body) {
         return Typed<CreateRoleRequest>(body, [&](const CreateRoleRequest& r) {
           return As<RoleResponse>(c.iam->CreateRole(c.caller, r));
         });
       }},
      {"listRoles",
       [](ControlContext& c, const json& body) {
         return Typed<ListRolesRequest>(body, [&](const ListRolesRequest&) {
           return As<ListRolesResponse>(c.iam->ListRoles(c.caller));
         });
       }},
      {"deleteRole",
       [](ControlContext& c, const json& body) {
         return Typed<RoleNameRequest>(
             body, [&](const RoleNameRequest& r) { return c.iam->DeleteRole(c.caller, r.role_name); });
       }},
      {"attachRolePolicy",
       [](ControlContext& c, const json& body) {
         return Typed<RolePolicyRequest>(body, [&](const RolePolicyRequest& r) {
           return As<RoleResponse>(c.iam->AttachRolePolicy(c.caller, r));
         });
       }},
      {"detachRolePolicy",
       [](ControlContext& c, const json& body) {
         return Typed<RolePolicyRequest>(body, [&](const RolePolicyRequest& r) {
           return As<RoleResponse>(c.iam->DetachRolePolicy(c.caller, r));
         });
       }},
      {"createUser",
       [](ControlContext& c, const json& body) {
         return Typed<CreateUserRequest>(body, [&](const CreateUserRequest& r) {
           return As<UserResponse>(c.iam->CreateUser(c.caller, r.user_name));
         });
       }},
      {"listUsers",
       [](ControlContext& c, const json& body) {
         return Typed<ListUsersRequest>(body, [&](const ListUsersRequest&) {
           return As<ListUsersResponse>(c.iam->ListUsers(c.caller));
         });
       }},
      {"createAccessKey",
       [](ControlContext& c, const json& body) {
         return Typed<CreateAccessKeyRequest>(body, [&](const CreateAccessKeyRequest& r) {
           return As<AccessKeyResponse>(c.iam->CreateAccessKey(c.caller, r.user));
         });
       }},
      {"listAccessKeys",
       [](ControlContext& c, const json& body) {
         return Typed<ListAccessKeysRequest>(body, [&](const ListAccessKeysRequest& r) {
           return As<ListAccessKeysResponse>(c.iam->ListAccessKeys(c.caller, r.user));
         });
       }},
      {"deleteAccessKey",
       [](ControlContext& c, const json& body) {
         return Typed<DeleteAccessKeyRequest>(body, [&](const DeleteAccessKeyRequest& r) {
           return As<AccessKeyResponse>(c.iam->DeleteAccessKey(c.caller, r.access_key_id));
         });
       }},
      {"createPolicy",
       [](ControlContext& c, const json& body) {
         return Typed<CreatePolicyRequest>(body, [&](const CreatePolicyRequest& r) {
           return As<CreatePolicyResponse>(c.iam->CreatePolicy(c.caller, r.policy_name, r.policy_document, r.description));
         });
       }},
      {"listPolicies",
       [](ControlContext& c, const json& body) {
         return Typed<ListPoliciesRequest>(body, [&](const ListPoliciesRequest&) {
           return As<ListPoliciesResponse>(c.iam->ListPolicies(c.caller));
         });
       }},
      {"getPolicy",
       [](ControlContext& c, const json& body) {
         return Typed<PolicyNameRequest>(body, [&](const PolicyNameRequest& r) {
           return As<PolicyResponse>(c.iam->GetPolicy(c.caller, r.policy_name));
         });
       }},
      {"deletePolicy",
       [](ControlContext& c, const json& body) {
         return Typed<PolicyNameRequest>(body, [&](const PolicyNameRequest& r) {
           return As<PolicyResponse>(c.iam->DeletePolicy(c.caller, r.policy_name));
         });
       }},
      {"attachPolicy",
       [](ControlContext& c, const json& body) {
         return Typed<AttachPolicyRequest>(body, [&](const AttachPolicyRequest& r) {
           return As<UserResponse>(c.iam->AttachPolicy(c.caller, r.user, r.policy_name));
         });
       }},
      {"detachPolicy",
       [](ControlContext& c, const json& body) {
         return Typed<AttachPolicyRequest>(body, [&](const AttachPolicyRequest& r) {
           return As<UserResponse>(c.iam->DetachPolicy(c.caller, r.user, r.policy_name));
         });
       }},
      {"simulatePolicy",
       [](ControlContext& c, const json& body) {
         return Typed<SimulatePolicyRequest>(
             body, [&](const SimulatePolicyRequest& r) { return c.iam->SimulatePolicy(c.caller, r); });
       }},
      {"grantEntitlement",
       [](ControlContext& c, const json& body) {
         return Typed<EntitlementRequest>(body, [&](const EntitlementRequest& r) {
           return As<EntitlementResponse>(c.iam->GrantEntitlement(c.caller, r.entitlement_name));
         });
       }},
      {"revokeEntitlement",
       [](ControlContext& c, const json& body) {
         return Typed<EntitlementRequest>(body, [&](const EntitlementRequest& r) {
           return As<EntitlementResponse>(c.iam->RevokeEntitlement(c.caller, r.entitlement_name));
         });
       }},
      {"listEntitlements",
       [](ControlContext& c, const json& body) {
         return Typed<ListEntitlementsRequest>(body, [&](const ListEntitlementsRequest&) {
           return As<ListEntitlementsResponse>(c.iam->ListEntitlements(c.caller));
         });
       }},
      {"listAuditEvents",
       [](ControlContext& c, const json& body) -> util::Result<json> {
         auto r = MLV_TRY(Decode<ListAuditEventsRequest>(body, c.clock->Now()));
         control::AuditFilter f;
         f.principal = r.principal;
         f.action = r.action;
         f.outcome = r.outcome;
         f.limit = r.max_items;
         f.since = r.since;
         auto events = MLV_TRY(c.iam->ListAuditEvents(c.caller, f));
         return Encode(ListAuditEventsResponse{std::move(events)});
       }},
  };
  return handlers;
}

}  // namespace

util::Result<json> DispatchIam(ControlContext& c, std::string_view operation, const json& body,
                               const CallOptions&) {
  auto it = Handlers().find(operation);
  if (it == Handlers().end())
    return util::Internal("operation \"" + std::string(operation) + "\" has no handler");
  if (operation != "init" && c.iam == nullptr)
    return util::Internal("no IAM operations bound to a caller");
  return it->second(c, body);
}

}  // namespace mlvault::api::internal
