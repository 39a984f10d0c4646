#include "catalog/control_stores.h"

namespace mlvault::catalog {
namespace {

Value Opt(const std::optional<std::string>& v) { return v ? Value(*v) : Value(nullptr); }
Value Opt(const std::optional<int64_t>& v) { return v ? Value(*v) : Value(nullptr); }
Value I(int64_t v) { return Value(v); }

// A uniqueness violation of `constraint_hint` becomes `message`; other errors pass through.
util::Status MapConflict(util::Result<int64_t> r, const std::string& message) {
  if (r) return util::Ok();
  if (r.error().code() == util::ErrorCode::kConflict) return util::Conflict(message);
  return std::unexpected(r.error());
}

// ----- environments
constexpr char kEnvCols[] =
    "id, account_id, crn, name, region, storage_root, created_by, created_at";

EnvironmentRecord EnvFrom(const Row& r) {
  return EnvironmentRecord{r.Text(0), r.Text(1), r.Text(2), r.Text(3),
                           r.Text(4), r.Text(5), r.Text(6), r.Int(7)};
}

// ----- workspaces
constexpr char kWsCols[] =
    "w.id, w.account_id, w.crn, w.name, w.environment_id, e.name, e.storage_root, w.status, "
    "w.status_reason, "
    "w.version, w.domain, w.endpoint, w.runtime_pid, w.parameters, w.api_key, w.control_key, "
    "w.is_restored, "
    "w.restored_from_backup_crn, w.created_by, w.created_at, w.updated_at, w.deleted_at";
constexpr char kWsFrom[] = " FROM workspaces w JOIN environments e ON e.id = w.environment_id ";

WorkspaceRecord WsFrom(const Row& r) {
  WorkspaceRecord w;
  w.id = r.Text(0);
  w.account_id = r.Text(1);
  w.crn = r.Text(2);
  w.name = r.Text(3);
  w.environment_id = r.Text(4);
  w.environment_name = r.Text(5);
  w.environment_root = r.Text(6);
  w.status = r.Text(7);
  w.status_reason = r.Text(8);
  w.version = r.Text(9);
  w.domain = r.Text(10);
  w.endpoint = r.Text(11);
  w.runtime_pid = r.Int(12);
  w.parameters = r.Text(13);
  w.api_key = r.Text(14);
  w.control_key = r.Text(15);
  w.is_restored = r.Int(16) != 0;
  w.restored_from_backup_crn = r.OptText(17);
  w.created_by = r.Text(18);
  w.created_at = r.Int(19);
  w.updated_at = r.Int(20);
  w.deleted_at = r.OptInt(21);
  return w;
}

// ----- backups
constexpr char kBackupCols[] =
    "id, account_id, crn, name, workspace_id, workspace_crn, workspace_name, environment_id, "
    "environment_name, "
    "vault_name, status, creator_crn, workspace_version, workflow_id, delete_workflow_id, "
    "timeout_minutes, "
    "created_at, started_at, finished_at, quiesced_micros, bytes_total, files_total, bytes_stored, "
    "details, "
    "warnings, error, deleted_at";

BackupRecord BackupFrom(const Row& r) {
  BackupRecord b;
  b.id = r.Text(0);
  b.account_id = r.Text(1);
  b.crn = r.Text(2);
  b.name = r.Text(3);
  b.workspace_id = r.Text(4);
  b.workspace_crn = r.Text(5);
  b.workspace_name = r.Text(6);
  b.environment_id = r.Text(7);
  b.environment_name = r.Text(8);
  b.vault_name = r.Text(9);
  b.status = r.Text(10);
  b.creator_crn = r.Text(11);
  b.workspace_version = r.Text(12);
  b.workflow_id = r.Text(13);
  b.delete_workflow_id = r.OptText(14);
  b.timeout_minutes = r.OptInt(15);
  b.created_at = r.Int(16);
  b.started_at = r.OptInt(17);
  b.finished_at = r.OptInt(18);
  b.quiesced_micros = r.OptInt(19);
  b.bytes_total = r.Int(20);
  b.files_total = r.Int(21);
  b.bytes_stored = r.Int(22);
  b.details = r.Text(23);
  b.warnings = r.Text(24);
  b.error = r.Text(25);
  b.deleted_at = r.OptInt(26);
  return b;
}

constexpr char kRpCols[] =
    "backup_id, volume, kind, vault_point_id, source_path, bytes_total, files, dirs, bytes_read, "
    "bytes_new, "
    "bytes_stored, files_unchanged, duration_micros, created_at";

// ----- workflows
constexpr char kWfCols[] =
    "id, account_id, kind, status, queue_key, resource_crn, caller, input, output, phase, "
    "bytes_done, bytes_total, "
    "files_done, files_total, warnings, error_code, error_message, attempts, max_attempts, "
    "timeout_seconds, "
    "lease_owner, lease_expires_at, cancel_requested, cancel_reason, created_at, updated_at, "
    "started_at, finished_at";

WorkflowRecord WfFrom(const Row& r) {
  WorkflowRecord w;
  w.id = r.Text(0);
  w.account_id = r.Text(1);
  w.kind = r.Text(2);
  w.status = r.Text(3);
  w.queue_key = r.Text(4);
  w.resource_crn = r.Text(5);
  w.caller = r.Text(6);
  w.input = r.Text(7);
  w.output = r.Text(8);
  w.phase = r.Text(9);
  w.bytes_done = r.Int(10);
  w.bytes_total = r.Int(11);
  w.files_done = r.Int(12);
  w.files_total = r.Int(13);
  w.warnings = r.Text(14);
  w.error_code = r.Text(15);
  w.error_message = r.Text(16);
  w.attempts = r.Int(17);
  w.max_attempts = r.Int(18);
  w.timeout_seconds = r.Int(19);
  w.lease_owner = r.Text(20);
  w.lease_expires_at = r.Int(21);
  w.cancel_requested = r.Int(22) != 0;
  w.cancel_reason = r.Text(23);
  w.created_at = r.Int(24);
  w.updated_at = r.Int(25);
  w.started_at = r.OptInt(26);
  w.finished_at = r.OptInt(27);
  return w;
}

constexpr char kActive[] = "('queued', 'pending', 'running')";

}  // namespace

// ============================================================================ environments

util::Status EnvironmentStore::Insert(const EnvironmentRecord& e) {
  return MapConflict(db_.Exec(std::string("INSERT INTO environments (") + kEnvCols +
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              {e.id, e.account_id, e.crn, e.name, e.region, e.storage_root,
                               e.created_by, e.created_at}),
                     "an environment named \"" + e.name + "\" already exists");
}

util::Result<EnvironmentRecord> EnvironmentStore::GetByName(const std::string& account_id,
                                                            const std::string& name) {
  auto rows = MLV_TRY(db_.Query(
      std::string("SELECT ") + kEnvCols + " FROM environments WHERE account_id = ? AND name = ?",
      {account_id, name}));
  if (rows.empty())
    return util::NotFound("environment \"" + name +
                          "\" does not exist (create it with: mlvault create-environment "
                          "--environment-name " +
                          name + ")");
  return EnvFrom(rows[0]);
}

util::Result<EnvironmentRecord> EnvironmentStore::GetById(const std::string& account_id,
                                                          const std::string& id) {
  auto rows = MLV_TRY(db_.Query(
      std::string("SELECT ") + kEnvCols + " FROM environments WHERE account_id = ? AND id = ?",
      {account_id, id}));
  if (rows.empty()) return util::NotFound("environment " + id + " does not exist");
  return EnvFrom(rows[0]);
}

util::Result<std::vector<EnvironmentRecord>> EnvironmentStore::List(const std::string& account_id) {
  auto rows =
      MLV_TRY(db_.Query(std::string("SELECT ") + kEnvCols +
                            " FROM environments WHERE account_id = ? ORDER BY created_at, name",
                        {account_id}));
  std::vector<EnvironmentRecord> out;
  for (const auto& r : rows) out.push_back(EnvFrom(r));
  return out;
}

// ============================================================================ workspaces

util::Status WorkspaceStore::Insert(const WorkspaceRecord& w) {
  return MapConflict(
      db_.Exec("INSERT INTO workspaces (id, account_id, crn, name, environment_id, status, "
               "status_reason, version, "
               "domain, endpoint, runtime_pid, parameters, api_key, control_key, is_restored, "
               "restored_from_backup_crn, created_by, created_at, updated_at, deleted_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
               {w.id, w.account_id, w.crn, w.name, w.environment_id, w.status, w.status_reason,
                w.version, w.domain, w.endpoint, w.runtime_pid, w.parameters, w.api_key,
                w.control_key, I(w.is_restored ? 1 : 0), Opt(w.restored_from_backup_crn),
                w.created_by, w.created_at, w.updated_at}),
      "a workspace named \"" + w.name + "\" already exists in environment \"" +
          (w.environment_name.empty() ? w.environment_id : w.environment_name) + "\"");
}

util::Result<WorkspaceRecord> WorkspaceStore::Get(const std::string& account_id,
                                                  const std::string& id) {
  auto rows = MLV_TRY(
      db_.Query(std::string("SELECT ") + kWsCols + kWsFrom + "WHERE w.account_id = ? AND w.id = ?",
                {account_id, id}));
  if (rows.empty()) return util::NotFound("workspace " + id + " does not exist");
  return WsFrom(rows[0]);
}

util::Result<std::vector<WorkspaceRecord>> WorkspaceStore::List(const std::string& account_id,
                                                                bool include_deleted) {
  std::string sql = std::string("SELECT ") + kWsCols + kWsFrom + "WHERE w.account_id = ?";
  if (!include_deleted) sql += " AND w.deleted_at IS NULL";
  sql += " ORDER BY w.created_at, w.id";
  auto rows = MLV_TRY(db_.Query(sql, {account_id}));
  std::vector<WorkspaceRecord> out;
  for (const auto& r : rows) out.push_back(WsFrom(r));
  return out;
}

util::Result<std::vector<WorkspaceRecord>> WorkspaceStore::ListAllLive() {
  auto rows = MLV_TRY(db_.Query(std::string("SELECT ") + kWsCols + kWsFrom +
                                "WHERE w.deleted_at IS NULL ORDER BY w.created_at, w.id"));
  std::vector<WorkspaceRecord> out;
  for (const auto& r : rows) out.push_back(WsFrom(r));
  return out;
}

util::Result<WorkspaceRecord> WorkspaceStore::FindLiveByName(const std::string& account_id,
                                                             const std::string& environment_id,
                                                             const std::string& name) {
  auto rows =
      MLV_TRY(db_.Query(std::string("SELECT ") + kWsCols + kWsFrom +
                            "WHERE w.account_id = ? AND w.environment_id = ? AND w.name = ? AND "
                            "w.deleted_at IS NULL",
                        {account_id, environment_id, name}));
  if (rows.empty()) return util::NotFound("workspace \"" + name + "\" does not exist");
  return WsFrom(rows[0]);
}

util::Status WorkspaceStore::SetStatus(const std::string& id, const std::string& status,
                                       const std::string& reason, TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE workspaces SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
               {status, reason, now, id}));
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
  return MapConflict(db_.Exec(std::string("INSERT INTO backups (") + kBackupCols +
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                  "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              {b.id,
                               b.account_id,
                               b.crn,
                               b.name,
                               b.workspace_id,
                               b.workspace_crn,
                               b.workspace_name,
                               b.environment_id,
                               b.environment_name,
                               b.vault_name,
                               b.status,
                               b.creator_crn,
                               b.workspace_version,
                               b.workflow_id,
                               Opt(b.delete_workflow_id),
                               Opt(b.timeout_minutes),
                               b.created_at,
                               Opt(b.started_at),
                               Opt(b.finished_at),
                               Opt(b.quiesced_micros),
                               b.bytes_total,
                               b.files_total,
                               b.bytes_stored,
                               b.details,
                               b.warnings,
                               b.error,
                               Opt(b.deleted_at)}),
                     "workspace \"" + b.workspace_name + "\" already has a backup named \"" +
                         b.name + "\" (backup names are unique per workspace)");
}

