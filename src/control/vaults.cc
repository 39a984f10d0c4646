#include "control/vaults.h"

#include <sys/stat.h>

#include "backend/open.h"
#include "util/files.h"

namespace mlvault::control {

std::string VaultName(const std::string& workspace_id) { return "mlv-" + workspace_id; }
std::string VaultDir(const std::string& home, const std::string& workspace_id) {
  return home + "/vaults/" + VaultName(workspace_id);
}
std::string VaultKeyFile(const std::string& home, const std::string& workspace_id) {
  return home + "/keys/" + VaultName(workspace_id) + ".key";
}

namespace {

util::Result<std::unique_ptr<vault::Vault>> Open(const std::string& home,
                                                 const std::string& workspace_id,
                                                 const vault::Options& options) {
  std::string key = VaultKeyFile(home, workspace_id);
  struct stat st;
  if (::stat(key.c_str(), &st) != 0)
    return util::NotFound("the key file of vault " + VaultName(workspace_id) + " is missing (" +
                          key + "); without it the vault cannot be read");
  auto backend = MLV_TRY(backend::OpenBackend(VaultDir(home, workspace_id)));
  return vault::Vault::Open(std::move(backend), vault::KeySource::FromKeyFile(key), options);
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
  }
  MLV_TRY(util::MakeDirs(home + "/keys", 0700));
  MLV_TRY(util::MakeDirs(home + "/vaults", 0700));
  std::string key = VaultKeyFile(home, workspace_id);
  if (auto w = vault::WriteNewKeyFile(key); !w && w.error().code() != util::ErrorCode::kConflict)
    return std::unexpected(
        w.error().WithContext("creating the key of vault " + VaultName(workspace_id)));
  auto backend = MLV_TRY(backend::OpenBackend(VaultDir(home, workspace_id), {.create = true}));
  auto v = vault::Vault::Init(std::move(backend), vault::KeySource::FromKeyFile(key), {}, options);
  if (v) return v;
  if (v.error().code() == util::ErrorCode::kConflict)
    return Open(home, workspace_id, options);  // lost the race
  return std::unexpected(v.error().WithContext("creating vault " + VaultName(workspace_id)));
}

}  // namespace mlvault::control
