// Where a workspace's vault and its key live, and opening them: one vault per workspace.
// - By default (the environment has no vault location): `<home>/vaults/mlv-<workspace-uuid>`
//   (local backend), its key file `<home>/keys/mlv-<workspace-uuid>.key` (mode 0600).
// - When the workspace's environment has a vault location (`create-environment
//   --vault-location s3://bucket/prefix`): `<location>/mlv-<workspace-uuid>`, opened with
//   backend::OpenBackend, and keyed by a random passphrase kept in the catalog sealed under the
//   catalog secret (table vault_keys), so every server sharing the catalog and its catalog.key
//   opens the vault and no server holds a key file of its own (docs/scale-out.md).
//
// Functions are thread-compatible; concurrent processes may race to create the same vault:
// exactly one Init wins and the others open what it made.
#pragma once

#include <memory>
#include <string>

#include "catalog/db.h"
#include "util/error.h"
#include "vault/vault.h"

namespace mlvault::control {

// "mlv-<workspace-uuid>"
std::string VaultName(const std::string& workspace_id);
std::string VaultDir(const std::string& home, const std::string& workspace_id);
std::string VaultKeyFile(const std::string& home, const std::string& workspace_id);

// Opens the workspace's vault, creating it (and its key file) on first use.
util::Result<std::unique_ptr<vault::Vault>> OpenOrCreateVault(const std::string& home,
                                                              const std::string& workspace_id,
                                                              const vault::Options& options = {});
// Opens an existing vault; kNotFound (naming the folder) if there is none.
util::Result<std::unique_ptr<vault::Vault>> OpenExistingVault(const std::string& home,
                                                              const std::string& workspace_id,
                                                              const vault::Options& options = {});

// --- The same, wherever the workspace's environment keeps its vaults (the functions above are
// the local case). kNotFound if the workspace is unknown to the catalog.
util::Result<std::unique_ptr<vault::Vault>> OpenOrCreateVault(catalog::Db& db,
                                                              const std::string& home,
                                                              const std::string& workspace_id,
                                                              const vault::Options& options = {});
util::Result<std::unique_ptr<vault::Vault>> OpenExistingVault(catalog::Db& db,
                                                              const std::string& home,
                                                              const std::string& workspace_id,
                                                              const vault::Options& options = {});

// Where the workspace's vault is when its environment names a vault location: that location +
// "/mlv-<workspace-uuid>" (s3://... or an absolute path); "" for the local default.
// kNotFound if the workspace is unknown to the catalog.
util::Result<std::string> VaultLocation(catalog::Db& db, const std::string& workspace_id);
// Whether the storage at a vault location (as VaultLocation answers) can retain objects: an S3
// bucket created with Object Lock (control/object_lock.h). The storage's errors if it cannot be
// asked.
util::Result<bool> StorageSupportsRetention(const std::string& vault_location);

// A vault location as create-environment takes it: "" (local), an absolute path, or
// s3://bucket[/prefix]. kInvalidArgument naming vaultLocation otherwise; with `probe`, the
// storage is opened (the bucket made when missing) so a wrong endpoint or key is said now.
util::Status CheckVaultLocation(const std::string& location, bool probe);

}  // namespace mlvault::control
