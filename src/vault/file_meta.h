// File metadata beyond stat(2), read at backup and written at restore: extended attributes
// (user.*, trusted.*, security.* such as file capabilities and SELinux labels, and
// system.posix_acl_* which hold POSIX ACLs), inode flags (chattr: immutable, append-only, ...),
// and owner names.
//
// Functions are thread-compatible; OwnerNames is thread-safe (its mu_ guards the four caches).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/mutex.h"

namespace mlvault::vault {

using Xattrs = std::vector<std::pair<std::string, std::string>>;  // sorted by name

// The extended attributes of an open file or directory (`fd` >= 0) or, when fd < 0, of `path`
// without following a symlink (l* calls). A file system without xattr support gives none.
// Errors (unreadable attributes) as util::Error naming `shown()`, which is called only then
// (building a path per file costs).
util::Result<Xattrs> ReadXattrs(int fd, const std::string& path,
                                const std::function<std::string()>& shown);

// Sets each attribute on `fd`, or when fd < 0 on what `path` names, following it: pass the
// /proc/self/fd/<n> link of an O_PATH descriptor (it reaches exactly that inode, even a
// symlink's, and nothing else). Returns one
// "attribute <name>: <reason>" per attribute the target refused (none on success).
std::vector<std::string> WriteXattrs(int fd, const std::string& path, const Xattrs& xattrs);

// The inode flags (FS_IOC_GETFLAGS) of an open regular file or directory; 0 when the file
// system has none.
uint32_t ReadFsFlags(int fd);
// The flags restore sets (those a user sets with chattr and that mean something on another
// file system): immutable, append-only, no-dump, no-atime, synchronous updates, dirsync.
inline constexpr uint32_t kRestorableFsFlags = 0x00000010 /*i*/ | 0x00000020 /*a*/ |
                                               0x00000040 /*d*/ | 0x00000080 /*A*/ |
                                               0x00000008 /*S*/ | 0x00010000 /*D*/;
// Adds the restorable bits of `flags` to `fd`'s flags. An error names the cause (EPERM without
// CAP_LINUX_IMMUTABLE, ENOTTY/EOPNOTSUPP where the file system has no such flags).
util::Status WriteFsFlags(int fd, uint32_t flags);

// uid/gid <-> name lookups, cached (backup asks once per distinct id, restore once per name).
class OwnerNames {
 public:
  std::string User(uid_t uid);
  std::string Group(gid_t gid);
  // The id of `name` on this machine, if it has one.
  std::optional<uid_t> Uid(const std::string& name);
  std::optional<gid_t> Gid(const std::string& name);

 private:
  util::Mutex mu_;
  std::map<uid_t, std::string> users_ MLV_GUARDED_BY(mu_);
  std::map<gid_t, std::string> groups_ MLV_GUARDED_BY(mu_);
  std::map<std::string, std::optional<uid_t>> uids_ MLV_GUARDED_BY(mu_);
  std::map<std::string, std::optional<gid_t>> gids_ MLV_GUARDED_BY(mu_);
};

}  // namespace mlvault::vault