util::Result<BackupRecord> BackupStore::Get(const std::string& account_id, const std::string& id) {
  auto rows = MLV_TRY(db_.Query(
      std::string("SELECT ") + kBackupCols + " FROM backups WHERE account_id = ? AND id = ?",
      {account_id, id}));
  if (rows.empty()) return util::NotFound("backup " + id + " does not exist");
  return BackupFrom(rows[0]);
}

util::Result<std::vector<BackupRecord>> BackupStore::ListByWorkspace(
    const std::string& account_id, const std::string& workspace_id) {
  auto rows = MLV_TRY(db_.Query(
      std::string("SELECT ") + kBackupCols +
          " FROM backups WHERE account_id = ? AND workspace_id = ? ORDER BY created_at DESC, id",
      {account_id, workspace_id}));
  std::vector<BackupRecord> out;
  for (const auto& r : rows) out.push_back(BackupFrom(r));
  return out;
}

util::Result<std::vector<BackupRecord>> BackupStore::ListByWorkspaceName(
    const std::string& account_id, const std::string& environment_name,
    const std::string& workspace_name) {
  auto rows = MLV_TRY(db_.Query(
      std::string("SELECT ") + kBackupCols +
          " FROM backups WHERE account_id = ? AND environment_name = ? AND workspace_name = ? "
          "ORDER BY created_at DESC, id",
      {account_id, environment_name, workspace_name}));
  std::vector<BackupRecord> out;
  for (const auto& r : rows) out.push_back(BackupFrom(r));
  return out;
}

