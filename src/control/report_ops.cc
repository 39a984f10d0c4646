// getProtectionReport: every live workspace, the plans covering it, its last succeeded backup and
// whether that backup is recent enough for the tightest recovery point objective of its plans.
// docs/plans.md describes it.
#include "catalog/restore_test_store.h"
#include "control/operations.h"
#include "control/plan_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"

namespace mlvault::control {
namespace {

constexpr int64_t kMicrosPerMinute = 60'000'000;

// A plan's recovery point objective at `now`: the gap between its slot before and after now
// (the rate for a rate), plus its start window. nullopt when the schedule has no such slots.
std::optional<int64_t> ObjectiveMicros(const catalog::PlanRecord& p, util::TimeMicros now) {
  auto s = ScheduleOf(p);
  if (!s) return std::nullopt;
  int64_t window = p.start_window_minutes * kMicrosPerMinute;
  if (s->is_rate()) return s->rate_micros() + window;
  auto next = s->NextAfter(now);
  if (!next) return std::nullopt;
  auto prev = s->LatestAtOrBefore(now, 0);
  if (!prev) {
    auto after = s->NextAfter(*next);
    if (!after) return std::nullopt;
    return *after - *next + window;
  }
  return *next - *prev + window;
}

}  // namespace

util::Result<api::GetProtectionReportResponse> Operations::GetProtectionReport(
    const api::GetProtectionReportRequest&) {
  MLV_TRY(Authorize(ActionRequest("ml:GetProtectionReport", "*")));
  const std::string& account = env_.caller.account_id;
  util::TimeMicros now = env_.clock->Now();
  // Which plans cover which workspace, and their objectives.
  std::map<std::string, std::vector<std::string>> plans_of;
  std::map<std::string, int64_t> objective_of;
  for (const auto& p : MLV_TRY(catalog::PlanStore(*env_.db).List(account))) {
    auto objective = ObjectiveMicros(p, now);
    for (const auto& ws : MLV_TRY(SelectWorkspaces(*env_.db, p))) {
      plans_of[ws.id].push_back(p.name);
      if (objective && (!objective_of.contains(ws.id) || *objective < objective_of[ws.id]))
        objective_of[ws.id] = *objective;
    }
  }
  std::map<std::string, int64_t> holds_of;
  catalog::BackupStore bs(*env_.db);
  for (const auto& h : MLV_TRY(catalog::LegalHoldStore(*env_.db).List(account, false)))
    if (auto b = bs.Get(account, h.backup_id)) ++holds_of[b->workspace_id];

  api::GetProtectionReportResponse out;
  out.generated_at = Time(now);
  for (const auto& ws : MLV_TRY(catalog::WorkspaceStore(*env_.db).List(account))) {
    api::ProtectedWorkspace w;
    w.workspace_crn = ws.crn;
    w.workspace_name = ws.name;
    w.environment_name = ws.environment_name;
    w.plans = plans_of[ws.id];
    auto last = MLV_TRY(bs.LatestSucceeded(ws.id));
    if (last) {
      w.last_succeeded_backup_crn = last->crn;
      util::TimeMicros at = last->finished_at.value_or(last->created_at);
      w.last_succeeded_backup_at = Time(at);
      w.last_succeeded_backup_age_seconds = (now - at) / 1'000'000;
    }
    if (auto it = objective_of.find(ws.id); it != objective_of.end()) {
      w.recovery_point_objective_seconds = it->second / 1'000'000;
      w.meets_objective =
          last && now - last->finished_at.value_or(last->created_at) <= it->second;
    }
    if (auto drill = MLV_TRY(catalog::RestoreTestStore(*env_.db).LatestFinished(account, ws.crn))) {
      w.last_drill_result = catalog::RestoreTestStatusName(drill->status);
      w.last_drill_at = Time(drill->started_at);
      w.last_drill_test_id = drill->id;
    }
    w.legal_holds = holds_of[ws.id];
    if (auto lock = MLV_TRY(catalog::VaultLockStore(*env_.db).Get(ws.id))) w.vault_lock_mode = lock->mode;
    out.workspaces.push_back(std::move(w));
  }
  return out;
}

}  // namespace mlvault::control
