#include "catalog/control_stores.h"

#include "sqlite/mapping.h"

namespace mlvault::catalog {
namespace {

Value Opt(const std::optional<int64_t>& v) { return v ? Value(*v) : Value(nullptr); }
Value I(int64_t v) { return Value(v); }

// A uniqueness violation of `constraint_hint` becomes `message`; other errors pass through.
util::Status MapConflict(util::Result<int64_t> r, const std::string& message) {
  if (r) return util::Ok();
  if (r.error().code() == util::ErrorCode::kConflict) return util::Conflict(message);
  return std::unexpected(r.error());
}

// ----- one mapping per table (sqlite/mapping.h): column lists, INSERTs and reads derive from it
using sqlite::Col;

const sqlite::Table<EnvironmentRecord> kEnvironments(
    "environments",
    {Col("id", &EnvironmentRecord::id), Col("account_id", &EnvironmentRecord::account_id),
     Col("crn", &EnvironmentRecord::crn), Col("name", &EnvironmentRecord::name),
     Col("region", &EnvironmentRecord::region),
     Col("storage_root", &EnvironmentRecord::storage_root),
     Col("created_by", &EnvironmentRecord::created_by),
     Col("created_at", &EnvironmentRecord::created_at),
     Col("vault_location", &EnvironmentRecord::vault_location)});

const sqlite::Table<WorkspaceRecord> kWorkspaces(
    "workspaces", {Col("id", &WorkspaceRecord::id),
                   Col("account_id", &WorkspaceRecord::account_id),
                   Col("crn", &WorkspaceRecord::crn),
                   Col("name", &WorkspaceRecord::name),
                   Col("environment_id", &WorkspaceRecord::environment_id),
                   Col("status", &WorkspaceRecord::status),
                   Col("status_reason", &WorkspaceRecord::status_reason),
                   Col("version", &WorkspaceRecord::version),
                   Col("domain", &WorkspaceRecord::domain),
                   Col("endpoint", &WorkspaceRecord::endpoint),
                   Col("runtime_pid", &WorkspaceRecord::runtime_pid),
                   Col("parameters", &WorkspaceRecord::parameters),
                   Col("api_key", &WorkspaceRecord::api_key),
                   Col("control_key", &WorkspaceRecord::control_key),
                   Col("is_restored", &WorkspaceRecord::is_restored),
                   Col("restored_from_backup_crn", &WorkspaceRecord::restored_from_backup_crn),
                   Col("created_by", &WorkspaceRecord::created_by),
                   Col("created_at", &WorkspaceRecord::created_at),
                   Col("updated_at", &WorkspaceRecord::updated_at),
                   Col("deleted_at", &WorkspaceRecord::deleted_at)});
// Workspaces are read joined with their environment (name and storage root, read only).
const std::string kWsSelect = "SELECT " + kWorkspaces.Columns("w") +
                              ", e.name, e.storage_root FROM workspaces w JOIN environments e ON "
                              "e.id = w.environment_id ";

WorkspaceRecord WsFrom(const Row& r) {
  WorkspaceRecord w = kWorkspaces.FromRow(r);
  w.environment_name = r.Text(kWorkspaces.size());
  w.environment_root = r.Text(kWorkspaces.size() + 1);
  return w;
}

const sqlite::Table<BackupRecord> kBackups(
    "backups", {Col("id", &BackupRecord::id),
                Col("account_id", &BackupRecord::account_id),
                Col("crn", &BackupRecord::crn),
                Col("name", &BackupRecord::name),
                Col("workspace_id", &BackupRecord::workspace_id),
                Col("workspace_crn", &BackupRecord::workspace_crn),
                Col("workspace_name", &BackupRecord::workspace_name),
                Col("environment_id", &BackupRecord::environment_id),
                Col("environment_name", &BackupRecord::environment_name),
                Col("vault_name", &BackupRecord::vault_name),
                Col("status", &BackupRecord::status),
                Col("creator_crn", &BackupRecord::creator_crn),
                Col("workspace_version", &BackupRecord::workspace_version),
                Col("workflow_id", &BackupRecord::workflow_id),
                Col("delete_workflow_id", &BackupRecord::delete_workflow_id),
                Col("timeout_minutes", &BackupRecord::timeout_minutes),
                Col("created_at", &BackupRecord::created_at),
                Col("started_at", &BackupRecord::started_at),
                Col("finished_at", &BackupRecord::finished_at),
                Col("quiesced_micros", &BackupRecord::quiesced_micros),
                Col("bytes_total", &BackupRecord::bytes_total),
                Col("files_total", &BackupRecord::files_total),
                Col("bytes_stored", &BackupRecord::bytes_stored),
                Col("details", &BackupRecord::details),
                Col("warnings", &BackupRecord::warnings),
                Col("error", &BackupRecord::error),
                Col("deleted_at", &BackupRecord::deleted_at)});

const sqlite::Table<RecoveryPointRecord> kRecoveryPoints(
    "recovery_points",
    {Col("backup_id", &RecoveryPointRecord::backup_id), Col("volume", &RecoveryPointRecord::volume),
     Col("kind", &RecoveryPointRecord::kind),
     Col("vault_point_id", &RecoveryPointRecord::vault_point_id),
     Col("source_path", &RecoveryPointRecord::source_path),
     Col("bytes_total", &RecoveryPointRecord::bytes_total),
     Col("files", &RecoveryPointRecord::files), Col("dirs", &RecoveryPointRecord::dirs),
     Col("bytes_read", &RecoveryPointRecord::bytes_read),
     Col("bytes_new", &RecoveryPointRecord::bytes_new),
     Col("bytes_stored", &RecoveryPointRecord::bytes_stored),
     Col("files_unchanged", &RecoveryPointRecord::files_unchanged),
     Col("duration_micros", &RecoveryPointRecord::duration_micros),
     Col("created_at", &RecoveryPointRecord::created_at)});

const sqlite::Table<WorkflowRecord> kWorkflows(
    "workflows", {Col("id", &WorkflowRecord::id),
                  Col("account_id", &WorkflowRecord::account_id),
                  Col("kind", &WorkflowRecord::kind),
                  Col("status", &WorkflowRecord::status),
                  Col("queue_key", &WorkflowRecord::queue_key),
                  Col("resource_crn", &WorkflowRecord::resource_crn),
                  Col("caller", &WorkflowRecord::caller),
                  Col("input", &WorkflowRecord::input),
                  Col("output", &WorkflowRecord::output),
                  Col("phase", &WorkflowRecord::phase),
                  Col("bytes_done", &WorkflowRecord::bytes_done),
                  Col("bytes_total", &WorkflowRecord::bytes_total),
                  Col("files_done", &WorkflowRecord::files_done),
                  Col("files_total", &WorkflowRecord::files_total),
                  Col("warnings", &WorkflowRecord::warnings),
                  Col("error_code", &WorkflowRecord::error_code),
                  Col("error_message", &WorkflowRecord::error_message),
                  Col("attempts", &WorkflowRecord::attempts),
                  Col("max_attempts", &WorkflowRecord::max_attempts),
                  Col("timeout_seconds", &WorkflowRecord::timeout_seconds),
                  Col("lease_owner", &WorkflowRecord::lease_owner),
                  Col("lease_expires_at", &WorkflowRecord::lease_expires_at),
                  Col("cancel_requested", &WorkflowRecord::cancel_requested),
                  Col("cancel_reason", &WorkflowRecord::cancel_reason),
                  Col("created_at", &WorkflowRecord::created_at),
                  Col("updated_at", &WorkflowRecord::updated_at),
                  Col("started_at", &WorkflowRecord::started_at),
                  Col("finished_at", &WorkflowRecord::finished_at)});

template <typename R>
std::vector<R> AllFrom(const sqlite::Table<R>& table, const std::vector<Row>& rows) {
  std::vector<R> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(table.FromRow(r));
  return out;
}

constexpr char kActive[] = "('queued', 'pending', 'running')";
// A workflow row `owner` may claim at time `now` (parameters: owner, now).
constexpr char kClaimable[] = "(lease_owner = '' OR lease_owner = ? OR lease_expires_at <= ?)";

}  // namespace

// ============================================================================ environments

util::Status EnvironmentStore::Insert(const EnvironmentRecord& e) {
  return MapConflict(db_.Exec(kEnvironments.InsertSql(), kEnvironments.Values(e)),
                     "an environment named \"" + e.name + "\" already exists");
}

util::Result<EnvironmentRecord> EnvironmentStore::GetByName(const std::string& account_id,
                                                            const std::string& name) {
  auto rows = MLV_TRY(db_.Query(kEnvironments.SelectSql() + "WHERE account_id = ? AND name = ?",
                                {account_id, name}));
  if (rows.empty())
    return util::NotFound("environment \"" + name +
                          "\" does not exist (create it with: mlvault create-environment "
                          "--environment-name " +
                          name + ")");
  return kEnvironments.FromRow(rows[0]);
}

util::Result<EnvironmentRecord> EnvironmentStore::GetById(const std::string& account_id,
                                                          const std::string& id) {
  auto rows = MLV_TRY(
      db_.Query(kEnvironments.SelectSql() + "WHERE account_id = ? AND id = ?", {account_id, id}));
  if (rows.empty()) return util::NotFound("environment " + id + " does not exist");
  return kEnvironments.FromRow(rows[0]);
}

util::Result<std::vector<EnvironmentRecord>> EnvironmentStore::List(const std::string& account_id) {
  auto rows = MLV_TRY(db_.Query(
      kEnvironments.SelectSql() + "WHERE account_id = ? ORDER BY created_at, name", {account_id}));
  return AllFrom(kEnvironments, rows);
}

// ============================================================================ workspaces

util::Status WorkspaceStore::Insert(const WorkspaceRecord& w) {
  return MapConflict(db_.Exec(kWorkspaces.InsertSql(), kWorkspaces.Values(w)),
                     "a workspace named \"" + w.name + "\" already exists in environment \"" +
                         (w.environment_name.empty() ? w.environment_id : w.environment_name) +
                         "\"");
}

util::Result<WorkspaceRecord> WorkspaceStore::Get(const std::string& account_id,
                                                  const std::string& id) {
  auto rows =
      MLV_TRY(db_.Query(kWsSelect + "WHERE w.account_id = ? AND w.id = ?", {account_id, id}));
  if (rows.empty()) return util::NotFound("workspace " + id + " does not exist");
  return WsFrom(rows[0]);
}

util::Result<std::vector<WorkspaceRecord>> WorkspaceStore::List(const std::string& account_id,
                                                                bool include_deleted) {
  std::string sql = kWsSelect + "WHERE w.account_id = ?";
  if (!include_deleted) sql += " AND w.deleted_at IS NULL";
  sql += " ORDER BY w.created_at, w.id";
  auto rows = MLV_TRY(db_.Query(sql, {account_id}));
  std::vector<WorkspaceRecord> out;
  for (const auto& r : rows) out.push_back(WsFrom(r));
  return out;
}

util::Result<std::vector<WorkspaceRecord>> WorkspaceStore::ListAllLive() {
  auto rows =
      MLV_TRY(db_.Query(kWsSelect + "WHERE w.deleted_at IS NULL ORDER BY w.created_at, w.id"));
  std::vector<WorkspaceRecord> out;
  for (const auto& r : rows) out.push_back(WsFrom(r));
  return out;
}

util::Result<WorkspaceRecord> WorkspaceStore::FindLiveByName(const std::string& account_id,
                                                             const std::string& environment_id,
                                                             const std::string& name) {
  auto rows = MLV_TRY(
      db_.Query(kWsSelect + "WHERE w.account_id = ? AND w.environment_id = ? AND w.name = ? AND "
                            "w.deleted_at IS NULL",
                {account_id, environment_id, name}));
  if (rows.empty()) return util::NotFound("workspace \"" + name + "\" does not exist");
  return WsFrom(rows[0]);
}

util::Status WorkspaceStore::SetStatus(const std::string& id, WorkspaceStatus status,
                                       const std::string& reason, TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE workspaces SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
               {WorkspaceStatusName(status), reason, now, id}));
  return util::Ok();
}