util::Result<std::optional<BackupRecord>> BackupStore::LatestSucceeded(
    const std::string& workspace_id) {
  auto rows = MLV_TRY(db_.Query(std::string("SELECT ") + kBackupCols +
                                    " FROM backups WHERE workspace_id = ? AND status = 'succeeded' "
                                    "ORDER BY created_at DESC, id LIMIT 1",
                                {workspace_id}));
  if (rows.empty()) return std::optional<BackupRecord>();
  return std::optional<BackupRecord>(BackupFrom(rows[0]));
}

util::Status BackupStore::SetStatus(const std::string& id, const std::string& status,
                                    TimeMicros now) {
  bool terminal = status == "succeeded" || status == "failed" || status == "cancelled";
  MLV_TRY(db_.Exec(
      "UPDATE backups SET status = ?, finished_at = CASE WHEN ? = 1 THEN ? ELSE finished_at END "
      "WHERE id = ?",
      {status, I(terminal ? 1 : 0), now, id}));
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
        {o.status, o.workspace_version, o.workspace_version, Opt(o.quiesced_micros), o.bytes_total,
         o.files_total, o.bytes_stored, o.details, o.warnings, o.error, now, id}));
    MLV_TRY(db_.Exec("DELETE FROM recovery_points WHERE backup_id = ?", {id}));
    for (const auto& rp : o.recovery_points)
      MLV_TRY(db_.Exec(std::string("INSERT INTO recovery_points (") + kRpCols +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {id, rp.volume, rp.kind, rp.vault_point_id, rp.source_path, rp.bytes_total,
                        rp.files, rp.dirs, rp.bytes_read, rp.bytes_new, rp.bytes_stored,
                        rp.files_unchanged, rp.duration_micros, rp.created_at}));
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
  auto rows =
      MLV_TRY(db_.Query(std::string("SELECT ") + kRpCols +
                            " FROM recovery_points WHERE backup_id = ? ORDER BY created_at, volume",
                        {backup_id}));
  std::vector<RecoveryPointRecord> out;
  for (const auto& r : rows) {
    RecoveryPointRecord rp;
    rp.backup_id = r.Text(0);
    rp.volume = r.Text(1);
    rp.kind = r.Text(2);
    rp.vault_point_id = r.Text(3);
    rp.source_path = r.Text(4);
    rp.bytes_total = r.Int(5);
    rp.files = r.Int(6);
    rp.dirs = r.Int(7);
    rp.bytes_read = r.Int(8);
    rp.bytes_new = r.Int(9);
    rp.bytes_stored = r.Int(10);
    rp.files_unchanged = r.Int(11);
    rp.duration_micros = r.Int(12);
    rp.created_at = r.Int(13);
    out.push_back(std::move(rp));
  }
  return out;
}

