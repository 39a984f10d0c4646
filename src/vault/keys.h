// The vault's config object and key hierarchy (docs/vault-format.md sections 2 and 3):
// key-encryption key from a key file or passphrase, the wrapped data key, its subkeys, and the
// sealed parameters. Pure functions plus reading the key file; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/error.h"
#include "vault/format.h"
#include "vault/vault.h"

namespace mlvault::vault {

// Everything fixed at init that the engine needs.
struct VaultParams {
  uint32_t chunk_min = 0;
  uint32_t chunk_avg = 0;
  uint32_t chunk_max = 0;
  uint32_t block_size = 0;
};

struct VaultKeys {
  crypto::Key encrypt;
  crypto::Key id_data;
  crypto::Key id_tree;
  uint64_t chunker_seed = 0;
};

struct OpenedConfig {
  ObjectId id{};
  VaultParams params;
  VaultKeys keys;
};

// Reads a key file: 64 hex characters, optional trailing newline. kInvalidArgument otherwise.
Result<crypto::Key> ReadKeyFile(const std::string& path);

// Makes a new config: the serialized config object and what it opens to.
struct NewConfig {
  std::string json;
  OpenedConfig opened;
};
Result<NewConfig> CreateConfig(const KeySource& key, const InitOptions& init);

// Parses and opens the config object. kPermissionDenied "wrong key ..." if the key does not
// unwrap the data key; kCorruption for a malformed or unsupported config; kInvalidArgument for a
// key source that does not fit the vault (a passphrase for a key-file vault or vice versa is
// still reported as a wrong key, since both are plausible mistakes).
Result<OpenedConfig> OpenConfig(std::string_view json, const KeySource& key);

VaultKeys DeriveKeys(const crypto::Key& master);

}  // namespace mlvault::vault
