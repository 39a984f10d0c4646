// btrfs change detection through BTRFS_IOC_TREE_SEARCH_V2 (see btrfs_changes.h).
//
// A tree search with min_transid skips every tree block last written before that transaction, so
// it returns the items of the leaves written since (a superset of the changed items: a leaf is
// rewritten whole). Every change to a file or directory rewrites its inode item (ctime; a write
// also its size or byte count when the data reaches the disk; a directory's entries its size and
// ctime), so an inode whose inode item is not among the items found did not change.
//
// Found is not changed: an atime update by a reader of the live volume (relatime) rewrites the
// inode item too, and so does any change to a neighbour in the same leaf. An inode found counts
// as changed when
//   - its inode item says it was created since (inode numbers can be reused), or
//   - its ctime is not older than the parent snapshot's creation time minus a margin: every
//     change sets the ctime to the current time, and the snapshot's creation time is taken from
//     the same clock in the commit that makes it. The margin covers a syscall that takes its
//     timestamp before it joins a transaction (setattr, the time update of a write) and waits
//     for the snapshot's commit: its change lands after the snapshot with a ctime before it.
//     An equal ctime counts as changed (a coarse clock's tick holds both), or
//   - a data extent of it was written since (extent generation): the data of a write made just
//     before the snapshot but after its flush reaches the disk after it, with the earlier ctime.
// Without a recorded parent time, or when the clock went backwards (the current snapshot not
// later than the parent's, or a ctime later than the current snapshot's creation), every inode
// found counts as changed, as before the ctime rule: that is independent of the clock.
//
// A directory must be walked again when its entries changed (its own inode changes) or when an
// entry's metadata changed (that entry's inode changes: its parents are found through its
// INODE_REF / INODE_EXTREF items, from the search itself when it returned all of them, else by a
// lookup), and so must every ancestor, whose entry for it gets a new tree id.
#include "vault/btrfs_changes.h"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/magic.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <endian.h>

#include <algorithm>
#include <cerrno>
#include <compare>
#include <cstring>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "util/bytes.h"
#include "util/log.h"
#include "util/test_hooks.h"

namespace mlvault::vault::btrfs {
namespace {

constexpr size_t kSearchBuf = 1u << 20;

struct SearchBuffer {
  SearchBuffer() : raw(new uint64_t[(sizeof(btrfs_ioctl_search_args_v2) + kSearchBuf) / 8 + 1]) {}
  btrfs_ioctl_search_args_v2* args() {
    return reinterpret_cast<btrfs_ioctl_search_args_v2*>(raw.get());
  }
  std::unique_ptr<uint64_t[]> raw;
};

// Calls `item(header, data)` for every item of the fs tree of `fd` in [min, max] key range whose
// leaf was written at or after `min_transid`, until it returns false.
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
    k.nr_items = 1u << 16;
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
      if (!item(h, a->buf + off)) return util::Ok();
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

// The highest inode number in use in the subvolume of `fd` (a binary search of one-item tree
// searches: about 64 lookups of a key, each a descent of the tree).
util::Result<uint64_t> HighestInode(int fd, SearchBuffer& buf) {
  auto any_from = [&](uint64_t min_objectid) -> util::Result<bool> {
    btrfs_ioctl_search_args_v2* a = buf.args();
    std::memset(a, 0, sizeof(*a));
    btrfs_ioctl_search_key& k = a->key;
    k.min_objectid = min_objectid;
    k.max_objectid = BTRFS_LAST_FREE_OBJECTID;
    k.max_type = 255;
    k.max_offset = UINT64_MAX;
    k.max_transid = UINT64_MAX;
    k.nr_items = 1;
    a->buf_size = kSearchBuf;
    if (::ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, a) < 0)
      return std::unexpected(util::ErrnoError("btrfs tree search", errno).error());
    return k.nr_items > 0;
  };
  uint64_t lo = BTRFS_FIRST_FREE_OBJECTID;  // the subvolume's root directory: always there
  uint64_t hi = static_cast<uint64_t>(BTRFS_LAST_FREE_OBJECTID) + 1;
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (MLV_TRY(any_from(mid))) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Below this many inode numbers the search is not split (a second thread would cost more).
constexpr uint64_t kSplitInodes = 50000;

// Seconds and nanoseconds, comparable.
struct Stamp {
  int64_t sec = 0;
  uint32_t nsec = 0;
  auto operator<=>(const Stamp&) const = default;
};

Stamp StampOf(const btrfs_timespec& t) {
  return Stamp{static_cast<int64_t>(le64toh(t.sec)), le32toh(t.nsec)};
}

// One pass over the items written since the parent's transaction, one inode at a time (keys come
// sorted by inode number, and an inode's item before its references and extents).
class ChangeScan {
 public:
  ChangeScan(const SnapshotId& current, const SnapshotId& parent, bool ctime_rule,
             uint64_t max_changed)
      : since_(parent.generation + 1),
        boundary_{parent.otime_sec - kCtimeMarginSeconds, parent.otime_nsec},
        now_{current.otime_sec, current.otime_nsec},
        ctime_rule_(ctime_rule),
        max_changed_(max_changed) {}

