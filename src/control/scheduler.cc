#include "control/scheduler.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "catalog/plan_stores.h"
#include "control/handlers.h"
#include "control/operations.h"
#include "control/plan_internal.h"
#include "control/responses.h"
#include "util/log.h"
#include "util/random.h"
#include "workspace/crn.h"

namespace mlvault::control {

using catalog::PlanRecord;
using catalog::PlanRunRecord;
using nlohmann::json;

namespace {

constexpr int64_t kMicrosPerMinute = 60'000'000;
constexpr int64_t kMaxMissedCount = 10000;  // counting missed slots stops here

std::string DefaultName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "/" + std::to_string(::getpid());
}

}  // namespace

util::Result<std::vector<PlanRunReport>> Scheduler::RunDue(util::TimeMicros now) {
  std::vector<PlanRunReport> out;
  for (const auto& plan : MLV_TRY(catalog::PlanStore(*env_.db).ListAll())) {
    auto schedule = ScheduleOf(plan);
    if (!schedule) {
      util::Log(util::LogLevel::kWarn, "backup plan {}: {}", plan.name, schedule.error().message());
      continue;
    }
    util::TimeMicros not_before = NotBefore(plan);
    auto slot = schedule->LatestAtOrBefore(now, not_before);
    if (!slot) continue;
    PlanRunRecord run;
    run.id = util::NewUuid();
    run.plan_id = plan.id;
    run.account_id = plan.account_id;
    run.slot_at = *slot;
    run.claimed_by = env_.name.empty() ? DefaultName() : env_.name;
    run.started_at = now;
    run.late = now > *slot + plan.start_window_minutes * kMicrosPerMinute;
    for (auto t = schedule->NextAfter(not_before - 1); t && *t < *slot; t = schedule->NextAfter(*t))
      if (++run.missed_slots >= kMaxMissedCount) break;
    // Exactly one scheduler gets the slot (the unique (plan, slot) row).
    if (!MLV_TRY(catalog::PlanRunStore(*env_.db).Claim(run))) continue;
    MLV_TRY(catalog::PlanStore(*env_.db).AdvanceCursor(plan.id, *slot));
    out.push_back(MLV_TRY(RunClaimed(plan, run, now)));
  }
  return out;
}

