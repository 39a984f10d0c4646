// The typed requests and responses of the `iam` service: users, access keys, policies and their
// attachments, entitlements, policy simulation, the audit log, and the caller's identity.
// control::IamOperations returns these types (control/iam_ops.h names them by its older
// aliases: UserInfo = User, ...); their JSON mapping is api/json_mapping.h.
//
// Depends on util only. Thread-safe as values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/clock.h"

namespace mlvault::api {

// ------------------------------------------------------------------------------ values

struct User {
  std::string user_name;
  std::string user_crn;
  std::string created_at;
  std::vector<std::string> attached_policies;  // names
  int active_access_keys = 0;
};

struct AccessKey {
  std::string access_key_id;
  std::string private_key;  // base64 Ed25519 seed: only right after CreateAccessKey; never stored
  std::string user_name;
  std::string user_crn;
  std::string status;  // "active" | "deleted"
  std::string created_at;
  std::string deleted_at;
};

struct Policy {
  std::string policy_name;
  std::string policy_crn;
  std::string description;
  std::string created_at;
  std::string created_by;
  std::vector<std::string> attached_to;  // user names
  std::string document;                  // getPolicy only
  std::vector<std::string> warnings;     // createPolicy only
};

struct Entitlement {
  std::string name;
  std::string description;
  bool granted = false;
  std::string granted_at;
  std::string granted_by;
};

struct Statement {
  std::string policy_name;
  size_t statement_index = 0;
  std::string sid;
  std::string effect;
};

struct SimulationResult {
  std::string action;
  std::string resource;
  std::string decision;  // "allowed" | "explicitDeny" | "implicitDeny" (policies alone)
  std::optional<Statement> deciding_statement;
  std::vector<Statement> matched_statements;
  std::string required_entitlement;  // "" if the action needs none
  bool entitlement_held = true;
  bool allowed = false;     // policies allow it AND the entitlement (if any) is held
  std::string explanation;  // one sentence
};

struct Simulation {
  std::string principal_crn;  // "" for custom documents
  std::string principal_name;
  std::vector<std::string> evaluated_policies;
  std::vector<SimulationResult> results;
};

// One row of the audit log.
struct AuditEvent {
  std::string event_id;       // UUID; AppendAuditEvent fills it when empty
  util::TimeMicros time = 0;  // AppendAuditEvent fills it from the clock when 0
  std::string account_id;
  std::string principal_crn;
  std::string principal_name;
  std::string action;      // "ml:BackupWorkspace", "iam:CreateUser", ...
  std::string resource;    // CRN or "*"
  std::string outcome;     // "succeeded", "failed" or "denied"
  std::string error_code;  // util::CodeName of the failure; empty on success
  std::string detail;      // the error sentence, or a short note on success
  std::string source;      // "cli" or "api"
  std::string source_ip;
};

// Names a user by name or by CRN; both empty means the caller.
struct UserRef {
  std::string name;
  std::string crn;
};

// ------------------------------------------------------------------------------ operations

struct InitRequest {
  std::string account_name = "default";
  std::string admin_user_name = "admin";
};
struct InitResponse {
  bool created = false;
  std::string account_id;
  std::string account_name;
  std::string region;
  std::string admin_user_name;
  std::string admin_user_crn;
  std::string credentials_file;
  std::string access_key_id;                 // created only
  std::optional<User> caller;                // existing account only (userName, userCrn)
};

struct GetCallerIdentityRequest {};
struct GetCallerIdentityResponse {
  std::string account_id;
  std::string user_name;
  std::string user_crn;
};

struct CreateUserRequest {
  std::string user_name;
};
struct ListUsersRequest {};
// createUser, attachPolicy, detachPolicy
struct UserResponse {
  User user;
};
struct ListUsersResponse {
  std::vector<User> users;
};

struct CreateAccessKeyRequest {
  UserRef user;  // userName | userCrn
};
struct ListAccessKeysRequest {
  UserRef user;
};
struct DeleteAccessKeyRequest {
  std::string access_key_id;
};
// createAccessKey, deleteAccessKey
struct AccessKeyResponse {
  AccessKey access_key;
};
struct ListAccessKeysResponse {
  std::vector<AccessKey> access_keys;
};

struct CreatePolicyRequest {
  std::string policy_name;
  std::string policy_document;  // JSON text (a JSON object in the request is taken as is)
  std::string description;
};
struct CreatePolicyResponse {
  Policy policy;
};
struct PolicyNameRequest {  // getPolicy, deletePolicy
  std::string policy_name;
};
struct PolicyResponse {
  Policy policy;
};
struct ListPoliciesRequest {};
struct ListPoliciesResponse {
  std::vector<Policy> policies;
};

struct AttachPolicyRequest {  // attachPolicy, detachPolicy
  UserRef user;               // one of userName, userCrn is required
  std::string policy_name;
};

struct SimulatePolicyRequest {
  UserRef principal;  // whose attached policies; ignored with policy_documents
  std::vector<std::string> policy_documents;  // evaluate these instead (not stored)
  std::vector<std::string> actions;           // at least one
  std::string resource = "*";
  std::vector<std::pair<std::string, std::vector<std::string>>> context;  // extra condition keys
  std::string source_ip;                                                  // default: the caller's
};
using SimulatePolicyResponse = Simulation;

struct EntitlementRequest {  // grantEntitlement, revokeEntitlement
  std::string entitlement_name;
};
struct EntitlementResponse {
  Entitlement entitlement;
};
struct ListEntitlementsRequest {};
struct ListEntitlementsResponse {
  std::vector<Entitlement> entitlements;
};

struct ListAuditEventsRequest {
  std::string principal;  // user name or CRN
  std::string action;
  std::optional<util::TimeMicros> since;  // JSON: a time or an age ("30m", "2h", "7d")
  std::string outcome;
  int64_t max_items = 1000;
};
struct ListAuditEventsResponse {
  std::vector<AuditEvent> audit_events;
};

}  // namespace mlvault::api
