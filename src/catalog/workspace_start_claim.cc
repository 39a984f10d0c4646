#include "catalog/workspace_start_claim.h"

namespace mlvault::catalog {

std::vector<Migration> WorkspaceStartMigrations() {
  return {{"0401_workspace_start_claim", R"sql(
ALTER TABLE workspaces ADD COLUMN start_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN start_lease_until INTEGER NOT NULL DEFAULT 0;
)sql"}};
}

util::Result<bool> WorkspaceStartClaim::Claim(const std::string& workspace_id,
                                              const std::string& owner, util::TimeMicros now,
                                              int64_t lease_micros, std::string* holder) {
  bool ours = false;
  std::string seen;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    ours = false;  // every attempt decides afresh (PostgreSQL may run the body again)
    seen.clear();
    // The claim is the conditional UPDATE itself: whatever the isolation level, one row is
    // changed by one caller only while the claim is live.
    int64_t n = MLV_TRY(db_.Exec(
        "UPDATE workspaces SET start_owner = ?, start_lease_until = ? WHERE id = ? AND "
        "deleted_at IS NULL AND (start_owner = '' OR start_owner = ? OR start_lease_until <= ?)",
        {owner, now + lease_micros, workspace_id, owner, now}));
    ours = n == 1;
    if (!ours) {
      auto rows = MLV_TRY(
          db_.Query("SELECT start_owner FROM workspaces WHERE id = ?", {workspace_id}));
      if (!rows.empty()) seen = rows[0].Text(0);
    }
    return util::Ok();
  }));
  if (holder) *holder = seen;
  return ours;
}

util::Result<bool> WorkspaceStartClaim::TakeOver(const std::string& workspace_id,
                                                 const std::string& seen_owner,
                                                 const std::string& owner, util::TimeMicros now,
                                                 int64_t lease_micros) {
  int64_t n = MLV_TRY(db_.Exec(
      "UPDATE workspaces SET start_owner = ?, start_lease_until = ? WHERE id = ? AND "
      "deleted_at IS NULL AND start_owner = ?",
      {owner, now + lease_micros, workspace_id, seen_owner}));
  return n == 1;
}

util::Status WorkspaceStartClaim::Release(const std::string& workspace_id,
                                          const std::string& owner) {
  MLV_TRY(db_.Exec("UPDATE workspaces SET start_owner = '', start_lease_until = 0 WHERE id = ? "
                   "AND start_owner = ?",
                   {workspace_id, owner}));
  return util::Ok();
}

}  // namespace mlvault::catalog
