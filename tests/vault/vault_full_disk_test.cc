// Full disks and broken storage (issue 10): the vault's storage fills during a backup; the
// restore target fills; a vault file is removed or truncated behind mlvault's back. The full
// disks are small tmpfs mounts the test makes and removes (root only; skipped with the reason
// where mounting is not permitted).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "backend/backend.h"
#include "util/files.h"
#include "vault/vault.h"
#include "vault_test_support.h"

namespace mlvault::vault {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// A tmpfs of `mib` MiB at `dir`, unmounted when the object goes.
class SmallDisk {
 public:
  SmallDisk(const std::string& dir, int mib) : dir_(dir) {
    EXPECT_TRUE(util::MakeDirs(dir));
    std::string opts = "size=" + std::to_string(mib) + "m";
    if (::mount("mlvault-test", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      why_ = std::strerror(errno);
    }
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  bool Grow(int mib) {
    std::string opts = "size=" + std::to_string(mib) + "m";
    return ::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT, opts.c_str()) == 0;
  }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string why_;
};

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

std::set<std::string> Packs(const std::string& vault_dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(vault_dir + "/data"))
    if (e.is_regular_file()) out.insert(e.path().string());
  return out;
}

TEST(VaultFullDisk, VaultStorageFillsDuringABackup) {
  TempDir tmp;
  SmallDisk disk(tmp / "vaultfs", 12);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (" << disk.why() << ")";
  WriteFile(tmp / "small/a", testing::RandomBytes(1 << 20, 1));
  for (int i = 0; i < 4; ++i)
    WriteFile(tmp / ("big/f" + std::to_string(i)), testing::RandomBytes(5 << 20, 10 + i));
  ASSERT_TRUE(WriteNewKeyFile(tmp / "vault.key"));
  auto be = backend::OpenLocal(tmp / "vaultfs/vault", true);
  ASSERT_TRUE(be);
  Options o;
  o.pack_target_size = 1 << 20;
  auto v = Vault::Init(std::move(*be), KeySource::FromKeyFile(tmp / "vault.key"), {}, o);
  ASSERT_TRUE(v) << v.error().ToString();
  auto& vault = **v;
  BackupRequest small;
  small.source = tmp / "small";
  auto first = vault.Backup(small, nullptr, nullptr);
  ASSERT_TRUE(first) << first.error().ToString();

  BackupRequest big;
  big.source = tmp / "big";
  auto full = vault.Backup(big, nullptr, nullptr);
  ASSERT_FALSE(full) << "a 20 MiB backup fitted into a 12 MiB disk";
  EXPECT_NE(full.error().message().find("No space left"), std::string::npos)
      << full.error().ToString();
  auto list = vault.List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u) << "the failed backup left a recovery point";
  auto report = vault.Verify(std::nullopt, true, nullptr, nullptr);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->ok) << "the earlier backup no longer verifies";

  // Space freed (the disk grows): the next backup succeeds, GC reclaims the partial data.
  ASSERT_TRUE(disk.Grow(64));
  auto again = vault.Backup(big, nullptr, nullptr);
  ASSERT_TRUE(again) << again.error().ToString();
  const uint64_t before_gc = DirBytes(tmp / "vaultfs/vault");
  auto gc = vault.Gc(nullptr, nullptr);
  ASSERT_TRUE(gc) << gc.error().ToString();
  EXPECT_GT(gc->leftovers_removed + gc->packs_removed, 0u) << "GC found no partial data";
  EXPECT_LT(DirBytes(tmp / "vaultfs/vault"), before_gc);
  auto after = vault.Verify(std::nullopt, true, nullptr, nullptr);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->ok);
  auto r = vault.Restore(again->id, tmp / "restored", {}, nullptr, nullptr);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(testing::CompareTrees(tmp / "big", tmp / "restored", false).empty());
}