util::Status WorkspaceStore::SetRuntime(const std::string& id, int64_t pid,
                                        const std::string& endpoint, const std::string& version,
                                        TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE workspaces SET status = 'running', status_reason = '', runtime_pid = ?, "
               "endpoint = ?, "
               "version = CASE WHEN ? = '' THEN version ELSE ? END, updated_at = ? WHERE id = ?",
               {pid, endpoint, version, version, now, id}));
  return util::Ok();
}

util::Status WorkspaceStore::RecordRuntime(const std::string& id, int64_t pid,
                                           const std::string& endpoint, const std::string& version,
                                           TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE workspaces SET runtime_pid = ?, endpoint = ?, "
               "version = CASE WHEN ? = '' THEN version ELSE ? END, updated_at = ? WHERE id = ?",
               {pid, endpoint, version, version, now, id}));
  return util::Ok();
}

util::Status WorkspaceStore::MarkFailed(const std::string& id, const std::string& reason,
                                        TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE workspaces SET status = 'failed', status_reason = ?, runtime_pid = 0, "
               "deleted_at = COALESCE(deleted_at, ?), updated_at = ? WHERE id = ?",
               {reason, now, now, id}));
  return util::Ok();
}

util::Status WorkspaceStore::MarkDeleted(const std::string& id, TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE workspaces SET status = 'deleted', status_reason = '', runtime_pid = 0, "
               "deleted_at = ?, "
               "updated_at = ? WHERE id = ?",
               {now, now, id}));
  return util::Ok();
}

