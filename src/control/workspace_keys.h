// Workspace API and control keys at rest: the catalog stores them sealed (AES-256-GCM, crypto/)
// under the catalog secret, a random 256-bit key kept in $MLVAULT_HOME/catalog.key (mode 0600)
// and made on first use, so a copy of the catalog (a dump, a backup, a PostgreSQL replica) does
// not hand out every workspace's keys. get-workspace-api-key still returns the key: the control
// plane opens it with the secret.
//
// Stored form: "sealed:v1:<secret id>:<hex of nonce||ciphertext||tag>", where the secret id is
// the first 16 hex digits of the SHA-256 of the secret. A value without the prefix is a key
// written by an earlier version and is used as it is (it is sealed when the workspace's keys are
// next written).
//
// Thread-safe: the secrets loaded in this process are kept in a mutex-guarded registry, so that
// keys sealed under any catalog opened in the process can be opened again.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace mlvault::control {

// Loads (creating, 0600) the catalog secret of `home` into this process's registry. kIo if the
// file cannot be read or made; kCorruption if it is not a 64-digit hex key.
util::Status LoadCatalogSecret(const std::string& home);

// Seals a workspace key under `home`'s catalog secret (loading it first).
util::Result<std::string> SealWorkspaceKey(const std::string& home, std::string_view key);

// The key itself from its stored form. kPermissionDenied if it is sealed under a secret this
// process has not loaded (another $MLVAULT_HOME's), kCorruption if it does not authenticate.
util::Result<std::string> OpenWorkspaceKey(std::string_view stored);

}  // namespace mlvault::control
