// btrfs subvolumes and read-only snapshots (through libbtrfsutil), for the local provider: on a
// btrfs storage root each volume is a subvolume, and a backup's consistent moment is a read-only
// snapshot of each, taken while the workspace is quiesced (docs/control-plane.md, "Backup").
//
// Stateless functions; thread-safe. Errors: kNotFound when a path does not exist,
// kPermissionDenied when the kernel refuses (deleting a snapshot needs CAP_SYS_ADMIN unless the
// filesystem is mounted with user_subvol_rm_allowed), kInvalidArgument when the path is not on
// btrfs or not a subvolume, kConflict when the target exists, kIo otherwise; each message names
// the path and the operation.
#pragma once

#include <string>

#include "util/error.h"

namespace mlvault::workspace::btrfs {

// True if `path` (which must exist) is on a btrfs filesystem (statfs magic).
bool IsBtrfs(const std::string& path);
// True if `path` is the root of a btrfs subvolume; false if it is a plain folder or not on btrfs.
bool IsSubvolume(const std::string& path);
// Creates an empty subvolume at `path` (its parent must exist on btrfs; `path` must not exist).
util::Status CreateSubvolume(const std::string& path);
// Creates a read-only snapshot of subvolume `source` at `dest` (`dest` must not exist; its
// parent must be on the same btrfs filesystem).
util::Status CreateReadOnlySnapshot(const std::string& source, const std::string& dest);
// Deletes the subvolume or snapshot at `path` with everything in it (one ioctl, no walk).
util::Status DeleteSubvolume(const std::string& path);
// Flushes the filesystem holding `path` (syncfs), so that a snapshot taken soon after has
// little dirty data left to write.
util::Status Sync(const std::string& path);

}  // namespace mlvault::workspace::btrfs