// ============================================================================ backups

util::Status BackupStore::Insert(const BackupRecord& b) {
  return MapConflict(db_.Exec(kBackups.InsertSql(), kBackups.Values(b)),
                     "workspace \"" + b.workspace_name + "\" already has a backup named \"" +
                         b.name + "\" (backup names are unique per workspace)");
}

util::Result<BackupRecord> BackupStore::Get(const std::string& account_id, const std::string& id) {
  auto rows = MLV_TRY(
      db_.Query(kBackups.SelectSql() + "WHERE account_id = ? AND id = ?", {account_id, id}));
  if (rows.empty()) return util::NotFound("backup " + id + " does not exist");
  return kBackups.FromRow(rows[0]);
}

namespace {
// The keyset condition and limit of a page of backups (newest first), appended to `sql`.
void AddPage(const BackupStore::Page* page, std::string& sql, std::vector<Value>& params) {
  if (page && !page->include_deleted) sql += " AND status <> 'deleted'";
  if (page && page->after) {
    sql += " AND (created_at < ? OR (created_at = ? AND id > ?))";
    params.push_back(page->after->first);
    params.push_back(page->after->first);
    params.push_back(page->after->second);
  }
  sql += " ORDER BY created_at DESC, id";
  if (page && page->limit > 0) sql += " LIMIT " + std::to_string(page->limit);
}
}  // namespace

