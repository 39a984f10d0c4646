// Who is calling, and the one gate every operation passes before it does anything.
//
// The control layer's operations take a Caller and call Authorizer::Authorize exactly once,
// first, with the action (e.g. "ml:BackupWorkspace") and the resource CRN; then
// Authorizer::Audit with the outcome of every mutating call. The IAM-backed implementation
// lives in control/iam_authorizer.*; this header keeps the operations independent of it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace mlvault::control {

struct Caller {
  std::string account_id;      // account UUID
  std::string principal_crn;   // crn:mlvault:iam:<region>:<account>:user:<uuid>
  std::string principal_name;  // user name, for messages and audit
  std::string source_ip;       // "127.0.0.1" in embedded mode; the peer address on a server
  std::string source = "cli";  // "cli" (embedded) or "api"
  // True when the request reached us over TLS (or did not cross a network: embedded mode).
  // The condition key mlvault:SecureTransport; audited as source "api+tls".
  bool secure_transport = true;
};

struct AuthzRequest {
  std::string action;    // "ml:BackupWorkspace", "iam:CreateUser", ...
  std::string resource;  // a CRN, or "*" for account-wide verbs (list, create)
  // Extra condition keys of this request (e.g. "ml:EnvironmentName", "ml:WorkspaceName",
  // "ml:ResourceTag/team"); the authorizer adds caller, source IP and current time itself.
  std::map<std::string, std::vector<std::string>> context;
  // True for every backup, list/describe/delete/cancel of backups and restore: the account must
  // hold the ML_ENABLE_BACKUP_RESTORE entitlement.
  bool needs_backup_entitlement = false;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // OK if the caller may perform the request. Otherwise kPermissionDenied with a sentence that
  // names the action and the resource (or the missing entitlement and how to grant it); the
  // denial is written to the audit log before returning.
  virtual util::Status Authorize(const Caller& caller, const AuthzRequest& request) = 0;
  // The same decision as Authorize without an audit record: for narrowing an answer to what the
  // caller may see (search-backups lists only backups of workspaces it may search) after
  // Authorize allowed the operation itself. The default asks Authorize.
  virtual util::Status Check(const Caller& caller, const AuthzRequest& request) {
    return Authorize(caller, request);
  }
  // Appends a mutating call's outcome to the audit log. Never fails the operation: an audit
  // write that fails is logged.
  virtual void Audit(const Caller& caller, std::string_view action, std::string_view resource,
                     const util::Status& outcome, std::string_view detail = {}) = 0;
};

}  // namespace mlvault::control
