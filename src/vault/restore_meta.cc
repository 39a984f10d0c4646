// Restore, metadata: owners, permissions and times of restored entries.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vault/file_meta.h"
#include "vault/restorer_internal.h"

namespace mlvault::vault::restore {

std::pair<uid_t, gid_t> Restorer::OwnerOf(const TreeEntry& e) {
  // By name where the name exists on this machine (the ids of two machines often differ),
  // else by the recorded id.
  uid_t uid = e.uid;
  gid_t gid = e.gid;
  if (auto u = names_.Uid(e.user)) uid = *u;
  if (auto g = names_.Gid(e.group)) gid = *g;
  return {uid, gid};
}

void Restorer::ApplyExtras(int fd, const std::string& via, const TreeEntry& e, const PathFn& path) {
  if (e.xattrs.empty()) return;
  for (const auto& refused : WriteXattrs(fd, via, e.xattrs))
    Warn(fmt::format("cannot restore extended {} of {}", refused, PrintablePath(path())));
}

void Restorer::ApplyMeta(int fd, const TreeEntry& e, const PathFn& path, bool mode_set,
                         bool created) {
  // A file this process created already has its uid and gid (directories being restored are
  // 0700 and carry no setgid bit), so chown only when the recorded owner differs.
  if (chown_) {
    const auto [uid, gid] = OwnerOf(e);
    const bool owner_ok = created && owner_is_creator_ && uid == euid_ && gid == egid_;
    if (!owner_ok && ::fchown(fd, uid, gid) != 0) {
      const int err = errno;
      Warn(fmt::format("cannot set owner of {}: {}", PrintablePath(path()), std::strerror(err)));
    }
  }
  if (!mode_set && ::fchmod(fd, e.mode) != 0) {
    Warn(fmt::format("cannot set mode of {}: {}", PrintablePath(path()), std::strerror(errno)));
  }
  // After owner and mode: chown clears file capabilities, and an ACL sets the group bits.
  ApplyExtras(fd, "", e, path);
  struct timespec ts[2];
  ts[0].tv_sec = e.mtime_sec;
  ts[0].tv_nsec = e.mtime_nsec;
  ts[1] = ts[0];
  if (::futimens(fd, ts) != 0) {
    Warn(fmt::format("cannot set times of {}: {}", PrintablePath(path()), std::strerror(errno)));
  }
  // Last: an immutable or append-only inode refuses every change after this.
  if ((e.fs_flags & kRestorableFsFlags) != 0) {
    if (auto st = WriteFsFlags(fd, e.fs_flags); !st)
      Warn(fmt::format("cannot restore {} of {}", st.error().message(), PrintablePath(path())));
  }
}

namespace {

mode_t KindOf(EntryType t) {
  switch (t) {
    case EntryType::kSymlink:
      return S_IFLNK;
    case EntryType::kFifo:
      return S_IFIFO;
    case EntryType::kCharDev:
      return S_IFCHR;
    case EntryType::kBlockDev:
      return S_IFBLK;
    default:
      return S_IFREG;
  }
}

}  // namespace

void Restorer::ApplyMetaAt(int dirfd, const std::string& name, const TreeEntry& e,
                           const PathFn& path) {
  // An O_PATH descriptor of the entry just created (never following a symlink), checked to be
  // what we made: every change below goes to that inode, whatever is renamed meanwhile.
  UniqueFd fd(::openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || (st.st_mode & S_IFMT) != KindOf(e.type)) {
    Warn(fmt::format("cannot set metadata of {}: it changed while being restored",
                     PrintablePath(path())));
    return;
  }
  if (chown_ && ::fchownat(fd.get(), "", OwnerOf(e).first, OwnerOf(e).second,
                           AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    Warn(fmt::format("cannot set owner of {}: {}", PrintablePath(path()), std::strerror(errno)));
  }
  // fchmod and fsetxattr refuse O_PATH descriptors; the /proc magic link reaches exactly this
  // inode (a symlink's own, not its target).
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  if (e.type != EntryType::kSymlink && ::fchmodat(AT_FDCWD, self.c_str(), e.mode, 0) != 0) {
    Warn(fmt::format("cannot set mode of {}: {}", PrintablePath(path()), std::strerror(errno)));
  }
  ApplyExtras(-1, self, e, path);
  struct timespec ts[2];
  ts[0].tv_sec = e.mtime_sec;
  ts[0].tv_nsec = e.mtime_nsec;
  ts[1] = ts[0];
  if (::utimensat(fd.get(), "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    Warn(fmt::format("cannot set times of {}: {}", PrintablePath(path()), std::strerror(errno)));
  }
}

}  // namespace mlvault::vault::restore