util::Result<std::vector<BackupRecord>> BackupStore::ListByWorkspace(
    const std::string& account_id, const std::string& workspace_id, const Page* page) {
  std::string sql = kBackups.SelectSql() + "WHERE account_id = ? AND workspace_id = ?";
  std::vector<Value> params = {account_id, workspace_id};
  AddPage(page, sql, params);
  auto rows = MLV_TRY(db_.Query(sql, params));
  return AllFrom(kBackups, rows);
}

util::Result<std::vector<BackupRecord>> BackupStore::ListByWorkspaceName(
    const std::string& account_id, const std::string& environment_name,
    const std::string& workspace_name, const Page* page) {
  std::string sql = kBackups.SelectSql() +
                    "WHERE account_id = ? AND environment_name = ? AND workspace_name = ?";
  std::vector<Value> params = {account_id, environment_name, workspace_name};
  AddPage(page, sql, params);
  auto rows = MLV_TRY(db_.Query(sql, params));
  return AllFrom(kBackups, rows);
}

util::Result<std::optional<BackupRecord>> BackupStore::LatestSucceeded(
    const std::string& workspace_id) {
  auto rows =
      MLV_TRY(db_.Query(kBackups.SelectSql() + "WHERE workspace_id = ? AND status = 'succeeded' "
                                               "ORDER BY created_at DESC, id LIMIT 1",
                        {workspace_id}));
  if (rows.empty()) return std::optional<BackupRecord>();
  return std::optional<BackupRecord>(kBackups.FromRow(rows[0]));
}

util::Status BackupStore::SetStatus(const std::string& id, BackupStatus status, TimeMicros now) {
  bool terminal = status == BackupStatus::kSucceeded || status == BackupStatus::kFailed ||
                  status == BackupStatus::kCancelled;
  MLV_TRY(db_.Exec(
      "UPDATE backups SET status = ?, finished_at = CASE WHEN ? = 1 THEN ? ELSE finished_at END "
      "WHERE id = ?",
      {BackupStatusName(status), I(terminal ? 1 : 0), now, id}));
  return util::Ok();
}

util::Status BackupStore::SetStarted(const std::string& id, TimeMicros now) {
  MLV_TRY(db_.Exec(
      "UPDATE backups SET status = 'running', started_at = COALESCE(started_at, ?) WHERE id = ?",
      {now, id}));
  return util::Ok();
}

