// The operation catalog, as data: every operation of the API with its service, its name (the
// camelCase of its CLI verb), its CLI verb, the IAM action it is authorised as, and whether it
// changes anything or starts a workflow. The dispatcher, the clients, the server's routing and
// its OpenAPI document all read this one list. Constant data: thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mlvault::api {

inline constexpr std::string_view kMlService = "ml";
inline constexpr std::string_view kIamService = "iam";
inline constexpr std::string_view kEnvironmentsService = "environments";

struct OperationInfo {
  std::string_view service;  // "ml", "iam", "environments"
  std::string_view name;     // "backupWorkspace"
  std::string_view verb;     // "backup-workspace"
  std::string_view action;   // "ml:BackupWorkspace"; "" when the operation is not authorised
                             // (init, getCallerIdentity)
  bool mutates = false;          // audited; a server refuses it on a read-only path
  bool starts_workflow = false;  // answers a workflowId; the CLI's --wait applies
  bool embedded_only = false;    // runs only in-process (init creates the account itself)
};

// Every operation, ml then environments then iam.
std::span<const OperationInfo> AllOperations();
// The operation `name` of `service` (exact, case-sensitive), or nullopt.
std::optional<OperationInfo> FindOperation(std::string_view service, std::string_view name);
// The operation of CLI verb `verb`, or nullopt.
std::optional<OperationInfo> FindOperationByVerb(std::string_view verb);

// "list-workspace-backups" -> "listWorkspaceBackups"; "--backup-crn" -> "backupCrn".
std::string CamelCase(std::string_view kebab);
// "backupCrn" -> "backup-crn" (the inverse of CamelCase).
std::string KebabCase(std::string_view camel);

}  // namespace mlvault::api
