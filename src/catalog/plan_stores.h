// The catalog of backup plans (docs/plans.md): plans, their runs (one row per claimed slot),
// which backups a plan made, legal holds and vault locks; and the roles plans act as. Migrations
// "0300_plans", "0301_plan_roles" and the restore tests' "0302_restore_tests" (PlanMigrations), run on SQLite and PostgreSQL alike.
//
// Exactly one run per slot: a run is claimed by inserting (plan_id, slot_at), which is unique; a
// second server or process that tries the same slot gets `false` from PlanRunStore::Claim.
//
// Stores are thin objects over a Db (which must outlive them), NOT thread-safe, one statement or
// one transaction per method. Errors: kNotFound naming what is missing, kConflict for a name or
// hold that exists, kUnavailable when the catalog stayed locked.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/db.h"
#include "catalog/statuses.h"
#include "util/clock.h"

namespace mlvault::catalog {

using util::TimeMicros;

std::vector<Migration> PlanMigrations();

// ---------------------------------------------------------------------------------------------
struct PlanRecord {
  std::string id;
  std::string account_id;
  std::string crn;
  std::string name;
  std::string schedule;   // "cron(0 3 * * ? *)" | "rate(6 hours)"
  std::string time_zone;  // IANA
  int64_t start_window_minutes = 60;
  std::string selection = "[]";  // JSON array: workspace CRNs and "tag:k=v"
  std::string retention = "{}";  // JSON object: keepLast, hourly, ..., maxAgeDays
  std::string owner_crn;         // the principal whose authority the runs use
  std::string owner_caller;      // its Caller, as JSON (control/handlers.h CallerToJson)
  std::optional<std::string> role_crn;  // the role the runs act as, when set (else the owner)
  // A restore testing plan: its runs drill the selected workspaces' newest backups in this
  // environment instead of backing them up (no retention).
  std::optional<std::string> sandbox_environment;
  // A backup plan that copies each backup it takes into this environment (copy-backup).
  std::optional<std::string> copy_to_environment;
  TimeMicros anchor_at = 0;      // start of a rate's period (the creation)
  std::optional<int64_t> last_slot_at;  // the newest slot claimed
  TimeMicros created_at = 0;
  TimeMicros updated_at = 0;
};

class PlanStore {
 public:
  explicit PlanStore(Db& db) : db_(db) {}
  // kConflict if the account has a plan of that name.
  util::Status Insert(const PlanRecord& p);
  util::Result<PlanRecord> GetByName(const std::string& account_id, const std::string& name);
  // Oldest first.
  util::Result<std::vector<PlanRecord>> List(const std::string& account_id);
  // Every plan of every account (the scheduler).
  util::Result<std::vector<PlanRecord>> ListAll();
  // Writes schedule, time zone, window, selection, retention, role, copy environment, anchor
  // and updated_at.
  util::Status Update(const PlanRecord& p);
  // Removes the plan and its runs (the backups it made stay).
  util::Status Delete(const std::string& id);
  // Moves the plan's cursor forward to `slot` (never back).
  util::Status AdvanceCursor(const std::string& id, TimeMicros slot);

 private:
  Db& db_;
};

// ---------------------------------------------------------------------------------------------
// Run status (PlanRunStatus): running | succeeded (every backup started, every expiry started) |
// partial | failed (nothing started).
struct PlanRunRecord {
  std::string id;
  std::string plan_id;
  std::string account_id;
  TimeMicros slot_at = 0;
  PlanRunStatus status = PlanRunStatus::kRunning;
  std::string claimed_by;  // the scheduler that claimed it
  TimeMicros started_at = 0;
  std::optional<int64_t> finished_at;
  int64_t missed_slots = 0;  // earlier slots since the previous run that did not run
  bool late = false;         // started after the plan's start window
  std::string backups = "[]";  // JSON: [{workspaceCrn, backupCrn?, backupName, workflowId?, error?}]
  std::string expired = "[]";  // JSON: [{backupCrn, rule, reason, workflowId?, error?}]
  std::string errors = "[]";   // JSON array of strings
};

class PlanRunStore {
 public:
  explicit PlanRunStore(Db& db) : db_(db) {}
  // Inserts the run; false if that (plan, slot) was claimed already (by anyone).
  util::Result<bool> Claim(const PlanRunRecord& run);
  util::Status Finish(const PlanRunRecord& run);
  // Newest slot first, at most `limit`.
  util::Result<std::vector<PlanRunRecord>> List(const std::string& plan_id, int64_t limit = 100);

 private:
  Db& db_;
};

// Which backups a plan made (retention applies to these only).
class PlanBackupStore {
 public:
  explicit PlanBackupStore(Db& db) : db_(db) {}
  util::Status Add(const std::string& backup_id, const std::string& plan_id,
                   const std::string& run_id);
  util::Result<std::vector<std::string>> BackupIds(const std::string& plan_id);

 private:
  Db& db_;
};

// ---------------------------------------------------------------------------------------------
struct LegalHoldRecord {
  std::string id;
  std::string account_id;
  std::string backup_id;
  std::string backup_crn;
  std::string reason;
  std::string created_by;
  TimeMicros created_at = 0;
  std::optional<int64_t> released_at;
  std::optional<std::string> released_by;
};

class LegalHoldStore {
 public:
  explicit LegalHoldStore(Db& db) : db_(db) {}
  // kConflict if the backup is held already.
  util::Status Put(const LegalHoldRecord& h);
  // The active hold of a backup, if any.
  util::Result<std::optional<LegalHoldRecord>> Active(const std::string& backup_id);
  // Releases the active hold; kNotFound if there is none.
  util::Result<LegalHoldRecord> Release(const std::string& backup_id, const std::string& by,
                                        TimeMicros now);
  // Newest first; released ones too with include_released.
  util::Result<std::vector<LegalHoldRecord>> List(const std::string& account_id,
                                                  bool include_released);

 private:
  Db& db_;
};

// ---------------------------------------------------------------------------------------------
struct VaultLockRecord {
  std::string workspace_id;
  std::string account_id;
  std::string workspace_crn;
  std::string mode;  // governance | compliance
  int64_t min_retention_days = 0;
  std::optional<int64_t> max_retention_days;
  std::optional<int64_t> changeable_until;  // compliance: after this nobody may change it
  std::string created_by;
  TimeMicros created_at = 0;
  TimeMicros updated_at = 0;
};

class VaultLockStore {
 public:
  explicit VaultLockStore(Db& db) : db_(db) {}
  // Inserts or replaces the lock of the workspace.
  util::Status Put(const VaultLockRecord& l);
  util::Result<std::optional<VaultLockRecord>> Get(const std::string& workspace_id);
  util::Status Delete(const std::string& workspace_id);

 private:
  Db& db_;
};

}  // namespace mlvault::catalog