util::Status BackupStore::Finish(const std::string& id, const BackupOutcome& o, TimeMicros now) {
  return db_.Transaction([&]() -> util::Status {
    MLV_TRY(db_.Exec(
        "UPDATE backups SET status = ?, workspace_version = CASE WHEN ? = '' THEN "
        "workspace_version "
        "ELSE ? END, quiesced_micros = ?, bytes_total = ?, files_total = ?, bytes_stored = ?, "
        "details = ?, warnings = ?, error = ?, finished_at = ? WHERE id = ?",
        {BackupStatusName(o.status), o.workspace_version, o.workspace_version,
         Opt(o.quiesced_micros), o.bytes_total, o.files_total, o.bytes_stored, o.details,
         o.warnings, o.error, now, id}));
    MLV_TRY(db_.Exec("DELETE FROM recovery_points WHERE backup_id = ?", {id}));
    for (RecoveryPointRecord rp : o.recovery_points) {
      rp.backup_id = id;
      MLV_TRY(db_.Exec(kRecoveryPoints.InsertSql(), kRecoveryPoints.Values(rp)));
    }
    return util::Ok();
  });
}

util::Status BackupStore::SetDeleting(const std::string& id,
                                      const std::string& delete_workflow_id) {
  MLV_TRY(db_.Exec(
      "UPDATE backups SET status = 'deleting', delete_workflow_id = ?, error = '' WHERE id = ?",
      {delete_workflow_id, id}));
  return util::Ok();
}

util::Status BackupStore::MarkDeleted(const std::string& id, TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE backups SET status = 'deleted', deleted_at = ? WHERE id = ?", {now, id}));
  return util::Ok();
}

util::Status BackupStore::MarkDeleteFailed(const std::string& id, const std::string& error) {
  MLV_TRY(db_.Exec("UPDATE backups SET status = 'failed', error = ? WHERE id = ?", {error, id}));
  return util::Ok();
}

util::Result<std::vector<RecoveryPointRecord>> BackupStore::RecoveryPoints(
    const std::string& backup_id) {
  auto rows = MLV_TRY(
      db_.Query(kRecoveryPoints.SelectSql() + "WHERE backup_id = ? ORDER BY created_at, volume",
                {backup_id}));
  return AllFrom(kRecoveryPoints, rows);
}

// ============================================================================ workflows

util::Result<WorkflowStatus> WorkflowStore::Insert(const WorkflowRecord& w) {
  WorkflowStatus status = WorkflowStatus::kPending;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    // Decided afresh on every attempt: PostgreSQL re-runs the body after a serialization failure.
    status = WorkflowStatus::kPending;
    if (!w.queue_key.empty()) {
      auto rows = MLV_TRY(db_.Query(
          std::string("SELECT COUNT(*) FROM workflows WHERE queue_key = ? AND status IN ") +
              kActive,
          {w.queue_key}));
      if (rows[0].Int(0) > 0) status = WorkflowStatus::kQueued;
    }
    WorkflowRecord row = w;
    row.status = status;
    MLV_TRY(db_.Exec(kWorkflows.InsertSql(), kWorkflows.Values(row)));
    return util::Ok();
  }));
  return status;
}

util::Result<WorkflowRecord> WorkflowStore::Get(const std::string& account_id,
                                                const std::string& id) {
  std::string sql = kWorkflows.SelectSql() + "WHERE id = ?";
  std::vector<Value> params = {id};
  if (!account_id.empty()) {
    sql += " AND account_id = ?";
    params.push_back(account_id);
  }
  auto rows = MLV_TRY(db_.Query(sql, params));
  if (rows.empty()) return util::NotFound("workflow " + id + " does not exist");
  return kWorkflows.FromRow(rows[0]);
}

