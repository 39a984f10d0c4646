// End-to-end tests of the vault engine through its public API: backup -> restore -> exact
// comparison, incremental and dedup behaviour, block volumes, verify against deliberately damaged
// vaults, delete + GC, wrong keys, and restores of malicious manifests.
#include <fcntl.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "backend/backend.h"
#include "util/files.h"
#include "util/random.h"
#include "vault/format.h"
#include "vault/lock.h"
#include "vault/repository.h"
#include "vault/vault.h"
#include "vault_test_support.h"

namespace mlvault::vault {
namespace {

using testing::CompareTrees;
using testing::ListFiles;
using testing::MakeVault;
using testing::TempDir;
using testing::WriteFile;

BackupResult MustBackup(Vault& v, const std::string& source,
                        VolumeKind kind = VolumeKind::kFilesystem,
                        std::optional<std::string> parent = std::nullopt) {
  BackupRequest req;
  req.kind = kind;
  req.source = source;
  req.parent = parent;
  auto r = v.Backup(req, nullptr, nullptr);
  EXPECT_TRUE(r) << r.error().ToString();
  return r ? *r : BackupResult{};
}

void MustRestore(Vault& v, const std::string& id, const std::string& target,
                 bool overwrite = false) {
  RestoreOptions o;
  o.allow_nonempty_target = overwrite;
  auto r = v.Restore(id, target, o, nullptr, nullptr);
  ASSERT_TRUE(r) << r.error().ToString();
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

TEST(VaultRoundTrip, EveryKindOfEntryRestoresExactly) {
  TempDir tmp;
  testing::MakeEverythingTree(tmp / "src");
  auto tv = MakeVault(tmp);
  auto b = MustBackup(*tv.vault, tmp / "src");
  EXPECT_EQ(b.id.size(), 32u);
  // The socket is skipped with a warning, never a failure.
  bool socket_warned = std::any_of(b.warnings.begin(), b.warnings.end(), [](const std::string& w) {
    return w.find("sock") != std::string::npos;
  });
  EXPECT_TRUE(socket_warned) << Joined(b.warnings);
  MustRestore(*tv.vault, b.id, tmp / "dst");
  auto diff = CompareTrees(tmp / "src", tmp / "dst", ::geteuid() == 0);
  EXPECT_TRUE(diff.empty()) << Joined(diff);
  // The sparse file stays sparse.
  struct stat st;
  ASSERT_EQ(::stat((tmp / "dst/sparse.img").c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);

  auto list = tv.vault->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, b.id);
  EXPECT_EQ((*list)[0].source, tmp / "src");
  auto report = tv.vault->Verify(std::nullopt, true, nullptr, nullptr);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok);
}

TEST(VaultRoundTrip, RestoreRefusesANonEmptyTargetUnlessAsked) {
  TempDir tmp;
  WriteFile(tmp / "src/a", "new content");
  auto tv = MakeVault(tmp);
  auto b = MustBackup(*tv.vault, tmp / "src");
  WriteFile(tmp / "dst/a", "old content that is longer");
  WriteFile(tmp / "dst/other", "stays");
  auto r = tv.vault->Restore(b.id, tmp / "dst", {}, nullptr, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kConflict);
  EXPECT_EQ(testing::ReadAll(tmp / "dst/a"), "old content that is longer");
  MustRestore(*tv.vault, b.id, tmp / "dst", true);
  EXPECT_EQ(testing::ReadAll(tmp / "dst/a"), "new content");
  EXPECT_EQ(testing::ReadAll(tmp / "dst/other"), "stays");
}

// Local storage that asks for parallel reads as S3 does, so restores take the remote path
// (larger tasks, ranges read ahead on fetch threads). Counts reads of packs; fails the
// `fail_at`-th.
class ManyReads final : public backend::Backend {
 public:
  explicit ManyReads(std::unique_ptr<backend::Backend> inner, int fail_at = 0)
      : inner_(std::move(inner)), fail_at_(fail_at) {}
  util::Status Put(std::string_view n, util::ByteView d) override { return inner_->Put(n, d); }
  util::Result<util::Bytes> Get(std::string_view n, uint64_t off, uint64_t len) override {
    if (n.starts_with("data/") && ++gets_ == fail_at_)
      return util::Unavailable("injected: the store went away");
    return inner_->Get(n, off, len);
  }
  util::Result<backend::ObjectInfo> Stat(std::string_view n) override { return inner_->Stat(n); }
  util::Result<std::vector<backend::ObjectInfo>> List(std::string_view p) override {
    return inner_->List(p);
  }
  util::Status Remove(std::string_view n) override { return inner_->Remove(n); }
  std::string Describe() const override { return inner_->Describe(); }
  int ConcurrentReads() const override { return 8; }
  int gets() const { return gets_; }

