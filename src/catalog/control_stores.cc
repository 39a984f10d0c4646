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

template <typename R>
std::vector<R> AllFrom(const sqlite::Table<R>& table, const std::vector<Row>& rows) {
  std::vector<R> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(table.FromRow(r));
  return out;
}

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

}  // namespace mlvault::catalog