util::Result<ClaimOutcome> WorkflowStore::Claim(const std::string& id, const std::string& owner,
                                                TimeMicros now, int64_t lease_micros) {
  ClaimOutcome outcome = ClaimOutcome::kFinished;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    outcome = ClaimOutcome::kFinished;  // every attempt decides afresh (see Insert)
    WorkflowRecord w = MLV_TRY(Get("", id));
    if (w.terminal()) {
      outcome = ClaimOutcome::kFinished;
      return util::Ok();
    }
    bool ours = w.lease_owner == owner;
    if (w.status == WorkflowStatus::kRunning ||
        (!ours && !w.lease_owner.empty() && w.lease_expires_at > now)) {
      // A running workflow belongs to its worker; if that worker died, recovery takes it over.
      outcome = (w.status == WorkflowStatus::kRunning && ours) ? ClaimOutcome::kClaimed
                                                               : ClaimOutcome::kOwnedByOther;
      return util::Ok();
    }
    if (!w.queue_key.empty()) {
      auto rows = MLV_TRY(db_.Query(
          std::string(
              "SELECT COUNT(*) FROM workflows WHERE queue_key = ? AND id <> ? AND status IN ") +
              kActive +
              " AND (status = 'running' OR created_at < ? OR (created_at = ? AND id < ?))",
          {w.queue_key, id, w.created_at, w.created_at, id}));
      if (rows[0].Int(0) > 0) {
        int64_t n = MLV_TRY(db_.Exec(
            "UPDATE workflows SET status = 'queued', lease_owner = ?, lease_expires_at = ?, "
            "updated_at = ? WHERE id = ? AND status IN ('queued', 'pending') AND " +
                std::string(kClaimable),
            {owner, now + lease_micros, now, id, owner, now}));
        outcome = n == 1 ? ClaimOutcome::kWaiting : ClaimOutcome::kOwnedByOther;
        return util::Ok();
      }
    }
    // The claim itself is a conditional UPDATE: it takes the row only if it is still unclaimed
    // (or ours, or its lease ran out), so two workers never both win, whatever the isolation
    // level and without a lock on anything but this row.
    int64_t n = MLV_TRY(
        db_.Exec("UPDATE workflows SET status = 'running', lease_owner = ?, lease_expires_at = ?, "
                 "attempts = attempts + 1, started_at = COALESCE(started_at, ?), updated_at = ? "
                 "WHERE id = ? AND status IN ('queued', 'pending') AND " +
                     std::string(kClaimable),
                 {owner, now + lease_micros, now, now, id, owner, now}));
    outcome = n == 1 ? ClaimOutcome::kClaimed : ClaimOutcome::kOwnedByOther;
    return util::Ok();
  }));
  return outcome;
}

util::Result<HeartbeatResult> WorkflowStore::Heartbeat(const std::string& id,
                                                       const std::string& owner, TimeMicros now,
                                                       int64_t lease_micros,
                                                       const util::ProgressSnapshot* p) {
  HeartbeatResult hr;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    hr = {};  // every attempt decides afresh (see Insert)
    int64_t n;
    if (p) {
      n = MLV_TRY(db_.Exec(
          "UPDATE workflows SET lease_expires_at = ?, updated_at = ?, bytes_done = ?, bytes_total "
          "= ?, "
          "files_done = ?, files_total = ?, phase = CASE WHEN ? = '' THEN phase ELSE ? END "
          "WHERE id = ? AND lease_owner = ? AND status IN " +
              std::string(kActive),
          {now + lease_micros, now, static_cast<int64_t>(p->bytes_done),
           static_cast<int64_t>(p->bytes_total), static_cast<int64_t>(p->files_done),
           static_cast<int64_t>(p->files_total), p->phase, p->phase, id, owner}));
    } else {
      n =
          MLV_TRY(db_.Exec("UPDATE workflows SET lease_expires_at = ?, updated_at = ? WHERE id = ? "
                           "AND lease_owner = ? "
                           "AND status IN " +
                               std::string(kActive),
                           {now + lease_micros, now, id, owner}));
    }
    if (n == 0)
      return util::Conflict("workflow " + id + " is no longer owned by this worker (" + owner +
                            ")");
    auto rows = MLV_TRY(
        db_.Query("SELECT cancel_requested, cancel_reason FROM workflows WHERE id = ?", {id}));
    hr.cancel_requested = rows[0].Int(0) != 0;
    hr.cancel_reason = rows[0].Text(1);
    return util::Ok();
  }));
  return hr;
}

util::Status WorkflowStore::SetPhase(const std::string& id, const std::string& owner,
                                     const std::string& phase, TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE workflows SET phase = ?, updated_at = ? WHERE id = ? AND lease_owner = ?",
               {phase, now, id, owner}));
  return util::Ok();
}

util::Status WorkflowStore::AddWarning(const std::string& id, const std::string& warnings_json,
                                       TimeMicros now) {
  MLV_TRY(db_.Exec("UPDATE workflows SET warnings = ?, updated_at = ? WHERE id = ?",
                   {warnings_json, now, id}));
  return util::Ok();
}