 private:
  std::unique_ptr<backend::Backend> inner_;
  const int fail_at_;
  std::atomic<int> gets_{0};
};

TEST(VaultRoundTrip, RemoteStorageRestoresExactlyWithReadAhead) {
  TempDir tmp;
  testing::MakeEverythingTree(tmp / "src");
  // Many files over several small packs, so tasks span several ranges and packs.
  for (int d = 0; d < 8; ++d)
    for (int f = 0; f < 60; ++f)
      WriteFile(tmp / ("src/many/d" + std::to_string(d) + "/f" + std::to_string(f)),
                std::string(1000 + 997 * ((d * 60 + f) % 53), static_cast<char>('a' + f % 26)) +
                    util::RandomHex(64 * (1 + f % 7)));
  {
    // A large sparse file (over the 32 MiB segment size): data, a hole, data.
    util::UniqueFd fd(::open((tmp / "src/large-sparse").c_str(), O_WRONLY | O_CREAT, 0644));
    ASSERT_TRUE(fd.valid());
    const std::string head = util::RandomHex(600 << 10), tail = util::RandomHex(300 << 10);
    ASSERT_EQ(::pwrite(fd.get(), head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    ASSERT_EQ(::pwrite(fd.get(), tail.data(), tail.size(), 40 << 20),
              static_cast<ssize_t>(tail.size()));
  }
  Options small;
  small.pack_target_size = 256 << 10;
  auto tv = MakeVault(tmp, small);
  auto b = MustBackup(*tv.vault, tmp / "src");
  int pack_reads = 0;
  {
    auto be = backend::OpenLocal(tv.dir, false);
    ASSERT_TRUE(be);
    auto remote = std::make_unique<ManyReads>(std::move(*be));
    ManyReads* counter = remote.get();
    auto v = Vault::Open(std::move(remote), KeySource::FromKeyFile(tv.key_file), small);
    ASSERT_TRUE(v) << v.error().ToString();
    MustRestore(**v, b.id, tmp / "dst");
    pack_reads = counter->gets();
    EXPECT_GT(pack_reads, 4);
    // Planned in pack order: every data pack is read once, in one range (all of it is wanted).
    auto packs = counter->List("data/");
    ASSERT_TRUE(packs);
    EXPECT_EQ(pack_reads, static_cast<int>(packs->size()));
  }
  auto diff = CompareTrees(tmp / "src", tmp / "dst", ::geteuid() == 0);
  EXPECT_TRUE(diff.empty()) << Joined(diff);

  // A read failing while others are ahead: the restore fails with it, leaves nothing behind.
  for (int fail_at : {2, pack_reads / 2 + 1, pack_reads}) {
    auto be = backend::OpenLocal(tv.dir, false);
    ASSERT_TRUE(be);
    auto v = Vault::Open(std::make_unique<ManyReads>(std::move(*be), fail_at),
                         KeySource::FromKeyFile(tv.key_file), small);
    ASSERT_TRUE(v) << v.error().ToString();
    const std::string target = tmp / ("failed" + std::to_string(fail_at));
    auto r = (*v)->Restore(b.id, target, {}, nullptr, nullptr);
    ASSERT_FALSE(r) << "read " << fail_at;
    EXPECT_NE(r.error().message().find("injected"), std::string::npos) << r.error().message();
    EXPECT_TRUE(ListFiles(target).empty()) << Joined(ListFiles(target));
  }
}

// Remote storage restores in windows bounded by the descriptor limit (files and directories
// opened in a window: half the limit). With a low limit (a child process, so the test's own
// limit is untouched) the restore runs in many windows, some closing inside a directory, and
// stays exact.
TEST(VaultRoundTrip, RemoteStorageRestoresExactlyInManyWindows) {
  TempDir tmp;
  for (int d = 0; d < 12; ++d)
    for (int f = 0; f < 40; ++f)
      WriteFile(tmp / ("src/d" + std::to_string(d) + "/s" + std::to_string(f % 3) + "/f" +
                       std::to_string(f)),
                util::RandomHex(100 + 37 * f));
  Options small;
  small.pack_target_size = 64 << 10;
  auto tv = MakeVault(tmp, small);
  auto b = MustBackup(*tv.vault, tmp / "src");
  const std::string dst = tmp / "dst";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct rlimit rl = {160, 160};  // windows of 80 descriptors: 480 files, 48 directories
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::_exit(3);
    auto be = backend::OpenLocal(tv.dir, false);
    if (!be) ::_exit(4);
    auto v = Vault::Open(std::make_unique<ManyReads>(std::move(*be)),
                         KeySource::FromKeyFile(tv.key_file), small);
    if (!v) ::_exit(5);
    auto r = (*v)->Restore(b.id, dst, {}, nullptr, nullptr);
    ::_exit(r ? 0 : 6);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto diff = CompareTrees(tmp / "src", tmp / "dst", ::geteuid() == 0);
  EXPECT_TRUE(diff.empty()) << Joined(diff);
}

TEST(VaultIncremental, UnchangedFilesAreNotReadAgain) {
  TempDir tmp;
  for (int i = 0; i < 50; ++i)
    WriteFile(tmp / ("src/d" + std::to_string(i % 5) + "/f" + std::to_string(i)),
              testing::Text(3000, i));
  WriteFile(tmp / "src/big", testing::RandomBytes(5 << 20, 9));
  auto tv = MakeVault(tmp);
  auto b1 = MustBackup(*tv.vault, tmp / "src");
  EXPECT_EQ(b1.stats.files, 51u);
  EXPECT_GT(b1.stats.bytes_read, 5u << 20);
  // No parent given: the latest recovery point of the same source is used.
  auto b2 = MustBackup(*tv.vault, tmp / "src");
  EXPECT_EQ(b2.stats.files_unchanged, 51u);
  EXPECT_EQ(b2.stats.bytes_read, 0u);
  EXPECT_EQ(b2.stats.bytes_new, 0u);
  auto info = tv.vault->Get(b2.id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->parent, b1.id);
  // One changed file is the only one read.
  WriteFile(tmp / "src/d1/f1", testing::Text(3001, 1000));
  auto b3 = MustBackup(*tv.vault, tmp / "src", VolumeKind::kFilesystem, b2.id);
  EXPECT_EQ(b3.stats.files_unchanged, 50u);
  EXPECT_EQ(b3.stats.bytes_read, 3001u);
  MustRestore(*tv.vault, b3.id, tmp / "dst");
  EXPECT_TRUE(CompareTrees(tmp / "src", tmp / "dst", false).empty());
  // An unknown parent is an error, not a silent full backup.
  BackupRequest bad;
  bad.source = tmp / "src";
  bad.parent = std::string(32, 'a');
  auto r = tv.vault->Backup(bad, nullptr, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kNotFound);
}

TEST(VaultDedup, RenamedFilesAndShiftedHeadersCostLittle) {
  TempDir tmp;
  std::string payload = testing::RandomBytes(24 << 20, 11);
  WriteFile(tmp / "src/model.bin", payload);
  auto tv = MakeVault(tmp);
  auto b1 = MustBackup(*tv.vault, tmp / "src");
  EXPECT_GE(b1.stats.bytes_new, 24u << 20);
  // Move and rename: nothing new.
  ASSERT_TRUE(util::MakeDirs(tmp / "src/moved"));
  ASSERT_EQ(::rename((tmp / "src/model.bin").c_str(), (tmp / "src/moved/renamed.bin").c_str()), 0);
  auto b2 = MustBackup(*tv.vault, tmp / "src");
  EXPECT_EQ(b2.stats.bytes_new, 0u);
  // A copy with a 75-byte longer header: only the chunks around the change are new.
  WriteFile(tmp / "src/finetuned.bin", std::string(75, 'H') + payload);
  auto b3 = MustBackup(*tv.vault, tmp / "src");
  EXPECT_LT(b3.stats.bytes_new, 6u << 20) << "of 24 MiB";
  MustRestore(*tv.vault, b3.id, tmp / "dst");
  EXPECT_TRUE(CompareTrees(tmp / "src", tmp / "dst", false).empty());
}

TEST(VaultBlock, HolesAndZerosCostNothingAndSmallChangesCostLittle) {
  TempDir tmp;
  const std::string img = tmp / "disk.img";
  {
    int fd = ::open(img.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
    std::string data = testing::RandomBytes(8 << 20, 21);
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 16 << 20), static_cast<ssize_t>(data.size()));
    std::string zeros(4 << 20, '\0');  // written zeros: not a hole, still free
    ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), 32 << 20),
              static_cast<ssize_t>(zeros.size()));
    std::string text = testing::Text(2 << 20, 22);
    ASSERT_EQ(::pwrite(fd, text.data(), text.size(), (50 << 20) + 12345),
              static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  auto tv = MakeVault(tmp);
  auto b1 = MustBackup(*tv.vault, img, VolumeKind::kBlock);
  EXPECT_EQ(b1.stats.bytes_total, 64u << 20);
  EXPECT_LT(b1.stats.bytes_new, (8u + 2u + 2u) << 20);  // the zeros are not stored
  EXPECT_LT(b1.stats.bytes_stored, (8u + 2u) << 20);
  // In-place change of 2 MiB.
  {
    int fd = ::open(img.c_str(), O_WRONLY);
    std::string change = testing::RandomBytes(2 << 20, 23);
    ASSERT_EQ(::pwrite(fd, change.data(), change.size(), (18 << 20) + 100),
              static_cast<ssize_t>(change.size()));
    ::close(fd);
  }
  auto b2 = MustBackup(*tv.vault, img, VolumeKind::kBlock);
  EXPECT_LE(b2.stats.bytes_new, 4u << 20);  // 2 MiB unaligned touches 3 blocks
  EXPECT_GT(b2.stats.bytes_new, 0u);
  MustRestore(*tv.vault, b2.id, tmp / "restored.img");
  EXPECT_TRUE(testing::SameContent(tmp / "restored.img", img));
  struct stat a, r;
  ASSERT_EQ(::stat(img.c_str(), &a), 0);
  ASSERT_EQ(::stat((tmp / "restored.img").c_str(), &r), 0);
  EXPECT_LE(r.st_blocks, a.st_blocks);  // zeros became holes
  EXPECT_EQ(r.st_mode & 07777, 0640u);
  MustRestore(*tv.vault, b1.id, tmp / "first.img");
  auto first = testing::ReadAll(tmp / "first.img");
  EXPECT_EQ(first.size(), 64u << 20);
  EXPECT_EQ(first.substr(16 << 20, 1 << 20), testing::RandomBytes(8 << 20, 21).substr(0, 1 << 20));
  // A block source that is a directory is bad input.
  BackupRequest bad;
  bad.kind = VolumeKind::kBlock;
  bad.source = tmp.path();
  auto br = tv.vault->Backup(bad, nullptr, nullptr);
  ASSERT_FALSE(br);
  EXPECT_EQ(br.error().code(), util::ErrorCode::kInvalidArgument);
}

class CountingSink : public util::ProgressSink {
 public:
  void Report(const util::ProgressSnapshot& p) override {
    std::lock_guard<std::mutex> lk(mu);
    ++reports;
    last = p;
  }
  void Finish() override { finished = true; }
  std::mutex mu;
  int reports = 0;
  util::ProgressSnapshot last;
  bool finished = false;
};

TEST(VaultProgress, ReportsProgressAndHonoursCancellation) {
  TempDir tmp;
  for (int i = 0; i < 30; ++i)
    WriteFile(tmp / ("src/f" + std::to_string(i)), testing::Text(10000, i));
  auto tv = MakeVault(tmp);
  CountingSink sink;
  BackupRequest req;
  req.source = tmp / "src";
  auto b = tv.vault->Backup(req, &sink, nullptr);
  ASSERT_TRUE(b) << b.error().ToString();
  EXPECT_GT(sink.reports, 0);
  EXPECT_TRUE(sink.finished);
  EXPECT_EQ(sink.last.files_total, 30u);
  // A cancelled backup fails with kCancelled and leaves no recovery point.
  util::CancelToken cancel;
  cancel.Cancel("operator asked");
  WriteFile(tmp / "src/new", testing::Text(5000, 99));
  auto c = tv.vault->Backup(req, nullptr, &cancel);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), util::ErrorCode::kCancelled);
  auto list = tv.vault->List();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);
  auto r = tv.vault->Restore(b->id, tmp / "dst", {}, nullptr, &cancel);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kCancelled);
  // Non-UTF-8 labels are refused before any work.
  BackupRequest bad = req;
  bad.labels["k"] = "\xff";
  auto bl = tv.vault->Backup(bad, nullptr, nullptr);
  ASSERT_FALSE(bl);
  EXPECT_EQ(bl.error().code(), util::ErrorCode::kInvalidArgument);
}

