// The catalog of backup copies (copy-backup, docs/plans.md): a copy is a backup record of its own
// (same workspace, its own CRN and status) whose recovery points live in another vault, the
// workspace's copy vault in a destination environment; this table says which backup it copies and
// where its vault is. Migration "0304_backup_copies" (BackupCopyMigrations, applied with the plan
// migrations), on SQLite and PostgreSQL alike; it also gives backup plans their
// `copy_to_environment`.
//
// A store is a thin object over a Db (which must outlive it), NOT thread-safe, one statement per
// method. Errors: kUnavailable when the catalog stayed locked.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/db.h"
#include "util/clock.h"

namespace mlvault::catalog {

std::vector<Migration> BackupCopyMigrations();

struct BackupCopyRecord {
  std::string backup_id;  // the copy (a row of `backups`)
  std::string account_id;
  std::string source_backup_id;  // the backup it copies
  std::string source_backup_crn;
  std::string environment_id;  // the destination environment
  std::string environment_name;
  std::string vault_location;  // the destination's vault location when copied ("" : local)
  util::TimeMicros created_at = 0;
};

class BackupCopyStore {
 public:
  explicit BackupCopyStore(Db& db) : db_(db) {}
  util::Status Insert(const BackupCopyRecord& c);
  // The copy record of a backup; nullopt when the backup is not a copy.
  util::Result<std::optional<BackupCopyRecord>> Get(const std::string& backup_id);
  // The copies of a backup (oldest first), deleted ones included.
  util::Result<std::vector<BackupCopyRecord>> ListBySource(const std::string& source_backup_id);
  // The id of the newest succeeded backup of a workspace kept in vault `vault_name` (the parent
  // of its next backup: copies, in other vaults, are passed over); nullopt if none.
  util::Result<std::optional<std::string>> LatestSucceededIn(const std::string& workspace_id,
                                                             const std::string& vault_name);

 private:
  Db& db_;
};

}  // namespace mlvault::catalog