util::Status WorkflowStore::Finish(const std::string& id, const std::string& owner,
                                   WorkflowStatus status, const std::string& output,
                                   const std::string& warnings_json, const std::string& error_code,
                                   const std::string& error_message, TimeMicros now) {
  std::string sql =
      "UPDATE workflows SET status = ?, output = ?, warnings = ?, error_code = ?, error_message = "
      "?, "
      "lease_owner = '', lease_expires_at = 0, finished_at = ?, updated_at = ? WHERE id = ? AND "
      "status IN " +
      std::string(kActive);
  std::vector<Value> params = {
      WorkflowStatusName(status), output, warnings_json, error_code, error_message, now, now, id};
  if (!owner.empty()) {
    sql += " AND lease_owner = ?";
    params.push_back(owner);
  }
  int64_t n = MLV_TRY(db_.Exec(sql, params));
  if (n == 0)
    return util::Conflict("workflow " + id + " was not finished by " +
                          (owner.empty() ? "recovery" : owner) +
                          ": it ended already or another worker owns it");
  return util::Ok();
}

util::Result<bool> WorkflowStore::RequestCancel(const std::string& id, const std::string& reason,
                                                TimeMicros now) {
  bool ended = false;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    // Decided afresh on every attempt: PostgreSQL re-runs the body after a serialization failure
    // (a worker may have claimed the workflow in between: then it is only flagged).
    ended = false;
    WorkflowRecord w = MLV_TRY(Get("", id));
    if (w.terminal())
      return util::Conflict("workflow " + id + " has already ended (" +
                            WorkflowStatusName(w.status) + ")");
    if (w.status == WorkflowStatus::kRunning) {
      MLV_TRY(
          db_.Exec("UPDATE workflows SET cancel_requested = 1, cancel_reason = ?, updated_at = ? "
                   "WHERE id = ?",
                   {reason, now, id}));
      return util::Ok();
    }
    MLV_TRY(db_.Exec(
        "UPDATE workflows SET status = 'cancelled', cancel_requested = 1, cancel_reason = ?, "
        "error_code = 'cancelled', error_message = ?, lease_owner = '', lease_expires_at = 0, "
        "finished_at = ?, updated_at = ? WHERE id = ?",
        {reason, reason, now, now, id}));
    ended = true;
    return util::Ok();
  }));
  return ended;
}

util::Result<std::vector<WorkflowRecord>> WorkflowStore::ListActive() {
  auto rows = MLV_TRY(db_.Query(kWorkflows.SelectSql() + "WHERE status IN " + kActive +
                                " ORDER BY created_at, id"));
  return AllFrom(kWorkflows, rows);
}

util::Result<std::vector<WorkflowRecord>> WorkflowStore::ListActiveInQueue(
    const std::string& queue_key) {
  auto rows = MLV_TRY(db_.Query(kWorkflows.SelectSql() + "WHERE queue_key = ? AND status IN " +
                                    kActive + " ORDER BY created_at, id",
                                {queue_key}));
  return AllFrom(kWorkflows, rows);
}

util::Result<bool> WorkflowStore::TakeOver(const WorkflowRecord& seen, const std::string& new_owner,
                                           TimeMicros now, int64_t lease_micros) {
  int64_t n = MLV_TRY(
      db_.Exec("UPDATE workflows SET lease_owner = ?, lease_expires_at = ?, updated_at = ? "
               "WHERE id = ? AND status = ? AND "
               "lease_owner = ? AND lease_expires_at = ? AND updated_at = ?",
               {new_owner, now + lease_micros, now, seen.id, WorkflowStatusName(seen.status),
                seen.lease_owner, seen.lease_expires_at, seen.updated_at}));
  return n == 1;
}

util::Status WorkflowStore::Requeue(const std::string& id, const std::string& owner,
                                    const std::string& warnings_json, TimeMicros now) {
  int64_t n = MLV_TRY(db_.Exec(
      "UPDATE workflows SET status = CASE WHEN status = 'queued' THEN 'queued' ELSE 'pending' END, "
      "warnings = ?, lease_owner = '', "
      "lease_expires_at = 0, phase = '', updated_at = ? WHERE id = ? AND lease_owner = ?",
      {warnings_json, now, id, owner}));
  if (n == 0) return util::Conflict("workflow " + id + " is no longer owned by " + owner);
  return util::Ok();
}

}  // namespace mlvault::catalog
