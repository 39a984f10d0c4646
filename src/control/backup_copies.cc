#include "control/backup_copies.h"

#include <sys/stat.h>

#include "catalog/backup_copy_store.h"
#include "control/vaults.h"
#include "control/workspace_keys.h"
#include "util/bytes.h"
#include "util/files.h"
#include "util/random.h"
#include "vault/storage.h"

namespace mlvault::control {

std::string CopyVaultName(const std::string& workspace_id, const std::string& environment_id) {
  return VaultName(workspace_id) + "-copy-" + environment_id;
}

std::string CopyVaultPath(const std::string& home, const std::string& location,
                          const std::string& name) {
  if (location.empty()) return home + "/vaults/" + name;
  std::string base = location;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "/" + name;
}

namespace {

vault::Options WithStateCache(const std::string& home, vault::Options options) {
  if (options.state_cache_dir.empty()) options.state_cache_dir = home + "/vault-state";
  return options;
}

// The key of a copy vault in a vault location: a random passphrase sealed in the catalog
// (vault_keys, as workspace vaults there have); with `create`, made when missing (the first
// insert wins).
util::Result<std::optional<std::string>> CatalogPassphrase(catalog::Db& db, const std::string& home,
                                                           const std::string& name, bool create) {
  auto read = [&]() -> util::Result<std::optional<std::string>> {
    auto rows = MLV_TRY(db.Query("SELECT sealed_key FROM vault_keys WHERE vault_name = ?", {name}));
    if (rows.empty()) return std::optional<std::string>();
    std::string p = MLV_TRY_CTX(OpenWorkspaceKey(rows[0].Text(0)), "the key of vault " + name);
    return std::optional<std::string>(std::move(p));
  };
  auto found = MLV_TRY(read());
  if (found || !create) return found;
  std::string sealed = MLV_TRY(SealWorkspaceKey(home, util::ToHex(util::RandomBytes(32))));
  MLV_TRY(
      db.Exec("INSERT INTO vault_keys (vault_name, sealed_key, created_at) VALUES (?, ?, ?) "
              "ON CONFLICT (vault_name) DO NOTHING",
              {name, sealed, util::Clock::System().Now()}));
  return read();
}

}  // namespace

util::Result<std::unique_ptr<vault::Vault>> OpenCopyVault(catalog::Db& db, const std::string& home,
                                                          const std::string& name,
                                                          const std::string& location, bool create,
                                                          const vault::Options& options) {
  const std::string path = CopyVaultPath(home, location, name);
  vault::Options opts = WithStateCache(home, options);
  std::optional<vault::KeySource> key;
  if (location.empty()) {
    const std::string key_file = home + "/keys/" + name + ".key";
    struct stat st;
    if (::stat(key_file.c_str(), &st) != 0) {
      if (!create)
        return util::NotFound("the key file of copy vault " + name + " is missing (" + key_file +
                              "); without it the copy cannot be read");
      MLV_TRY(util::MakeDirs(home + "/keys", 0700));
      MLV_TRY(util::MakeDirs(home + "/vaults", 0700));
      if (auto w = vault::WriteNewKeyFile(key_file);
          !w && w.error().code() != util::ErrorCode::kConflict)
        return std::unexpected(w.error().WithContext("creating the key of copy vault " + name));
    }
    key = vault::KeySource::FromKeyFile(key_file);
  } else {
    auto passphrase = MLV_TRY(CatalogPassphrase(db, home, name, create));
    if (!passphrase)
      return util::NotFound("copy vault " + name + " does not exist (" + path +
                            ": no key in the catalog)");
    key = vault::KeySource::FromPassphrase(*passphrase);
  }
  auto opened = [&]() -> util::Result<std::unique_ptr<vault::Vault>> {
    auto backend = MLV_TRY(vault::OpenStorage(path));
    return vault::Vault::Open(std::move(backend), *key, opts);
  };
  auto v = opened();
  if (v || v.error().code() != util::ErrorCode::kNotFound || !create) {
    if (!v && v.error().code() == util::ErrorCode::kNotFound)
      return std::unexpected(v.error().WithContext("copy vault " + name + " at " + path));
    return v;
  }
  auto backend = MLV_TRY(vault::OpenStorage(path, {.create = true}));
  auto made = vault::Vault::Init(std::move(backend), *key, {}, opts);
  if (made) return made;
  if (made.error().code() == util::ErrorCode::kConflict) return opened();  // lost the race
  return std::unexpected(made.error().WithContext("creating copy vault " + name + " at " + path));
}

util::Result<std::unique_ptr<vault::Vault>> OpenBackupVault(catalog::Db& db,
                                                            const std::string& home,
                                                            const catalog::BackupRecord& b,
                                                            const vault::Options& options) {
  if (b.vault_name.empty() || b.vault_name == VaultName(b.workspace_id))
    return OpenExistingVault(db, home, b.workspace_id, options);
  auto copy = MLV_TRY(catalog::BackupCopyStore(db).Get(b.id));
  if (!copy)
    return util::NotFound("backup " + b.crn + " is kept in vault " + b.vault_name +
                          ", which the catalog does not locate (no copy record)");
  return OpenCopyVault(db, home, b.vault_name, copy->vault_location, /*create=*/false, options);
}

util::Status AddCopyInfo(catalog::Db& db, const catalog::BackupRecord& b, api::BackupSummary* out) {
  catalog::BackupCopyStore copies(db);
  if (b.vault_name != VaultName(b.workspace_id))
    if (auto c = MLV_TRY(copies.Get(b.id))) {
      out->copy_of = c->source_backup_crn;
      out->copy_location = api::BackupCopyInfo{b.crn, catalog::BackupStatusName(b.status), c->environment_name, b.vault_name,
                                               c->vault_location};
    }
  for (const auto& c : MLV_TRY(copies.ListBySource(b.id))) {
    auto copy = catalog::BackupStore(db).Get(b.account_id, c.backup_id);
    if (!copy || copy->status == catalog::BackupStatus::kDeleted) continue;
    out->copies.push_back(
        {copy->crn, catalog::BackupStatusName(copy->status), c.environment_name, copy->vault_name, c.vault_location});
  }
  return util::Ok();
}

}  // namespace mlvault::control
