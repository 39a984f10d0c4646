// Restore, metadata: owners, permissions and times of restored entries.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vault/restorer_internal.h"

namespace mlvault::vault::restore {

void Restorer::ApplyMeta(int fd, const TreeEntry& e, const std::string& path, bool mode_set) {
  // A file this process created already has its uid and gid (directories being restored are
  // 0700 and carry no setgid bit), so chown only when the recorded owner differs.
  const bool owner_ok = owner_is_creator_ && e.uid == euid_ && e.gid == egid_;
  if (chown_ && !owner_ok && ::fchown(fd, e.uid, e.gid) != 0) {
    Warn(fmt::format("cannot set owner of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
  if (!mode_set && ::fchmod(fd, e.mode) != 0) {
    Warn(fmt::format("cannot set mode of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
  struct timespec ts[2];
  ts[0].tv_sec = e.mtime_sec;
  ts[0].tv_nsec = e.mtime_nsec;
  ts[1] = ts[0];
  if (::futimens(fd, ts) != 0) {
    Warn(fmt::format("cannot set times of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
}

void Restorer::ApplyMetaAt(int dirfd, const std::string& name, const TreeEntry& e,
                           const std::string& path) {
  if (chown_ && ::fchownat(dirfd, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    Warn(fmt::format("cannot set owner of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
  if (e.type != EntryType::kSymlink && ::fchmodat(dirfd, name.c_str(), e.mode, 0) != 0) {
    Warn(fmt::format("cannot set mode of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
  struct timespec ts[2];
  ts[0].tv_sec = e.mtime_sec;
  ts[0].tv_nsec = e.mtime_nsec;
  ts[1] = ts[0];
  if (::utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    Warn(fmt::format("cannot set times of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
}

}  // namespace mlvault::vault::restore
