#include "catalog/plan_stores.h"

#include "catalog/backup_copy_store.h"
#include "catalog/model_sample_store.h"
#include "catalog/restore_test_store.h"
#include "sqlite/mapping.h"

namespace mlvault::catalog {

std::vector<Migration> PlanMigrations() {
  std::vector<Migration> out = {{"0300_plans", R"sql(
CREATE TABLE backup_plans (
  id                    TEXT PRIMARY KEY,
  account_id            TEXT NOT NULL,
  crn                   TEXT NOT NULL UNIQUE,
  name                  TEXT NOT NULL,
  schedule              TEXT NOT NULL,
  time_zone             TEXT NOT NULL,
  start_window_minutes  INTEGER NOT NULL,
  selection             TEXT NOT NULL,
  retention             TEXT NOT NULL,
  owner_crn             TEXT NOT NULL,
  owner_caller          TEXT NOT NULL,
  role_crn              TEXT,
  anchor_at             INTEGER NOT NULL,
  last_slot_at          INTEGER,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  CONSTRAINT backup_plans_name_unique UNIQUE (account_id, name)
);

-- One row per claimed slot: the unique (plan, slot) is what makes a slot run exactly once when
-- several schedulers share the catalog.
CREATE TABLE backup_plan_runs (
  id            TEXT PRIMARY KEY,
  plan_id       TEXT NOT NULL,
  account_id    TEXT NOT NULL,
  slot_at       INTEGER NOT NULL,
  status        TEXT NOT NULL,
  claimed_by    TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  missed_slots  INTEGER NOT NULL DEFAULT 0,
  late          INTEGER NOT NULL DEFAULT 0,
  backups       TEXT NOT NULL DEFAULT '[]',
  expired       TEXT NOT NULL DEFAULT '[]',
  errors        TEXT NOT NULL DEFAULT '[]',
  CONSTRAINT backup_plan_runs_slot_unique UNIQUE (plan_id, slot_at)
);

CREATE TABLE backup_plan_backups (
  backup_id  TEXT PRIMARY KEY,
  plan_id    TEXT NOT NULL,
  run_id     TEXT NOT NULL
);
CREATE INDEX backup_plan_backups_by_plan ON backup_plan_backups (plan_id);

CREATE TABLE legal_holds (
  id           TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL,
  backup_id    TEXT NOT NULL,
  backup_crn   TEXT NOT NULL,
  reason       TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  released_at  INTEGER,
  released_by  TEXT
);
-- One active hold per backup.
CREATE UNIQUE INDEX legal_holds_active ON legal_holds (backup_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_by_account ON legal_holds (account_id, created_at);

CREATE TABLE vault_locks (
  workspace_id        TEXT PRIMARY KEY,
  account_id          TEXT NOT NULL,
  workspace_crn       TEXT NOT NULL,
  mode                TEXT NOT NULL,
  min_retention_days  INTEGER NOT NULL,
  max_retention_days  INTEGER,
  changeable_until    INTEGER,
  created_by          TEXT NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
)sql"},
          // Roles a plan acts as (docs/plans.md): a trust policy says who may use the role
          // (the backup service backup.mlvault, named users); policies attach as to users.
          {"0301_plan_roles", R"sql(
CREATE TABLE iam_roles (
  crn           TEXT PRIMARY KEY,
  account_id    TEXT NOT NULL,
  name          TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  trust_policy  TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  CONSTRAINT iam_roles_name_unique UNIQUE (account_id, name)
);
CREATE TABLE iam_role_policies (
  role_crn     TEXT NOT NULL REFERENCES iam_roles (crn),
  policy_crn   TEXT NOT NULL,
  attached_at  INTEGER NOT NULL,
  PRIMARY KEY (role_crn, policy_crn)
);
)sql"}};
  // Restore tests (drills): catalog/restore_test_store.h.
  for (auto& m : RestoreTestMigrations()) out.push_back(std::move(m));
  // Backup copies and plans that copy (catalog/backup_copy_store.h).
  for (auto& m : BackupCopyMigrations()) out.push_back(std::move(m));
  // Role sessions: assume-role's short-lived credentials (control/role_sessions.h).
  out.push_back({"0305_role_sessions", R"sql(
CREATE TABLE iam_role_sessions (
  access_key_id    TEXT PRIMARY KEY,
  account_id       TEXT NOT NULL,
  role_crn         TEXT NOT NULL,
  role_name        TEXT NOT NULL,
  session_name     TEXT NOT NULL,
  assumed_by_crn   TEXT NOT NULL,
  assumed_by_name  TEXT NOT NULL,
  verifier         TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL
);
CREATE INDEX iam_role_sessions_by_role ON iam_role_sessions (role_crn);
)sql"});
  // Model sample requests recorded at backup time, replayed by drills (catalog/model_sample_store.h).
  for (auto& m : ModelSampleMigrations()) out.push_back(std::move(m));
  return out;
}

namespace {

using sqlite::Col;

const sqlite::Table<PlanRecord> kPlans(
    "backup_plans",
    {Col("id", &PlanRecord::id), Col("account_id", &PlanRecord::account_id),
     Col("crn", &PlanRecord::crn), Col("name", &PlanRecord::name),
     Col("schedule", &PlanRecord::schedule), Col("time_zone", &PlanRecord::time_zone),
     Col("start_window_minutes", &PlanRecord::start_window_minutes),
     Col("selection", &PlanRecord::selection), Col("retention", &PlanRecord::retention),
     Col("owner_crn", &PlanRecord::owner_crn), Col("owner_caller", &PlanRecord::owner_caller),
     Col("role_crn", &PlanRecord::role_crn),
     Col("sandbox_environment", &PlanRecord::sandbox_environment),
     Col("copy_to_environment", &PlanRecord::copy_to_environment),
     Col("anchor_at", &PlanRecord::anchor_at), Col("last_slot_at", &PlanRecord::last_slot_at),
     Col("created_at", &PlanRecord::created_at), Col("updated_at", &PlanRecord::updated_at)});

const sqlite::Table<PlanRunRecord> kRuns(
    "backup_plan_runs",
    {Col("id", &PlanRunRecord::id), Col("plan_id", &PlanRunRecord::plan_id),
     Col("account_id", &PlanRunRecord::account_id), Col("slot_at", &PlanRunRecord::slot_at),
     Col("status", &PlanRunRecord::status), Col("claimed_by", &PlanRunRecord::claimed_by),
     Col("started_at", &PlanRunRecord::started_at),
     Col("finished_at", &PlanRunRecord::finished_at),
     Col("missed_slots", &PlanRunRecord::missed_slots), Col("late", &PlanRunRecord::late),
     Col("backups", &PlanRunRecord::backups), Col("expired", &PlanRunRecord::expired),
     Col("errors", &PlanRunRecord::errors)});

const sqlite::Table<LegalHoldRecord> kHolds(
    "legal_holds",
    {Col("id", &LegalHoldRecord::id), Col("account_id", &LegalHoldRecord::account_id),
     Col("backup_id", &LegalHoldRecord::backup_id),
     Col("backup_crn", &LegalHoldRecord::backup_crn), Col("reason", &LegalHoldRecord::reason),
     Col("created_by", &LegalHoldRecord::created_by),
     Col("created_at", &LegalHoldRecord::created_at),
     Col("released_at", &LegalHoldRecord::released_at),
     Col("released_by", &LegalHoldRecord::released_by)});

const sqlite::Table<VaultLockRecord> kLocks(
    "vault_locks",
    {Col("workspace_id", &VaultLockRecord::workspace_id),
     Col("account_id", &VaultLockRecord::account_id),
     Col("workspace_crn", &VaultLockRecord::workspace_crn), Col("mode", &VaultLockRecord::mode),
     Col("min_retention_days", &VaultLockRecord::min_retention_days),
     Col("max_retention_days", &VaultLockRecord::max_retention_days),
     Col("changeable_until", &VaultLockRecord::changeable_until),
     Col("created_by", &VaultLockRecord::created_by),
     Col("created_at", &VaultLockRecord::created_at),
     Col("updated_at", &VaultLockRecord::updated_at)});

template <class R>
util::Result<std::vector<R>> All(Db& db, const sqlite::Table<R>& t, const std::string& where,
                                 const std::vector<Value>& params) {
  auto rows = MLV_TRY(db.Query(t.SelectSql() + where, params));
  std::vector<R> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(t.FromRow(r));
  return out;
}

Value Opt(const std::optional<int64_t>& v) { return v ? Value(*v) : Value(nullptr); }

}  // namespace

// ------------------------------------------------------------------------------- plans

util::Status PlanStore::Insert(const PlanRecord& p) {
  auto r = db_.Exec(kPlans.InsertSql(), kPlans.Values(p));
  if (!r && r.error().code() == util::ErrorCode::kConflict)
    return util::Conflict("a backup plan named \"" + p.name + "\" exists already");
  MLV_TRY(r);
  return util::Ok();
}

util::Result<PlanRecord> PlanStore::GetByName(const std::string& account_id,
                                              const std::string& name) {
  auto all = MLV_TRY(All(db_, kPlans, "WHERE account_id = ? AND name = ?", {account_id, name}));
  if (all.empty())
    return util::NotFound("no backup plan named \"" + name +
                          "\"; list-backup-plans shows the plans there are");
  return all.front();
}

util::Result<std::vector<PlanRecord>> PlanStore::List(const std::string& account_id) {
  return All(db_, kPlans, "WHERE account_id = ? ORDER BY created_at, id", {account_id});
}

util::Result<std::vector<PlanRecord>> PlanStore::ListAll() {
  return All(db_, kPlans, "ORDER BY created_at, id", {});
}

util::Status PlanStore::Update(const PlanRecord& p) {
  MLV_TRY(db_.Exec(
      "UPDATE backup_plans SET schedule = ?, time_zone = ?, start_window_minutes = ?, "
      "selection = ?, retention = ?, role_crn = ?, copy_to_environment = ?, anchor_at = ?, "
      "updated_at = ? WHERE id = ?",
      {p.schedule, p.time_zone, p.start_window_minutes, p.selection, p.retention,
       p.role_crn ? Value(*p.role_crn) : Value(nullptr),
       p.copy_to_environment ? Value(*p.copy_to_environment) : Value(nullptr), p.anchor_at,
       p.updated_at, p.id}));
  return util::Ok();
}

util::Status PlanStore::Delete(const std::string& id) {
  return db_.Transaction([&]() -> util::Status {
    MLV_TRY(db_.Exec("DELETE FROM backup_plan_runs WHERE plan_id = ?", {id}));
    MLV_TRY(db_.Exec("DELETE FROM backup_plans WHERE id = ?", {id}));
    return util::Ok();
  });
}

util::Status PlanStore::AdvanceCursor(const std::string& id, TimeMicros slot) {
  MLV_TRY(db_.Exec(
      "UPDATE backup_plans SET last_slot_at = ? WHERE id = ? AND (last_slot_at IS NULL OR "
      "last_slot_at < ?)",
      {slot, id, slot}));
  return util::Ok();
}

// ------------------------------------------------------------------------------- runs

util::Result<bool> PlanRunStore::Claim(const PlanRunRecord& run) {
  auto r = db_.Exec(kRuns.InsertSql(), kRuns.Values(run));
  if (r) return true;
  if (r.error().code() == util::ErrorCode::kConflict) return false;
  return std::unexpected(r.error());
}

util::Status PlanRunStore::Finish(const PlanRunRecord& run) {
  MLV_TRY(db_.Exec(
      "UPDATE backup_plan_runs SET status = ?, finished_at = ?, backups = ?, expired = ?, "
      "errors = ? WHERE id = ?",
      {PlanRunStatusName(run.status), Opt(run.finished_at), run.backups, run.expired, run.errors, run.id}));
  return util::Ok();
}

util::Result<std::vector<PlanRunRecord>> PlanRunStore::List(const std::string& plan_id,
                                                            int64_t limit) {
  return All(db_, kRuns, "WHERE plan_id = ? ORDER BY slot_at DESC LIMIT ?", {plan_id, limit});
}

util::Status PlanBackupStore::Add(const std::string& backup_id, const std::string& plan_id,
                                  const std::string& run_id) {
  MLV_TRY(db_.Exec("INSERT INTO backup_plan_backups (backup_id, plan_id, run_id) VALUES (?, ?, ?)",
                   {backup_id, plan_id, run_id}));
  return util::Ok();
}

util::Result<std::vector<std::string>> PlanBackupStore::BackupIds(const std::string& plan_id) {
  auto rows =
      MLV_TRY(db_.Query("SELECT backup_id FROM backup_plan_backups WHERE plan_id = ?", {plan_id}));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.Text(0));
  return out;
}

// ------------------------------------------------------------------------------- legal holds

util::Status LegalHoldStore::Put(const LegalHoldRecord& h) {
  auto r = db_.Exec(kHolds.InsertSql(), kHolds.Values(h));
  if (!r && r.error().code() == util::ErrorCode::kConflict)
    return util::Conflict("backup " + h.backup_crn + " is under a legal hold already");
  MLV_TRY(r);
  return util::Ok();
}

util::Result<std::optional<LegalHoldRecord>> LegalHoldStore::Active(const std::string& backup_id) {
  auto all =
      MLV_TRY(All(db_, kHolds, "WHERE backup_id = ? AND released_at IS NULL", {backup_id}));
  if (all.empty()) return std::optional<LegalHoldRecord>();
  return std::optional(all.front());
}

util::Result<LegalHoldRecord> LegalHoldStore::Release(const std::string& backup_id,
                                                      const std::string& by, TimeMicros now) {
  LegalHoldRecord out;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    auto active = MLV_TRY(Active(backup_id));
    if (!active) return util::NotFound("the backup is not under a legal hold");
    MLV_TRY(db_.Exec("UPDATE legal_holds SET released_at = ?, released_by = ? WHERE id = ?",
                     {now, by, active->id}));
    out = *active;
    out.released_at = now;
    out.released_by = by;
    return util::Ok();
  }));
  return out;
}

util::Result<std::vector<LegalHoldRecord>> LegalHoldStore::List(const std::string& account_id,
                                                                bool include_released) {
  return All(db_, kHolds,
             std::string("WHERE account_id = ?") +
                 (include_released ? "" : " AND released_at IS NULL") +
                 " ORDER BY created_at DESC, id",
             {account_id});
}

// ------------------------------------------------------------------------------- vault locks

util::Status VaultLockStore::Put(const VaultLockRecord& l) {
  return db_.Transaction([&]() -> util::Status {
    MLV_TRY(db_.Exec("DELETE FROM vault_locks WHERE workspace_id = ?", {l.workspace_id}));
    MLV_TRY(db_.Exec(kLocks.InsertSql(), kLocks.Values(l)));
    return util::Ok();
  });
}

util::Result<std::optional<VaultLockRecord>> VaultLockStore::Get(const std::string& workspace_id) {
  auto all = MLV_TRY(All(db_, kLocks, "WHERE workspace_id = ?", {workspace_id}));
  if (all.empty()) return std::optional<VaultLockRecord>();
  return std::optional(all.front());
}

util::Status VaultLockStore::Delete(const std::string& workspace_id) {
  MLV_TRY(db_.Exec("DELETE FROM vault_locks WHERE workspace_id = ?", {workspace_id}));
  return util::Ok();
}

}  // namespace mlvault::catalog
