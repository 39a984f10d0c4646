// A workspace vault whose key file went missing (issue 10, finding 8): opening it for a backup
// is a not-found error naming the key file, and nothing is created (no new random key at the
// canonical path). The key is created only when the vault itself is created.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "control/vaults.h"
#include "vault_test_support.h"

namespace mlvault::control {
namespace {

TEST(VaultKeyFile, MissingKeyOfAnExistingVaultIsNotFoundAndNothingIsCreated) {
  vault::testing::TempDir tmp;
  const std::string home = tmp / "home";
  const std::string ws = "0b6f1c2e-1111-4222-8333-944455556666";
  {
    auto v = OpenOrCreateVault(home, ws);
    ASSERT_TRUE(v) << v.error().ToString();
  }
  const std::string key = VaultKeyFile(home, ws);
  ASSERT_TRUE(std::filesystem::exists(key));
  std::filesystem::rename(key, tmp / "saved.key");

  auto again = OpenOrCreateVault(home, ws);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), util::ErrorCode::kNotFound) << again.error().ToString();
  EXPECT_NE(again.error().message().find(key), std::string::npos) << again.error().message();
  EXPECT_FALSE(std::filesystem::exists(key)) << "a new key was written at the canonical path";

  // With the key back, the same vault opens.
  std::filesystem::rename(tmp / "saved.key", key);
  auto back = OpenOrCreateVault(home, ws);
  ASSERT_TRUE(back) << back.error().ToString();
  // A folder without a config (an interrupted first init) is still initialised.
  const std::string ws2 = "0b6f1c2e-2222-4222-8333-944455556666";
  std::filesystem::create_directories(VaultDir(home, ws2));
  auto fresh = OpenOrCreateVault(home, ws2);
  ASSERT_TRUE(fresh) << fresh.error().ToString();
  EXPECT_TRUE(std::filesystem::exists(VaultKeyFile(home, ws2)));
}

}  // namespace
}  // namespace mlvault::control
