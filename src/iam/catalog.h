// What the policy language talks about: the actions (one per verb), the condition keys the
// control layer puts into a request's context, and the account entitlements.
//
// The parser uses these lists only for warnings (an action or key that matches nothing known is
// probably a typo) -- never to refuse a document, so that a newer server's actions can be named
// in policies before this list learns them. Constant data: thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace mlvault::iam {

struct ActionInfo {
  std::string_view name;      // "ml:BackupWorkspace"
  std::string_view verb;      // "backup-workspace"
  std::string_view resource;  // what the resource CRN names: "workspace", "backup", "*", ...
  bool mutating;              // audited when it runs
  bool needs_backup_entitlement;
};

// Every action of every verb, ml:* then iam:*.
std::span<const ActionInfo> KnownActions();
// The action named `name` (case-insensitive), or nullopt.
std::optional<ActionInfo> FindAction(std::string_view name);

// Services an action may name before its ':' ("ml", "iam").
std::span<const std::string_view> KnownServices();

struct ConditionKeyInfo {
  std::string_view name;  // "mlvault:SourceIp"; a prefix ending in '/' for tag families
  std::string_view type;  // "String", "Ip", "Date", "Numeric", "Crn"
  std::string_view meaning;
};
std::span<const ConditionKeyInfo> KnownConditionKeys();
// True if `key` (case-insensitive) is a known key or in a known family (ml:ResourceTag/...).
bool IsKnownConditionKey(std::string_view key);

struct EntitlementInfo {
  std::string_view name;
  std::string_view meaning;
};
std::span<const EntitlementInfo> KnownEntitlements();
std::optional<EntitlementInfo> FindEntitlement(std::string_view name);

inline constexpr std::string_view kBackupRestoreEntitlementName = "ML_ENABLE_BACKUP_RESTORE";

}  // namespace mlvault::iam
