#include "catalog/restore_test_store.h"

#include "sqlite/mapping.h"

namespace mlvault::catalog {

std::vector<Migration> RestoreTestMigrations() {
  return {{"0302_restore_tests", R"sql(
CREATE TABLE restore_tests (
  id                         TEXT PRIMARY KEY,
  account_id                 TEXT NOT NULL,
  backup_id                  TEXT NOT NULL,
  backup_crn                 TEXT NOT NULL,
  workspace_crn              TEXT NOT NULL,
  sandbox_environment        TEXT NOT NULL,
  sandbox_workspace_crn      TEXT NOT NULL DEFAULT '',
  plan_name                  TEXT NOT NULL DEFAULT '',
  status                     TEXT NOT NULL,
  started_by                 TEXT NOT NULL,
  started_at                 INTEGER NOT NULL,
  finished_at                INTEGER,
  recovery_time_micros       INTEGER,
  recovery_point_age_micros  INTEGER,
  sandbox_deleted            INTEGER NOT NULL DEFAULT 0,
  checks                     TEXT NOT NULL DEFAULT '[]',
  error                      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX restore_tests_by_workspace ON restore_tests (account_id, workspace_crn, started_at);
CREATE INDEX restore_tests_by_account ON restore_tests (account_id, started_at);
)sql"},
          // Restore testing plans: a backup plan with a sandbox environment drills instead of
          // backing up (docs/plans.md).
          {"0303_restore_testing_plans", R"sql(
ALTER TABLE backup_plans ADD COLUMN sandbox_environment TEXT;
)sql"},
          // Drills run as workflows of their own (kind restore_test; docs/plans.md).
          {"0307_restore_test_workflows", R"sql(
ALTER TABLE restore_tests ADD COLUMN workflow_id TEXT NOT NULL DEFAULT '';
)sql"}};
}

namespace {

using sqlite::Col;
using R = RestoreTestRecord;

const sqlite::Table<R> kTests("restore_tests",
                              {Col("id", &R::id), Col("account_id", &R::account_id),
                               Col("backup_id", &R::backup_id), Col("backup_crn", &R::backup_crn),
                               Col("workspace_crn", &R::workspace_crn),
                               Col("sandbox_environment", &R::sandbox_environment),
                               Col("sandbox_workspace_crn", &R::sandbox_workspace_crn),
                               Col("plan_name", &R::plan_name), Col("status", &R::status),
                               Col("started_by", &R::started_by), Col("started_at", &R::started_at),
                               Col("finished_at", &R::finished_at),
                               Col("recovery_time_micros", &R::recovery_time_micros),
                               Col("recovery_point_age_micros", &R::recovery_point_age_micros),
                               Col("sandbox_deleted", &R::sandbox_deleted),
                               Col("checks", &R::checks), Col("error", &R::error),
                               Col("workflow_id", &R::workflow_id)});

Value Opt(const std::optional<int64_t>& v) { return v ? Value(*v) : Value(nullptr); }

util::Result<std::vector<R>> All(Db& db, const std::string& where,
                                 const std::vector<Value>& params) {
  auto rows = MLV_TRY(db.Query(kTests.SelectSql() + where, params));
  std::vector<R> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(kTests.FromRow(r));
  return out;
}

}  // namespace

util::Status RestoreTestStore::Insert(const R& t) {
  MLV_TRY(db_.Exec(kTests.InsertSql(), kTests.Values(t)));
  return util::Ok();
}

util::Status RestoreTestStore::Update(const R& t) {
  MLV_TRY(db_.Exec(
      "UPDATE restore_tests SET sandbox_workspace_crn = ?, status = ?, finished_at = ?, "
      "recovery_time_micros = ?, recovery_point_age_micros = ?, sandbox_deleted = ?, checks = ?, "
      "error = ?, workflow_id = ? WHERE id = ?",
      {t.sandbox_workspace_crn, RestoreTestStatusName(t.status), Opt(t.finished_at),
       Opt(t.recovery_time_micros),
       Opt(t.recovery_point_age_micros), static_cast<int64_t>(t.sandbox_deleted ? 1 : 0), t.checks,
       t.error, t.workflow_id, t.id}));
  return util::Ok();
}

util::Result<R> RestoreTestStore::Get(const std::string& account_id, const std::string& id) {
  auto all = MLV_TRY(All(db_, "WHERE account_id = ? AND id = ?", {account_id, id}));
  if (all.empty())
    return util::NotFound("no restore test " + id +
                          "; list-restore-tests shows the restore tests there are");
  return all.front();
}

util::Result<std::vector<R>> RestoreTestStore::List(
    const std::string& account_id, const std::string& workspace_crn, int64_t limit,
    const std::optional<std::pair<int64_t, std::string>>& after) {
  std::string where = "WHERE account_id = ?";
  std::vector<Value> params = {account_id};
  if (!workspace_crn.empty()) {
    where += " AND workspace_crn = ?";
    params.push_back(workspace_crn);
  }
  if (after) {
    where += " AND (started_at < ? OR (started_at = ? AND id < ?))";
    params.insert(params.end(), {after->first, after->first, after->second});
  }
  where += " ORDER BY started_at DESC, id DESC LIMIT ?";
  params.push_back(limit);
  return All(db_, where, params);
}

util::Result<std::optional<R>> RestoreTestStore::LatestFinished(const std::string& account_id,
                                                                const std::string& workspace_crn) {
  auto all = MLV_TRY(All(db_,
                         "WHERE account_id = ? AND workspace_crn = ? AND status <> 'running' "
                         "ORDER BY started_at DESC, id DESC LIMIT 1",
                         {account_id, workspace_crn}));
  if (all.empty()) return std::optional<R>();
  return std::optional(all.front());
}

}  // namespace mlvault::catalog