// ============================================================================ workflows

util::Result<std::string> WorkflowStore::Insert(const WorkflowRecord& w) {
  std::string status = w.status;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    if (status.empty()) {
      status = "pending";
      if (!w.queue_key.empty()) {
        auto rows = MLV_TRY(db_.Query(
            std::string("SELECT COUNT(*) FROM workflows WHERE queue_key = ? AND status IN ") +
                kActive,
            {w.queue_key}));
        if (rows[0].Int(0) > 0) status = "queued";
      }
    }
    MLV_TRY(db_.Exec(std::string("INSERT INTO workflows (") + kWfCols +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                         "?, ?, ?, ?, ?, ?, ?)",
                     {w.id,
                      w.account_id,
                      w.kind,
                      status,
                      w.queue_key,
                      w.resource_crn,
                      w.caller,
                      w.input,
                      w.output,
                      w.phase,
                      w.bytes_done,
                      w.bytes_total,
                      w.files_done,
                      w.files_total,
                      w.warnings,
                      w.error_code,
                      w.error_message,
                      w.attempts,
                      w.max_attempts,
                      w.timeout_seconds,
                      w.lease_owner,
                      w.lease_expires_at,
                      I(w.cancel_requested ? 1 : 0),
                      w.cancel_reason,
                      w.created_at,
                      w.updated_at,
                      Opt(w.started_at),
                      Opt(w.finished_at)}));
    return util::Ok();
  }));
  return status;
}

