// The in-memory index of a vault: where each blob lives (pack, offset, lengths, flags).
//
// Built once per run from every index file (the union; a blob indexed in several packs keeps
// one location, the first added), then read-only: lookups after Finalize are thread-safe without
// locks. Entries are held in one vector in the order they were added (52 bytes per blob) with an
// open-addressing table of positions over it (6-12 bytes per blob), so that a vault of a million
// chunks costs ~60 MiB, not the several hundred of a node-based map, and loading it needs no
// sort: each entry is placed (or found a duplicate) as it is added. The index files' own lists
// per pack, which GC, verify and retention need (keep_raw), add 4 bytes per blob: a blob's first
// location is its entry, only a duplicate's (rare) is kept whole.
#pragma once

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "vault/format.h"

namespace mlvault::vault {

struct ObjectIdHash {
  size_t operator()(const ObjectId& id) const {
    size_t h;
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};
struct BlobIdHash {
  size_t operator()(const BlobId& id) const {
    size_t h;
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};

struct BlobLocation {
  uint32_t pack = 0;  // index into MasterIndex::packs()
  uint32_t offset = 0;
  uint32_t stored_len = 0;
  uint32_t raw_len = 0;
  BlobType type = BlobType::kData;
  Compression comp = Compression::kNone;
};

class MasterIndex {
 public:
  // `keep_raw`: also keep every location per pack as the index files list them (the raw
  // lists), which GC, verify and retention need and backup and restore do not.
  explicit MasterIndex(bool keep_raw = true) : keep_raw_(keep_raw) {}
  // Adds a pack and its blobs. Not thread-safe; only before Finalize.
  void AddPack(const IndexPack& pack);
  // Room for about `expected` blobs in the table and for `at_most` entries (a bound: entries
  // beyond it would move every entry to a buffer twice as large, both resident during the copy:
  // at 10M blobs that copy was 0.5 GB of the peak). Reserving more than is used costs address
  // space, not memory.
  void Reserve(size_t expected, size_t at_most);
  // Ends the building. After this the index is read-only.
  void Finalize();

  // nullptr if the blob is not indexed.
  const BlobLocation* Find(const BlobId& id) const;
  bool Contains(const BlobId& id) const { return Find(id) != nullptr; }
  // The blob's position among the indexed blobs (0 .. blob_count() - 1, in the order added), or
  // kNoPosition. Positions are dense, so a mark per blob can be one bit (BlobSet, blob_set.h).
  static constexpr size_t kNoPosition = static_cast<size_t>(-1);
  size_t Position(const BlobId& id) const;
  const BlobId& IdAt(size_t pos) const { return entries_[pos].id; }
  const BlobLocation& LocationAt(size_t pos) const { return entries_[pos].loc; }

  const std::vector<ObjectId>& packs() const { return packs_; }

  // The raw lists (keep_raw): every location of every blob, duplicates included, one list per
  // pack per index file that lists it, in the order added. A location in a raw list is named by
  // a RawRef (stable while the index lives), so a caller can keep a location in 4 bytes.
  using RawRef = uint32_t;
  size_t raw_count() const { return raw_.size(); }
  const ObjectId& RawPack(size_t r) const { return packs_[raw_[r].pack]; }
  // Calls fn(RawRef, const BlobEntry&) for each location of raw list `r`, in its order.
  template <typename Fn>
  void ForEachRaw(size_t r, Fn&& fn) const {
    for (uint32_t i = raw_[r].begin; i < raw_[r].end; ++i) fn(raw_refs_[i], RawEntry(raw_refs_[i]));
  }
  // Raw list `r` as an IndexPack (a copy).
  IndexPack RawPackAt(size_t r) const;
  BlobEntry RawEntry(RawRef ref) const {
    if (ref & kDupRef) return raw_dups_[ref & ~kDupRef];
    const Item& it = entries_[ref];
    return BlobEntry{it.loc.type, it.loc.comp, it.loc.offset, it.loc.stored_len, it.loc.raw_len,
                     it.id};
  }
  size_t blob_count() const { return entries_.size(); }
  // True if every blob indexed in pack `p` is a tree: such packs are read whole.
  bool IsTreePack(uint32_t p) const { return p < tree_pack_.size() && tree_pack_[p]; }

 private:
  struct Item {
    BlobId id;
    BlobLocation loc;
  };
  // A raw list: raw_refs_[begin, end) of packs_[pack].
  struct RawList {
    uint32_t pack;
    uint32_t begin;
    uint32_t end;
  };
  // A RawRef is a position in entries_ (the blob's first location, where it is indexed), or,
  // with kDupRef set, a position in raw_dups_ (a further location of a blob indexed elsewhere).
  // Positions stay below 2^31: that many entries would take over 100 GB.
  static constexpr RawRef kDupRef = 0x80000000u;
  void Rehash(size_t cap);
  bool keep_raw_;
  std::vector<ObjectId> packs_;
  std::unordered_map<ObjectId, uint32_t, ObjectIdHash> pack_index_;
  std::vector<bool> tree_pack_;
  std::vector<RawList> raw_;
  std::vector<RawRef> raw_refs_;
  std::vector<BlobEntry> raw_dups_;
  std::vector<Item> entries_;
  // Open-addressing table over entries_ (slot = position + 1, 0 = empty), keyed by the first
  // 8 bytes of the id (ids are HMAC outputs: uniformly distributed), at most 2/3 full. Backup
  // asks "is this chunk stored?" once per chunk and per unchanged file's chunk: a hash probe
  // instead of a binary search of 32-byte keys.
  std::vector<uint32_t> table_;
  uint64_t mask_ = 0;
};

}  // namespace mlvault::vault