TEST(VaultKeys, WrongKeyIsAClearError) {
  TempDir tmp;
  auto tv = MakeVault(tmp);
  ASSERT_TRUE(WriteNewKeyFile(tmp / "other.key"));
  auto be = backend::OpenLocal(tv.dir, false);
  ASSERT_TRUE(be);
  auto v = Vault::Open(std::move(*be), KeySource::FromKeyFile(tmp / "other.key"));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(v.error().message().find("wrong key"), std::string::npos) << v.error().message();
  auto none = backend::OpenLocal(tmp / "no-vault-here", true);
  ASSERT_TRUE(none);
  auto nv = Vault::Open(std::move(*none), KeySource::FromKeyFile(tv.key_file));
  ASSERT_FALSE(nv);
  EXPECT_EQ(nv.error().code(), util::ErrorCode::kNotFound);
}

// ---- damage ---------------------------------------------------------------------------------

struct Damaged {
  TempDir tmp;
  testing::TestVault tv;
  std::string id;
  Damaged() {
    for (int i = 0; i < 20; ++i)
      WriteFile(tmp / ("src/small" + std::to_string(i)), testing::Text(2000 + i, i));
    WriteFile(tmp / "src/large.bin", testing::RandomBytes(6 << 20, 5));
    tv = MakeVault(tmp);
    id = MustBackup(*tv.vault, tmp / "src").id;
  }
  std::vector<std::string> Packs() {
    std::vector<std::string> out;
    for (const auto& f : ListFiles(tv.dir + "/data")) out.push_back(tv.dir + "/data/" + f);
    return out;
  }
  // The largest pack holds large.bin's chunks.
  std::string LargestPack() {
    auto packs = Packs();
    return *std::max_element(packs.begin(), packs.end(),
                             [](const std::string& a, const std::string& b) {
                               return std::filesystem::file_size(a) < std::filesystem::file_size(b);
                             });
  }
  // Flips one bit in the middle of the largest pack, which lies inside large.bin's chunks
  // (small files come first).
  void FlipMiddleOfLargestPack() {
    std::string pack = LargestPack();
    int fd = ::open(pack.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const off_t at = static_cast<off_t>(std::filesystem::file_size(pack) / 2);
    char c;
    ASSERT_EQ(::pread(fd, &c, 1, at), 1);
    c ^= 0x01;
    ASSERT_EQ(::pwrite(fd, &c, 1, at), 1);
    ::close(fd);
  }
  bool Mentions(const VerifyReport& r, const std::string& what) {
    for (const auto& d : r.damaged) {
      for (const auto& a : d.affected) {
        if (a.find(what) != std::string::npos) return true;
      }
    }
    return false;
  }
};

TEST(VaultVerify, FlippedByteIsFoundByReadDataAndTheFileNamed) {
  Damaged d;
  ASSERT_NO_FATAL_FAILURE(d.FlipMiddleOfLargestPack());
  auto quick = d.tv.vault->Verify(std::nullopt, false, nullptr, nullptr);
  ASSERT_TRUE(quick);
  EXPECT_TRUE(quick->ok);  // structure is intact: only reading the data can tell
  auto full = d.tv.vault->Verify(std::nullopt, true, nullptr, nullptr);
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->ok);
  EXPECT_TRUE(d.Mentions(*full, d.id + ":large.bin"));
  EXPECT_FALSE(d.Mentions(*full, "small"));
  auto one = d.tv.vault->Verify(d.id, true, nullptr, nullptr);
  ASSERT_TRUE(one);
  EXPECT_FALSE(one->ok);
  // Restore refuses to produce the damaged bytes.
  auto r = d.tv.vault->Restore(d.id, d.tmp / "dst", {}, nullptr, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kCorruption);
}

