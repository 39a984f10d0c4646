// Where a workspace's vault and its key live, and opening them: one vault per workspace,
// `<home>/vaults/mlv-<workspace-uuid>` (local backend), its key file
// `<home>/keys/mlv-<workspace-uuid>.key` (mode 0600).
//
// Functions are thread-compatible; concurrent processes may race to create the same vault:
// exactly one Init wins and the others open what it made.
#pragma once

#include <memory>
#include <string>

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

}  // namespace mlvault::control
