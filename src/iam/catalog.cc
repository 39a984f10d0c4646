#include "iam/catalog.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace mlvault::iam {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr std::array kActions = {
    // Backups: need the ML_ENABLE_BACKUP_RESTORE entitlement.
    ActionInfo{"ml:BackupWorkspace", "backup-workspace", "workspace", true, true},
    ActionInfo{"ml:ListWorkspaceBackups", "list-workspace-backups", "workspace", false, true},
    ActionInfo{"ml:DescribeWorkspaceBackup", "describe-workspace-backup", "backup", false, true},
    ActionInfo{"ml:DeleteBackup", "delete-backup", "backup", true, true},
    ActionInfo{"ml:CancelBackup", "cancel-backup", "backup", true, true},
    ActionInfo{"ml:RestoreWorkspace", "restore-workspace", "backup, environment", true, true},
    ActionInfo{"ml:VerifyBackup", "verify-backup", "backup", false, true},
    // Backup plans, retention, legal holds and vault locks (docs/plans.md).
    ActionInfo{"ml:CreateBackupPlan", "create-backup-plan", "backup_plan", true, true},
    ActionInfo{"ml:ListBackupPlans", "list-backup-plans", "*", false, true},
    ActionInfo{"ml:DescribeBackupPlan", "describe-backup-plan", "backup_plan", false, true},
    ActionInfo{"ml:UpdateBackupPlan", "update-backup-plan", "backup_plan", true, true},
    ActionInfo{"ml:DeleteBackupPlan", "delete-backup-plan", "backup_plan", true, true},
    ActionInfo{"ml:ListBackupPlanRuns", "list-backup-plan-runs", "backup_plan", false, true},
    ActionInfo{"ml:PreviewRetention", "preview-retention", "backup_plan", false, true},
    ActionInfo{"ml:GetProtectionReport", "get-protection-report", "*", false, true},
    ActionInfo{"ml:PutLegalHold", "put-legal-hold", "backup", true, true},
    ActionInfo{"ml:ReleaseLegalHold", "release-legal-hold", "backup", true, true},
    ActionInfo{"ml:ListLegalHolds", "list-legal-holds", "*", false, true},
    ActionInfo{"ml:PutVaultLock", "put-vault-lock", "workspace", true, true},
    ActionInfo{"ml:DescribeVaultLock", "describe-vault-lock", "workspace", false, true},
    ActionInfo{"ml:DeleteVaultLock", "delete-vault-lock", "workspace", true, true},
    ActionInfo{"ml:BypassVaultLock", "delete-backup (of a backup a governance lock keeps)",
               "backup", true, true},
    // Restore tests (drills, docs/plans.md); a drill also needs ml:RestoreWorkspace and
    // ml:DeleteWorkspace for its throw-away workspace.
    ActionInfo{"ml:StartRestoreTest", "start-restore-test", "backup, environment", true, true},
    ActionInfo{"ml:ListRestoreTests", "list-restore-tests", "*", false, true},
    ActionInfo{"ml:DescribeRestoreTest", "describe-restore-test", "*", false, true},
    // Backup copies (docs/plans.md): on the backup, with the destination environment.
    ActionInfo{"ml:CopyBackup", "copy-backup", "backup, environment", true, true},
    // Backup contents (issue 16).
    ActionInfo{"ml:DescribeBackupContents", "describe-backup-contents", "backup", false, true},
    ActionInfo{"ml:DiffBackups", "diff-backups", "backup (both)", false, true},
    ActionInfo{"ml:SearchBackups", "search-backups", "workspace (of each match)", false, true},
    ActionInfo{"ml:RestoreFiles", "restore-files", "backup", false, true},
    ActionInfo{"ml:RestoreWorkspaceItems", "restore-workspace-items", "backup, workspace", true,
               true},
    // Workspaces, environments, workflows.
    ActionInfo{"ml:CreateWorkspace", "create-workspace", "environment", true, false},
    ActionInfo{"ml:ListWorkspaces", "list-workspaces", "*", false, false},
    ActionInfo{"ml:DescribeWorkspace", "describe-workspace", "workspace", false, false},
    ActionInfo{"ml:DeleteWorkspace", "delete-workspace", "workspace", true, false},
    ActionInfo{"ml:GetWorkspaceApiKey", "get-workspace-api-key", "workspace", false, false},
    ActionInfo{"ml:StopWorkspace", "stop-workspace", "workspace", true, false},
    ActionInfo{"ml:StartWorkspace", "start-workspace", "workspace", true, false},
    ActionInfo{"ml:ResumeWorkspace", "resume-workspace", "workspace", true, false},
    ActionInfo{"ml:CreateEnvironment", "create-environment", "*", true, false},
    ActionInfo{"ml:ListEnvironments", "list-environments", "*", false, false},
    ActionInfo{"ml:DescribeEnvironment", "describe-environment", "environment", false, false},
    ActionInfo{"ml:DeleteEnvironment", "delete-environment", "environment", true, false},
    ActionInfo{"ml:DescribeWorkflow", "describe-workflow", "*", false, false},
    ActionInfo{"ml:ListWorkflows", "list-workflows", "*", false, false},
    // Identity and access.
    ActionInfo{"iam:CreateUser", "create-user", "*", true, false},
    ActionInfo{"iam:ListUsers", "list-users", "*", false, false},
    ActionInfo{"iam:DeleteUser", "delete-user", "user", true, false},
    ActionInfo{"iam:CreateAccessKey", "create-access-key", "user", true, false},
    ActionInfo{"iam:DeleteAccessKey", "delete-access-key", "user", true, false},
    ActionInfo{"iam:ListAccessKeys", "list-access-keys", "user", false, false},
    ActionInfo{"iam:CreatePolicy", "create-policy", "*", true, false},
    ActionInfo{"iam:GetPolicy", "get-policy", "policy", false, false},
    ActionInfo{"iam:ListPolicies", "list-policies", "*", false, false},
    ActionInfo{"iam:DeletePolicy", "delete-policy", "policy", true, false},
    ActionInfo{"iam:AttachUserPolicy", "attach-policy", "user", true, false},
    ActionInfo{"iam:DetachUserPolicy", "detach-policy", "user", true, false},
    ActionInfo{"iam:SimulatePrincipalPolicy", "simulate-policy", "user", false, false},
    ActionInfo{"iam:SimulateCustomPolicy", "simulate-policy --policy-document", "*", false, false},
    ActionInfo{"iam:GrantEntitlement", "grant-entitlement", "account", true, false},
    ActionInfo{"iam:RevokeEntitlement", "revoke-entitlement", "account", true, false},
    ActionInfo{"iam:ListEntitlements", "list-entitlements", "account", false, false},
    ActionInfo{"iam:ListAuditEvents", "list-audit-events", "account", false, false},
    // Roles that backup plans act as (docs/plans.md).
    ActionInfo{"iam:CreateRole", "create-role", "*", true, false},
    ActionInfo{"iam:ListRoles", "list-roles", "*", false, false},
    ActionInfo{"iam:DeleteRole", "delete-role", "role", true, false},
    ActionInfo{"iam:AttachRolePolicy", "attach-role-policy", "role", true, false},
    ActionInfo{"iam:DetachRolePolicy", "detach-role-policy", "role", true, false},
    ActionInfo{"iam:PassRole", "create-backup-plan --iam-role-name", "role", false, false},
    // Audited when assume-role runs; allowed by the role's trust policy (naming the user), not by
    // an identity policy (docs/plans.md "Roles").
    ActionInfo{"iam:AssumeRole", "assume-role", "role", true, false},
};