  enum class Outcome { kDone, kTooMany, kClockWentBack };

  // Feeds one item; false stops the search (outcome() says why).
  bool Item(const btrfs_ioctl_search_header& h, const uint8_t* data) {
    if (h.objectid != cur_.ino) {
      if (!Finish()) return false;
      cur_ = Inode{};
      cur_.ino = h.objectid;
    }
    // Any item in a block written since: without the ctime rule that is a change.
    if (!ctime_rule_) cur_.changed = true;
    switch (h.type) {
      case BTRFS_INODE_ITEM_KEY: {
        if (h.len < sizeof(btrfs_inode_item)) {
          cur_.changed = true;  // not an inode item this code knows: count it
          break;
        }
        btrfs_inode_item it;
        std::memcpy(&it, data, sizeof(it));
        cur_.has_item = true;
        cur_.dir = S_ISDIR(le32toh(it.mode));
        cur_.nlink = le32toh(it.nlink);
        const Stamp ctime = StampOf(it.ctime);
        if (ctime_rule_ && ctime > now_) {
          // Changed later than the snapshot was made, by the clock: the clock went backwards.
          outcome_ = Outcome::kClockWentBack;
          return false;
        }
        // Created since (inode numbers can be reused), or changed at or after the boundary.
        if (le64toh(it.generation) >= since_ || ctime >= boundary_) cur_.changed = true;
        break;
      }
      case BTRFS_INODE_REF_KEY: {
        // Names of this inode in directory h.offset, one after another.
        size_t off = 0;
        while (off + sizeof(btrfs_inode_ref) <= h.len) {
          btrfs_inode_ref r;
          std::memcpy(&r, data + off, sizeof(r));
          cur_.parents.push_back(h.offset);
          off += sizeof(btrfs_inode_ref) + le16toh(r.name_len);
        }
        break;
      }
      case BTRFS_INODE_EXTREF_KEY: {
        // One item may hold several references (hash collisions).
        size_t off = 0;
        while (off + sizeof(btrfs_inode_extref) <= h.len) {
          btrfs_inode_extref x;
          std::memcpy(&x, data + off, sizeof(x));
          cur_.parents.push_back(le64toh(x.parent_objectid));
          off += sizeof(btrfs_inode_extref) + le16toh(x.name_len);
        }
        break;
      }
      case BTRFS_EXTENT_DATA_KEY: {
        // The extent's generation is the transaction that wrote its data.
        uint64_t gen = 0;
        if (h.len >= sizeof(gen)) {
          std::memcpy(&gen, data, sizeof(gen));
          if (le64toh(gen) >= since_) {
            cur_.changed = true;
            cur_.data_written = true;
          }
        }
        break;
      }
      default:
        break;
    }
    return true;
  }

  // Ends the last inode; false if that one was too many.
  bool Finish() {
    if (cur_.ino == 0) return true;
    const bool complete = cur_.has_item && cur_.parents.size() >= (cur_.dir ? 1u : cur_.nlink) &&
                          !cur_.parents.empty();
    if (!cur_.changed) {
      // An unchanged directory seen here saves a lookup when a change below it climbs past it.
      if (cur_.dir && complete) parents_[cur_.ino] = {cur_.parents.front()};
      return true;
    }
    if (++changed_count_ > max_changed_) {
      outcome_ = Outcome::kTooMany;
      return false;
    }
    changed_.push_back(cur_.ino);
    if (complete) parents_[cur_.ino] = std::move(cur_.parents);
    if (cur_.data_written && !cur_.dir) data_written_.insert(cur_.ino);
    return true;
  }

