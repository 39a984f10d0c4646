#include "util/dir_fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mlvault::util {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::string Shown(std::string_view shown, const std::string& name) {
  return shown.empty() ? name : std::string(shown);
}

}  // namespace

Result<UniqueFd> DupFd(int fd) {
  UniqueFd out(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!out.valid()) return ErrnoError("cannot duplicate a descriptor", errno);
  return out;
}

bool IsPathComponent(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Result<UniqueFd> OpenDirAt(int dirfd, const std::string& name, std::string_view shown) {
  UniqueFd fd(::openat(dirfd, name.c_str(), kDirFlags));
  if (!fd.valid()) return ErrnoError("cannot open directory " + Shown(shown, name), errno);
  return fd;
}

Result<UniqueFd> OpenDirBeneath(int rootfd, std::span<const std::string> parts, bool create,
                                int mode) {
  UniqueFd cur = MLV_TRY(DupFd(rootfd));
  std::string shown;
  for (const auto& p : parts) {
    shown += shown.empty() ? p : "/" + p;
    if (!IsPathComponent(p)) return InvalidArgument("bad path component in " + shown);
    int fd = ::openat(cur.get(), p.c_str(), kDirFlags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), p.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
        return ErrnoError("cannot create directory " + shown, errno);
      fd = ::openat(cur.get(), p.c_str(), kDirFlags);
    }
    if (fd < 0) return ErrnoError("cannot open directory " + shown, errno);
    cur.reset(fd);
  }
  return cur;
}

Result<std::vector<std::string>> ListDirFd(int fd, std::string_view shown) {
  int dupfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR* d = dupfd >= 0 ? ::fdopendir(dupfd) : nullptr;
  if (d == nullptr) {
    int err = errno;
    if (dupfd >= 0) ::close(dupfd);
    return ErrnoError("cannot list " + std::string(shown.empty() ? "a directory" : shown), err);
  }
  ::rewinddir(d);  // the duplicate shares its offset with `fd`
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0)
      names.emplace_back(de->d_name);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0)
    return ErrnoError("error listing " + std::string(shown.empty() ? "a directory" : shown), err);
  return names;
}

bool DirIsEmpty(int fd) {
  int dupfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR* d = dupfd >= 0 ? ::fdopendir(dupfd) : nullptr;
  if (d == nullptr) {
    if (dupfd >= 0) ::close(dupfd);
    return false;
  }
  ::rewinddir(d);
  bool empty = true;
  while (struct dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

Status RemoveTreeAt(int dirfd, const std::string& name, std::string_view shown_in) {
  const std::string shown = Shown(shown_in, name);
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok();
    return ErrnoError("cannot stat " + shown, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
      return ErrnoError("cannot remove " + shown, errno);
    return Ok();
  }
  // Iterative, so a deep tree cannot exhaust the stack: a stack of open directories.
  struct Frame {
    UniqueFd fd;
    std::vector<std::string> children;
    std::string name;  // in the parent
  };
  std::vector<Frame> stack;
  {
    UniqueFd fd = MLV_TRY(OpenDirAt(dirfd, name, shown));
    (void)::fchmod(fd.get(), 0700);
    auto children = MLV_TRY(ListDirFd(fd.get(), shown));
    stack.push_back(Frame{std::move(fd), std::move(children), name});
  }
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.children.empty()) {
      std::string done = std::move(top.name);
      stack.pop_back();
      int parent = stack.empty() ? dirfd : stack.back().fd.get();
      if (::unlinkat(parent, done.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        return ErrnoError("cannot remove directory " + shown, errno);
      continue;
    }
    std::string child = std::move(top.children.back());
    top.children.pop_back();
    if (::fstatat(top.fd.get(), child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoError("cannot stat an entry below " + shown, errno);
    }
    if (!S_ISDIR(st.st_mode)) {
      if (::unlinkat(top.fd.get(), child.c_str(), 0) != 0 && errno != ENOENT)
        return ErrnoError("cannot remove an entry below " + shown, errno);
      continue;
    }
    UniqueFd fd = MLV_TRY(OpenDirAt(top.fd.get(), child, shown));
    (void)::fchmod(fd.get(), 0700);
    auto children = MLV_TRY(ListDirFd(fd.get(), shown));
    stack.push_back(Frame{std::move(fd), std::move(children), std::move(child)});
  }
  return Ok();
}

void RaiseFdLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace mlvault::util
