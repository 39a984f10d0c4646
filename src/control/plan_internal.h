// Internal to the control layer: what the plan operations (plan_ops.cc), the protections
// (protection_ops.cc) and the scheduler (scheduler.cc) share: a plan's rules, its selection, the
// retention verdicts over its backups, and whether a vault lock keeps a backup.
// Not thread-safe (uses the Db it is given).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/types_plans.h"
#include "catalog/control_stores.h"
#include "catalog/plan_stores.h"
#include "control/authorizer.h"
#include "control/retention.h"
#include "control/schedule.h"
#include "util/error.h"

namespace mlvault::control {

// The plan's retention rules (its JSON column).
RetentionRules RulesOf(const catalog::PlanRecord& plan);
api::RetentionRulesJson RulesJsonOf(const catalog::PlanRecord& plan);
// The plan's selection (its JSON column).
std::vector<std::string> SelectionOf(const catalog::PlanRecord& plan);
// OK, or kInvalidArgument naming selection[i]: a workspace CRN or "tag:key=value".
util::Status CheckSelection(const std::vector<std::string>& selection);
// The plan's schedule (kInvalidArgument if the stored text no longer parses, e.g. a time zone
// removed from tzdata).
util::Result<Schedule> ScheduleOf(const catalog::PlanRecord& plan);
// The earliest instant a slot of the plan may have: after its anchor and after the last slot
// claimed.
util::TimeMicros NotBefore(const catalog::PlanRecord& plan);

// The live workspaces of the plan's account the selection names (by CRN, or by one of its
// tags), oldest first.
util::Result<std::vector<catalog::WorkspaceRecord>> SelectWorkspaces(
    catalog::Db& db, const catalog::PlanRecord& plan);

// Why the vault lock keeps backup `b` at `now` ("vault lock (compliance) keeps it until ..."),
// or nullopt when it does not.
std::optional<std::string> LockKeeps(const catalog::VaultLockRecord& lock,
                                     const catalog::BackupRecord& b, util::TimeMicros now);

struct PlanVerdict {
  catalog::BackupRecord backup;
  RetentionDecision decision;
};
// The retention verdict on every succeeded backup the plan made, newest first.
util::Result<std::vector<PlanVerdict>> DecidePlanRetention(catalog::Db& db,
                                                           const catalog::PlanRecord& plan,
                                                           util::TimeMicros now);

// Whom a plan's runs act as: its role (the role's CRN as principal, "<role>/<plan>" as name:
// the plan is the session) when it has one, else its owner; source "scheduler". kNotFound /
// kPermissionDenied when the role is gone or no longer trusts the backup service.
util::Result<Caller> PlanCaller(catalog::Db& db, const catalog::PlanRecord& plan);

// "<plan>-20260129T030000Z": the name of the backup a plan takes at `slot`.
std::string ScheduledBackupName(const std::string& plan_name, util::TimeMicros slot);

}  // namespace mlvault::control