TEST(VaultFullDisk, RestoreTargetFillsAndNothingElseIsTouched) {
  TempDir tmp;
  for (int i = 0; i < 4; ++i)
    WriteFile(tmp / ("src/f" + std::to_string(i)), testing::RandomBytes(3 << 20, 20 + i));
  auto tv = testing::MakeVault(tmp);
  BackupRequest req;
  req.source = tmp / "src";
  auto b = tv.vault->Backup(req, nullptr, nullptr);
  ASSERT_TRUE(b) << b.error().ToString();
  SmallDisk disk(tmp / "target", 6);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (" << disk.why() << ")";
  WriteFile(tmp / "target/keep", "someone else's file", 0600);
  auto r = tv.vault->Restore(b->id, tmp / "target/dst", {}, nullptr, nullptr);
  ASSERT_FALSE(r) << "12 MiB restored into a 6 MiB disk";
  EXPECT_NE(r.error().message().find("No space left"), std::string::npos) << r.error().ToString();
  EXPECT_EQ(testing::ReadAll(tmp / "target/keep"), "someone else's file");
  // What the failed restore made is gone: no empty or partial stand-ins remain.
  EXPECT_FALSE(fs::exists(tmp / "target/dst"));
  EXPECT_EQ(testing::ListFiles(tmp / "target"), std::vector<std::string>{"keep"});
}

TEST(VaultBrokenStorage, RemovedAndTruncatedPacksAreNamedWithEveryAffectedFile) {
  TempDir tmp;
  WriteFile(tmp / "a/one", testing::RandomBytes(300000, 1));
  WriteFile(tmp / "a/two", testing::Text(200000, 2));
  Options o;
  o.pack_target_size = 1 << 20;
  auto tv = testing::MakeVault(tmp, o);
  BackupRequest ra;
  ra.source = tmp / "a";
  auto a = tv.vault->Backup(ra, nullptr, nullptr);
  ASSERT_TRUE(a) << a.error().ToString();
  const auto packs_a = Packs(tv.dir);
  for (int i = 0; i < 6; ++i)
    WriteFile(tmp / ("b/f" + std::to_string(i)), testing::RandomBytes(1 << 20, 100 + i));
  BackupRequest rb;
  rb.source = tmp / "b";
  auto b = tv.vault->Backup(rb, nullptr, nullptr);
  ASSERT_TRUE(b) << b.error().ToString();
  std::vector<std::string> packs_b;
  for (const auto& p : Packs(tv.dir))
    if (!packs_a.contains(p) && fs::file_size(p) > (512u << 10)) packs_b.push_back(p);
  ASSERT_GE(packs_b.size(), 2u);
  fs::remove(packs_b[0]);                                      // removed behind mlvault's back
  fs::resize_file(packs_b[1], fs::file_size(packs_b[1]) / 2);  // truncated

  auto report = tv.vault->Verify(std::nullopt, true, nullptr, nullptr);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  std::set<std::string> affected;
  std::set<std::string> objects;
  for (const auto& d : report->damaged) {
    objects.insert(d.object);
    for (const auto& x : d.affected) affected.insert(x);
  }
  for (const auto& p : {packs_b[0], packs_b[1]}) {
    const std::string name = fs::path(p).filename().string();
    bool named = std::any_of(objects.begin(), objects.end(), [&](const std::string& o) {
      return o.find(name) != std::string::npos;
    });
    EXPECT_TRUE(named) << "pack " << name << " not named";
  }
  ASSERT_FALSE(affected.empty());
  for (const auto& x : affected) {
    EXPECT_EQ(x.rfind(b->id + ":", 0), 0u) << "an unaffected backup is named: " << x;
    EXPECT_NE(x.find(":f"), std::string::npos) << x;
  }
  // The unaffected backup restores exactly.
  auto r = tv.vault->Restore(a->id, tmp / "restored-a", {}, nullptr, nullptr);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(testing::CompareTrees(tmp / "a", tmp / "restored-a", false).empty());
  // The damaged one fails with the cause and leaves nothing behind.
  auto rb2 = tv.vault->Restore(b->id, tmp / "restored-b", {}, nullptr, nullptr);
  ASSERT_FALSE(rb2);
  EXPECT_FALSE(fs::exists(tmp / "restored-b")) << Joined(testing::ListFiles(tmp / "restored-b"));
}

}  // namespace
}  // namespace mlvault::vault
