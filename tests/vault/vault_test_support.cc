#include "vault_test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>

#include "backend/backend.h"
#include "util/files.h"

namespace mlvault::vault::testing {

TempDir::TempDir() {
  auto p = util::MakeTempDir("mlvault-vt");
  if (!p) std::abort();
  path_ = *p;
}

TempDir::~TempDir() {
  // Read-only directories left by tests must not stop the cleanup.
  std::string cmd = "chmod -R u+rwx '" + path_ + "' 2>/dev/null; rm -rf '" + path_ + "'";
  (void)std::system(cmd.c_str());
}

void SetMtime(const std::string& path, int64_t sec, long nsec, bool nofollow) {
  struct timespec ts[2];
  ts[0].tv_sec = sec;
  ts[0].tv_nsec = nsec;
  ts[1] = ts[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, nofollow ? AT_SYMLINK_NOFOLLOW : 0), 0) << path;
}

void WriteFile(const std::string& path, std::string_view data, mode_t mode, int64_t mtime_sec,
               long mtime_nsec) {
  auto slash = path.rfind('/');
  ASSERT_TRUE(util::MakeDirs(path.substr(0, slash)));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_TRUE(util::WriteAll(fd, util::AsBytes(data), path));
  ::close(fd);
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  SetMtime(path, mtime_sec, mtime_nsec);
}

std::string ReadAll(const std::string& path) {
  auto r = util::ReadFile(path);
  return r ? *r : std::string();
}

