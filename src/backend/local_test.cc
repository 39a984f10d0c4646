// Local-backend specifics the generic conformance suite cannot see: the on-disk layout,
// leftovers of crashed writes, a write that fails half way, opening the root.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "backend/backend.h"
#include "backend/test_support.h"
#include "util/files.h"

namespace mlvault::backend {
namespace {

namespace fs = std::filesystem;
using util::ErrorCode;

std::vector<std::string> FilesOnDisk(const std::string& root) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LocalBackend, ObjectsAreFilesUnderRoot) {
  std::string root;
  auto b = testing::TempLocal(&root);
  ASSERT_TRUE(b->Put("packs/ab/cdef", util::AsBytes("data")).has_value());
  EXPECT_EQ(*util::ReadFile(root + "/packs/ab/cdef"), "data");
  EXPECT_EQ(FilesOnDisk(root), std::vector<std::string>{"packs/ab/cdef"});
  EXPECT_EQ(b->Describe(), "local:" + root);
}

TEST(LocalBackend, LeftoversOfCrashedPutsAreInvisible) {
  std::string root;
  auto b = testing::TempLocal(&root);
  ASSERT_TRUE(b->Put("a/b", util::AsBytes("1")).has_value());
  ASSERT_TRUE(util::WriteFileAtomic(root + "/~put-0123abcd", "partial", false).has_value());
  ASSERT_TRUE(util::WriteFileAtomic(root + "/a/~put-deadbeef", "partial", false).has_value());
  ASSERT_TRUE(util::MakeDirs(root + "/~weird dir/x").has_value());
  ASSERT_TRUE(util::WriteFileAtomic(root + "/~weird dir/x/y", "z", false).has_value());
  auto list = b->List("");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "a/b");
}

TEST(LocalBackend, PutFailingMidWriteLeavesNoTempAndKeepsOldContent) {
  std::string root;
  auto b = testing::TempLocal(&root);
  ASSERT_TRUE(b->Put("obj", util::AsBytes("old")).has_value());
  // Exceeding RLIMIT_FSIZE makes write() fail with EFBIG half way through the temp file.
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  auto st = b->Put("obj", util::Bytes(1 << 20, 7));
  auto st2 = b->Put("new/obj", util::Bytes(1 << 20, 7));
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kIo) << st.error().ToString();
  ASSERT_FALSE(st2.has_value());
  EXPECT_EQ(FilesOnDisk(root), std::vector<std::string>{"obj"});
  auto got = b->Get("obj");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(util::AsString(*got), "old");
}

util::Bytes Pattern(size_t n, uint32_t seed) {
  util::Bytes out(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    out[i] = static_cast<uint8_t>(seed >> 24);
  }
  return out;
}

// Objects of 1 MiB or more go through O_DIRECT with a padded last block: every size around the
// alignment and the buffer reads back exactly, and the file on disk has exactly that size.
TEST(LocalBackend, LargeObjectsOfAnySizeReadBackExactly) {
  std::string root;
  auto b = testing::TempLocal(&root);
  const size_t mib = size_t{1} << 20;
  for (size_t n : {mib - 1, mib, mib + 1, 2 * mib + 4095, 3 * mib + 4096, 5 * mib + 123}) {
    const std::string name = "packs/p" + std::to_string(n);
    util::Bytes data = Pattern(n, static_cast<uint32_t>(n));
    ASSERT_TRUE(b->Put(name, data).has_value()) << n;
    EXPECT_EQ(fs::file_size(fs::path(root) / name), n);
    auto got = b->Get(name);
    ASSERT_TRUE(got.has_value()) << n;
    EXPECT_TRUE(*got == data) << "object of " << n << " bytes read back differently";
    // Replacing it with a shorter object leaves no bytes of the old one.
    util::Bytes shorter = Pattern(n - 4097, 9);
    ASSERT_TRUE(b->Put(name, shorter).has_value()) << n;
    auto again = b->Get(name);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(*again == shorter) << n;
  }
}

// tmpfs refuses O_DIRECT: large objects are then written through the page cache.
TEST(LocalBackend, LargeObjectsOnAFilesystemWithoutDirectIo) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm (tmpfs) on this machine";
  char tmpl[] = "/dev/shm/mlvault-backend-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    auto b = OpenLocal(dir, false);
    ASSERT_TRUE(b.has_value()) << b.error().ToString();
    util::Bytes data = Pattern((size_t{2} << 20) + 7, 3);
    auto st = (*b)->Put("p/big", data);
    ASSERT_TRUE(st.has_value()) << st.error().ToString();
    auto got = (*b)->Get("p/big");
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(*got == data);
    EXPECT_EQ(FilesOnDisk(dir), std::vector<std::string>{"p/big"});
  }
  fs::remove_all(dir);
}

TEST(LocalBackend, ParentThatIsAnObjectIsAConflict) {
  auto b = testing::TempLocal();
  ASSERT_TRUE(b->Put("f", util::AsBytes("1")).has_value());
  auto st = b->Put("f/g/h", util::AsBytes("2"));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kConflict) << st.error().ToString();
  ASSERT_TRUE(b->Put("d/x", util::AsBytes("1")).has_value());
  auto st2 = b->Put("d", util::AsBytes("2"));
  ASSERT_FALSE(st2.has_value());
  EXPECT_EQ(st2.error().code(), ErrorCode::kConflict) << st2.error().ToString();
}

TEST(LocalBackend, OpenRoot) {
  auto tmp = util::MakeTempDir("mlvault-local-open-");
  ASSERT_TRUE(tmp.has_value());
  auto missing = OpenLocal(*tmp + "/a/b", false);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto created = OpenLocal(*tmp + "/a/b/", true);
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  EXPECT_EQ((*created)->Describe(), "local:" + *tmp + "/a/b");
  EXPECT_TRUE(fs::is_directory(*tmp + "/a/b"));
  ASSERT_TRUE(util::WriteFileAtomic(*tmp + "/file", "x", false).has_value());
  auto not_dir = OpenLocal(*tmp + "/file", false);
  ASSERT_FALSE(not_dir.has_value());
  EXPECT_EQ(not_dir.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(OpenLocal("", true).has_value());
  // A relative root is made absolute, so a later chdir does not move the vault.
  auto rel = OpenLocal(".", false);
  ASSERT_TRUE(rel.has_value());
  EXPECT_EQ((*rel)->Describe(), "local:" + fs::current_path().string());
  ASSERT_TRUE(util::RemoveAll(*tmp).has_value());
}

TEST(ValidateName, AcceptsAndRejects) {
  for (const std::string& ok : std::vector<std::string>{"a", "A-z_0.9", ".hidden", "a/b.c/d", "..a", "a..", std::string(255, 'x')}) {
    EXPECT_TRUE(ValidateName(ok).has_value()) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{"", "a/", "/", "a//b", "..", "a/./b", "a\tb", std::string(256, 'x')}) {
    auto st = ValidateName(bad);
    ASSERT_FALSE(st.has_value()) << bad;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_NE(ValidateName("a\x01").error().message().find("\\x01"), std::string::npos);
  for (std::string ok : {"", "a", "a/", "a/b", "data/0", ".", ".."}) {
    EXPECT_TRUE(ValidatePrefix(ok).has_value()) << ok;
  }
  for (std::string bad : {"/", "../", "a//", "a b", "./x/"}) {
    EXPECT_FALSE(ValidatePrefix(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace mlvault::backend
