#include "control/object_lock.h"

#include "catalog/control_stores.h"
#include "control/vaults.h"

namespace mlvault::control {
namespace {

constexpr int64_t kSecondsPerDay = 86'400;

// Seconds since 1970 until which the lock keeps a backup made at `created_at` (rounded up).
int64_t RetainUntil(const catalog::VaultLockRecord& lock, util::TimeMicros created_at) {
  return (created_at + 999'999) / 1'000'000 + lock.min_retention_days * kSecondsPerDay;
}

std::string NoObjectLockWarning(const std::string& location) {
  return "the vault's bucket (" + location +
         ") does not have S3 Object Lock enabled: the vault lock is enforced by mlvault only, "
         "and the bucket's credentials can still delete the backups' objects. Object Lock can "
         "only be turned on when a bucket is created: give the environment a vault location in "
         "a bucket made with it (aws s3api create-bucket --object-lock-enabled-for-bucket), and "
         "new workspaces' backups are retained in S3 as well";
}

}  // namespace

std::string S3LockMode(const std::string& lock_mode) {
  return lock_mode == "compliance" ? "COMPLIANCE" : "GOVERNANCE";
}

util::Result<ObjectLockOutcome> RetainLockedBackups(catalog::Db& db, const std::string& home,
                                                    const catalog::VaultLockRecord& lock,
                                                    util::TimeMicros now) {
  ObjectLockOutcome out;
  out.location = MLV_TRY(VaultLocation(db, lock.workspace_id));
  if (!out.location.starts_with("s3://")) {
    out.status = "local-vault";
    return out;
  }
  auto supported = StorageSupportsRetention(out.location);
  if (!supported) {
    out.status = "unavailable";
    out.warnings.push_back("could not ask " + out.location +
                           " whether it supports S3 Object Lock, so no object was retained "
                           "(put the vault lock again to retry): " +
                           supported.error().message());
    return out;
  }
  if (!*supported) {
    out.status = "bucket-without-object-lock";
    out.warnings.push_back(NoObjectLockWarning(out.location));
    return out;
  }
  out.status = "applied";
  catalog::BackupStore bs(db);
  std::vector<catalog::BackupRecord> keep;
  for (auto& b : MLV_TRY(bs.ListByWorkspace(lock.account_id, lock.workspace_id))) {
    if (b.status != catalog::BackupStatus::kSucceeded || b.deleted_at) continue;
    if (RetainUntil(lock, b.created_at) * 1'000'000 <= now) continue;
    keep.push_back(std::move(b));
  }
  if (keep.empty()) return out;
  auto v = OpenExistingVault(db, home, lock.workspace_id);
  if (!v) {
    out.status = "partial";
    out.warnings.push_back("could not open the vault at " + out.location +
                           " to retain its backups: " + v.error().message());
    return out;
  }
  const std::string mode = S3LockMode(lock.mode);
  for (const auto& b : keep) {
    bool all = true;
    for (const auto& rp : MLV_TRY(bs.RecoveryPoints(b.id))) {
      auto n = (*v)->Retain(rp.vault_point_id, mode, RetainUntil(lock, b.created_at), nullptr);
      if (!n) {
        all = false;
        out.status = "partial";
        out.warnings.push_back("backup " + b.crn + " (volume " + rp.volume +
                               ") is not retained in S3: " + n.error().message());
        continue;
      }
      out.objects += *n;
    }
    if (all) ++out.backups;
  }
  return out;
}

std::vector<std::string> RetainNewBackup(catalog::Db& db, vault::Vault& v,
                                         const std::string& workspace_id,
                                         util::TimeMicros created_at,
                                         const std::vector<std::string>& point_ids) {
  std::vector<std::string> warnings;
  auto lock = catalog::VaultLockStore(db).Get(workspace_id);
  if (!lock) {
    warnings.push_back("could not read the workspace's vault lock, so the backup's objects are "
                       "not retained in S3 (put the vault lock again to retain them): " +
                       lock.error().message());
    return warnings;
  }
  if (!*lock) return warnings;
  auto supported = v.SupportsRetention();
  if (!supported) {
    warnings.push_back("could not ask the vault's storage about S3 Object Lock, so the backup's "
                       "objects are not retained (put the vault lock again to retain them): " +
                       supported.error().message());
    return warnings;
  }
  if (!*supported) return warnings;  // put-vault-lock said so already
  for (const auto& id : point_ids) {
    auto n = v.Retain(id, S3LockMode((*lock)->mode), RetainUntil(**lock, created_at), nullptr);
    if (!n)
      warnings.push_back("recovery point " + id +
                         " is not retained by S3 Object Lock (put the vault lock again to "
                         "retry): " + n.error().message());
  }
  return warnings;
}

}  // namespace mlvault::control
