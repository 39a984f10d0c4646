#include "catalog/backup_copy_store.h"

#include "sqlite/mapping.h"

namespace mlvault::catalog {

std::vector<Migration> BackupCopyMigrations() {
  return {{"0304_backup_copies", R"sql(
CREATE TABLE backup_copies (
  backup_id           TEXT PRIMARY KEY,
  account_id          TEXT NOT NULL,
  source_backup_id    TEXT NOT NULL,
  source_backup_crn   TEXT NOT NULL,
  environment_id      TEXT NOT NULL,
  environment_name    TEXT NOT NULL,
  vault_location      TEXT NOT NULL DEFAULT '',
  created_at          INTEGER NOT NULL
);
CREATE INDEX backup_copies_by_source ON backup_copies (source_backup_id, created_at);
ALTER TABLE backup_plans ADD COLUMN copy_to_environment TEXT;
)sql"}};
}

namespace {

using sqlite::Col;
using R = BackupCopyRecord;

const sqlite::Table<R> kCopies(
    "backup_copies",
    {Col("backup_id", &R::backup_id), Col("account_id", &R::account_id),
     Col("source_backup_id", &R::source_backup_id), Col("source_backup_crn", &R::source_backup_crn),
     Col("environment_id", &R::environment_id), Col("environment_name", &R::environment_name),
     Col("vault_location", &R::vault_location), Col("created_at", &R::created_at)});

util::Result<std::vector<R>> All(Db& db, const std::string& where,
                                 const std::vector<Value>& params) {
  auto rows = MLV_TRY(db.Query(kCopies.SelectSql() + where, params));
  std::vector<R> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(kCopies.FromRow(r));
  return out;
}

}  // namespace

util::Status BackupCopyStore::Insert(const R& c) {
  MLV_TRY(db_.Exec(kCopies.InsertSql(), kCopies.Values(c)));
  return util::Ok();
}

util::Result<std::optional<R>> BackupCopyStore::Get(const std::string& backup_id) {
  auto all = MLV_TRY(All(db_, "WHERE backup_id = ?", {backup_id}));
  if (all.empty()) return std::optional<R>();
  return std::optional<R>(all.front());
}

util::Result<std::vector<R>> BackupCopyStore::ListBySource(const std::string& source_backup_id) {
  return All(db_, "WHERE source_backup_id = ? ORDER BY created_at, backup_id", {source_backup_id});
}

util::Result<std::optional<std::string>> BackupCopyStore::LatestSucceededIn(
    const std::string& workspace_id, const std::string& vault_name) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT id FROM backups WHERE workspace_id = ? AND status = 'succeeded' AND vault_name = ? "
      "ORDER BY created_at DESC, id LIMIT 1",
      {workspace_id, vault_name}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows[0].Text(0));
}

}  // namespace mlvault::catalog
