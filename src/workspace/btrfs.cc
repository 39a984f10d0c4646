#include "workspace/btrfs.h"

#include <btrfsutil.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mlvault::workspace::btrfs {
namespace {

// libbtrfsutil reports its own error and leaves the system's in errno.
util::Status Fail(std::string what, enum btrfs_util_error err) {
  int saved = errno;
  std::string msg = what + ": " + btrfs_util_strerror(err);
  if (err == BTRFS_UTIL_ERROR_NOT_BTRFS || err == BTRFS_UTIL_ERROR_NOT_SUBVOLUME)
    return util::InvalidArgument(msg);
  if (saved != 0) return util::ErrnoError(msg, saved);
  return util::MakeError(util::ErrorCode::kIo, msg);
}

}  // namespace

bool IsBtrfs(const std::string& path) {
  struct statfs sf;
  return ::statfs(path.c_str(), &sf) == 0 && static_cast<unsigned long>(sf.f_type) == BTRFS_SUPER_MAGIC;
}

bool IsSubvolume(const std::string& path) {
  return btrfs_util_is_subvolume(path.c_str()) == BTRFS_UTIL_OK;
}

util::Status CreateSubvolume(const std::string& path) {
  errno = 0;
  if (auto e = btrfs_util_create_subvolume(path.c_str(), 0, nullptr, nullptr); e != BTRFS_UTIL_OK)
    return Fail("cannot create btrfs subvolume " + path, e);
  return util::Ok();
}

util::Status CreateReadOnlySnapshot(const std::string& source, const std::string& dest) {
  errno = 0;
  if (auto e = btrfs_util_create_snapshot(source.c_str(), dest.c_str(),
                                          BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, nullptr, nullptr);
      e != BTRFS_UTIL_OK)
    return Fail("cannot snapshot btrfs subvolume " + source + " to " + dest, e);
  return util::Ok();
}

util::Status DeleteSubvolume(const std::string& path) {
  errno = 0;
  if (auto e = btrfs_util_delete_subvolume(path.c_str(), 0); e != BTRFS_UTIL_OK) {
    util::Status st = Fail("cannot delete btrfs subvolume " + path, e);
    if (st.error().code() == util::ErrorCode::kPermissionDenied)
      return util::MakeError(util::ErrorCode::kPermissionDenied,
                             st.error().message() +
                                 " (deleting a subvolume needs root, or the filesystem mounted "
                                 "with -o user_subvol_rm_allowed)");
    return st;
  }
  return util::Ok();
}

util::Status Sync(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return util::ErrnoError("cannot open " + path, errno);
  int rc = ::syncfs(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return util::ErrnoError("cannot flush the filesystem of " + path, err);
  return util::Ok();
}

}  // namespace mlvault::workspace::btrfs