bool SameContent(const std::string& a, const std::string& b) {
  util::UniqueFd fa(::open(a.c_str(), O_RDONLY | O_CLOEXEC)),
      fb(::open(b.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fa.valid() || !fb.valid()) return false;
  static thread_local std::vector<char> ba(1 << 20), bb(1 << 20);
  off_t off = 0;
  while (true) {
    ssize_t na = ::pread(fa.get(), ba.data(), ba.size(), off);
    ssize_t nb = ::pread(fb.get(), bb.data(), bb.size(), off);
    if (na != nb || na < 0) return false;
    if (na == 0) return true;
    if (std::memcmp(ba.data(), bb.data(), static_cast<size_t>(na)) != 0) return false;
    off += na;
  }
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  for (size_t i = n & ~size_t{7}; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

std::string Text(size_t n, uint32_t seed) {
  static const char* words[] = {"tensor",   "batch", "epoch", "loss", "model", "layer",
                                "weight",   "the",   "of",    "data", "train", "eval",
                                "gradient", "token", "mask",  "vocab"};
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(n + 16);
  while (s.size() < n) {
    s += words[rng() % 16];
    s += (rng() % 9 == 0) ? '\n' : ' ';
  }
  s.resize(n);
  return s;
}

void MakeEverythingTree(const std::string& root) {
  const bool root_user = ::geteuid() == 0;
  ASSERT_TRUE(util::MakeDirs(root));
  WriteFile(root + "/plain.txt", Text(20000, 1));
  WriteFile(root + "/empty", "", 0600);
  WriteFile(root + "/big.bin", RandomBytes(3 * 1024 * 1024 + 17, 2), 0640, 1600000000, 1);
  WriteFile(root + "/with space and\nnewline", Text(100, 3), 0600);
  WriteFile(root + std::string("/non-utf8-\xff\xfe-name"), Text(50, 4));
  WriteFile(root + "/" + std::string(255, 'L'), Text(10, 5));
  WriteFile(root + "/setuid-exec", "#!/bin/sh\n", 04755);
  WriteFile(root + "/readonly", Text(77, 6), 0444);
  // Hard links: three names for one inode, two directories.
  WriteFile(root + "/links/a", Text(5000, 7));
  ASSERT_EQ(::link((root + "/links/a").c_str(), (root + "/links/b").c_str()), 0);
  ASSERT_TRUE(util::MakeDirs(root + "/links/sub"));
  ASSERT_EQ(::link((root + "/links/a").c_str(), (root + "/links/sub/c").c_str()), 0);
  // Symlinks: relative, absolute, dangling; never followed by backup or restore.
  ASSERT_EQ(::symlink("plain.txt", (root + "/rel-link").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (root + "/abs-link").c_str()), 0);
  ASSERT_EQ(::symlink("../nowhere/at/all", (root + "/dangling").c_str()), 0);
  ASSERT_EQ(::symlink("..", (root + "/links/up").c_str()), 0);
  // Sparse: a hole, a little data, a hole to the end.
  {
    std::string p = root + "/sparse.img";
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    std::string d = Text(5000, 8);
    ASSERT_EQ(::pwrite(fd, d.data(), d.size(), 8 << 20), static_cast<ssize_t>(d.size()));
    ASSERT_EQ(::ftruncate(fd, 24 << 20), 0);
    ::close(fd);
    SetMtime(p, 1700000001, 5);
  }
  // Deep nesting and an empty directory.
  std::string deep = root + "/deep";
  for (int i = 0; i < 30; ++i) deep += "/level" + std::to_string(i);
  WriteFile(deep + "/leaf", "leaf");
  ASSERT_TRUE(util::MakeDirs(root + "/empty-dir"));
  // A read-only directory with a file inside.
  WriteFile(root + "/ro-dir/inside", "x");
  ASSERT_EQ(::chmod((root + "/ro-dir").c_str(), 0555), 0);
  // Special files.
  ASSERT_EQ(::mkfifo((root + "/fifo").c_str(), 0640), 0);
  {
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(s, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::string sp = root + "/sock";
    ASSERT_LT(sp.size(), sizeof(addr.sun_path));
    std::strcpy(addr.sun_path, sp.c_str());
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(s);
  }
  if (root_user) {
    ASSERT_EQ(::mknod((root + "/null-dev").c_str(), S_IFCHR | 0620, makedev(1, 3)), 0);
    ASSERT_EQ(::chown((root + "/plain.txt").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::lchown((root + "/rel-link").c_str(), 4321, 8765), 0);
    ASSERT_EQ(::chown((root + "/links").c_str(), 99, 98), 0);
  }
  // Times last (creating entries changes directory mtimes).
  SetMtime(root + "/rel-link", 1690000000, 42, true);
  SetMtime(root + "/fifo", 1690000001, 43);
  SetMtime(root + "/links/sub", 1690000002, 44);
  SetMtime(root + "/links", 1690000003, 45);
  SetMtime(root + "/empty-dir", 1690000004, 46);
  SetMtime(root, 1690000005, 47);
}

namespace {

struct Node {
  struct stat st;
  std::string target;
};

void Walk(const std::string& root, const std::string& rel, std::map<std::string, Node>& out) {
  std::string path = rel.empty() ? root : root + "/" + rel;
  Node n;
  if (::lstat(path.c_str(), &n.st) != 0) return;
  if (S_ISLNK(n.st.st_mode)) {
    char buf[4096];
    ssize_t k = ::readlink(path.c_str(), buf, sizeof buf);
    if (k > 0) n.target.assign(buf, static_cast<size_t>(k));
  }
  out[rel] = n;
  if (!S_ISDIR(n.st.st_mode)) return;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (struct dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, ".."))
      names.emplace_back(de->d_name);
  }
  ::closedir(d);
  for (const auto& name : names) Walk(root, rel.empty() ? name : rel + "/" + name, out);
}

}  // namespace

std::vector<std::string> CompareTrees(const std::string& a, const std::string& b, bool owners) {
  std::map<std::string, Node> ta, tb;
  Walk(a, "", ta);
  Walk(b, "", tb);
  std::vector<std::string> diff;
  std::map<ino_t, ino_t> links;
  for (const auto& [rel, na] : ta) {
    if (S_ISSOCK(na.st.st_mode)) continue;  // sockets are not restored by design
    auto it = tb.find(rel);
    const std::string name = rel.empty() ? "." : rel;
    if (it == tb.end()) {
      diff.push_back(name + ": missing");
      continue;
    }
    const Node& nb = it->second;
    if ((na.st.st_mode & S_IFMT) != (nb.st.st_mode & S_IFMT)) {
      diff.push_back(name + ": type differs");
      continue;
    }
    if (!S_ISLNK(na.st.st_mode) && (na.st.st_mode & 07777) != (nb.st.st_mode & 07777)) {
      diff.push_back(name + ": mode " + std::to_string(na.st.st_mode & 07777) + " vs " +
                     std::to_string(nb.st.st_mode & 07777));
    }
    if (owners && (na.st.st_uid != nb.st.st_uid || na.st.st_gid != nb.st.st_gid))
      diff.push_back(name + ": owner");
    if (na.st.st_mtim.tv_sec != nb.st.st_mtim.tv_sec ||
        na.st.st_mtim.tv_nsec != nb.st.st_mtim.tv_nsec) {
      diff.push_back(name + ": mtime");
    }
    if (S_ISLNK(na.st.st_mode) && na.target != nb.target) diff.push_back(name + ": link target");
    if (S_ISCHR(na.st.st_mode) && na.st.st_rdev != nb.st.st_rdev) diff.push_back(name + ": rdev");
    if (S_ISREG(na.st.st_mode)) {
      if (na.st.st_size != nb.st.st_size)
        diff.push_back(name + ": size");
      else if (!SameContent(a + "/" + rel, b + "/" + rel))
        diff.push_back(name + ": content");
      if (nb.st.st_blocks > na.st.st_blocks + 128) diff.push_back(name + ": less sparse");
      if (na.st.st_nlink != nb.st.st_nlink) diff.push_back(name + ": link count");
      if (na.st.st_nlink > 1) {
        auto [l, inserted] = links.emplace(na.st.st_ino, nb.st.st_ino);
        if (!inserted && l->second != nb.st.st_ino)
          diff.push_back(name + ": hard link group broken");
      }
    }
  }
  for (const auto& [rel, nb] : tb) {
    if (!ta.count(rel)) diff.push_back(rel + ": extra");
  }
  return diff;
}

TestVault MakeVault(const TempDir& tmp, const Options& options) {
  TestVault v;
  v.dir = tmp / "vault";
  v.key_file = tmp / "vault.key";
  EXPECT_TRUE(WriteNewKeyFile(v.key_file));
  auto be = backend::OpenLocal(v.dir, true);
  EXPECT_TRUE(be);
  auto vt = Vault::Init(std::move(*be), KeySource::FromKeyFile(v.key_file), {}, options);
  EXPECT_TRUE(vt) << vt.error().ToString();
  if (vt) v.vault = std::move(*vt);
  return v;
}

std::unique_ptr<Vault> ReopenVault(const TestVault& v, const Options& options) {
  auto be = backend::OpenLocal(v.dir, false);
  EXPECT_TRUE(be);
  auto vt = Vault::Open(std::move(*be), KeySource::FromKeyFile(v.key_file), options);
  EXPECT_TRUE(vt) << vt.error().ToString();
  return vt ? std::move(*vt) : nullptr;
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::map<std::string, Node> t;
  Walk(dir, "", t);
  std::vector<std::string> out;
  for (const auto& [rel, n] : t) {
    if (S_ISREG(n.st.st_mode)) out.push_back(rel);
  }
  return out;
}

}  // namespace mlvault::vault::testing
