// Backup of block volumes on btrfs snapshots: which blocks of the image to take from the parent
// recovery point instead of reading them (docs/vault-format.md section 7, "Block volumes").
//
// Each such backup records the image's data extents in its recovery point (btrfs::ReadExtents);
// btrfs::SameData compares them with those of the parent to say which byte ranges hold the same
// data as in the parent's snapshot (which is deleted by then: the extents are all that is left
// of it). A block volume is cut into fixed blocks at multiples of block_size (and at
// the data/hole boundaries SEEK_DATA reports), so a data piece never crosses a block boundary.
// For every block wholly inside such a range, the parent's pieces over that block are the pieces
// a full read would make: the same bytes cut at the same places (the holes and extents inside
// the block are the same items), all-zero blocks holes as in a full read. Holes the parent's
// pieces merged across blocks are clipped at the block's edges (holes are merged again when the
// entry is finished). A block is taken only when the parent's pieces cover exactly its range and
// the vault still holds every chunk of them; any other block is read as before.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "util/log.h"
#include "vault/archiver_internal.h"

namespace mlvault::vault::archive {

namespace {

// The parent's pieces over [start, end), or nullopt when a data piece crosses either edge, the
// pieces end before `end`, or the vault lacks a chunk. `at` / `off` walk the pieces forward
// (both calls' ranges come in increasing order): the first piece not ending at or before start.
std::optional<std::vector<Piece>> PiecesOver(const std::vector<Piece>& pieces, size_t& at,
                                             uint64_t& off, uint64_t start, uint64_t end,
                                             const MasterIndex& index) {
  while (at < pieces.size() && off + pieces[at].length <= start) {
    off += pieces[at].length;
    ++at;
  }
  std::vector<Piece> out;
  uint64_t pos = off;
  for (size_t i = at; i < pieces.size() && pos < end; ++i) {
    const Piece& p = pieces[i];
    const uint64_t p_end = pos + p.length;
    if (p.hole) {
      Piece h = p;
      h.length = std::min(p_end, end) - std::max(pos, start);
      out.push_back(h);
    } else {
      if (pos < start || p_end > end || !index.Contains(p.id)) return std::nullopt;
      out.push_back(p);
    }
    pos = p_end;
  }
  if (pos < end) return std::nullopt;  // the parent's image ended before the block
  return out;
}

}  // namespace

void Archiver::PlanBlockReuse(const std::optional<Manifest>& parent, const TreeEntry* old,
                              const TreeEntry& e) {
  UniqueFd fd(::open(req_.source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return;  // the reader reports it
  snapshot_ = btrfs::IdentifySnapshotOfFile(fd.get());
  if (!snapshot_) {
    util::Log(util::LogLevel::kDebug,
              "backup: block volume {} is not in a read-only btrfs snapshot: reading its "
              "allocated data (SEEK_DATA)",
              req_.source);
    return;
  }
  auto extents = btrfs::ReadExtents(fd.get(), kMaxRecordedExtents);
  if (!extents || !extents->reason.empty()) {
    util::Log(util::LogLevel::kInfo,
              "backup: the extents of {} are not recorded, so the next backup reads its "
              "allocated data (SEEK_DATA): {}",
              req_.source, extents ? extents->reason : extents.error().message());
    return;
  }
  image_extents_ = std::move(extents->extents);
  if (!parent || old == nullptr || !parent->change_extents ||
      parent->change_subvolume != snapshot_->subvolume ||
      parent->change_generation > snapshot_->generation || old->type != EntryType::kFile) {
    return;  // no parent taken from an earlier snapshot of this subvolume with its extents
  }
  const std::vector<btrfs::ByteRange> same = btrfs::SameData(*parent->change_extents,
                                                             *image_extents_);
  const uint64_t block = repo_->config().params.block_size;
  const uint64_t size = e.size;
  size_t at = 0;
  uint64_t off = 0;
  for (const btrfs::ByteRange& r : same) {
    if (r.start >= size) break;
    // The blocks wholly inside the range (the image's last, partial block included).
    const uint64_t first = (r.start + block - 1) / block * block;
    const uint64_t last = r.end >= size ? size : r.end / block * block;
    for (uint64_t b = first; b < last; b += block) {
      const uint64_t b_end = std::min(b + block, last);
      auto pieces = PiecesOver(old->pieces, at, off, b, b_end, *index_);
      if (!pieces) continue;
      for (const Piece& p : *pieces) {
        if (!p.hole) bytes_reused_ += p.length;
      }
      if (!reuse_.empty() && reuse_.back().end == b) {
        ReusedSpan& s = reuse_.back();
        s.end = b_end;
        s.pieces.insert(s.pieces.end(), pieces->begin(), pieces->end());
      } else {
        reuse_.push_back(ReusedSpan{b, b_end, std::move(*pieces)});
      }
    }
  }
  util::Log(util::LogLevel::kDebug,
            "backup: {} bytes of {} unchanged since the parent's snapshot in {} ranges ({} and {} "
            "extents)",
            bytes_reused_.load(), req_.source, reuse_.size(), parent->change_extents->size(),
            image_extents_->size());
}

}  // namespace mlvault::vault::archive