  // Adds the outcome of a scan of a later range of inode numbers (both finished).
  void Absorb(ChangeScan&& later) {
    if (outcome_ == Outcome::kDone) {
      outcome_ = later.outcome_;
    } else if (later.outcome_ == Outcome::kClockWentBack) {
      outcome_ = Outcome::kClockWentBack;  // the scan is redone without the ctime rule
    }
    changed_count_ += later.changed_count_;
    if (outcome_ == Outcome::kDone && changed_count_ > max_changed_) outcome_ = Outcome::kTooMany;
    changed_.insert(changed_.end(), later.changed_.begin(), later.changed_.end());
    parents_.merge(later.parents_);
    data_written_.merge(later.data_written_);
  }

  Outcome outcome() const { return outcome_; }
  uint64_t since() const { return since_; }
  uint64_t changed_count() const { return changed_count_; }
  std::vector<uint64_t>& changed() { return changed_; }
  std::unordered_map<uint64_t, std::vector<uint64_t>>& parents() { return parents_; }
  std::unordered_set<uint64_t>& data_written() { return data_written_; }

 private:
  struct Inode {
    uint64_t ino = 0;
    bool has_item = false, dir = false, changed = false, data_written = false;
    uint32_t nlink = 0;
    std::vector<uint64_t> parents;
  };
  uint64_t since_;
  Stamp boundary_, now_;
  bool ctime_rule_;
  uint64_t max_changed_;
  Inode cur_;
  Outcome outcome_ = Outcome::kDone;
  uint64_t changed_count_ = 0;
  std::vector<uint64_t> changed_;
  // Directories each inode is in, where the search returned all its references.
  std::unordered_map<uint64_t, std::vector<uint64_t>> parents_;
  std::unordered_set<uint64_t> data_written_;
};

}  // namespace

std::optional<SnapshotId> IdentifySnapshot(int dirfd) {
  struct stat st;
  if (::fstat(dirfd, &st) != 0 || st.st_ino != BTRFS_FIRST_FREE_OBJECTID) return std::nullopt;
  return IdentifySnapshotOfFile(dirfd);
}

std::optional<SnapshotId> IdentifySnapshotOfFile(int dirfd) {
  struct statfs sf;
  if (::fstatfs(dirfd, &sf) != 0 || static_cast<unsigned long>(sf.f_type) != BTRFS_SUPER_MAGIC)
    return std::nullopt;
  btrfs_ioctl_get_subvol_info_args info{};
  // Some kernels return a positive value on success.
  if (::ioctl(dirfd, BTRFS_IOC_GET_SUBVOL_INFO, &info) < 0) return std::nullopt;
  if ((info.flags & BTRFS_ROOT_SUBVOL_RDONLY) == 0) return std::nullopt;  // root item flags
  static const uint8_t zero[BTRFS_UUID_SIZE] = {};
  if (std::memcmp(info.parent_uuid, zero, BTRFS_UUID_SIZE) == 0) return std::nullopt;
  if (info.otransid == 0) return std::nullopt;
  return SnapshotId{util::ToHex(util::ByteView(info.parent_uuid, BTRFS_UUID_SIZE)),
                    info.otransid, static_cast<int64_t>(info.otime.sec), info.otime.nsec};
}

util::Result<Changes> FindChanges(int dirfd, const SnapshotId& current, const SnapshotId& parent,
                                  uint64_t max_changed) {
  SearchBuffer buf;
  Changes out;
  // The ctime rule needs both creation times, the later one later.
  out.ctime_rule = parent.otime_sec > 0 && current.otime_sec > 0 &&
                   Stamp{current.otime_sec, current.otime_nsec} >
                       Stamp{parent.otime_sec, parent.otime_nsec};
  // 1. Every inode with an item in a block written since the parent's transaction, and which of
  // them changed. Once a reader of the live volume has touched every atime, every leaf is
  // returned, and copying them out is most of an unchanged backup's time (about a second of
  // kernel time at a million files): the inode numbers are split in two ranges searched at once.
  uint64_t split = 0;  // the upper range's first inode number; 0: one range
  {
    const uint64_t top = MLV_TRY(HighestInode(dirfd, buf));
    if (top - BTRFS_FIRST_FREE_OBJECTID > util::test_hooks::BtrfsSplitInodes(kSplitInodes))
      split = BTRFS_FIRST_FREE_OBJECTID + (top - BTRFS_FIRST_FREE_OBJECTID) / 2;
    if (split != 0) {
      util::Log(util::LogLevel::kDebug,
                "backup: searching inode numbers up to {} in two ranges, split at {}", top, split);
    }
  }
  auto scan_range = [&](ChangeScan& scan, SearchBuffer& b, uint64_t lo,
                        uint64_t hi) -> util::Status {
    MLV_TRY(Search(dirfd, b, lo, hi, 0, 255, scan.since(),
                   [&](const btrfs_ioctl_search_header& h, const uint8_t* data) {
                     return scan.Item(h, data);
                   }));
    if (scan.outcome() == ChangeScan::Outcome::kDone) scan.Finish();
    return util::Ok();
  };
  std::optional<ChangeScan> scan;
  while (true) {
    scan.emplace(current, parent, out.ctime_rule, max_changed);
    if (split == 0) {
      MLV_TRY(scan_range(*scan, buf, BTRFS_FIRST_FREE_OBJECTID, BTRFS_LAST_FREE_OBJECTID));
    } else {
      ChangeScan upper(current, parent, out.ctime_rule, max_changed);
      util::Status upper_st = util::Ok();
      util::Status lower_st = util::Ok();
      {
        std::jthread t([&] {
          SearchBuffer upper_buf;
          upper_st = scan_range(upper, upper_buf, split, BTRFS_LAST_FREE_OBJECTID);
        });
        lower_st = scan_range(*scan, buf, BTRFS_FIRST_FREE_OBJECTID, split - 1);
      }
      MLV_TRY(lower_st);
      MLV_TRY(upper_st);
      scan->Absorb(std::move(upper));
    }
    if (scan->outcome() == ChangeScan::Outcome::kClockWentBack) {
      util::Log(util::LogLevel::kInfo,
                "backup: an inode's ctime is later than the snapshot's creation time (the clock "
                "went backwards): every inode written since the parent's snapshot counts as "
                "changed");
      out.ctime_rule = false;
      continue;
    }
    break;
  }
  if (scan->outcome() == ChangeScan::Outcome::kTooMany) {
    out.walk_all = true;
    out.reason = "more than " + std::to_string(max_changed) +
                 " inodes changed since the parent's snapshot";
    if (!out.ctime_rule) {
      out.reason += parent.otime_sec > 0
                        ? " (every inode written since counted: the clock went backwards)"
                        : " (every inode written since counted: the parent's snapshot time is "
                          "not recorded)";
    }
    return out;
  }
  out.inodes_changed = scan->changed_count();
  out.data_written = std::move(scan->data_written());
  auto& parents = scan->parents();
  // 2. Each changed inode, and each directory holding it, up to the root. A changed directory
  // is walked itself (its entries may differ); a changed entry makes its directories walked.
  std::vector<uint64_t> work = std::move(scan->changed());
  std::vector<uint64_t> found;
  while (!work.empty()) {
    uint64_t ino = work.back();
    work.pop_back();
    if (!out.dirty.insert(ino).second) continue;
    if (ino == BTRFS_FIRST_FREE_OBJECTID) continue;  // the root: its parent is outside
    const std::vector<uint64_t>* ps = nullptr;
    if (auto it = parents.find(ino); it != parents.end()) {
      ps = &it->second;
    } else {
      found.clear();
      MLV_TRY(Search(dirfd, buf, ino, ino, BTRFS_INODE_REF_KEY, BTRFS_INODE_EXTREF_KEY, 0,
                     [&](const btrfs_ioctl_search_header& h, const uint8_t* data) {
                       if (h.objectid != ino) return true;
                       if (h.type == BTRFS_INODE_REF_KEY) {
                         found.push_back(h.offset);
                       } else if (h.type == BTRFS_INODE_EXTREF_KEY) {
                         size_t off = 0;
                         while (off + sizeof(btrfs_inode_extref) <= h.len) {
                           btrfs_inode_extref x;
                           std::memcpy(&x, data + off, sizeof(x));
                           found.push_back(le64toh(x.parent_objectid));
                           off += sizeof(btrfs_inode_extref) + le16toh(x.name_len);
                         }
                       }
                       return true;
                     }));
      ps = &found;
    }
    for (uint64_t p : *ps) {
      if (!out.dirty.contains(p)) work.push_back(p);
    }
  }
  return out;
}

// Block volumes. An extent of a copy-on-write file is never written in place while an item
// points at it (a write goes to a new extent; only NOCOW files and preallocated ranges are written
// in place, and a preallocated range becomes a regular one in the same step, which changes
// `kind`). An extent is identified by its logical address and the transaction that created it:
// once freed, its space is reused only by a later transaction than the one that freed it (btrfs
// pins freed space until the commit), and the earlier backup's snapshot kept the extent alive
// until at least its own transaction, which is not before the extent's. So where two extent
// lists, each taken from a read-only snapshot, map a byte to the same (bytenr, generation, kind)
// at the same offset in the extent, the byte is the same; a clone (reflink), a split by a partial
// overwrite, a relocation by balance, a defragmentation or a punched hole each either keep that
// mapping or change it.
util::Result<FileExtents> ReadExtents(int fd, size_t max_extents) {
  FileExtents out;
  unsigned int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_NOCOW_FL) != 0) {
    out.reason = "the file is NOCOW (overwritten in place), so its extents say nothing of its data";
    return out;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) return util::ErrnoError("stat", errno);
  const uint64_t ino = st.st_ino;
  SearchBuffer buf;
  bool too_many = false;
  MLV_TRY(Search(fd, buf, ino, ino, BTRFS_EXTENT_DATA_KEY, BTRFS_EXTENT_DATA_KEY, 0,
                 [&](const btrfs_ioctl_search_header& h, const uint8_t* data) {
                   if (h.objectid != ino || h.type != BTRFS_EXTENT_DATA_KEY) return true;
                   btrfs_file_extent_item fi;
                   if (h.len < sizeof(fi)) return true;  // inline: not listed
                   std::memcpy(&fi, data, sizeof(fi));
                   if (fi.type != BTRFS_FILE_EXTENT_REG && fi.type != BTRFS_FILE_EXTENT_PREALLOC)
                     return true;
                   if (le64toh(fi.disk_bytenr) == 0) return true;  // a hole
                   if (out.extents.size() >= max_extents) {
                     too_many = true;
                     return false;
                   }
                   out.extents.push_back(Extent{
                       h.offset, le64toh(fi.num_bytes), le64toh(fi.disk_bytenr),
                       le64toh(fi.offset), le64toh(fi.generation),
                       static_cast<uint32_t>(fi.type) | static_cast<uint32_t>(fi.compression) << 8 |
                           static_cast<uint32_t>(fi.encryption) << 16 |
                           static_cast<uint32_t>(le16toh(fi.other_encoding)) << 24});
                   return true;
                 }));
  if (too_many) {
    out.extents.clear();
    out.reason = "the file has more than " + std::to_string(max_extents) + " extents";
  }
  return out;
}

std::vector<ByteRange> SameData(const std::vector<Extent>& before,
                                const std::vector<Extent>& now) {
  std::vector<ByteRange> out;
  size_t i = 0, j = 0;
  while (i < before.size() && j < now.size()) {
    const Extent& a = before[i];
    const Extent& b = now[j];
    const uint64_t start = std::max(a.offset, b.offset);
    const uint64_t end = std::min(a.offset + a.length, b.offset + b.length);
    // The same extent, at the same place in it (start - offset + extent_offset on both sides).
    if (start < end && a.bytenr == b.bytenr && a.generation == b.generation &&
        a.kind == b.kind && a.extent_offset + b.offset == b.extent_offset + a.offset) {
      if (!out.empty() && out.back().end == start) {
        out.back().end = end;
      } else {
        out.push_back(ByteRange{start, end});
      }
    }
    // Advance the one that ends first.
    if (a.offset + a.length <= b.offset + b.length) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

}  // namespace mlvault::vault::btrfs
