#include "api/operations.h"

#include <array>
#include <cctype>

namespace mlvault::api {
namespace {

constexpr std::string_view ml = kMlService, iam = kIamService, env = kEnvironmentsService;

// clang-format off
constexpr std::array kOperations = {
    //             service name                       verb                         action                          mutates workflow embedded
    OperationInfo{ml,  "createWorkspace",          "create-workspace",          "ml:CreateWorkspace",           true,  true},
    OperationInfo{ml,  "listWorkspaces",           "list-workspaces",           "ml:ListWorkspaces",            false, false},
    OperationInfo{ml,  "describeWorkspace",        "describe-workspace",        "ml:DescribeWorkspace",         false, false},
    OperationInfo{ml,  "deleteWorkspace",          "delete-workspace",          "ml:DeleteWorkspace",           true,  false},
    OperationInfo{ml,  "getWorkspaceApiKey",       "get-workspace-api-key",     "ml:GetWorkspaceApiKey",        false, false},
    OperationInfo{ml,  "backupWorkspace",          "backup-workspace",          "ml:BackupWorkspace",           true,  true},
    OperationInfo{ml,  "listWorkspaceBackups",     "list-workspace-backups",    "ml:ListWorkspaceBackups",      false, false},
    OperationInfo{ml,  "describeWorkspaceBackup",  "describe-workspace-backup", "ml:DescribeWorkspaceBackup",   false, false},
    OperationInfo{ml,  "deleteBackup",             "delete-backup",             "ml:DeleteBackup",              true,  true},
    OperationInfo{ml,  "cancelBackup",             "cancel-backup",             "ml:CancelBackup",              true,  false},
    OperationInfo{ml,  "verifyBackup",             "verify-backup",             "ml:VerifyBackup",              false, false},
    OperationInfo{ml,  "restoreWorkspace",         "restore-workspace",         "ml:RestoreWorkspace",          true,  true},
    OperationInfo{ml,  "describeWorkflow",         "describe-workflow",         "ml:DescribeWorkflow",          false, false},
    // backup plans, retention, legal holds and vault locks (docs/plans.md)
    OperationInfo{ml,  "createBackupPlan",         "create-backup-plan",        "ml:CreateBackupPlan",          true,  false},
    OperationInfo{ml,  "listBackupPlans",          "list-backup-plans",         "ml:ListBackupPlans",           false, false},
    OperationInfo{ml,  "describeBackupPlan",       "describe-backup-plan",      "ml:DescribeBackupPlan",        false, false},
    OperationInfo{ml,  "updateBackupPlan",         "update-backup-plan",        "ml:UpdateBackupPlan",          true,  false},
    OperationInfo{ml,  "deleteBackupPlan",         "delete-backup-plan",        "ml:DeleteBackupPlan",          true,  false},
    OperationInfo{ml,  "listBackupPlanRuns",       "list-backup-plan-runs",     "ml:ListBackupPlanRuns",        false, false},
    OperationInfo{ml,  "previewRetention",         "preview-retention",         "ml:PreviewRetention",          false, false},
    OperationInfo{ml,  "getProtectionReport",      "get-protection-report",     "ml:GetProtectionReport",       false, false},
    OperationInfo{ml,  "putLegalHold",             "put-legal-hold",            "ml:PutLegalHold",              true,  false},
    OperationInfo{ml,  "releaseLegalHold",         "release-legal-hold",        "ml:ReleaseLegalHold",          true,  false},
    OperationInfo{ml,  "listLegalHolds",           "list-legal-holds",          "ml:ListLegalHolds",            false, false},
    OperationInfo{ml,  "putVaultLock",             "put-vault-lock",            "ml:PutVaultLock",              true,  false},
    OperationInfo{ml,  "describeVaultLock",        "describe-vault-lock",       "ml:DescribeVaultLock",         false, false},
    OperationInfo{ml,  "deleteVaultLock",          "delete-vault-lock",         "ml:DeleteVaultLock",           true,  false},
    // restore tests (drills) of backup plans (docs/plans.md)
    OperationInfo{ml,  "createRestoreTestingPlan", "create-restore-testing-plan", "ml:CreateBackupPlan",        true,  false},
    OperationInfo{ml,  "startRestoreTest",         "start-restore-test",        "ml:StartRestoreTest",          true,  false},
    OperationInfo{ml,  "listRestoreTests",         "list-restore-tests",        "ml:ListRestoreTests",          false, false},
    OperationInfo{ml,  "describeRestoreTest",      "describe-restore-test",     "ml:DescribeRestoreTest",       false, false},
    // backup copies (docs/plans.md)
    OperationInfo{ml,  "copyBackup",               "copy-backup",               "ml:CopyBackup",                true,  true},
    // backup contents (issue 16): inventory, diff, search, files and items out of a backup
    OperationInfo{ml,  "describeBackupContents",   "describe-backup-contents",  "ml:DescribeBackupContents",    false, false},
    OperationInfo{ml,  "diffBackups",              "diff-backups",              "ml:DiffBackups",               false, false},
    OperationInfo{ml,  "searchBackups",            "search-backups",            "ml:SearchBackups",             false, false},
    OperationInfo{ml,  "restoreFiles",             "restore-files",             "ml:RestoreFiles",              false, false, true},
    OperationInfo{ml,  "restoreWorkspaceItems",    "restore-workspace-items",   "ml:RestoreWorkspaceItems",     true,  true},
    OperationInfo{ml,  "stopWorkspace",            "stop-workspace",            "ml:StopWorkspace",             true,  false},
    OperationInfo{ml,  "startWorkspace",           "start-workspace",           "ml:StartWorkspace",            true,  false},
    OperationInfo{ml,  "resumeWorkspace",          "resume-workspace",          "ml:ResumeWorkspace",           true,  false},
    OperationInfo{env, "createEnvironment",        "create-environment",        "ml:CreateEnvironment",         true,  false},
    OperationInfo{env, "listEnvironments",         "list-environments",         "ml:ListEnvironments",          false, false},
    OperationInfo{iam, "init",                     "init",                      "",                             true,  false, true},
    OperationInfo{iam, "getCallerIdentity",        "get-caller-identity",       "",                             false, false},
    OperationInfo{iam, "createUser",               "create-user",               "iam:CreateUser",               true,  false},
    OperationInfo{iam, "listUsers",                "list-users",                "iam:ListUsers",                false, false},
    OperationInfo{iam, "createAccessKey",          "create-access-key",         "iam:CreateAccessKey",          true,  false},
    OperationInfo{iam, "listAccessKeys",           "list-access-keys",          "iam:ListAccessKeys",           false, false},
    OperationInfo{iam, "deleteAccessKey",          "delete-access-key",         "iam:DeleteAccessKey",          true,  false},
    OperationInfo{iam, "createPolicy",             "create-policy",             "iam:CreatePolicy",             true,  false},
    OperationInfo{iam, "listPolicies",             "list-policies",             "iam:ListPolicies",             false, false},
    OperationInfo{iam, "getPolicy",                "get-policy",                "iam:GetPolicy",                false, false},
    OperationInfo{iam, "deletePolicy",             "delete-policy",             "iam:DeletePolicy",             true,  false},
    OperationInfo{iam, "attachPolicy",             "attach-policy",             "iam:AttachUserPolicy",         true,  false},
    OperationInfo{iam, "detachPolicy",             "detach-policy",             "iam:DetachUserPolicy",         true,  false},
    OperationInfo{iam, "simulatePolicy",           "simulate-policy",           "iam:SimulatePrincipalPolicy",  false, false},
    OperationInfo{iam, "grantEntitlement",         "grant-entitlement",         "iam:GrantEntitlement",         true,  false},
    OperationInfo{iam, "revokeEntitlement",        "revoke-entitlement",        "iam:RevokeEntitlement",        true,  false},
    OperationInfo{iam, "listEntitlements",         "list-entitlements",         "iam:ListEntitlements",         false, false},
    OperationInfo{iam, "listAuditEvents",          "list-audit-events",         "iam:ListAuditEvents",          false, false},
    // roles that backup plans act as (docs/plans.md)
    OperationInfo{iam, "createRole",               "create-role",               "iam:CreateRole",               true,  false},
    OperationInfo{iam, "listRoles",                "list-roles",                "iam:ListRoles",                false, false},
    OperationInfo{iam, "deleteRole",               "delete-role",               "iam:DeleteRole",               true,  false},
    OperationInfo{iam, "attachRolePolicy",         "attach-role-policy",        "iam:AttachRolePolicy",         true,  false},
    OperationInfo{iam, "detachRolePolicy",         "detach-role-policy",        "iam:DetachRolePolicy",         true,  false},
    // assume-role: short-lived credentials acting as a role (docs/plans.md)
    OperationInfo{iam, "assumeRole",               "assume-role",               "iam:AssumeRole",               true,  false},
};
// clang-format on

}  // namespace

std::span<const OperationInfo> AllOperations() { return kOperations; }

std::optional<OperationInfo> FindOperation(std::string_view service, std::string_view name) {
  for (const auto& op : kOperations)
    if (op.service == service && op.name == name) return op;
  return std::nullopt;
}

std::optional<OperationInfo> FindOperationByVerb(std::string_view verb) {
  for (const auto& op : kOperations)
    if (op.verb == verb) return op;
  return std::nullopt;
}

std::string CamelCase(std::string_view kebab) {
  while (!kebab.empty() && kebab.front() == '-') kebab.remove_prefix(1);
  std::string out;
  bool upper = false;
  for (char c : kebab) {
    if (c == '-') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

std::string KebabCase(std::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      out += '-';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace mlvault::api
