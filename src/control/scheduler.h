// The backup plan scheduler: one step, RunDue(now), that every process running plans calls
// periodically (`mlvault scheduler`, and `mlvault server`'s scheduler thread).
//
// For every plan of the catalog, RunDue finds the newest slot at or before `now` that is after
// the plan's last claimed slot (and after its creation or last schedule change). If there is one:
//   1. it claims the slot by inserting the run row (plan, slot), unique in the catalog: of several
//      schedulers (threads, processes, servers sharing a PostgreSQL catalog) exactly one wins,
//      the others skip the plan;
//   2. slots missed while no scheduler ran are not run one by one: the newest runs once, and the
//      run records how many earlier slots it stands for (missedSlots) and whether it started
//      after the plan's start window (late);
//   3. it starts one backup of each selected workspace, named "<plan>-<UTC slot time>", as an
//      ordinary backup-workspace call of the plan's owner (authorised and audited as them; the
//      caller's source is "scheduler");
//   4. it applies the plan's retention to the backups the plan made (control/retention.h) and
//      starts an audited delete-backup workflow for each expired one, whose input, output and
//      audit record name the plan and the rule;
//   5. it records the run: started backups, expiries and errors.
// The workflows themselves run like any other (a detached worker in embedded mode; the server's
// pool when the engine does not spawn workers). Nothing here sleeps: time comes from `now`.
//
// Not thread-safe: a Scheduler uses one catalog connection; give each thread its own.
#pragma once

#include <string>
#include <vector>

#include "catalog/db.h"
#include "catalog/plan_stores.h"
#include "control/authorizer.h"
#include "control/workflow_engine.h"
#include "util/clock.h"
#include "util/error.h"
#include "workspace/provider.h"

namespace mlvault::control {

struct SchedulerEnv {
  std::string home;
  catalog::Db* db = nullptr;
  Authorizer* authorizer = nullptr;
  const util::Clock* clock = &util::Clock::System();  // for the operations it calls
  workspace::Provider* provider = nullptr;
  WorkflowEngine* engine = nullptr;
  std::string name;  // who claims the runs ("<host>/<pid>"); default: the engine's owner
};

// What one step did for one plan.
struct PlanRunReport {
  std::string plan_name;
  std::string run_id;
  util::TimeMicros slot_at = 0;
  catalog::PlanRunStatus status = catalog::PlanRunStatus::kFailed;  // succeeded|partial|failed
  int backups_started = 0;
  int expiries_started = 0;
  int64_t missed_slots = 0;
  std::vector<std::string> errors;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerEnv env) : env_(std::move(env)) {}

  // One step at `now` (see above). Returns a report per run it claimed. A plan that cannot be
  // read or run is reported in its run (or logged when no run could be claimed); errors are
  // returned only when the catalog itself fails.
  util::Result<std::vector<PlanRunReport>> RunDue(util::TimeMicros now);

 private:
  // Steps 3-5 for a run this scheduler claimed.
  util::Result<PlanRunReport> RunClaimed(const catalog::PlanRecord& plan,
                                         catalog::PlanRunRecord run, util::TimeMicros now);

  SchedulerEnv env_;
};

// The entry point for a process that runs plans periodically (e.g. the server's scheduler
// thread, every 30 s): one Scheduler::RunDue at env.clock->Now() on env.db.
util::Result<std::vector<PlanRunReport>> SchedulerTick(const SchedulerEnv& env);

// One line per report ("plan nightly: slot 2026-...: succeeded, 2 backups started, ...").
std::string DescribeRun(const PlanRunReport& r);

}  // namespace mlvault::control
