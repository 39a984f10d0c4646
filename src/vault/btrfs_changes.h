// Change detection on btrfs snapshots: which directories of a read-only snapshot may differ from
// an earlier snapshot of the same subvolume, from the filesystem's own record (every metadata
// block carries the transaction id that last wrote it; `btrfs subvolume find-new` semantics).
// The backup walks only those directories and takes every other directory's tree from the
// parent recovery point (docs/vault-format.md section 7, "changeBase").
//
// Stateless functions over an open descriptor; thread-safe. Reading the tree needs CAP_SYS_ADMIN
// (BTRFS_IOC_TREE_SEARCH): without it DirtyDirectories fails with kPermissionDenied and the
// backup walks every directory as elsewhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>

#include "util/error.h"

namespace mlvault::vault::btrfs {

// The inode number of a subvolume's root directory.
constexpr uint64_t kRootInode = 256;

// A read-only snapshot, identified for change detection.
struct SnapshotId {
  std::string subvolume;    // uuid (32 hex) of the subvolume it is a snapshot of
  uint64_t generation = 0;  // the transaction that created it (otransid)
};

// The identity of `dirfd` if it is the root directory of a read-only btrfs snapshot; nullopt for
// anything else (not btrfs, not a subvolume root, writable, not a snapshot, or an old kernel).
std::optional<SnapshotId> IdentifySnapshot(int dirfd);

// Inode numbers of the directories of the snapshot `dirfd` (a subvolume root) whose listing or
// whose entries' metadata may have been written in transaction `since` or later (pass G+1 for
// changes since the snapshot that transaction G created), together with every
// ancestor of such a directory up to the root (256). A superset: a directory outside the set is
// identical, with everything below it, to the directory of the same inode number in the
// snapshot of the same subvolume that transaction `since` - 1 created.
// Errors: kPermissionDenied without CAP_SYS_ADMIN, kIo otherwise.
util::Result<std::unordered_set<uint64_t>> DirtyDirectories(int dirfd, uint64_t since);

}  // namespace mlvault::vault::btrfs
