// Who starts a workspace's runtime (issue 16). With several servers on one catalog, each brings
// back the workspaces whose runtime died when it starts, and two callers may run start-workspace
// at once: the runtime of one workspace must be started by exactly one of them (two runtimes on
// one workspace's metadata would both write it). A starter first claims the workspace row, a
// conditional UPDATE that takes the claim only when it is free, already ours, or lapsed; it then
// starts and records the runtime and releases the claim. A claim whose holder died (kill -9 of a
// server mid-start) lapses after its lease, and the next starter takes it.
//
// Migration "0401_workspace_start_claim" (two columns of `workspaces`); portable SQL (SQLite and
// PostgreSQL). Not thread-safe: uses the Db it is given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/db.h"
#include "util/clock.h"

namespace mlvault::catalog {

// Appended to the others in control::AllMigrations.
std::vector<Migration> WorkspaceStartMigrations();

class WorkspaceStartClaim {
 public:
  explicit WorkspaceStartClaim(Db& db) : db_(db) {}

  // Takes the start claim of workspace `workspace_id` for `owner` until now + lease_micros.
  // Returns true when it is ours (also when we held it already: the lease is renewed), false
  // when another owner's claim is live (its owner then in *holder) or the workspace is deleted
  // or unknown. Two callers never both get true for the same live claim, on either engine.
  util::Result<bool> Claim(const std::string& workspace_id, const std::string& owner,
                           util::TimeMicros now, int64_t lease_micros,
                           std::string* holder = nullptr);
  // Takes over a live claim whose holder is known to be gone (a process of this host that no
  // longer exists): only if `seen_owner` still holds it (compare-and-set). True when taken.
  util::Result<bool> TakeOver(const std::string& workspace_id, const std::string& seen_owner,
                              const std::string& owner, util::TimeMicros now,
                              int64_t lease_micros);
  // Gives the claim up if it is still `owner`'s (no error when it is not).
  util::Status Release(const std::string& workspace_id, const std::string& owner);

 private:
  Db& db_;
};

}  // namespace mlvault::catalog