constexpr std::array<std::string_view, 2> kServices = {"ml", "iam"};

constexpr std::array kConditionKeys = {
    ConditionKeyInfo{"mlvault:PrincipalCrn", "Crn", "CRN of the calling user"},
    ConditionKeyInfo{"mlvault:UserName", "String", "name of the calling user"},
    ConditionKeyInfo{"mlvault:PrincipalAccount", "String", "account UUID of the calling user"},
    ConditionKeyInfo{"mlvault:SourceIp", "Ip",
                     "address the request came from (127.0.0.1 when embedded)"},
    ConditionKeyInfo{"mlvault:CurrentTime", "Date", "time of the request (RFC 3339, UTC)"},
    ConditionKeyInfo{"mlvault:EpochTime", "Numeric", "time of the request in seconds since 1970"},
    ConditionKeyInfo{"mlvault:RequestSource", "String", "\"cli\" (embedded) or \"api\" (server)"},
    ConditionKeyInfo{"mlvault:SecureTransport", "Bool",
                     "true if the request came over TLS (or embedded, without a network)"},
    ConditionKeyInfo{"ml:EnvironmentName", "String",
                     "environment of the target workspace, backup or restore"},
    ConditionKeyInfo{"ml:WorkspaceName", "String", "name of the target workspace"},
    ConditionKeyInfo{"ml:WorkspaceCrn", "Crn", "CRN of the target workspace"},
    ConditionKeyInfo{"ml:BackupName", "String", "name of the target backup"},
    ConditionKeyInfo{"ml:PlanName", "String", "name of the target backup plan"},
    ConditionKeyInfo{"ml:ResourceTag/", "String",
                     "tag <key> of the target workspace (ml:ResourceTag/<key>)"},
    ConditionKeyInfo{"ml:RequestTag/", "String",
                     "tag <key> requested for a new workspace (ml:RequestTag/<key>)"},
};

constexpr std::array kEntitlements = {
    EntitlementInfo{
        "ML_ENABLE_BACKUP_RESTORE",
        "backup, list, describe, delete, cancel, verify and restore of workspace backups"},
};

}  // namespace

std::span<const ActionInfo> KnownActions() { return kActions; }

std::optional<ActionInfo> FindAction(std::string_view name) {
  for (const auto& a : kActions)
    if (EqualsIgnoreCase(a.name, name)) return a;
  return std::nullopt;
}

std::span<const std::string_view> KnownServices() { return kServices; }

std::span<const ConditionKeyInfo> KnownConditionKeys() { return kConditionKeys; }

bool IsKnownConditionKey(std::string_view key) {
  for (const auto& k : kConditionKeys) {
    if (k.name.ends_with('/')) {
      if (key.size() > k.name.size() && EqualsIgnoreCase(key.substr(0, k.name.size()), k.name))
        return true;
    } else if (EqualsIgnoreCase(key, k.name)) {
      return true;
    }
  }
  return false;
}

std::span<const EntitlementInfo> KnownEntitlements() { return kEntitlements; }

std::optional<EntitlementInfo> FindEntitlement(std::string_view name) {
  for (const auto& e : kEntitlements)
    if (e.name == name) return e;
  return std::nullopt;
}

}  // namespace mlvault::iam
