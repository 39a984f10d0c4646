// The catalog of restore tests (drills, docs/plans.md): one row per drill that restored a backup
// into a throw-away workspace, validated it and removed it again. Migrations "0302_restore_tests"
// and "0307_restore_test_workflows"
// (RestoreTestMigrations, applied with the plan migrations), on SQLite and PostgreSQL alike.
//
// A store is a thin object over a Db (which must outlive it), NOT thread-safe, one statement per
// method. Errors: kNotFound naming the test, kUnavailable when the catalog stayed locked.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "catalog/db.h"
#include "catalog/statuses.h"
#include "util/clock.h"

namespace mlvault::catalog {

std::vector<Migration> RestoreTestMigrations();

// Status (RestoreTestStatus): running | succeeded (every check passed) | failed (error says the first cause).
struct RestoreTestRecord {
  std::string id;
  std::string account_id;
  std::string backup_id;
  std::string backup_crn;
  std::string workspace_crn;  // the backed-up workspace
  std::string sandbox_environment;
  std::string sandbox_workspace_crn;  // "" until the restore created it
  std::string plan_name;              // "" for a drill started by hand
  RestoreTestStatus status = RestoreTestStatus::kRunning;
  std::string started_by;  // principal CRN
  util::TimeMicros started_at = 0;
  std::optional<int64_t> finished_at;
  std::optional<int64_t> recovery_time_micros;       // restore start -> validated
  std::optional<int64_t> recovery_point_age_micros;  // the backup's age when the drill began
  bool sandbox_deleted = false;
  std::string checks = "[]";  // JSON: [{"check","ok","detail"}]
  std::string error;          // failed: the first failing check or step, with its cause
  std::string workflow_id;    // the restore_test workflow ("" : drills before 0307)
};

class RestoreTestStore {
 public:
  explicit RestoreTestStore(Db& db) : db_(db) {}
  util::Status Insert(const RestoreTestRecord& t);
  // Writes everything but the identity columns.
  util::Status Update(const RestoreTestRecord& t);
  // kNotFound naming the id.
  util::Result<RestoreTestRecord> Get(const std::string& account_id, const std::string& id);
  // Newest first (started_at, then id, descending); of one workspace when workspace_crn is not
  // empty; at most `limit`, after the test with sort key `after` (time, id) when given.
  util::Result<std::vector<RestoreTestRecord>> List(
      const std::string& account_id, const std::string& workspace_crn, int64_t limit,
      const std::optional<std::pair<int64_t, std::string>>& after = std::nullopt);
  // The newest finished test of a workspace.
  util::Result<std::optional<RestoreTestRecord>> LatestFinished(const std::string& account_id,
                                                                const std::string& workspace_crn);

 private:
  Db& db_;
};

}  // namespace mlvault::catalog
