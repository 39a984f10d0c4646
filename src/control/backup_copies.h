// Where a backup copy's recovery points live (copy-backup, docs/plans.md), and opening the vault
// that holds any backup's recovery points.
//
// A copy of a backup of workspace W into environment E is kept in W's copy vault for E,
// "mlv-<W uuid>-copy-<E uuid>": in E's vault location (`<location>/<name>`, keyed by a random
// passphrase sealed in the catalog, as a workspace vault there is) or, when E has none, in
// `<home>/vaults/<name>` with its own key file `<home>/keys/<name>.key`. It has its own key, so
// the copy is encrypted afresh, and it deduplicates the copies of W's backups among themselves.
//
// Functions are thread-compatible; processes racing to create the same vault: one Init wins and
// the others open what it made.
#pragma once

#include <memory>
#include <string>

#include "api/ml_types.h"
#include "catalog/control_stores.h"
#include "catalog/db.h"
#include "util/error.h"
#include "vault/vault.h"

namespace mlvault::control {

// "mlv-<workspace-uuid>-copy-<environment-uuid>"
std::string CopyVaultName(const std::string& workspace_id, const std::string& environment_id);
// Where the copy vault `name` is for a vault location ("" : under `home`).
std::string CopyVaultPath(const std::string& home, const std::string& location,
                          const std::string& name);

// Opens the copy vault `name` at `location`, creating it (and its key) when `create` and it
// does not exist yet. kNotFound naming the place when it does not exist (or its key is gone).
util::Result<std::unique_ptr<vault::Vault>> OpenCopyVault(catalog::Db& db, const std::string& home,
                                                          const std::string& name,
                                                          const std::string& location, bool create,
                                                          const vault::Options& options = {});

// Opens the vault holding backup `b`'s recovery points: its workspace's vault, or for a copy
// (its vault_name is a copy vault's) the copy vault recorded in the catalog. kNotFound when that
// vault does not exist.
util::Result<std::unique_ptr<vault::Vault>> OpenBackupVault(catalog::Db& db,
                                                            const std::string& home,
                                                            const catalog::BackupRecord& b,
                                                            const vault::Options& options = {});

// Adds to a backup's summary where it is kept when it is a copy (copyOf, copyLocation) and its
// copies when it has some (deleted copies left out).
util::Status AddCopyInfo(catalog::Db& db, const catalog::BackupRecord& b, api::BackupSummary* out);

}  // namespace mlvault::control
