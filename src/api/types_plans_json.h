// The JSON mapping of api/types_plans.h (backup plans, retention, legal holds, vault locks):
// strict request decoding (api/json_mapping.h's rules: the error names the field) and the
// response documents the CLI prints. Include only from .cc files of api/, control/ and cli/.
#pragma once

#include "api/json_mapping.h"
#include "api/types_plans.h"

namespace mlvault::api {

util::Status DecodeInto(const json& j, CreateBackupPlanRequest* out);
util::Status DecodeInto(const json& j, ListBackupPlansRequest* out);
util::Status DecodeInto(const json& j, PlanNameRequest* out);
util::Status DecodeInto(const json& j, UpdateBackupPlanRequest* out);
util::Status DecodeInto(const json& j, PutLegalHoldRequest* out);
util::Status DecodeInto(const json& j, LegalHoldRequest* out);
util::Status DecodeInto(const json& j, ListLegalHoldsRequest* out);
util::Status DecodeInto(const json& j, PutVaultLockRequest* out);
util::Status DecodeInto(const json& j, WorkspaceCrnRequest* out);
util::Status DecodeInto(const json& j, CreateRoleRequest* out);
util::Status DecodeInto(const json& j, RoleNameRequest* out);
util::Status DecodeInto(const json& j, RolePolicyRequest* out);
util::Status DecodeInto(const json& j, ListRolesRequest* out);
util::Status DecodeInto(const json& j, GetProtectionReportRequest* out);
util::Status DecodeInto(const json& j, StartRestoreTestRequest* out);
util::Status DecodeInto(const json& j, CreateRestoreTestingPlanRequest* out);
util::Status DecodeInto(const json& j, DescribeRestoreTestRequest* out);
util::Status DecodeInto(const json& j, ListRestoreTestsRequest* out);
util::Status DecodeInto(const json& j, CopyBackupRequest* out);
util::Status DecodeInto(const json& j, AssumeRoleRequest* out);

// Retention rules as a JSON object of the rules that are set ({"keepDaily": 7, ...}): the form
// answers show and the catalog stores (backup_plans.retention).
json RetentionJson(const RetentionRulesJson& r);
// The rules of such an object, leniently (catalog text this code wrote): a member that is
// missing or not an integer is left unset; anything but an object gives no rules.
RetentionRulesJson RetentionFromJson(const json& j);

json Encode(const BackupPlan& p);
json Encode(const BackupPlanResponse& r);
json Encode(const ListBackupPlansResponse& r);
json Encode(const DeleteBackupPlanResponse& r);
json Encode(const ListBackupPlanRunsResponse& r);
json Encode(const PreviewRetentionResponse& r);
json Encode(const LegalHoldResponse& r);
json Encode(const ListLegalHoldsResponse& r);
json Encode(const VaultLockResponse& r);
json Encode(const DeleteVaultLockResponse& r);
json Encode(const GetProtectionReportResponse& r);
json Encode(const RestoreTest& t);
json Encode(const RestoreTestResponse& r);
json Encode(const ListRestoreTestsResponse& r);
json Encode(const Role& r);
json Encode(const RoleResponse& r);
json Encode(const ListRolesResponse& r);
json Encode(const DeleteRoleResponse& r);
json Encode(const CopyBackupResponse& r);
json Encode(const AssumeRoleResponse& r);

}  // namespace mlvault::api