// On remote storage blobs are authenticated where they lie in the range read (decrypted in
// place): a flipped byte still fails the restore as corruption, and nothing is left behind.
TEST(VaultVerify, FlippedByteFailsARemoteRestoreAndLeavesNothing) {
  Damaged d;
  // Two more files with large.bin's content: one blob wanted by three files in one range.
  auto large = util::ReadFile(d.tmp / "src/large.bin");
  ASSERT_TRUE(large);
  WriteFile(d.tmp / "src/copy1.bin", *large);
  WriteFile(d.tmp / "src/copy2.bin", *large);
  const std::string id = MustBackup(*d.tv.vault, d.tmp / "src").id;
  auto open_remote = [&] {
    auto be = backend::OpenLocal(d.tv.dir, false);
    EXPECT_TRUE(be);
    return Vault::Open(std::make_unique<ManyReads>(std::move(*be)),
                       KeySource::FromKeyFile(d.tv.key_file), {});
  };
  {
    auto v = open_remote();
    ASSERT_TRUE(v) << v.error().ToString();
    MustRestore(**v, id, d.tmp / "intact");
    auto diff = CompareTrees(d.tmp / "src", d.tmp / "intact", ::geteuid() == 0);
    EXPECT_TRUE(diff.empty()) << Joined(diff);
  }
  ASSERT_NO_FATAL_FAILURE(d.FlipMiddleOfLargestPack());
  auto v = open_remote();
  ASSERT_TRUE(v) << v.error().ToString();
  auto r = (*v)->Restore(id, d.tmp / "dst", {}, nullptr, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kCorruption) << r.error().ToString();
  EXPECT_TRUE(ListFiles(d.tmp / "dst").empty()) << Joined(ListFiles(d.tmp / "dst"));
}

