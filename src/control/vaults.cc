#include "control/vaults.h"

#include <sys/stat.h>

#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "backend/backend.h"
#include "control/workspace_keys.h"
#include "util/bytes.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/random.h"
#include "util/test_hooks.h"

namespace mlvault::control {

std::string VaultName(const std::string& workspace_id) { return "mlv-" + workspace_id; }
std::string VaultDir(const std::string& home, const std::string& workspace_id) {
  return home + "/vaults/" + VaultName(workspace_id);
}
std::string VaultKeyFile(const std::string& home, const std::string& workspace_id) {
  return home + "/keys/" + VaultName(workspace_id) + ".key";
}

namespace {

// Chaos testing (util/test_hooks.h, MLVAULT_TEST_VAULT_FAULTS): writes and removals in the
// vault fail at random, as a failing disk (EIO) or a full one (ENOSPC) would make them fail, and
// may each be slowed down first.
std::unique_ptr<backend::Backend> MaybeFaulty(std::unique_ptr<backend::Backend> b) {
  auto rate = util::test_hooks::VaultFaultRate();
  if (!rate || (rate->percent <= 0 && rate->slow_ms <= 0)) return b;
  struct State {
    std::mutex mu;
    std::mt19937_64 rng;
  };
  auto state = std::make_shared<State>();
  state->rng.seed(rate->seed ? rate->seed : std::random_device{}());
  double p = rate->percent / 100;
  long slow_ms = rate->slow_ms;
  return backend::WithFaults(
      std::move(b), [state, p, slow_ms](std::string_view op, std::string_view name) -> util::Status {
        if (op != "put" && op != "remove") return util::Ok();
        if (slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
        std::lock_guard lock(state->mu);
        if (std::uniform_real_distribution<double>(0, 1)(state->rng) >= p) return util::Ok();
        bool full = state->rng() % 2 == 0;
        return util::IoError(std::string(op) + " " + std::string(name) + ": " +
                             (full ? "No space left on device" : "Input/output error") +
                             " (injected by MLVAULT_TEST_VAULT_FAULTS)");
      });
}

// This installation remembers how far each vault's signed state had come (rollback detection).
vault::Options WithStateCache(const std::string& home, vault::Options options) {
  if (options.state_cache_dir.empty()) options.state_cache_dir = home + "/vault-state";
  return options;
}

util::Result<std::unique_ptr<vault::Vault>> Open(const std::string& home,
                                                 const std::string& workspace_id,
                                                 const vault::Options& options) {
  std::string key = VaultKeyFile(home, workspace_id);
  struct stat st;
  if (::stat(key.c_str(), &st) != 0)
    return util::NotFound("the key file of vault " + VaultName(workspace_id) + " is missing (" +
                          key + "); without it the vault cannot be read");
  auto backend = MaybeFaulty(MLV_TRY(backend::OpenBackend(VaultDir(home, workspace_id))));
  return vault::Vault::Open(std::move(backend), vault::KeySource::FromKeyFile(key),
                            WithStateCache(home, options));
}

}  // namespace

util::Result<std::unique_ptr<vault::Vault>> OpenExistingVault(const std::string& home,
                                                              const std::string& workspace_id,
                                                              const vault::Options& options) {
  struct stat st;
  if (::stat(VaultDir(home, workspace_id).c_str(), &st) != 0)
    return util::NotFound("vault " + VaultName(workspace_id) + " does not exist (" +
                          VaultDir(home, workspace_id) + ")");
  return Open(home, workspace_id, options);
}

util::Result<std::unique_ptr<vault::Vault>> OpenOrCreateVault(const std::string& home,
                                                              const std::string& workspace_id,
                                                              const vault::Options& options) {
  struct stat st;
  if (::stat(VaultDir(home, workspace_id).c_str(), &st) == 0) {
    auto v = Open(home, workspace_id, options);
    if (v || v.error().code() != util::ErrorCode::kNotFound) return v;
    // A vault that exists but lost its key file stays a not-found error: writing a new key at
    // the canonical path would hide the loss (and the new key cannot open the vault anyway).
    // Only a folder without a config (an interrupted first init) is initialised.
    if (::stat((VaultDir(home, workspace_id) + "/config").c_str(), &st) == 0) return v;
  }
  MLV_TRY(util::MakeDirs(home + "/keys", 0700));
  MLV_TRY(util::MakeDirs(home + "/vaults", 0700));
  std::string key = VaultKeyFile(home, workspace_id);
  if (auto w = vault::WriteNewKeyFile(key); !w && w.error().code() != util::ErrorCode::kConflict)
    return std::unexpected(
        w.error().WithContext("creating the key of vault " + VaultName(workspace_id)));
  auto backend = MLV_TRY(backend::OpenBackend(VaultDir(home, workspace_id), {.create = true}));
  auto v = vault::Vault::Init(std::move(backend), vault::KeySource::FromKeyFile(key), {},
                              WithStateCache(home, options));
  if (v) return v;
  if (v.error().code() == util::ErrorCode::kConflict)
    return Open(home, workspace_id, options);  // lost the race
  return std::unexpected(v.error().WithContext("creating vault " + VaultName(workspace_id)));
}

namespace {

util::Result<std::string> LocationOf(catalog::Db& db, const std::string& workspace_id) {
  auto rows = MLV_TRY(db.Query(
      "SELECT e.vault_location FROM workspaces w JOIN environments e ON e.id = w.environment_id "
      "WHERE w.id = ?",
      {workspace_id}));
  if (rows.empty()) return util::NotFound("workspace " + workspace_id + " is not in the catalog");
  return rows[0].Text(0);
}

std::string RemoteVaultPath(const std::string& location, const std::string& workspace_id) {
  std::string base = location;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "/" + VaultName(workspace_id);
}

// The vault's passphrase from the catalog; with `create`, made (and sealed) when missing. Two
// servers creating it at once: the first insert wins and both use its passphrase.
util::Result<std::optional<std::string>> CatalogPassphrase(catalog::Db& db,
                                                           const std::string& home,
                                                           const std::string& vault_name,
                                                           bool create) {
  auto read = [&]() -> util::Result<std::optional<std::string>> {
    auto rows =
        MLV_TRY(db.Query("SELECT sealed_key FROM vault_keys WHERE vault_name = ?", {vault_name}));
    if (rows.empty()) return std::optional<std::string>();
    std::string p = MLV_TRY_CTX(OpenWorkspaceKey(rows[0].Text(0)), "the key of vault " + vault_name);
    return std::optional<std::string>(std::move(p));
  };
  auto found = MLV_TRY(read());
  if (found || !create) return found;
  std::string passphrase = util::ToHex(util::RandomBytes(32));
  std::string sealed = MLV_TRY(SealWorkspaceKey(home, passphrase));
  MLV_TRY(db.Exec(
      "INSERT INTO vault_keys (vault_name, sealed_key, created_at) VALUES (?, ?, ?) "
      "ON CONFLICT (vault_name) DO NOTHING",
      {vault_name, sealed, util::Clock::System().Now()}));
  return read();
}

}  // namespace

util::Result<std::unique_ptr<vault::Vault>> OpenExistingVault(catalog::Db& db,
                                                              const std::string& home,
                                                              const std::string& workspace_id,
                                                              const vault::Options& options) {
  std::string location = MLV_TRY(LocationOf(db, workspace_id));
  if (location.empty()) return OpenExistingVault(home, workspace_id, options);
  const std::string name = VaultName(workspace_id);
  auto passphrase = MLV_TRY(CatalogPassphrase(db, home, name, /*create=*/false));
  if (!passphrase)
    return util::NotFound("vault " + name + " does not exist (" +
                          RemoteVaultPath(location, workspace_id) + ": no key in the catalog)");
  auto backend = MLV_TRY(backend::OpenBackend(RemoteVaultPath(location, workspace_id)));
  return vault::Vault::Open(std::move(backend), vault::KeySource::FromPassphrase(*passphrase),
                            WithStateCache(home, options));
}

util::Result<std::unique_ptr<vault::Vault>> OpenOrCreateVault(catalog::Db& db,
                                                              const std::string& home,
                                                              const std::string& workspace_id,
                                                              const vault::Options& options) {
  std::string location = MLV_TRY(LocationOf(db, workspace_id));
  if (location.empty()) return OpenOrCreateVault(home, workspace_id, options);
  const std::string name = VaultName(workspace_id);
  const std::string path = RemoteVaultPath(location, workspace_id);
  auto stored = MLV_TRY(CatalogPassphrase(db, home, name, /*create=*/true));
  if (!stored) return util::Internal("the key of vault " + name + " vanished from the catalog");
  const std::string passphrase = *stored;
  auto key = vault::KeySource::FromPassphrase(passphrase);
  auto opened = [&]() -> util::Result<std::unique_ptr<vault::Vault>> {
    auto backend = MLV_TRY(backend::OpenBackend(path));
    return vault::Vault::Open(std::move(backend), key, WithStateCache(home, options));
  };
  auto v = opened();
  if (v || v.error().code() != util::ErrorCode::kNotFound) return v;
  auto backend = MLV_TRY(backend::OpenBackend(path, {.create = true}));
  auto made = vault::Vault::Init(std::move(backend), key, {}, WithStateCache(home, options));
  if (made) return made;
  if (made.error().code() == util::ErrorCode::kConflict) return opened();  // lost the race
  return std::unexpected(made.error().WithContext("creating vault " + name + " at " + path));
}

util::Result<std::string> VaultLocation(catalog::Db& db, const std::string& workspace_id) {
  std::string location = MLV_TRY(LocationOf(db, workspace_id));
  return location.empty() ? location : RemoteVaultPath(location, workspace_id);
}

util::Result<bool> StorageSupportsRetention(const std::string& vault_location) {
  auto storage = MLV_TRY(backend::OpenBackend(vault_location));
  return storage->SupportsRetention();
}

util::Status CheckVaultLocation(const std::string& location, bool probe) {
  if (location.empty()) return util::Ok();
  if (!location.starts_with("s3://") && !location.starts_with("/"))
    return util::InvalidField("vaultLocation",
                              "must be s3://BUCKET[/PREFIX] or an absolute path, got \"" +
                                  location + "\"");
  if (!probe) return util::Ok();
  auto b = backend::OpenBackend(location, {.create = true});
  if (!b)
    return util::InvalidField("vaultLocation", "cannot open " + location + ": " +
                                                   b.error().message());
  return util::Ok();
}

}  // namespace mlvault::control