util::Result<WorkflowRecord> WorkflowStore::Get(const std::string& account_id,
                                                const std::string& id) {
  std::string sql = std::string("SELECT ") + kWfCols + " FROM workflows WHERE id = ?";
  std::vector<Value> params = {id};
  if (!account_id.empty()) {
    sql += " AND account_id = ?";
    params.push_back(account_id);
  }
  auto rows = MLV_TRY(db_.Query(sql, params));
  if (rows.empty()) return util::NotFound("workflow " + id + " does not exist");
  return WfFrom(rows[0]);
}

util::Result<ClaimOutcome> WorkflowStore::Claim(const std::string& id, const std::string& owner,
                                                TimeMicros now, int64_t lease_micros) {
  ClaimOutcome outcome = ClaimOutcome::kFinished;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    WorkflowRecord w = MLV_TRY(Get("", id));
    if (w.terminal()) {
      outcome = ClaimOutcome::kFinished;
      return util::Ok();
    }
    bool ours = w.lease_owner == owner;
    if (w.status == "running" || (!ours && !w.lease_owner.empty() && w.lease_expires_at > now)) {
      // A running workflow belongs to its worker; if that worker died, recovery takes it over.
      outcome =
          (w.status == "running" && ours) ? ClaimOutcome::kClaimed : ClaimOutcome::kOwnedByOther;
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
        MLV_TRY(db_.Exec(
            "UPDATE workflows SET status = 'queued', lease_owner = ?, lease_expires_at = ?, "
            "updated_at = ? WHERE id = ?",
            {owner, now + lease_micros, now, id}));
        outcome = ClaimOutcome::kWaiting;
        return util::Ok();
      }
    }
    MLV_TRY(
        db_.Exec("UPDATE workflows SET status = 'running', lease_owner = ?, lease_expires_at = ?, "
                 "attempts = attempts + 1, started_at = COALESCE(started_at, ?), updated_at = ? "
                 "WHERE id = ?",
                 {owner, now + lease_micros, now, now, id}));
    outcome = ClaimOutcome::kClaimed;
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
                                   const std::string& status, const std::string& output,
                                   const std::string& warnings_json, const std::string& error_code,
                                   const std::string& error_message, TimeMicros now) {
  std::string sql =
      "UPDATE workflows SET status = ?, output = ?, warnings = ?, error_code = ?, error_message = "
      "?, "
      "lease_owner = '', lease_expires_at = 0, finished_at = ?, updated_at = ? WHERE id = ? AND "
      "status IN " +
      std::string(kActive);
  std::vector<Value> params = {status,        output, warnings_json, error_code,
                               error_message, now,    now,           id};
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
    WorkflowRecord w = MLV_TRY(Get("", id));
    if (w.terminal())
      return util::Conflict("workflow " + id + " has already ended (" + w.status + ")");
    if (w.status == "running") {
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
  auto rows =
      MLV_TRY(db_.Query(std::string("SELECT ") + kWfCols + " FROM workflows WHERE status IN " +
                        kActive + " ORDER BY created_at, id"));
  std::vector<WorkflowRecord> out;
  for (const auto& r : rows) out.push_back(WfFrom(r));
  return out;
}

util::Result<std::vector<WorkflowRecord>> WorkflowStore::ListActiveInQueue(
    const std::string& queue_key) {
  auto rows = MLV_TRY(db_.Query(std::string("SELECT ") + kWfCols +
                                    " FROM workflows WHERE queue_key = ? AND status IN " + kActive +
                                    " ORDER BY created_at, id",
                                {queue_key}));
  std::vector<WorkflowRecord> out;
  for (const auto& r : rows) out.push_back(WfFrom(r));
  return out;
}

util::Result<bool> WorkflowStore::TakeOver(const WorkflowRecord& seen, const std::string& new_owner,
                                           TimeMicros now, int64_t lease_micros) {
  int64_t n =
      MLV_TRY(db_.Exec("UPDATE workflows SET lease_owner = ?, lease_expires_at = ?, updated_at = ? "
                       "WHERE id = ? AND status = ? AND "
                       "lease_owner = ? AND lease_expires_at = ? AND updated_at = ?",
                       {new_owner, now + lease_micros, now, seen.id, seen.status, seen.lease_owner,
                        seen.lease_expires_at, seen.updated_at}));
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