TEST(VaultVerify, PackCutShortIsFoundByTheStructuralCheck) {
  Damaged d;
  std::string pack = d.LargestPack();
  ASSERT_EQ(::truncate(pack.c_str(), static_cast<off_t>(std::filesystem::file_size(pack) / 2)), 0);
  auto quick = d.tv.vault->Verify(std::nullopt, false, nullptr, nullptr);
  ASSERT_TRUE(quick);
  EXPECT_FALSE(quick->ok);
  EXPECT_TRUE(d.Mentions(*quick, ":large.bin"));
}

TEST(VaultVerify, DeletedIndexIsFoundAndGcReindexesThePacks) {
  Damaged d;
  for (const auto& f : ListFiles(d.tv.dir + "/index"))
    ASSERT_EQ(::unlink((d.tv.dir + "/index/" + f).c_str()), 0);
  auto reopened = testing::ReopenVault(d.tv);
  auto quick = reopened->Verify(std::nullopt, false, nullptr, nullptr);
  ASSERT_TRUE(quick);
  EXPECT_FALSE(quick->ok);
  // Without an index the root tree itself cannot be found: the whole point is named.
  bool named = false;
  std::string all;
  for (const auto& dmg : quick->damaged) {
    all += dmg.object + ": " + dmg.problem + "\n";
    for (const auto& a : dmg.affected) named |= a.find(d.id) != std::string::npos;
  }
  EXPECT_TRUE(named) << all;
  // GC finds the packs that hold the lost blobs and indexes them again instead of deleting them.
  auto gc = reopened->Gc(nullptr, nullptr);
  ASSERT_TRUE(gc) << gc.error().ToString();
  auto after = reopened->Verify(std::nullopt, true, nullptr, nullptr);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->ok);
  MustRestore(*reopened, d.id, d.tmp / "dst");
  EXPECT_TRUE(CompareTrees(d.tmp / "src", d.tmp / "dst", false).empty());
}

