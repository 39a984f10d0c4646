// JSON mapping of backup plans, retention, legal holds and vault locks (api/types_plans_json.h).
#include "api/types_plans_json.h"

namespace mlvault::api {
namespace {

json Opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json Raw(const RawJson& r, json fallback) {
  if (r.text.empty()) return fallback;
  json j = json::parse(r.text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

void ReadRetention(ObjectReader& r, RetentionRulesJson* out) {
  r.OptionalInt("keepLast", &out->keep_last)
      .OptionalInt("keepHourly", &out->keep_hourly)
      .OptionalInt("keepDaily", &out->keep_daily)
      .OptionalInt("keepWeekly", &out->keep_weekly)
      .OptionalInt("keepMonthly", &out->keep_monthly)
      .OptionalInt("keepYearly", &out->keep_yearly)
      .OptionalInt("maxAgeDays", &out->max_age_days);
}

json HoldJson(const LegalHold& h) {
  json j = {{"backupCrn", h.backup_crn},
            {"reason", h.reason},
            {"createdBy", h.created_by},
            {"createdAt", h.created_at}};
  if (h.released_at) j["releasedAt"] = *h.released_at;
  if (h.released_by) j["releasedBy"] = *h.released_by;
  return j;
}

json LockJson(const VaultLock& l) {
  return {{"workspaceCrn", l.workspace_crn},
          {"mode", l.mode},
          {"minRetentionDays", l.min_retention_days},
          {"maxRetentionDays", l.max_retention_days ? json(*l.max_retention_days) : json(nullptr)},
          {"changeableUntil", Opt(l.changeable_until)},
          {"createdBy", l.created_by},
          {"createdAt", l.created_at},
          {"updatedAt", l.updated_at}};
}

}  // namespace

// The rules' members, one list for writing and reading them.
template <typename Rules, typename F>
void ForEachRule(Rules& r, F&& f) {
  f("keepLast", r.keep_last);
  f("keepHourly", r.keep_hourly);
  f("keepDaily", r.keep_daily);
  f("keepWeekly", r.keep_weekly);
  f("keepMonthly", r.keep_monthly);
  f("keepYearly", r.keep_yearly);
  f("maxAgeDays", r.max_age_days);
}

json RetentionJson(const RetentionRulesJson& r) {
  json j = json::object();
  ForEachRule(r, [&](const char* k, const std::optional<int64_t>& v) {
    if (v) j[k] = *v;
  });
  return j;
}

RetentionRulesJson RetentionFromJson(const json& j) {
  RetentionRulesJson r;
  if (!j.is_object()) return r;
  ForEachRule(r, [&](const char* k, std::optional<int64_t>& v) {
    if (auto it = j.find(k); it != j.end() && it->is_number_integer()) v = it->get<int64_t>();
  });
  return r;
}

// ------------------------------------------------------------------ requests

util::Status DecodeInto(const json& j, CreateBackupPlanRequest* out) {
  ObjectReader r(j);
  r.String("planName", &out->plan_name, true)
      .String("schedule", &out->schedule, true)
      .String("timeZone", &out->time_zone)
      .OptionalInt("startWindowMinutes", &out->start_window_minutes)
      .StringList("selection", &out->selection, true)
      .String("iamRoleName", &out->iam_role_name)
      .String("copyToEnvironmentName", &out->copy_to_environment_name);
  ReadRetention(r, &out->retention);
  return r.Finish();
}
util::Status DecodeInto(const json& j, CreateRestoreTestingPlanRequest* out) {
  ObjectReader r(j);
  r.String("planName", &out->plan_name, true)
      .String("schedule", &out->schedule, true)
      .String("timeZone", &out->time_zone)
      .OptionalInt("startWindowMinutes", &out->start_window_minutes)
      .StringList("selection", &out->selection, true)
      .String("sandboxEnvironmentName", &out->sandbox_environment_name, true)
      .String("iamRoleName", &out->iam_role_name);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListBackupPlansRequest* out) {
  ObjectReader r(j);
  r.OptionalInt("maxItems", &out->page.max_items)
      .String("startingToken", &out->page.starting_token);
  return r.Finish();
}
util::Status DecodeInto(const json& j, PlanNameRequest* out) {
  ObjectReader r(j);
  r.String("planName", &out->plan_name, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, UpdateBackupPlanRequest* out) {
  ObjectReader r(j);
  r.String("planName", &out->plan_name, true)
      .String("schedule", &out->schedule)
      .String("timeZone", &out->time_zone)
      .OptionalInt("startWindowMinutes", &out->start_window_minutes)
      .StringList("selection", &out->selection)
      .String("iamRoleName", &out->iam_role_name)
      .String("copyToEnvironmentName", &out->copy_to_environment_name);
  ReadRetention(r, &out->retention);
  return r.Finish();
}
util::Status DecodeInto(const json& j, PutLegalHoldRequest* out) {
  ObjectReader r(j);
  r.String("backupCrn", &out->backup_crn, true).String("reason", &out->reason, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, LegalHoldRequest* out) {
  ObjectReader r(j);
  r.String("backupCrn", &out->backup_crn, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListLegalHoldsRequest* out) {
  ObjectReader r(j);
  r.Bool("includeReleased", &out->include_released);
  return r.Finish();
}
util::Status DecodeInto(const json& j, PutVaultLockRequest* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn, true)
      .String("mode", &out->mode, true)
      .OptionalInt("minRetentionDays", &out->min_retention_days)
      .OptionalInt("maxRetentionDays", &out->max_retention_days)
      .OptionalInt("changeableForDays", &out->changeable_for_days);
  return r.Finish();
}
util::Status DecodeInto(const json& j, WorkspaceCrnRequest* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn, true);
  return r.Finish();
}

util::Status DecodeInto(const json& j, CreateRoleRequest* out) {
  ObjectReader r(j);
  r.String("roleName", &out->role_name, true)
      .Document("trustPolicyDocument", &out->trust_policy_document, true)
      .String("description", &out->description);
  return r.Finish();
}
util::Status DecodeInto(const json& j, RoleNameRequest* out) {
  ObjectReader r(j);
  r.String("roleName", &out->role_name, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, RolePolicyRequest* out) {
  ObjectReader r(j);
  r.String("roleName", &out->role_name, true).String("policyName", &out->policy_name, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListRolesRequest*) { return ObjectReader(j).Finish(); }
util::Status DecodeInto(const json& j, GetProtectionReportRequest*) {
  return ObjectReader(j).Finish();
}
// restore tests (drills)
util::Status DecodeInto(const json& j, StartRestoreTestRequest* out) {
  ObjectReader r(j);
  r.String("backupCrn", &out->backup_crn)
      .String("workspaceCrn", &out->workspace_crn)
      .String("sandboxEnvironmentName", &out->sandbox_environment_name, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, DescribeRestoreTestRequest* out) {
  ObjectReader r(j);
  r.String("restoreTestId", &out->restore_test_id, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListRestoreTestsRequest* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn)
      .OptionalInt("maxItems", &out->page.max_items)
      .String("startingToken", &out->page.starting_token);
  return r.Finish();
}
// backup copies
util::Status DecodeInto(const json& j, CopyBackupRequest* out) {
  ObjectReader r(j);
  r.String("backupCrn", &out->backup_crn, true)
      .String("destinationEnvironmentName", &out->destination_environment_name, true)
      .String("backupName", &out->backup_name);
  return r.Finish();
}
util::Status DecodeInto(const json& j, AssumeRoleRequest* out) {
  ObjectReader r(j);
  r.String("roleName", &out->role_name, true)
      .String("sessionName", &out->session_name, true)
      .OptionalInt("durationSeconds", &out->duration_seconds);
  return r.Finish();
}

// ------------------------------------------------------------------ responses

json Encode(const GetProtectionReportResponse& r) {
  auto num = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  json a = json::array();
  for (const auto& w : r.workspaces)
    a.push_back({{"workspaceCrn", w.workspace_crn},
                 {"workspaceName", w.workspace_name},
                 {"environmentName", w.environment_name},
                 {"plans", w.plans},
                 {"lastSucceededBackupCrn", Opt(w.last_succeeded_backup_crn)},
                 {"lastSucceededBackupAt", Opt(w.last_succeeded_backup_at)},
                 {"lastSucceededBackupAgeSeconds", num(w.last_succeeded_backup_age_seconds)},
                 {"recoveryPointObjectiveSeconds", num(w.recovery_point_objective_seconds)},
                 {"meetsObjective", w.meets_objective ? json(*w.meets_objective) : json(nullptr)},
                 {"lastDrillResult", Opt(w.last_drill_result)},
                 {"lastDrillAt", Opt(w.last_drill_at)},
                 {"lastDrillTestId", Opt(w.last_drill_test_id)},
                 {"legalHolds", w.legal_holds},
                 {"vaultLockMode", Opt(w.vault_lock_mode)}});
  return {{"generatedAt", r.generated_at}, {"workspaces", a}};
}

json Encode(const RestoreTest& t) {
  auto num = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  json checks = json::array();
  for (const auto& c : t.checks)
    checks.push_back({{"check", c.check}, {"ok", c.ok}, {"detail", c.detail}});
  return {{"restoreTestId", t.restore_test_id},
          {"backupCrn", t.backup_crn},
          {"workspaceCrn", t.workspace_crn},
          {"sandboxEnvironmentName", t.sandbox_environment_name},
          {"sandboxWorkspaceCrn", t.sandbox_workspace_crn},
          {"sandboxDeleted", t.sandbox_deleted},
          {"planName", t.plan_name},
          {"status", t.status},
          {"startedBy", t.started_by},
          {"startedAt", t.started_at},
          {"finishedAt", Opt(t.finished_at)},
          {"recoveryTimeSeconds", num(t.recovery_time_seconds)},
          {"recoveryPointAgeSeconds", num(t.recovery_point_age_seconds)},
          {"checks", checks},
          {"error", t.error}};
}
json Encode(const RestoreTestResponse& r) { return {{"restoreTest", Encode(r.restore_test)}}; }
json Encode(const ListRestoreTestsResponse& r) {
  json a = json::array();
  for (const auto& t : r.restore_tests) a.push_back(Encode(t));
  json out = {{"restoreTests", a}};
  if (!r.next_token.empty()) out["nextToken"] = r.next_token;
  return out;
}

json Encode(const Role& r) {
  return {{"roleCrn", r.role_crn},
          {"roleName", r.role_name},
          {"description", r.description},
          {"trustPolicy", Raw(r.trust_policy, json::object())},
          {"trustsBackupService", r.trusts_backup_service},
          {"attachedPolicies", r.attached_policies},
          {"createdAt", r.created_at}};
}
json Encode(const RoleResponse& r) { return {{"role", Encode(r.role)}}; }
json Encode(const ListRolesResponse& r) {
  json a = json::array();
  for (const auto& x : r.roles) a.push_back(Encode(x));
  return {{"roles", a}};
}
json Encode(const DeleteRoleResponse& r) {
  return {{"roleCrn", r.role_crn}, {"roleName", r.role_name}, {"deleted", r.deleted}};
}

json Encode(const BackupPlan& p) {
  return {{"planCrn", p.plan_crn},
          {"planName", p.plan_name},
          {"schedule", p.schedule},
          {"timeZone", p.time_zone},
          {"startWindowMinutes", p.start_window_minutes},
          {"selection", p.selection},
          {"retention", RetentionJson(p.retention)},
          {"ownerCrn", p.owner_crn},
          {"iamRoleCrn", Opt(p.iam_role_crn)},
          {"sandboxEnvironmentName", Opt(p.sandbox_environment_name)},
          {"copyToEnvironmentName", Opt(p.copy_to_environment_name)},
          {"createdAt", p.created_at},
          {"updatedAt", p.updated_at},
          {"nextRunAt", Opt(p.next_run_at)},
          {"lastSlotAt", Opt(p.last_slot_at)}};
}
json Encode(const BackupPlanResponse& r) { return {{"plan", Encode(r.plan)}}; }
json Encode(const ListBackupPlansResponse& r) {
  json a = json::array();
  for (const auto& p : r.plans) a.push_back(Encode(p));
  json out = {{"plans", a}};
  if (!r.next_token.empty()) out["nextToken"] = r.next_token;
  return out;
}
json Encode(const DeleteBackupPlanResponse& r) {
  return {{"planCrn", r.plan_crn}, {"planName", r.plan_name}, {"deleted", r.deleted}};
}
json Encode(const ListBackupPlanRunsResponse& r) {
  json a = json::array();
  for (const auto& x : r.runs)
    a.push_back({{"runId", x.run_id},
                 {"slotAt", x.slot_at},
                 {"status", x.status},
                 {"claimedBy", x.claimed_by},
                 {"startedAt", x.started_at},
                 {"finishedAt", Opt(x.finished_at)},
                 {"missedSlots", x.missed_slots},
                 {"late", x.late},
                 {"backups", Raw(x.backups, json::array())},
                 {"expired", Raw(x.expired, json::array())},
                 {"errors", Raw(x.errors, json::array())}});
  return {{"runs", a}};
}
json Encode(const PreviewRetentionResponse& r) {
  json a = json::array();
  for (const auto& v : r.backups)
    a.push_back({{"backupCrn", v.backup_crn},
                 {"backupName", v.backup_name},
                 {"workspaceCrn", v.workspace_crn},
                 {"createdAt", v.created_at},
                 {"decision", v.decision},
                 {"rule", v.rule},
                 {"reason", v.reason}});
  return {{"planName", r.plan_name}, {"backups", a}};
}
json Encode(const LegalHoldResponse& r) { return {{"legalHold", HoldJson(r.legal_hold)}}; }
json Encode(const ListLegalHoldsResponse& r) {
  json a = json::array();
  for (const auto& h : r.legal_holds) a.push_back(HoldJson(h));
  return {{"legalHolds", a}};
}
json Encode(const VaultLockResponse& r) {
  json out = {{"vaultLock", LockJson(r.vault_lock)}};
  if (r.object_lock) {
    const ObjectLockInfo& o = *r.object_lock;
    out["objectLock"] = {{"status", o.status},
                         {"location", o.location},
                         {"backupsRetained", o.backups_retained},
                         {"objectsRetained", o.objects_retained}};
    out["warnings"] = r.warnings;
  }
  return out;
}
json Encode(const DeleteVaultLockResponse& r) {
  return {{"workspaceCrn", r.workspace_crn}, {"deleted", r.deleted}};
}

json Encode(const CopyBackupResponse& r) {
  return {{"backupCrn", r.backup_crn},
          {"sourceBackupCrn", r.source_backup_crn},
          {"destinationEnvironmentName", r.destination_environment_name},
          {"vaultName", r.vault_name},
          {"vaultLocation", r.vault_location},
          {"workflowId", r.workflow_id},
          {"backupStatus", r.backup_status}};
}

json Encode(const AssumeRoleResponse& r) {
  return {{"credentials",
           {{"accessKeyId", r.access_key_id},
            {"privateKey", r.private_key},
            {"expiration", r.expiration}}},
          {"roleCrn", r.role_crn},
          {"roleName", r.role_name},
          {"sessionName", r.session_name},
          {"assumedRoleName", r.assumed_role_name}};
}

}  // namespace mlvault::api
