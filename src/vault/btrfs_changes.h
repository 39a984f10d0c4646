// Change detection on btrfs snapshots: which directories of a read-only snapshot may differ from
// an earlier snapshot of the same subvolume, from the filesystem's own record (every metadata
// block carries the transaction id that last wrote it; `btrfs subvolume find-new` semantics) and
// each changed inode's ctime. The backup walks only those directories and takes every other
// directory's tree from the parent recovery point (docs/vault-format.md section 7, "changeBase").
//
// Stateless functions over an open descriptor; thread-safe. Reading the tree needs CAP_SYS_ADMIN
// (BTRFS_IOC_TREE_SEARCH): without it FindChanges fails with kPermissionDenied and the backup
// walks every directory as elsewhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "util/error.h"

namespace mlvault::vault::btrfs {

// The inode number of a subvolume's root directory.
constexpr uint64_t kRootInode = 256;

// An inode whose ctime is less than this many seconds before the parent snapshot's creation
// time counts as changed even when nothing else says so: a syscall takes its timestamp before it
// joins a transaction, and one that waited for the snapshot's commit lands after the snapshot
// with a ctime just before it (btrfs_changes.cc).
constexpr int64_t kCtimeMarginSeconds = 60;

// Above this fraction of the parent's entries changed, the backup walks every directory: the
// detection then costs about what the walk does and saves little (docs/vault-format.md 7).
constexpr double kWalkFraction = 0.25;

// A read-only snapshot, identified for change detection.
struct SnapshotId {
  std::string subvolume;    // uuid (32 hex) of the subvolume it is a snapshot of
  uint64_t generation = 0;  // the transaction that created it (otransid)
  // Its creation time (the kernel's clock in that transaction's commit); 0 when not known.
  int64_t otime_sec = 0;
  uint32_t otime_nsec = 0;
};

// The identity of `dirfd` if it is the root directory of a read-only btrfs snapshot; nullopt for
// anything else (not btrfs, not a subvolume root, writable, not a snapshot, or an old kernel).
std::optional<SnapshotId> IdentifySnapshot(int dirfd);

// What differs between the snapshot `dirfd` and an earlier snapshot of the same subvolume.
struct Changes {
  // True when the caller should walk every directory instead (more than `max_changed` inodes
  // changed); `reason` says why and the sets are empty.
  bool walk_all = false;
  std::string reason;
  // Directories to walk: each holding a changed inode or whose own entries changed, and every
  // ancestor of such a directory up to the root (256). May also hold file inode numbers.
  std::unordered_set<uint64_t> dirty;
  // Files with data written since the parent's snapshot: read even if size, mtime and ctime
  // equal the parent's (a write just before the snapshot whose data reached the disk after it).
  std::unordered_set<uint64_t> data_written;
  uint64_t inodes_changed = 0;
  // False when the ctime rule could not be used (no recorded parent time, the clock went
  // backwards): then every inode with an item written since counted as changed.
  bool ctime_rule = false;
};

// Inodes of the snapshot `dirfd` (a subvolume root, `current` its identity) that may differ from
// the snapshot `parent` of the same subvolume (parent.generation <= current.generation), and the
// directories to walk for them. An inode counts as changed when an item of it lies in a metadata
// block written after the parent's transaction AND (its inode item says it was created since, or
// its ctime is not older than the parent's creation time minus kCtimeMarginSeconds, or a data
// extent of it was written since). An inode whose only change is its atime (readers of the live
// volume under relatime) therefore does not count. Without a recorded parent time, or when a
// ctime or the current snapshot's time shows the clock went backwards, every inode with an item
// written since counts (ctime_rule false). A superset: a directory outside `dirty` is identical,
// with everything below it, to the directory of the same inode number in `parent`.
// Errors: kPermissionDenied without CAP_SYS_ADMIN, kIo otherwise.
util::Result<Changes> FindChanges(int dirfd, const SnapshotId& current, const SnapshotId& parent,
                                  uint64_t max_changed);

// ---- Block volumes: the data of one file that is the same as in an earlier snapshot.

// The identity of the read-only btrfs snapshot that holds the file `fd` (any inode in it), as
// IdentifySnapshot; nullopt for anything else.
std::optional<SnapshotId> IdentifySnapshotOfFile(int fd);

// A byte range [start, end) of a file.
struct ByteRange {
  uint64_t start = 0;
  uint64_t end = 0;
  bool operator==(const ByteRange&) const = default;
};

// One file extent item of a file: the file's bytes [offset, offset + length) are the bytes from
// `extent_offset` on of the data extent at logical address `bytenr` (decompressed), created by
// transaction `generation`. `kind` is the item's type (1 regular, 2 preallocated) | compression
// << 8 | encryption << 16 | other encoding << 24.
struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t bytenr = 0;
  uint64_t extent_offset = 0;
  uint64_t generation = 0;
  uint32_t kind = 0;
  bool operator==(const Extent&) const = default;
};

// The data extents of a file, for comparing with those recorded in an earlier backup.
struct FileExtents {
  // Sorted by offset. Holes and inline extents are not listed.
  std::vector<Extent> extents;
  // Non-empty when the list says nothing of the file's data and is empty: the file is NOCOW
  // (chattr +C, mount -o nodatacow: btrfs overwrites its extents in place), or it has more than
  // `max_extents` extents.
  std::string reason;
};

// The data extents of the regular file `fd` on btrfs (a tree search of its file extent items).
// Errors: kPermissionDenied without CAP_SYS_ADMIN (BTRFS_IOC_TREE_SEARCH), kIo otherwise.
util::Result<FileExtents> ReadExtents(int fd, size_t max_extents);

// Where two extent lists of the same file (or of files on the same filesystem) hold the same
// bytes: the ranges where both map the file to the same extent (bytenr and generation), at the
// same place in it, with the same kind. Sorted, disjoint, non-adjacent. See btrfs_changes.cc for
// why that is exact for two read-only snapshots of copy-on-write files.
std::vector<ByteRange> SameData(const std::vector<Extent>& before,
                                const std::vector<Extent>& now);

}  // namespace mlvault::vault::btrfs
