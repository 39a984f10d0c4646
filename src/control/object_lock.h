// S3 Object Lock retention for vault locks (docs/plans.md "Vault locks", docs/vault-format.md
// section 10.1). When a workspace with a vault lock keeps its vault in an S3 bucket created with
// Object Lock, the objects each locked backup needs (its manifests, the packs holding its data,
// the vault config) are retained in S3 until the backup's creation + the lock's minimum days:
// COMPLIANCE for a compliance lock, GOVERNANCE for a governance lock. Then not even the bucket's
// credentials can delete them early.
//
// Applied by put-vault-lock (every backup still inside its minimum) and by each backup of a
// locked workspace as it finishes. Retention only ever extends; removing or shortening a lock
// leaves the S3 retention in place until its date.
//
// Thread-compatible: one call per catalog connection; the vault's own locks order it with GC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/db.h"
#include "catalog/plan_stores.h"
#include "util/clock.h"
#include "util/error.h"
#include "vault/vault.h"

namespace mlvault::control {

struct ObjectLockOutcome {
  // "applied": the bucket has Object Lock and every backup inside its minimum is retained;
  // "partial": some could not be (see warnings); "bucket-without-object-lock": the vault's
  // bucket cannot retain objects (a warning says so); "local-vault": the vault is a directory,
  // not S3 (the lock is enforced by mlvault alone); "unavailable": the bucket could not be asked.
  std::string status;
  std::string location;         // the vault's location ("" for a local vault)
  uint64_t backups = 0;         // backups whose recovery points were retained
  uint64_t objects = 0;         // objects retained (an object shared by backups counts per backup)
  std::vector<std::string> warnings;
};

// The S3 mode of a vault lock mode ("compliance" -> "COMPLIANCE", else "GOVERNANCE").
std::string S3LockMode(const std::string& lock_mode);

// Retains every succeeded, undeleted backup of the lock's workspace that the lock still keeps
// at `now`. Problems with the storage come back as warnings in the outcome (the vault lock itself
// is in the catalog already); errors only for catalog failures.
util::Result<ObjectLockOutcome> RetainLockedBackups(catalog::Db& db, const std::string& home,
                                                    const catalog::VaultLockRecord& lock,
                                                    util::TimeMicros now);

// For a backup that just finished (created at `created_at`): retains its recovery points
// `point_ids` in `v` when the workspace has a vault lock and the vault's bucket has Object Lock.
// Returns warnings (for the workflow), never fails the backup.
std::vector<std::string> RetainNewBackup(catalog::Db& db, vault::Vault& v,
                                         const std::string& workspace_id,
                                         util::TimeMicros created_at,
                                         const std::vector<std::string>& point_ids);

}  // namespace mlvault::control