TEST(VaultVerify, DeletedPackIsNamed) {
  Damaged d;
  ASSERT_EQ(::unlink(d.LargestPack().c_str()), 0);
  auto quick = d.tv.vault->Verify(std::nullopt, false, nullptr, nullptr);
  ASSERT_TRUE(quick);
  EXPECT_FALSE(quick->ok);
  EXPECT_TRUE(d.Mentions(*quick, ":large.bin"));
  // GC refuses to work on a vault that lost data a recovery point needs.
  auto gc = d.tv.vault->Gc(nullptr, nullptr);
  ASSERT_FALSE(gc);
  EXPECT_EQ(gc.error().code(), util::ErrorCode::kCorruption);
}

// ---- delete and GC --------------------------------------------------------------------------

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& f : ListFiles(dir))
    n += std::filesystem::file_size(std::filesystem::path(dir) / f);
  return n;
}

TEST(VaultGc, DeleteAndGcReclaimOnlyWhatNobodyUses) {
  TempDir tmp;
  Options o;
  o.pack_target_size = 1 << 20;  // many packs, so repacking happens
  WriteFile(tmp / "src/shared.bin", testing::RandomBytes(4 << 20, 1));
  WriteFile(tmp / "src/only-first.bin", testing::RandomBytes(6 << 20, 2));
  auto tv = MakeVault(tmp, o);
  auto b1 = MustBackup(*tv.vault, tmp / "src");
  ASSERT_EQ(::unlink((tmp / "src/only-first.bin").c_str()), 0);
  WriteFile(tmp / "src/only-second.bin", testing::RandomBytes(3 << 20, 3));
  auto b2 = MustBackup(*tv.vault, tmp / "src");
  const uint64_t before = DirBytes(tv.dir + "/data");
  auto both = tv.vault->Verify(std::nullopt, false, nullptr, nullptr);  // chunks of b1 and b2
  ASSERT_TRUE(both);
  auto del = tv.vault->Delete(b1.id);
  ASSERT_TRUE(del) << del.error().ToString();
  auto again = tv.vault->Delete(b1.id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), util::ErrorCode::kNotFound);
  auto gc = tv.vault->Gc(nullptr, nullptr);
  ASSERT_TRUE(gc) << gc.error().ToString();
  EXPECT_GT(gc->packs_removed + gc->packs_repacked, 0u);
  const uint64_t after = DirBytes(tv.dir + "/data");
  EXPECT_LT(after + (5u << 20), before) << "the 6 MiB only b1 used must be reclaimed";
  auto report = tv.vault->Verify(std::nullopt, true, nullptr, nullptr);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok);
  // The chunks only b1 used are gone from the index, the others all stay.
  EXPECT_GT(gc->chunks_removed, 0u);
  EXPECT_EQ(gc->chunks_removed, both->chunks - report->chunks);
  MustRestore(*tv.vault, b2.id, tmp / "dst");
  EXPECT_TRUE(CompareTrees(tmp / "src", tmp / "dst", false).empty());
  // A second GC has nothing to do.
  auto gc2 = tv.vault->Gc(nullptr, nullptr);
  ASSERT_TRUE(gc2);
  EXPECT_EQ(gc2->packs_removed + gc2->packs_repacked + gc2->leftovers_removed, 0u);
  EXPECT_EQ(gc2->chunks_removed, 0u);
}

