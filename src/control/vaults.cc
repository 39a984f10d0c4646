#include "control/vaults.h"

#include <sys/stat.h>

#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "backend/backend.h"
#include "util/files.h"
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

}  // namespace mlvault::control
