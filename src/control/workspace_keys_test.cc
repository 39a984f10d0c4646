// Issue 10 finding 2: the catalog held every workspace's API and control key in the clear.
#include "control/workspace_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "util/files.h"

namespace mlvault::control {
namespace {

TEST(WorkspaceKeys, SealedUnderTheCatalogSecretAndOpenedAgain) {
  std::string home = util::MakeTempDir("mlv-keys-").value();
  const std::string key = "0123456789abcdef0123456789abcdef";
  auto sealed = SealWorkspaceKey(home, key);
  ASSERT_TRUE(sealed) << sealed.error().message();
  EXPECT_TRUE(sealed->starts_with("sealed:v1:"));
  EXPECT_EQ(sealed->find(key), std::string::npos);
  EXPECT_NE(*SealWorkspaceKey(home, key), *sealed) << "a fresh nonce every time";
  auto opened = OpenWorkspaceKey(*sealed);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(*opened, key);

  struct stat st;
  ASSERT_EQ(::stat((home + "/catalog.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A flipped digit does not authenticate.
  std::string bad = *sealed;
  bad.back() = bad.back() == '0' ? '1' : '0';
  auto tampered = OpenWorkspaceKey(bad);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code(), util::ErrorCode::kCorruption);

  // Keys written by earlier versions (in the clear) are still read.
  EXPECT_EQ(*OpenWorkspaceKey(key), key);

  // Another home has another secret; both stay openable in one process.
  std::string other = util::MakeTempDir("mlv-keys-").value();
  auto sealed2 = SealWorkspaceKey(other, key);
  ASSERT_TRUE(sealed2);
  EXPECT_NE(sealed2->substr(0, 27), sealed->substr(0, 27));
  EXPECT_EQ(*OpenWorkspaceKey(*sealed2), key);
  EXPECT_EQ(*OpenWorkspaceKey(*sealed), key);
  (void)util::RemoveAll(home);
  (void)util::RemoveAll(other);
}

TEST(WorkspaceKeys, ABrokenSecretFileIsCorruptionNotANewSecret) {
  std::string home = util::MakeTempDir("mlv-keys-").value();
  ASSERT_TRUE(util::WriteFileAtomic(home + "/catalog.key", "not hex\n", false, 0600));
  auto s = SealWorkspaceKey(home, "0123456789abcdef");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), util::ErrorCode::kCorruption);
  EXPECT_EQ(*util::ReadFile(home + "/catalog.key"), "not hex\n");
  (void)util::RemoveAll(home);
}

}  // namespace
}  // namespace mlvault::control