// Many packs kept and many repacked: the new index is written in several files as the plan
// goes (kept packs first, then the repacked ones as they are written), and it lists exactly
// the live blobs.
TEST(VaultGc, ManyKeptAndRepackedPacksMakeSeveralIndexFiles) {
  TempDir tmp;
  Options o;
  o.pack_target_size = 64 << 10;  // three 20 KiB files a pack
  for (int i = 0; i < 900; ++i)
    WriteFile(tmp / fmt::format("src/f{:04d}", i), testing::RandomBytes(20 << 10, 100 + i));
  auto tv = MakeVault(tmp, o);
  auto b1 = MustBackup(*tv.vault, tmp / "src");
  // One file of every six goes: every other pack loses a third of its bytes (repacked), the
  // rest lose nothing (kept).
  for (int i = 0; i < 900; i += 6)
    ASSERT_EQ(::unlink((tmp / fmt::format("src/f{:04d}", i)).c_str()), 0);
  auto b2 = MustBackup(*tv.vault, tmp / "src");
  ASSERT_TRUE(tv.vault->Delete(b1.id));
  auto gc = tv.vault->Gc(nullptr, nullptr);
  ASSERT_TRUE(gc) << gc.error().ToString();
  EXPECT_GT(gc->packs_repacked, 64u);
  EXPECT_EQ(gc->chunks_removed, 150u + 1);  // the deleted files and b1's root tree
  EXPECT_GT(ListFiles(tv.dir + "/index").size(), 2u);
  auto report = tv.vault->Verify(std::nullopt, true, nullptr, nullptr);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->chunks, 750u + 1);  // the files' chunks and the root tree
  MustRestore(*tv.vault, b2.id, tmp / "dst");
  EXPECT_TRUE(CompareTrees(tmp / "src", tmp / "dst", false).empty());
  auto gc2 = tv.vault->Gc(nullptr, nullptr);
  ASSERT_TRUE(gc2);
  EXPECT_EQ(gc2->packs_removed + gc2->packs_repacked + gc2->leftovers_removed, 0u);
}

TEST(VaultGc, WaitsForAConcurrentBackupLock) {
  TempDir tmp;
  WriteFile(tmp / "src/a", "a");
  Options o;
  o.lock_wait_seconds = 0.2;
  auto tv = MakeVault(tmp, o);
  MustBackup(*tv.vault, tmp / "src");
  // A backup in another process holds a shared lock (simulated by taking it directly).
  auto be = backend::OpenLocal(tv.dir, false);
  ASSERT_TRUE(be);
  auto repo = Repository::Open(std::move(*be), KeySource::FromKeyFile(tv.key_file), o);
  ASSERT_TRUE(repo);
  auto held =
      VaultLock::Acquire((*repo)->backend(), (*repo)->keys().encrypt, false, "backup", o, nullptr);
  ASSERT_TRUE(held);
  auto gc = tv.vault->Gc(nullptr, nullptr);
  ASSERT_FALSE(gc);
  EXPECT_EQ(gc.error().code(), util::ErrorCode::kConflict);
  held->reset();
  EXPECT_TRUE(tv.vault->Gc(nullptr, nullptr));
}

// ---- malicious manifests --------------------------------------------------------------------

// Writes a recovery point whose root tree is `tree` (encoded as is, bypassing the encoder's
// callers) and returns its id.
std::string ForgePoint(Repository& repo, const Tree& tree,
                       const std::vector<std::pair<BlobId, Bytes>>& blobs = {}) {
  IndexWriter iw(&repo, 64);
  PackWriter pw(&repo, 1 << 20, 1, [&](const IndexPack& p, uint64_t) { return iw.Add(p); });
  for (const auto& [id, data] : blobs)
    EXPECT_TRUE(pw.Add(id, BlobType::kData, Compression::kNone, data, data.size()));
  Bytes plain = EncodeTree(tree);
  BlobId tid = repo.HashBlob(BlobType::kTree, plain);
  EXPECT_TRUE(pw.Add(tid, BlobType::kTree, Compression::kNone, plain, plain.size()));
  EXPECT_TRUE(pw.Finish());
  EXPECT_TRUE(iw.Flush());
  Manifest m;
  m.id = NewObjectId();
  m.source = "/forged";
  m.tree = tid;
  EXPECT_TRUE(repo.SaveManifest(m, nullptr));
  return IdHex(m.id);
}

