#include "runtime/volume.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "util/files.h"

namespace mlvault::runtime {
namespace {

class VolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = util::MakeTempDir("mlv-volume-");
    ASSERT_TRUE(dir);
    root_ = *dir;
    auto v = Volume::Open(root_ + "/vol");
    ASSERT_TRUE(v) << v.error().ToString();
    vol_ = std::move(*v);
  }
  void TearDown() override { (void)util::RemoveAll(root_); }

  util::Result<FileInfo> Put(const PathParts& parts, std::string_view data,
                             bool* created = nullptr) {
    auto staged = vol_->Stage();
    if (!staged) return std::unexpected(staged.error());
    MLV_TRY(staged->Write(data));
    return vol_->Commit(*staged, parts, created);
  }

  std::string root_;
  std::unique_ptr<Volume> vol_;
};

TEST(SplitRelativePath, RefusesEscapesAndOddNames) {
  EXPECT_TRUE(SplitRelativePath("a/b/c.txt"));
  EXPECT_TRUE(SplitRelativePath(".hidden/ünï code.txt"));
  for (const std::string& bad : std::vector<std::string>{
           "", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", std::string("a\0b", 3),
           "a\nb", "a\x7f", std::string(256, 'x'), std::string(1025, 'a')}) {
    auto r = SplitRelativePath(bad);
    EXPECT_FALSE(r) << "accepted: " << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);
    }
  }
  auto parts = SplitRelativePath("x/y/z");
  ASSERT_TRUE(parts);
  EXPECT_EQ(JoinPath(*parts), "x/y/z");
}

TEST_F(VolumeTest, CommitCreatesReplacesAndHashes) {
  bool created = false;
  auto info = Put({"p", "data", "a.txt"}, "hello", &created);
  ASSERT_TRUE(info) << info.error().ToString();
  EXPECT_TRUE(created);
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  info = Put({"p", "data", "a.txt"}, "hello!", &created);
  ASSERT_TRUE(info);
  EXPECT_FALSE(created);
  auto text = util::ReadFile(root_ + "/vol/p/data/a.txt");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "hello!");
  auto list = vol_->List({"p"});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].path, "data/a.txt");
  EXPECT_EQ((*list)[0].sha256, info->sha256);
}

TEST_F(VolumeTest, RefusedWriteLeavesNothing) {
  ASSERT_TRUE(Put({"p", "dir", "f"}, "x"));
  auto r = Put({"p", "dir"}, "y");  // a directory is in the way
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kConflict);
  auto r2 = Put({"p", "dir", "f", "g"}, "y");  // a file is in the way
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code(), util::ErrorCode::kConflict);
  // Staging is empty again.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(root_ + "/vol/.tmp"))
    ++entries;
  EXPECT_EQ(entries, 0);
}

TEST_F(VolumeTest, SymlinksAreNeverFollowed) {
  ASSERT_TRUE(util::MakeDirs(root_ + "/outside"));
  ASSERT_TRUE(util::MakeDirs(root_ + "/vol/p"));
  ASSERT_EQ(::symlink((root_ + "/outside").c_str(), (root_ + "/vol/p/escape").c_str()), 0);
  ASSERT_EQ(::symlink((root_ + "/outside/secret").c_str(), (root_ + "/vol/p/link.txt").c_str()), 0);
  ASSERT_TRUE(util::WriteFileAtomic(root_ + "/outside/secret", "secret"));

  auto w = Put({"p", "escape", "planted.txt"}, "x");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/outside/planted.txt"));

  auto r = vol_->OpenFile({"p", "link.txt"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);
  auto r2 = vol_->OpenFile({"p", "escape", "secret"});
  ASSERT_FALSE(r2);

  // Listing skips links; removing a link removes the link only.
  auto list = vol_->List({"p"});
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  ASSERT_TRUE(vol_->RemoveFile({"p", "link.txt"}, 1));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/outside/secret"));
  ASSERT_TRUE(vol_->RemoveTree({"p"}));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/outside/secret"));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/vol/p"));
}

TEST_F(VolumeTest, RemoveFileTidiesEmptyParents) {
  ASSERT_TRUE(Put({"p", "a", "b", "c.txt"}, "1"));
  ASSERT_TRUE(Put({"p", "a", "keep.txt"}, "2"));
  ASSERT_TRUE(vol_->RemoveFile({"p", "a", "b", "c.txt"}, 1));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/vol/p/a/b"));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/vol/p/a/keep.txt"));
  auto missing = vol_->RemoveFile({"p", "nope"}, 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), util::ErrorCode::kNotFound);
  auto dir = vol_->RemoveFile({"p", "a"}, 1);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code(), util::ErrorCode::kInvalidArgument);
}

TEST_F(VolumeTest, StagedDirectoriesRenameIntoPlaceAndStaleOnesAreCleared) {
  auto stage = vol_->StageDir();
  ASSERT_TRUE(stage);
  PathParts f = *stage;
  f.push_back("x.bin");
  auto info = vol_->WriteNew(f, "abc");
  ASSERT_TRUE(info);
  ASSERT_TRUE(vol_->Rename(*stage, {"m", "b1"}));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/vol/m/b1/x.bin"));
  auto again = vol_->Rename({"m", "b1"}, {"m", "b1"});
  EXPECT_FALSE(again);

  auto stale = vol_->StageDir();
  ASSERT_TRUE(stale);
  auto reopened = Volume::Open(root_ + "/vol");
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/vol/" + JoinPath(*stale)));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/vol/m/b1/x.bin"));
}

}  // namespace
}  // namespace mlvault::runtime
