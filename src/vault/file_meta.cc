#include "vault/file_meta.h"

#include <grp.h>
#include <linux/fs.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mlvault::vault {
namespace {

bool NoXattrSupport(int err) { return err == ENOTSUP || err == ENOSYS; }

ssize_t List(int fd, const std::string& path, char* buf, size_t size) {
  return fd >= 0 ? ::flistxattr(fd, buf, size) : ::llistxattr(path.c_str(), buf, size);
}
ssize_t Get(int fd, const std::string& path, const char* name, void* buf, size_t size) {
  return fd >= 0 ? ::fgetxattr(fd, name, buf, size) : ::lgetxattr(path.c_str(), name, buf, size);
}

}  // namespace

util::Result<Xattrs> ReadXattrs(int fd, const std::string& path,
                                const std::function<std::string()>& shown) {
  Xattrs out;
  // Most files have no attributes: a first listing into the stack, no allocation per file.
  char first[256];
  ssize_t n = List(fd, path, first, sizeof first);
  if (n == 0) return out;
  std::string names;
  if (n > 0) {
    names.assign(first, static_cast<size_t>(n));
  } else {
    while (true) {
      if (errno == ERANGE) {
        ssize_t need = List(fd, path, nullptr, 0);
        if (need < 0) return util::ErrnoError("cannot list extended attributes of " + shown(), errno);
        names.resize(static_cast<size_t>(need) + 1);
      } else if (NoXattrSupport(errno)) {
        return out;
      } else {
        return util::ErrnoError("cannot list extended attributes of " + shown(), errno);
      }
      n = List(fd, path, names.data(), names.size());
      if (n >= 0) break;
    }
    names.resize(static_cast<size_t>(n));
  }
  std::string value;
  for (size_t at = 0; at < names.size();) {
    const char* name = names.c_str() + at;
    const size_t len = std::strlen(name);
    at += len + 1;
    if (len == 0) continue;
    value.resize(256);
    ssize_t v;
    while (true) {
      v = Get(fd, path, name, value.data(), value.size());
      if (v >= 0) break;
      if (errno == ERANGE) {
        ssize_t need = Get(fd, path, name, nullptr, 0);
        if (need < 0) break;
        value.resize(static_cast<size_t>(need) + 1);
        continue;
      }
      break;
    }
    if (v < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return util::ErrnoError(
          "cannot read extended attribute " + std::string(name) + " of " + shown(), errno);
    }
    out.emplace_back(std::string(name, len), value.substr(0, static_cast<size_t>(v)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> WriteXattrs(int fd, const std::string& path, const Xattrs& xattrs) {
  std::vector<std::string> refused;
  for (const auto& [name, value] : xattrs) {
    int r = fd >= 0 ? ::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0)
                    : ::setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0);
    if (r != 0) refused.push_back("attribute " + name + ": " + std::strerror(errno));
  }
  return refused;
}

uint32_t ReadFsFlags(int fd) {
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return 0;
  return static_cast<uint32_t>(flags);
}

util::Status WriteFsFlags(int fd, uint32_t flags) {
  const uint32_t want = flags & kRestorableFsFlags;
  if (want == 0) return util::Ok();
  int cur = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &cur) != 0) return util::ErrnoError("inode flags", errno);
  int next = cur | static_cast<int>(want);
  if (next == cur) return util::Ok();
  if (::ioctl(fd, FS_IOC_SETFLAGS, &next) != 0) return util::ErrnoError("inode flags", errno);
  return util::Ok();
}

std::string OwnerNames::User(uid_t uid) {
  util::MutexLock lk(mu_);
  auto it = users_.find(uid);
  if (it != users_.end()) return it->second;
  struct passwd pw, *res = nullptr;
  char buf[4096];
  std::string name;
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res != nullptr) name = pw.pw_name;
  users_.emplace(uid, name);
  return name;
}

std::string OwnerNames::Group(gid_t gid) {
  util::MutexLock lk(mu_);
  auto it = groups_.find(gid);
  if (it != groups_.end()) return it->second;
  struct group gr, *res = nullptr;
  char buf[16384];
  std::string name;
  if (::getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res != nullptr) name = gr.gr_name;
  groups_.emplace(gid, name);
  return name;
}

std::optional<uid_t> OwnerNames::Uid(const std::string& name) {
  if (name.empty()) return std::nullopt;
  util::MutexLock lk(mu_);
  auto it = uids_.find(name);
  if (it != uids_.end()) return it->second;
  struct passwd pw, *res = nullptr;
  char buf[4096];
  std::optional<uid_t> id;
  if (::getpwnam_r(name.c_str(), &pw, buf, sizeof buf, &res) == 0 && res != nullptr) id = pw.pw_uid;
  uids_.emplace(name, id);
  return id;
}

std::optional<gid_t> OwnerNames::Gid(const std::string& name) {
  if (name.empty()) return std::nullopt;
  util::MutexLock lk(mu_);
  auto it = gids_.find(name);
  if (it != gids_.end()) return it->second;
  struct group gr, *res = nullptr;
  char buf[16384];
  std::optional<gid_t> id;
  if (::getgrnam_r(name.c_str(), &gr, buf, sizeof buf, &res) == 0 && res != nullptr) id = gr.gr_gid;
  gids_.emplace(name, id);
  return id;
}

}  // namespace mlvault::vault