TEST(VaultRestoreSafety, MaliciousNamesAndSymlinkTricksStayInsideTheTarget) {
  TempDir tmp;
  auto tv = MakeVault(tmp);
  auto be = backend::OpenLocal(tv.dir, false);
  ASSERT_TRUE(be);
  auto repo = Repository::Open(std::move(*be), KeySource::FromKeyFile(tv.key_file), {});
  ASSERT_TRUE(repo);
  const std::string_view text = "pwned\n";
  Bytes payload(text.begin(), text.end());
  BlobId pid = (*repo)->HashBlob(BlobType::kData, payload);
  auto file_entry = [&](std::string name) {
    TreeEntry e;
    e.name = std::move(name);
    e.type = EntryType::kFile;
    e.mode = 0644;
    e.size = payload.size();
    e.pieces = {Piece{payload.size(), false, pid}};
    return e;
  };
  ASSERT_TRUE(util::MakeDirs(tmp / "outside"));
  for (const std::string& bad : {std::string(".."), std::string("../outside/escaped"),
                                 std::string("a/../../outside/x"), std::string("/abs")}) {
    Tree t;
    t.entries.push_back(file_entry(bad));
    std::string id = ForgePoint(**repo, t, {{pid, payload}});
    auto r =
        tv.vault->Restore(id, tmp / ("dst-" + std::to_string(bad.size())), {}, nullptr, nullptr);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), util::ErrorCode::kCorruption) << r.error().ToString();
  }
  // A symlink and a directory of the same name: rejected as a duplicate.
  {
    Tree sub;
    sub.entries.push_back(file_entry("escaped"));
    Bytes sub_plain = EncodeTree(sub);
    BlobId sub_id = (*repo)->HashBlob(BlobType::kTree, sub_plain);
    Tree t;
    TreeEntry link;
    link.name = "d";
    link.type = EntryType::kSymlink;
    link.target = tmp / "outside";
    TreeEntry dir;
    dir.name = "d";
    dir.type = EntryType::kDir;
    dir.mode = 0755;
    dir.subtree = sub_id;
    t.entries = {link, dir};
    std::string id = ForgePoint(**repo, t, {{pid, payload}});
    auto r = tv.vault->Restore(id, tmp / "dst-dup", {}, nullptr, nullptr);
    ASSERT_FALSE(r);
  }
  // A target that already holds a symlink where the recovery point has a directory: with
  // --overwrite the symlink is replaced, never followed.
  {
    Tree sub;
    sub.entries.push_back(file_entry("escaped"));
    Bytes sub_plain = EncodeTree(sub);
    BlobId sub_id = (*repo)->HashBlob(BlobType::kTree, sub_plain);
    IndexWriter iw(repo->get(), 64);
    PackWriter pw(repo->get(), 1 << 20, 1, [&](const IndexPack& p, uint64_t) { return iw.Add(p); });
    ASSERT_TRUE(pw.Add(sub_id, BlobType::kTree, Compression::kNone, sub_plain, sub_plain.size()));
    ASSERT_TRUE(pw.Finish());
    ASSERT_TRUE(iw.Flush());
    Tree t;
    TreeEntry dir;
    dir.name = "d";
    dir.type = EntryType::kDir;
    dir.mode = 0755;
    dir.subtree = sub_id;
    t.entries = {dir};
    std::string id = ForgePoint(**repo, t, {{pid, payload}});
    ASSERT_TRUE(util::MakeDirs(tmp / "dst-link"));
    ASSERT_EQ(::symlink((tmp / "outside").c_str(), (tmp / "dst-link/d").c_str()), 0);
    RestoreOptions o;
    o.allow_nonempty_target = true;
    auto r = tv.vault->Restore(id, tmp / "dst-link", o, nullptr, nullptr);
    ASSERT_TRUE(r) << r.error().ToString();
    struct stat st;
    ASSERT_EQ(::lstat((tmp / "dst-link/d").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(testing::ReadAll(tmp / "dst-link/d/escaped"), "pwned\n");
  }
  EXPECT_TRUE(ListFiles(tmp / "outside").empty()) << "restore wrote outside its target";
}

}  // namespace
}  // namespace mlvault::vault