util::Result<PlanRunReport> Scheduler::RunClaimed(const PlanRecord& plan, PlanRunRecord run,
                                                  util::TimeMicros now) {
  PlanRunReport report;
  report.plan_name = plan.name;
  report.run_id = run.id;
  report.slot_at = run.slot_at;
  report.missed_slots = run.missed_slots;

  // The plan acts as its role (or its owner); the audit log says it came from the scheduler.
  auto caller = PlanCaller(*env_.db, plan);
  if (!caller) {
    run.status = catalog::PlanRunStatus::kFailed;
    run.finished_at = env_.clock->Now();
    run.errors = json::array({caller.error().message()}).dump();
    MLV_TRY(catalog::PlanRunStore(*env_.db).Finish(run));
    report.status = run.status;
    report.errors.push_back(caller.error().message());
    return report;
  }
  OperationsEnv oe;
  oe.home = env_.home;
  oe.db = env_.db;
  oe.authorizer = env_.authorizer;
  oe.caller = *caller;
  oe.clock = env_.clock;
  oe.provider = env_.provider;
  oe.engine = env_.engine;
  Operations ops(std::move(oe));

  json backups = json::array(), expired = json::array(), errors = json::array();
  auto fail = [&](const std::string& e) {
    errors.push_back(e);
    report.errors.push_back(e);
  };

  // A restore testing plan: one drill of every selected workspace, no backups, no retention.
  // Each drill is a restore_test workflow that a worker runs (the server's pool, or a detached
  // `mlvault worker`); the run records the drills it started, their results are the reports.
  if (plan.sandbox_environment) {
    int drills = 0;
    auto workspaces = SelectWorkspaces(*env_.db, plan);
    if (!workspaces) {
      fail("selecting workspaces: " + workspaces.error().message());
    } else if (workspaces->empty()) {
      fail("the selection matched no live workspace");
    } else {
      for (const auto& ws : *workspaces) {
        json entry = {{"workspaceCrn", ws.crn}};
        api::StartRestoreTestRequest req{"", ws.crn, *plan.sandbox_environment};
        auto drill = ops.RunRestoreTest(req, Wait{}, plan.name);
        if (drill) {
          ++drills;
          entry["restoreTestId"] = drill->restore_test.restore_test_id;
          entry["backupCrn"] = drill->restore_test.backup_crn;
          entry["status"] = drill->restore_test.status;
          entry["workflowId"] = drill->restore_test.workflow_id;
          if (!drill->restore_test.error.empty()) {
            entry["error"] = drill->restore_test.error;
            fail("restore test of " + ws.crn + " failed: " + drill->restore_test.error);
          }
        } else {
          entry["error"] = drill.error().message();
          fail("restore test of " + ws.crn + ": " + drill.error().message());
        }
        backups.push_back(entry);
      }
    }
    report.backups_started = drills;
    run.status = errors.empty() ? catalog::PlanRunStatus::kSucceeded
                 : drills > 0  ? catalog::PlanRunStatus::kPartial
                               : catalog::PlanRunStatus::kFailed;
    run.finished_at = env_.clock->Now();
    run.backups = backups.dump();
    run.errors = errors.dump();
    MLV_TRY(catalog::PlanRunStore(*env_.db).Finish(run));
    report.status = run.status;
    return report;
  }

  // 1. A backup of every selected workspace.
  std::string name = ScheduledBackupName(plan.name, run.slot_at);
  auto workspaces = SelectWorkspaces(*env_.db, plan);
  if (!workspaces) {
    fail("selecting workspaces: " + workspaces.error().message());
  } else if (workspaces->empty()) {
    fail("the selection matched no live workspace");
  } else {
    for (const auto& ws : *workspaces) {
      json entry = {{"workspaceCrn", ws.crn}, {"backupName", name}};
      api::BackupWorkspaceRequest req{ws.crn, name, std::nullopt};
      auto started = ops.BackupWorkspace(req, Wait{});
      if (started) {
        entry["backupCrn"] = started->backup_crn;
        entry["workflowId"] = started->workflow_id;
        ++report.backups_started;
        if (auto crn = workspace::ParseCrn(started->backup_crn))
          if (auto st = catalog::PlanBackupStore(*env_.db).Add(crn->resource_id, plan.id, run.id);
              !st)
            fail("recording backup " + started->backup_crn + ": " + st.error().message());
        // Its copy (copy-backup), which runs after it on the workspace's queue.
        if (plan.copy_to_environment) {
          auto copy = ops.CopyPlanBackup(started->backup_crn, *plan.copy_to_environment);
          if (copy) {
            entry["copyBackupCrn"] = copy->backup_crn;
            entry["copyWorkflowId"] = copy->workflow_id;
            entry["copyEnvironmentName"] = copy->destination_environment_name;
          } else {
            entry["copyError"] = copy.error().message();
            fail("copy of " + started->backup_crn + " into environment " +
                 *plan.copy_to_environment + ": " + copy.error().message());
          }
        }
      } else {
        entry["error"] = started.error().message();
        fail("backup of " + ws.crn + ": " + started.error().message());
      }
      backups.push_back(entry);
    }
  }

  // 2. Retention over the backups the plan made.
  auto verdicts = DecidePlanRetention(*env_.db, plan, now);
  if (!verdicts) {
    fail("retention: " + verdicts.error().message());
  } else {
    for (const auto& v : *verdicts) {
      if (v.decision.keep) continue;
      std::string by = "backup plan " + plan.name + ", rule " + v.decision.rule + ": " +
                       v.decision.reason;
      json entry = {{"backupCrn", v.backup.crn},
                    {"backupName", v.backup.name},
                    {"rule", v.decision.rule},
                    {"reason", v.decision.reason}};
      auto del = ops.ExpireBackup(v.backup.crn, by);
      if (del) {
        entry["workflowId"] = del->workflow_id;
        ++report.expiries_started;
      } else {
        entry["error"] = del.error().message();
        fail("expiring " + v.backup.crn + ": " + del.error().message());
      }
      expired.push_back(entry);
    }
  }

  bool started_any = report.backups_started > 0 || report.expiries_started > 0;
  run.status = errors.empty()  ? catalog::PlanRunStatus::kSucceeded
               : started_any ? catalog::PlanRunStatus::kPartial
                             : catalog::PlanRunStatus::kFailed;
  run.finished_at = env_.clock->Now();
  run.backups = backups.dump();
  run.expired = expired.dump();
  run.errors = errors.dump();
  MLV_TRY(catalog::PlanRunStore(*env_.db).Finish(run));
  report.status = run.status;
  return report;
}

util::Result<std::vector<PlanRunReport>> SchedulerTick(const SchedulerEnv& env) {
  Scheduler s(env);
  return s.RunDue(env.clock->Now());
}

std::string DescribeRun(const PlanRunReport& r) {
  std::string s = "backup plan " + r.plan_name + ": slot " + util::FormatTime(r.slot_at) + " " +
                  catalog::PlanRunStatusName(r.status) + ", " + std::to_string(r.backups_started) + " backup(s) and " +
                  std::to_string(r.expiries_started) + " expiry(ies) started";
  if (r.missed_slots > 0)
    s += ", standing for " + std::to_string(r.missed_slots) + " missed earlier slot(s)";
  for (const auto& e : r.errors) s += "; " + e;
  return s;
}

}  // namespace mlvault::control
