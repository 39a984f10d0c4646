// btrfs change detection through BTRFS_IOC_TREE_SEARCH_V2 (see btrfs_changes.h).
//
// A tree search with min_transid skips every tree block last written before that transaction, so
// it returns the items of the leaves written since (a superset of the changed items: a leaf is
// rewritten whole). Every change to a file or directory rewrites an item keyed by its inode
// number (its inode item: ctime; its extents, xattrs, references, or a directory's entries), so
// the inode numbers found are every changed inode. A directory must be walked again when its
// entries changed (its own inode changes) or when an entry's metadata changed (that entry's inode
// changes: its parents are found through its INODE_REF / INODE_EXTREF items), and so must every
// ancestor, whose entry for it gets a new tree id.
#include "vault/btrfs_changes.h"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "util/log.h"

namespace mlvault::vault::btrfs {
namespace {

constexpr size_t kSearchBuf = 256u << 10;

struct SearchBuffer {
  SearchBuffer() : raw(new uint64_t[(sizeof(btrfs_ioctl_search_args_v2) + kSearchBuf) / 8 + 1]) {}
  btrfs_ioctl_search_args_v2* args() {
    return reinterpret_cast<btrfs_ioctl_search_args_v2*>(raw.get());
  }
  std::unique_ptr<uint64_t[]> raw;
};

// Calls `item(header, data)` for every item of the fs tree of `fd` in [min, max] key range whose
// leaf was written at or after `min_transid`.
template <typename Fn>
util::Status Search(int fd, SearchBuffer& buf, uint64_t min_objectid, uint64_t max_objectid,
                    uint32_t min_type, uint32_t max_type, uint64_t min_transid, Fn&& item) {
  btrfs_ioctl_search_args_v2* a = buf.args();
  std::memset(a, 0, sizeof(*a));
  btrfs_ioctl_search_key& k = a->key;
  k.tree_id = 0;  // the subvolume of fd
  k.min_objectid = min_objectid;
  k.max_objectid = max_objectid;
  k.min_type = min_type;
  k.max_type = max_type;
  k.min_offset = 0;
  k.max_offset = UINT64_MAX;
  k.min_transid = min_transid;
  k.max_transid = UINT64_MAX;
  while (true) {
    k.nr_items = 4096;
    a->buf_size = kSearchBuf;
    if (::ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, a) < 0) {
      int err = errno;
      if (err == EPERM || err == EACCES)
        return util::PermissionDenied(
            "reading the btrfs tree needs CAP_SYS_ADMIN (BTRFS_IOC_TREE_SEARCH)");
      return util::ErrnoError("btrfs tree search", err);
    }
    if (k.nr_items == 0) return util::Ok();
    size_t off = 0;
    btrfs_ioctl_search_header h{};
    for (uint32_t i = 0; i < k.nr_items; ++i) {
      std::memcpy(&h, a->buf + off, sizeof(h));
      off += sizeof(h);
      item(h, a->buf + off);
      off += h.len;
    }
    // Continue after the last key returned (objectid, type, offset order).
    k.min_objectid = h.objectid;
    k.min_type = h.type;
    k.min_offset = h.offset;
    if (k.min_offset < UINT64_MAX) {
      ++k.min_offset;
    } else {
      k.min_offset = 0;
      if (k.min_type < 255) {
        ++k.min_type;
      } else {
        k.min_type = 0;
        if (k.min_objectid == max_objectid) return util::Ok();
        ++k.min_objectid;
      }
    }
    // Past the range's last key: done. The type bound only applies within the range's objectid
    // bounds (keys are compared as a whole), so the loop relies on the kernel for the rest.
    if (k.min_objectid > max_objectid) return util::Ok();
    if (k.min_objectid == max_objectid && k.min_type > max_type) return util::Ok();
  }
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

}  // namespace

std::optional<SnapshotId> IdentifySnapshot(int dirfd) {
  struct statfs sf;
  if (::fstatfs(dirfd, &sf) != 0 || static_cast<unsigned long>(sf.f_type) != BTRFS_SUPER_MAGIC)
    return std::nullopt;
  struct stat st;
  if (::fstat(dirfd, &st) != 0 || st.st_ino != BTRFS_FIRST_FREE_OBJECTID) return std::nullopt;
  btrfs_ioctl_get_subvol_info_args info{};
  // Some kernels return a positive value on success.
  if (::ioctl(dirfd, BTRFS_IOC_GET_SUBVOL_INFO, &info) < 0) return std::nullopt;
  if ((info.flags & BTRFS_ROOT_SUBVOL_RDONLY) == 0) return std::nullopt;  // root item flags
  static const uint8_t zero[BTRFS_UUID_SIZE] = {};
  if (std::memcmp(info.parent_uuid, zero, BTRFS_UUID_SIZE) == 0) return std::nullopt;
  if (info.otransid == 0) return std::nullopt;
  return SnapshotId{Hex(info.parent_uuid, BTRFS_UUID_SIZE), info.otransid};
}

util::Result<std::unordered_set<uint64_t>> DirtyDirectories(int dirfd, uint64_t since) {
  SearchBuffer buf;
  // 1. Every inode with an item in a leaf written since `since`.
  std::unordered_set<uint64_t> changed;
  MLV_TRY(Search(dirfd, buf, BTRFS_FIRST_FREE_OBJECTID, BTRFS_LAST_FREE_OBJECTID, 0, 255, since,
                 [&](const btrfs_ioctl_search_header& h, const uint8_t*) {
                   changed.insert(h.objectid);
                 }));
  // 2. Each changed inode, and each directory holding it, up to the root. A changed directory
  // is walked itself (its entries may differ); a changed entry makes its directories walked.
  std::unordered_set<uint64_t> dirty;
  std::vector<uint64_t> work(changed.begin(), changed.end());
  changed.clear();
  while (!work.empty()) {
    uint64_t ino = work.back();
    work.pop_back();
    if (!dirty.insert(ino).second) continue;
    if (ino == BTRFS_FIRST_FREE_OBJECTID) continue;  // the root: its parent is outside
    MLV_TRY(Search(dirfd, buf, ino, ino, BTRFS_INODE_REF_KEY, BTRFS_INODE_EXTREF_KEY, 0,
                   [&](const btrfs_ioctl_search_header& h, const uint8_t* data) {
                     if (h.objectid != ino) return;
                     if (h.type == BTRFS_INODE_REF_KEY) {
                       if (!dirty.contains(h.offset)) work.push_back(h.offset);
                     } else if (h.type == BTRFS_INODE_EXTREF_KEY) {
                       // One item may hold several references (hash collisions).
                       size_t off = 0;
                       while (off + sizeof(btrfs_inode_extref) <= h.len) {
                         btrfs_inode_extref x;
                         std::memcpy(&x, data + off, sizeof(x));
                         uint64_t parent = x.parent_objectid;  // little-endian hosts only
                         if (!dirty.contains(parent)) work.push_back(parent);
                         off += sizeof(btrfs_inode_extref) + x.name_len;
                       }
                     }
                   }));
  }
  // Inodes that are files are harmless in the set: it is only asked about directories.
  return dirty;
}

}  // namespace mlvault::vault::btrfs
