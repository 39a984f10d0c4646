// The backup plan operations: createBackupPlan, listBackupPlans, describeBackupPlan,
// updateBackupPlan, deleteBackupPlan, listBackupPlanRuns, previewRetention; and what the plan
// code shares (control/plan_internal.h). docs/plans.md describes them.
#include <nlohmann/json.hpp>

#include "api/paging.h"

#include "api/types_plans_json.h"
#include "control/handlers.h"
#include "control/operations.h"
#include "control/plan_internal.h"
#include "control/resource_authz.h"
#include "control/roles.h"
#include "control/responses.h"
#include "util/random.h"
#include "workspace/crn.h"
#include "workspace/parameters.h"

namespace mlvault::control {

using catalog::BackupRecord;
using catalog::PlanRecord;
using catalog::PlanStore;
using nlohmann::json;

namespace {

constexpr int64_t kMaxWindowMinutes = 7 * 24 * 60;
constexpr int64_t kMicrosPerDay = 86'400'000'000;

std::string CheckPlanName(const std::string& n) {
  if (n.empty()) return "must not be empty";
  if (n.size() > 64) return "must be at most 64 characters";
  if (!std::isalnum(static_cast<unsigned char>(n[0]))) return "must start with a letter or a digit";
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return "may contain only letters, digits, '.', '_' and '-'";
  return "";
}

RetentionRules ToRules(const api::RetentionRulesJson& j) {
  return {j.keep_last, j.keep_hourly, j.keep_daily, j.keep_weekly,
          j.keep_monthly, j.keep_yearly, j.max_age_days};
}

// `update` over `base`: a given value replaces, 0 removes.
api::RetentionRulesJson Merge(api::RetentionRulesJson base, const api::RetentionRulesJson& u) {
  auto m = [](std::optional<int64_t>& b, const std::optional<int64_t>& v) {
    if (!v) return;
    if (*v == 0) b.reset();
    else b = v;
  };
  m(base.keep_last, u.keep_last);
  m(base.keep_hourly, u.keep_hourly);
  m(base.keep_daily, u.keep_daily);
  m(base.keep_weekly, u.keep_weekly);
  m(base.keep_monthly, u.keep_monthly);
  m(base.keep_yearly, u.keep_yearly);
  m(base.max_age_days, u.max_age_days);
  return base;
}

util::Status CheckWindow(const std::optional<int64_t>& w) {
  if (w && (*w < 1 || *w > kMaxWindowMinutes))
    return util::InvalidField("startWindowMinutes", "must be between 1 and " +
                                                        std::to_string(kMaxWindowMinutes) +
                                                        ", got " + std::to_string(*w));
  return util::Ok();
}

api::BackupPlan PlanOf(const PlanRecord& p, util::TimeMicros now) {
  api::BackupPlan out;
  out.plan_crn = p.crn;
  out.plan_name = p.name;
  out.schedule = p.schedule;
  out.time_zone = p.time_zone;
  out.start_window_minutes = p.start_window_minutes;
  out.selection = SelectionOf(p);
  out.retention = RulesJsonOf(p);
  out.owner_crn = p.owner_crn;
  out.iam_role_crn = p.role_crn;
  out.sandbox_environment_name = p.sandbox_environment;
  out.copy_to_environment_name = p.copy_to_environment;
  out.created_at = Time(p.created_at);
  out.updated_at = Time(p.updated_at);
  if (auto s = ScheduleOf(p))
    if (auto next = s->NextAfter(std::max(now, NotBefore(p) - 1))) out.next_run_at = Time(*next);
  if (p.last_slot_at) out.last_slot_at = Time(*p.last_slot_at);
  return out;
}

// The plan named `name` for an operation on it: authorised on its CRN (or on "*" when there
// is no such plan), then not-found.
struct PlanTarget {
  std::optional<PlanRecord> record;
  AuthzRequest request;
};
util::Result<PlanTarget> LoadPlan(catalog::Db& db, const std::string& account,
                                  std::string_view action, const std::string& name) {
  if (name.empty()) return util::InvalidField("planName", "is required");
  PlanTarget t;
  if (auto p = PlanStore(db).GetByName(account, name)) t.record = std::move(*p);
  else if (p.error().code() != util::ErrorCode::kNotFound) return std::unexpected(p.error());
  t.request = ActionRequest(action, t.record ? t.record->crn : "*");
  t.request.context["ml:PlanName"] = {name};
  return t;
}

// The role a plan is to act as: it exists and trusts the backup service. (The caller's
// iam:PassRole on it is authorised by the operation.)
util::Result<RoleRow> PlanRole(catalog::Db& db, const std::string& account,
                               const std::string& role_name) {
  auto role = MLV_TRY(FindRoleByName(db, account, role_name));
  if (!role)
    return util::InvalidField("iamRoleName", "no role named '" + role_name + "' (see list-roles)");
  auto trust = ParseTrustPolicy(role->trust_policy);
  if (!trust || !TrustsService(*trust, kBackupServicePrincipal))
    return util::InvalidField(
        "iamRoleName", "role '" + role_name +
                           "' does not trust the backup service: its trust policy must allow "
                           "{\"Service\": \"backup.mlvault\"} to sts:AssumeRole");
  return *role;
}

}  // namespace

// ------------------------------------------------------------------------------ shared

util::Result<Caller> PlanCaller(catalog::Db& db, const PlanRecord& plan) {
  Caller c = CallerFromJson(plan.owner_caller);
  if (plan.role_crn) {
    auto role = MLV_TRY(FindRoleByCrn(db, *plan.role_crn));
    if (!role)
      return util::NotFound("the plan's role " + *plan.role_crn +
                            " no longer exists; give the plan a role with update-backup-plan "
                            "--iam-role-name");
    auto trust = ParseTrustPolicy(role->trust_policy);
    if (!trust || !TrustsService(*trust, kBackupServicePrincipal))
      return util::PermissionDenied("role '" + role->name +
                                    "' no longer trusts the backup service backup.mlvault");
    c.account_id = plan.account_id;
    c.principal_crn = role->crn;
    c.principal_name = role->name + "/" + plan.name;
  }
  c.source = "scheduler";
  c.source_ip = "127.0.0.1";
  c.secure_transport = true;
  return c;
}

RetentionRules RulesOf(const PlanRecord& p) { return ToRules(RulesJsonOf(p)); }

api::RetentionRulesJson RulesJsonOf(const PlanRecord& p) {
  return api::RetentionFromJson(json::parse(p.retention, nullptr, false));
}

std::vector<std::string> SelectionOf(const PlanRecord& p) {
  std::vector<std::string> out;
  json j = json::parse(p.selection, nullptr, false);
  if (j.is_array())
    for (const auto& s : j)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

util::Status CheckSelection(const std::vector<std::string>& selection) {
  if (selection.empty())
    return util::InvalidField("selection",
                              "name at least one workspace CRN or tag (e.g. tag:env=prod)");
  for (size_t i = 0; i < selection.size(); ++i) {
    const std::string& s = selection[i];
    std::string field = "selection[" + std::to_string(i) + "]";
    if (s.starts_with("tag:")) {
      size_t eq = s.find('=');
      if (eq == std::string::npos || eq == 4)
        return util::InvalidField(field, "a tag selection is tag:<key>=<value>, got \"" + s + "\"");
      continue;
    }
    auto crn = workspace::ParseCrn(s, workspace::kWorkspaceType);
    if (!crn)
      return util::InvalidField(field, "neither a workspace CRN nor tag:<key>=<value>: " +
                                           crn.error().message());
  }
  return util::Ok();
}

util::Result<Schedule> ScheduleOf(const PlanRecord& p) {
  return Schedule::Parse(p.schedule, p.time_zone, p.anchor_at);
}

util::TimeMicros NotBefore(const PlanRecord& p) {
  util::TimeMicros nb = p.anchor_at + 1;
  if (p.last_slot_at && *p.last_slot_at + 1 > nb) nb = *p.last_slot_at + 1;
  return nb;
}

util::Result<std::vector<catalog::WorkspaceRecord>> SelectWorkspaces(catalog::Db& db,
                                                                     const PlanRecord& plan) {
  std::vector<std::string> sel = SelectionOf(plan);
  std::vector<catalog::WorkspaceRecord> out;
  for (auto& ws : MLV_TRY(catalog::WorkspaceStore(db).List(plan.account_id))) {
    bool match = false;
    std::vector<workspace::Tag> tags;
    if (auto p = workspace::ParseWorkspaceParameters(ws.parameters, "", false)) tags = p->tags;
    for (const auto& s : sel) {
      if (s == ws.crn) match = true;
      if (s.starts_with("tag:")) {
        size_t eq = s.find('=');
        for (const auto& t : tags)
          if (t.key == s.substr(4, eq - 4) && t.value == s.substr(eq + 1)) match = true;
      }
    }
    if (match) out.push_back(std::move(ws));
  }
  return out;
}

std::optional<std::string> LockKeeps(const catalog::VaultLockRecord& lock, const BackupRecord& b,
                                     util::TimeMicros now) {
  util::TimeMicros until = b.created_at + lock.min_retention_days * kMicrosPerDay;
  if (now >= until) return std::nullopt;
  return "vault lock (" + lock.mode + ", " + std::to_string(lock.min_retention_days) +
         " days minimum) keeps it until " + Time(until);
}

util::Result<std::vector<PlanVerdict>> DecidePlanRetention(catalog::Db& db, const PlanRecord& plan,
                                                           util::TimeMicros now) {
  catalog::BackupStore bs(db);
  catalog::LegalHoldStore holds(db);
  catalog::VaultLockStore locks(db);
  std::vector<BackupRecord> backups;
  std::vector<RetentionCandidate> candidates;
  std::map<std::string, std::optional<std::string>> newest;  // workspace -> newest succeeded id
  std::map<std::string, std::optional<catalog::VaultLockRecord>> lock_of;
  for (const auto& id : MLV_TRY(catalog::PlanBackupStore(db).BackupIds(plan.id))) {
    auto b = bs.Get(plan.account_id, id);
    if (!b) continue;  // not this account's, or gone
    if (b->status != catalog::BackupStatus::kSucceeded) continue;
    if (!newest.contains(b->workspace_id)) {
      auto latest = MLV_TRY(bs.LatestSucceeded(b->workspace_id));
      newest[b->workspace_id] = latest ? std::optional(latest->id) : std::nullopt;
      lock_of[b->workspace_id] = MLV_TRY(locks.Get(b->workspace_id));
    }
    RetentionCandidate c;
    c.backup_id = b->id;
    c.workspace_id = b->workspace_id;
    c.created_at = b->created_at;
    c.status = b->status;
    c.newest_succeeded = newest[b->workspace_id] == b->id;
    if (auto h = MLV_TRY(holds.Active(b->id))) c.legal_hold = h->reason;
    if (const auto& l = lock_of[b->workspace_id]) {
      c.vault_lock = LockKeeps(*l, *b, now);
      c.max_retention_days = l->max_retention_days;  // expired beyond it (vault-lock-max)
    }
    candidates.push_back(std::move(c));
    backups.push_back(std::move(*b));
  }
  auto decisions = MLV_TRY(ApplyRetention(RulesOf(plan), candidates, now, plan.time_zone));
  std::vector<PlanVerdict> out;
  for (auto& d : decisions)
    for (const auto& b : backups)
      if (b.id == d.backup_id) out.push_back({b, std::move(d)});
  return out;
}

// A plan's --copy-to-environment-name: an environment of the account.
static util::Status CheckCopyEnvironment(catalog::Db& db, const std::string& account,
                                  const std::string& name) {
  if (catalog::EnvironmentStore(db).GetByName(account, name)) return util::Ok();
  return util::InvalidField("copyToEnvironmentName",
                            "environment \"" + name +
                                "\" does not exist; create one with mlvault create-environment "
                                "--environment-name " +
                                name + " --vault-location <where copies go>");
}

std::string ScheduledBackupName(const std::string& plan_name, util::TimeMicros slot) {
  std::string t = util::FormatTime(slot);  // 2026-01-29T03:00:00.000000+00:00
  std::string compact;
  for (char c : t.substr(0, 19))
    if (c != '-' && c != ':') compact += c;
  return plan_name + "-" + compact + "Z";
}

// ------------------------------------------------------------------------------ operations

util::Result<api::BackupPlanResponse> Operations::CreateBackupPlan(
    const api::CreateBackupPlanRequest& r) {
  if (std::string why = CheckPlanName(r.plan_name); !why.empty())
    return util::InvalidField("planName", why);
  util::TimeMicros now = env_.clock->Now();
  std::string tz = r.time_zone.empty() ? "UTC" : r.time_zone;
  MLV_TRY(Schedule::Parse(r.schedule, tz, now));
  MLV_TRY(CheckWindow(r.start_window_minutes));
  MLV_TRY(CheckSelection(r.selection));
  MLV_TRY(CheckRetentionRules(ToRules(r.retention)));
  AuthzRequest req = ActionRequest("ml:CreateBackupPlan", "*");
  req.context["ml:PlanName"] = {r.plan_name};
  MLV_TRY(Authorize(req));
  std::optional<std::string> role_crn;
  if (!r.iam_role_name.empty()) {
    RoleRow role = MLV_TRY(PlanRole(*env_.db, env_.caller.account_id, r.iam_role_name));
    MLV_TRY(Authorize(ActionRequest("iam:PassRole", role.crn)));  // may hand the role to a plan
    role_crn = role.crn;
  }

  PlanRecord p;
  p.id = util::NewUuid();
  p.account_id = env_.caller.account_id;
  p.crn = workspace::MakeCrn(workspace::kBackupPlanType, p.account_id, p.id).ToString();
  p.name = r.plan_name;
  p.schedule = MLV_TRY(Schedule::Parse(r.schedule, tz, now)).expression();
  p.time_zone = tz;
  p.start_window_minutes = r.start_window_minutes.value_or(60);
  p.selection = json(r.selection).dump();
  p.retention = api::RetentionJson(r.retention).dump();
  p.owner_crn = env_.caller.principal_crn;
  p.owner_caller = CallerToJson(env_.caller);
  p.role_crn = role_crn;
  if (!r.sandbox_environment_name.empty()) p.sandbox_environment = r.sandbox_environment_name;
  if (!r.copy_to_environment_name.empty()) {
    MLV_TRY(CheckCopyEnvironment(*env_.db, env_.caller.account_id, r.copy_to_environment_name));
    p.copy_to_environment = r.copy_to_environment_name;
  }
  p.anchor_at = p.created_at = p.updated_at = now;
  util::Status st = PlanStore(*env_.db).Insert(p);
  Audit("ml:CreateBackupPlan", st ? p.crn : "*", st,
        (p.sandbox_environment ? "restore testing plan " : "plan ") + p.name + " " + p.schedule);
  MLV_TRY(st);
  return api::BackupPlanResponse{PlanOf(p, now)};
}

util::Result<api::BackupPlanResponse> Operations::CreateRestoreTestingPlan(
    const api::CreateRestoreTestingPlanRequest& r) {
  if (r.sandbox_environment_name.empty())
    return util::InvalidField("sandboxEnvironmentName", "is required");
  if (!catalog::EnvironmentStore(*env_.db).GetByName(env_.caller.account_id,
                                                     r.sandbox_environment_name))
    return util::InvalidField("sandboxEnvironmentName",
                              "environment \"" + r.sandbox_environment_name +
                                  "\" does not exist; create one for drills with mlvault "
                                  "create-environment --environment-name " +
                                  r.sandbox_environment_name);
  api::CreateBackupPlanRequest b;
  b.plan_name = r.plan_name;
  b.schedule = r.schedule;
  b.time_zone = r.time_zone;
  b.start_window_minutes = r.start_window_minutes;
  b.selection = r.selection;
  b.iam_role_name = r.iam_role_name;
  b.sandbox_environment_name = r.sandbox_environment_name;
  return CreateBackupPlan(b);
}

util::Result<api::ListBackupPlansResponse> Operations::ListBackupPlans(
    const api::ListBackupPlansRequest& r) {
  // Pages, oldest first, after the plan whose (created_at, id) the token holds. An account has
  // few plans: they are read whole and paged here.
  int64_t limit = MLV_TRY(api::PageSize(r.page));
  std::optional<api::PageKey> after;
  if (!r.page.starting_token.empty()) after = MLV_TRY(api::DecodePageToken(r.page.starting_token));
  // Only the plans the caller may list, when it may not list "*" (docs/iam.md).
  ListFilter visible = MLV_TRY(ListFilter::Begin(*env_.authorizer, env_.caller,
                                                 ActionRequest("ml:ListBackupPlans", "*")));
  util::TimeMicros now = env_.clock->Now();
  api::ListBackupPlansResponse out;
  std::optional<api::PageKey> last;
  for (const auto& p : MLV_TRY(PlanStore(*env_.db).List(env_.caller.account_id))) {
    if (after && std::make_pair(p.created_at, p.id) <= std::make_pair(after->time, after->id))
      continue;
    AuthzRequest one = visible.On(p.crn);
    one.context["ml:PlanName"] = {p.name};
    if (!MLV_TRY(visible.Sees(one))) continue;
    if (static_cast<int64_t>(out.plans.size()) == limit) {
      out.next_token = api::EncodePageToken(*last);
      break;
    }
    out.plans.push_back(PlanOf(p, now));
    last = api::PageKey{p.created_at, p.id};
  }
  MLV_TRY(visible.Finish());
  return out;
}

util::Result<api::BackupPlanResponse> Operations::DescribeBackupPlan(const api::PlanNameRequest& r) {
  auto t = MLV_TRY(LoadPlan(*env_.db, env_.caller.account_id, "ml:DescribeBackupPlan",
                            r.plan_name));
  MLV_TRY(Authorize(t.request));
  if (!t.record) return std::unexpected(PlanStore(*env_.db).GetByName(env_.caller.account_id, r.plan_name).error());
  return api::BackupPlanResponse{PlanOf(*t.record, env_.clock->Now())};
}

util::Result<api::BackupPlanResponse> Operations::UpdateBackupPlan(
    const api::UpdateBackupPlanRequest& r) {
  auto t = MLV_TRY(LoadPlan(*env_.db, env_.caller.account_id, "ml:UpdateBackupPlan",
                            r.plan_name));
  util::TimeMicros now = env_.clock->Now();
  MLV_TRY(CheckWindow(r.start_window_minutes));
  if (!r.selection.empty()) MLV_TRY(CheckSelection(r.selection));
  MLV_TRY(Authorize(t.request));
  if (!t.record) return std::unexpected(PlanStore(*env_.db).GetByName(env_.caller.account_id, r.plan_name).error());
  PlanRecord p = *t.record;
  if (!r.schedule.empty() || !r.time_zone.empty()) {
    std::string schedule = r.schedule.empty() ? p.schedule : r.schedule;
    std::string tz = r.time_zone.empty() ? p.time_zone : r.time_zone;
    p.schedule = MLV_TRY(Schedule::Parse(schedule, tz, now)).expression();
    p.time_zone = tz;
    p.anchor_at = now;  // the new schedule's slots begin now
  }
  if (r.iam_role_name == "-") {
    p.role_crn.reset();
  } else if (!r.iam_role_name.empty()) {
    RoleRow role = MLV_TRY(PlanRole(*env_.db, env_.caller.account_id, r.iam_role_name));
    MLV_TRY(Authorize(ActionRequest("iam:PassRole", role.crn)));
    p.role_crn = role.crn;
  }
  if (r.copy_to_environment_name == "-") {
    p.copy_to_environment.reset();
  } else if (!r.copy_to_environment_name.empty()) {
    if (p.sandbox_environment)
      return util::InvalidField("copyToEnvironmentName",
                                "plan " + p.name + " is a restore testing plan: it takes no "
                                "backups to copy");
    MLV_TRY(CheckCopyEnvironment(*env_.db, env_.caller.account_id, r.copy_to_environment_name));
    p.copy_to_environment = r.copy_to_environment_name;
  }
  if (r.start_window_minutes) p.start_window_minutes = *r.start_window_minutes;
  if (!r.selection.empty()) p.selection = json(r.selection).dump();
  api::RetentionRulesJson rules = Merge(RulesJsonOf(p), r.retention);
  MLV_TRY(CheckRetentionRules(ToRules(rules)));
  p.retention = api::RetentionJson(rules).dump();
  p.updated_at = now;
  util::Status st = PlanStore(*env_.db).Update(p);
  Audit("ml:UpdateBackupPlan", p.crn, st, "plan " + p.name + " " + p.schedule);
  MLV_TRY(st);
  return api::BackupPlanResponse{PlanOf(p, now)};
}

util::Result<api::DeleteBackupPlanResponse> Operations::DeleteBackupPlan(
    const api::PlanNameRequest& r) {
  auto t = MLV_TRY(LoadPlan(*env_.db, env_.caller.account_id, "ml:DeleteBackupPlan",
                            r.plan_name));
  MLV_TRY(Authorize(t.request));
  if (!t.record) return std::unexpected(PlanStore(*env_.db).GetByName(env_.caller.account_id, r.plan_name).error());
  util::Status st = PlanStore(*env_.db).Delete(t.record->id);
  Audit("ml:DeleteBackupPlan", t.record->crn, st,
        "plan " + t.record->name + " (its backups stay)");
  MLV_TRY(st);
  return api::DeleteBackupPlanResponse{t.record->crn, t.record->name, true};
}

util::Result<api::ListBackupPlanRunsResponse> Operations::ListBackupPlanRuns(
    const api::PlanNameRequest& r) {
  auto t = MLV_TRY(LoadPlan(*env_.db, env_.caller.account_id, "ml:ListBackupPlanRuns",
                            r.plan_name));
  MLV_TRY(Authorize(t.request));
  if (!t.record) return std::unexpected(PlanStore(*env_.db).GetByName(env_.caller.account_id, r.plan_name).error());
  api::ListBackupPlanRunsResponse out;
  for (const auto& run : MLV_TRY(catalog::PlanRunStore(*env_.db).List(t.record->id))) {
    api::BackupPlanRun x;
    x.run_id = run.id;
    x.slot_at = Time(run.slot_at);
    x.status = catalog::PlanRunStatusName(run.status);
    x.claimed_by = run.claimed_by;
    x.started_at = Time(run.started_at);
    if (run.finished_at) x.finished_at = Time(*run.finished_at);
    x.missed_slots = run.missed_slots;
    x.late = run.late;
    x.backups.text = run.backups;
    x.expired.text = run.expired;
    x.errors.text = run.errors;
    out.runs.push_back(std::move(x));
  }
  return out;
}

util::Result<api::PreviewRetentionResponse> Operations::PreviewRetention(
    const api::PlanNameRequest& r) {
  auto t = MLV_TRY(LoadPlan(*env_.db, env_.caller.account_id, "ml:PreviewRetention",
                            r.plan_name));
  MLV_TRY(Authorize(t.request));
  if (!t.record) return std::unexpected(PlanStore(*env_.db).GetByName(env_.caller.account_id, r.plan_name).error());
  api::PreviewRetentionResponse out;
  out.plan_name = t.record->name;
  for (const auto& v : MLV_TRY(DecidePlanRetention(*env_.db, *t.record, env_.clock->Now())))
    out.backups.push_back({v.backup.crn, v.backup.name, v.backup.workspace_crn,
                           Time(v.backup.created_at), v.decision.keep ? "keep" : "expire",
                           v.decision.rule, v.decision.reason});
  return out;
}

util::Result<api::DeleteBackupResponse> Operations::ExpireBackup(const std::string& backup_crn,
                                                                 const std::string& expired_by) {
  return StartDelete(backup_crn, Wait{}, expired_by);
}

}  // namespace mlvault::control
