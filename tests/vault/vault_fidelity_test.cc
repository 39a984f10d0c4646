// File fidelity (issue 10): extended attributes (user.*, and as root trusted.*, security.*
// file capabilities, POSIX ACLs) on files, directories and symlinks; inode flags (immutable,
// append-only); ownership by name, else by id; a target that refuses an attribute warns naming
// the file and the attribute; old (version 1) trees still restore.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "backend/backend.h"
#include "util/files.h"
#include "vault/file_meta.h"
#include "vault/format.h"
#include "vault/repository.h"
#include "vault/vault.h"
#include "vault_test_support.h"

namespace mlvault::vault {
namespace {

using testing::MakeVault;
using testing::TempDir;
using testing::WriteFile;

bool Root() { return ::geteuid() == 0; }

void Sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

Xattrs Attrs(const std::string& path) {
  auto x = ReadXattrs(-1, path, [&] { return path; });
  EXPECT_TRUE(x) << x.error().ToString();
  return x ? *x : Xattrs{};
}

uint32_t Flags(const std::string& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  return fd.valid() ? ReadFsFlags(fd.get()) & kRestorableFsFlags : 0;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

TEST(VaultFidelity, ExtendedAttributesAclsCapabilitiesAndFlagsComeBack) {
  TempDir tmp;
  const std::string src = tmp / "src";
  WriteFile(src + "/plain", "p");
  WriteFile(src + "/tagged", "t", 0640);
  WriteFile(src + "/empty", "", 0644);
  ASSERT_TRUE(util::MakeDirs(src + "/dir"));
  ASSERT_EQ(::symlink("tagged", (src + "/link").c_str()), 0);
  ASSERT_EQ(::setxattr((src + "/tagged").c_str(), "user.note", "hello", 5, 0), 0)
      << "the test directory's file system must support user xattrs";
  ASSERT_EQ(::setxattr((src + "/tagged").c_str(), "user.bin", "\0\1\2", 3, 0), 0);
  ASSERT_EQ(::setxattr((src + "/empty").c_str(), "user.e", "", 0, 0), 0);
  ASSERT_EQ(::setxattr((src + "/dir").c_str(), "user.dirattr", "d", 1, 0), 0);
  Sh("setfacl -m u:nobody:r " + src + "/tagged");
  Sh("setfacl -d -m g:nogroup:rx " + src + "/dir");
  if (Root()) {
    Sh("setcap cap_net_raw+ep " + src + "/plain");
    ASSERT_EQ(::lsetxattr((src + "/link").c_str(), "trusted.linkattr", "L", 1, 0), 0);
    ASSERT_EQ(::setxattr((src + "/dir").c_str(), "trusted.t", "T", 1, 0), 0);
    WriteFile(src + "/frozen", "f");
    WriteFile(src + "/log", "l");
    Sh("chattr +i " + src + "/frozen");
    Sh("chattr +a " + src + "/log");
  }
  auto tv = MakeVault(tmp);
  BackupRequest req;
  req.source = src;
  auto b = tv.vault->Backup(req, nullptr, nullptr);
  ASSERT_TRUE(b) << b.error().ToString();
  EXPECT_TRUE(b->warnings.empty()) << Joined(b->warnings);
  // An unchanged second backup takes the attributes from the parent without reading.
  auto b2 = tv.vault->Backup(req, nullptr, nullptr);
  ASSERT_TRUE(b2) << b2.error().ToString();
  EXPECT_EQ(b2->stats.files_unchanged, b2->stats.files - 1);  // all but the empty file

  for (const std::string& id : {b->id, b2->id}) {
    const std::string dst = tmp / ("dst-" + id);
    auto r = tv.vault->Restore(id, dst, {}, nullptr, nullptr);
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_TRUE(r->warnings.empty() || !Root()) << Joined(r->warnings);
    for (const std::string rel : {"plain", "tagged", "empty", "dir", "link"}) {
      EXPECT_EQ(Attrs(std::string(src).append("/").append(rel)),
                Attrs(std::string(dst).append("/").append(rel)))
          << rel;
    }
    EXPECT_FALSE(Attrs(dst + "/tagged").empty());
    struct stat s1, s2;
    ASSERT_EQ(::stat((src + "/tagged").c_str(), &s1), 0);
    ASSERT_EQ(::stat((dst + "/tagged").c_str(), &s2), 0);
    EXPECT_EQ(s1.st_mode & 07777, s2.st_mode & 07777);  // the ACL mask and the mode agree
    if (Root()) {
      EXPECT_NE(Flags(dst + "/frozen"), 0u);
      EXPECT_EQ(Flags(src + "/frozen"), Flags(dst + "/frozen"));
      EXPECT_EQ(Flags(src + "/log"), Flags(dst + "/log"));
      Sh("chattr -i " + dst + "/frozen");
      Sh("chattr -a " + dst + "/log");
    }
  }
  if (Root()) {
    Sh("chattr -i " + src + "/frozen");
    Sh("chattr -a " + src + "/log");
  }
}

// Restores a hand-made recovery point whose entries carry the given owners.
TEST(VaultFidelity, OwnersAreRestoredByNameWhereTheNameExistsElseById) {
  if (!Root()) GTEST_SKIP() << "owners are restored only as root";
  TempDir tmp;
  auto tv = MakeVault(tmp);
  auto be = backend::OpenLocal(tv.dir, false);
  ASSERT_TRUE(be);
  auto repo = Repository::Open(std::move(*be), KeySource::FromKeyFile(tv.key_file), {});
  ASSERT_TRUE(repo);
  auto entry = [](std::string name, uint32_t uid, uint32_t gid, std::string user,
                  std::string group) {
    TreeEntry e;
    e.name = std::move(name);
    e.type = EntryType::kFifo;  // no content needed
    e.mode = 0644;
    e.uid = uid;
    e.gid = gid;
    e.user = std::move(user);
    e.group = std::move(group);
    return e;
  };
  Tree t;
  // No such name here: the recorded ids are used.
  t.entries.push_back(entry("by-id", 12345, 12346, "no-such-user-xyz", "no-such-group-xyz"));
  // "nobody" exists here (uid 65534): its name wins over the recorded id 4242.
  t.entries.push_back(entry("by-name", 4242, 4243, "nobody", "nogroup"));
  Bytes plain = EncodeTree(t);
  BlobId tid = (*repo)->HashBlob(BlobType::kTree, plain);
  {
    IndexWriter iw(repo->get(), 64);
    PackWriter pw(repo->get(), 1 << 20, 1, [&](const IndexPack& p, uint64_t) { return iw.Add(p); });
    ASSERT_TRUE(pw.Add(tid, BlobType::kTree, Compression::kNone, plain, plain.size()));
    ASSERT_TRUE(pw.Finish());
    ASSERT_TRUE(iw.Flush());
  }
  Manifest m;
  m.id = NewObjectId();
  m.source = "/forged";
  m.tree = tid;
  ASSERT_TRUE((*repo)->SaveManifest(m, nullptr));
  auto r = tv.vault->Restore(IdHex(m.id), tmp / "dst", {}, nullptr, nullptr);
  ASSERT_TRUE(r) << r.error().ToString();
  struct stat st;
  ASSERT_EQ(::lstat((tmp / "dst/by-name").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  ASSERT_EQ(::lstat((tmp / "dst/by-id").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 12345u);
  EXPECT_EQ(st.st_gid, 12346u);
}

// A target file system without extended attributes (ramfs): the restore succeeds and warns,
// naming the file and the attribute.
TEST(VaultFidelity, ATargetThatRefusesAnAttributeIsAWarningNamingFileAndAttribute) {
  if (!Root()) GTEST_SKIP() << "mounting a ramfs needs root";
  TempDir tmp;
  WriteFile(tmp / "src/tagged", "t");
  ASSERT_EQ(::setxattr((tmp / "src/tagged").c_str(), "user.note", "hello", 5, 0), 0);
  auto tv = MakeVault(tmp);
  BackupRequest req;
  req.source = tmp / "src";
  auto b = tv.vault->Backup(req, nullptr, nullptr);
  ASSERT_TRUE(b) << b.error().ToString();
  ASSERT_TRUE(util::MakeDirs(tmp / "mnt"));
  if (::mount("mlvault-test", (tmp / "mnt").c_str(), "ramfs", 0, nullptr) != 0)
    GTEST_SKIP() << "cannot mount a ramfs here: " << std::strerror(errno);
  auto r = tv.vault->Restore(b->id, tmp / "mnt/dst", {}, nullptr, nullptr);
  ::umount2((tmp / "mnt").c_str(), MNT_DETACH);
  ASSERT_TRUE(r) << r.error().ToString();
  bool named = std::any_of(r->warnings.begin(), r->warnings.end(), [](const std::string& w) {
    return w.find("user.note") != std::string::npos && w.find("tagged") != std::string::npos;
  });
  EXPECT_TRUE(named) << Joined(r->warnings);
}

// A recovery point written before version 2 trees (no extras) still restores.
TEST(VaultFidelity, VersionOneTreesStillRestore) {
  TempDir tmp;
  auto tv = MakeVault(tmp);
  auto be = backend::OpenLocal(tv.dir, false);
  ASSERT_TRUE(be);
  auto repo = Repository::Open(std::move(*be), KeySource::FromKeyFile(tv.key_file), {});
  ASSERT_TRUE(repo);
  // Version 1 encoding of one FIFO entry named "old" (mode 0640, times 1700000000.5).
  Bytes plain = {1, 1, 3, 'o', 'l', 'd', 4};
  auto varint = [&](uint64_t v) {
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      plain.push_back(static_cast<uint8_t>(b | (v ? 0x80 : 0)));
    } while (v);
  };
  varint(0640);
  varint(::geteuid());
  varint(::getegid());
  varint(uint64_t{1700000000} << 1);  // zigzag
  varint(500000000);
  varint(uint64_t{1700000000} << 1);
  varint(0);
  varint(77);  // ino
  varint(1);   // nlink
  auto tree = DecodeTree(plain);
  ASSERT_TRUE(tree) << tree.error().ToString();
  EXPECT_EQ(tree->version, 1);
  BlobId tid = (*repo)->HashBlob(BlobType::kTree, plain);
  {
    IndexWriter iw(repo->get(), 64);
    PackWriter pw(repo->get(), 1 << 20, 1, [&](const IndexPack& p, uint64_t) { return iw.Add(p); });
    ASSERT_TRUE(pw.Add(tid, BlobType::kTree, Compression::kNone, plain, plain.size()));
    ASSERT_TRUE(pw.Finish());
    ASSERT_TRUE(iw.Flush());
  }
  Manifest m;
  m.id = NewObjectId();
  m.source = "/old";
  m.tree = tid;
  ASSERT_TRUE((*repo)->SaveManifest(m, nullptr));
  auto r = tv.vault->Restore(IdHex(m.id), tmp / "dst", {}, nullptr, nullptr);
  ASSERT_TRUE(r) << r.error().ToString();
  struct stat st;
  ASSERT_EQ(::lstat((tmp / "dst/old").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500000000);
}

}  // namespace
}  // namespace mlvault::vault
