// The in-memory index of a vault: where each blob lives (pack, offset, lengths, flags).
//
// Built once per run from every index file (the union; a blob indexed in several packs keeps
// one location, the first added), then read-only: lookups after Finalize are thread-safe without
// locks. Entries are held in one vector in the order they were added (52 bytes per blob) with an
// open-addressing table of positions over it (6-12 bytes per blob), so that a vault of a million
// chunks costs ~60 MiB, not the several hundred of a node-based map, and loading it needs no
// sort: each entry is placed (or found a duplicate) as it is added.
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
  // `keep_raw`: also keep every location per pack (raw_packs), which GC and verify need and
  // backup and restore do not.
  explicit MasterIndex(bool keep_raw = true) : keep_raw_(keep_raw) {}
  // Adds a pack and its blobs. Not thread-safe; only before Finalize.
  void AddPack(const IndexPack& pack);
  // The same, taking the pack's blob list instead of copying it into raw_packs().
  void AddPack(IndexPack&& pack);
  // Room for about `blobs` blobs (an estimate; more may be added).
  void Reserve(size_t blobs);
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
  // Every location of every blob, duplicates included, grouped per pack (for GC and verify).
  const std::vector<IndexPack>& raw_packs() const { return raw_; }
  // Moves the raw locations out (raw_packs() is empty afterwards): GC frees them pack by pack
  // while it builds the new index, instead of holding the old and the new lists at once.
  std::vector<IndexPack> TakeRawPacks() { return std::move(raw_); }
  size_t blob_count() const { return entries_.size(); }
  // True if every blob indexed in pack `p` is a tree: such packs are read whole.
  bool IsTreePack(uint32_t p) const { return p < tree_pack_.size() && tree_pack_[p]; }

 private:
  struct Item {
    BlobId id;
    BlobLocation loc;
  };
  void AddLocations(const IndexPack& pack);
  void Rehash(size_t cap);
  bool keep_raw_;
  std::vector<ObjectId> packs_;
  std::unordered_map<ObjectId, uint32_t, ObjectIdHash> pack_index_;
  std::vector<bool> tree_pack_;
  std::vector<IndexPack> raw_;
  std::vector<Item> entries_;
  // Open-addressing table over entries_ (slot = position + 1, 0 = empty), keyed by the first
  // 8 bytes of the id (ids are HMAC outputs: uniformly distributed), at most 2/3 full. Backup
  // asks "is this chunk stored?" once per chunk and per unchanged file's chunk: a hash probe
  // instead of a binary search of 32-byte keys.
  std::vector<uint32_t> table_;
  uint64_t mask_ = 0;
};

}  // namespace mlvault::vault
