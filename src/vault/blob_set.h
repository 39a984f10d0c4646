// Sets of blob ids. BlobSet: over one finalized MasterIndex: one bit per indexed blob (its position in
// the index), plus a hash set for ids the index does not hold (damage; normally empty). Verify
// and GC mark every blob a recovery point reaches: a node-based set of 32-byte ids costs about
// 70 bytes per blob (700 MB at 10M chunks), this 1 bit.
//
// Thread-safety: none; one thread inserts (const methods may run concurrently once filled).
// The index must outlive the set and not change.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <vector>

#include "vault/index.h"

namespace mlvault::vault {

class BlobSet {
 public:
  explicit BlobSet(const MasterIndex& index) : index_(&index), bits_(index.blob_count(), false) {}

  // Adds `id`; true if it was not in the set.
  bool Insert(const BlobId& id) {
    size_t pos = index_->Position(id);
    if (pos == MasterIndex::kNoPosition) return unindexed_.insert(id).second;
    if (bits_[pos]) return false;
    bits_[pos] = true;
    ++indexed_count_;
    return true;
  }
  bool Contains(const BlobId& id) const {
    size_t pos = index_->Position(id);
    if (pos == MasterIndex::kNoPosition) return unindexed_.count(id) > 0;
    return bits_[pos];
  }
  size_t size() const { return indexed_count_ + unindexed_.size(); }
  // How many members the index holds.
  size_t indexed_count() const { return indexed_count_; }
  // Calls fn(position) for every member the index holds, in position (id) order.
  template <typename Fn>
  void ForEachIndexed(Fn&& fn) const {
    for (size_t pos = 0; pos < bits_.size(); ++pos) {
      if (bits_[pos]) fn(pos);
    }
  }
  // The members the index does not hold.
  const std::unordered_set<BlobId, BlobIdHash>& unindexed() const { return unindexed_; }

 private:
  const MasterIndex* index_;
  std::vector<bool> bits_;
  size_t indexed_count_ = 0;
  std::unordered_set<BlobId, BlobIdHash> unindexed_;
};

// A set of blob ids no index holds: the ids a backup adds (so each new chunk is stored once
// per run). A node-based set costs ~80 bytes of heap per id (a 64-byte node plus buckets, and
// twice the buckets while it rehashes): 80 MB at 1M new chunks. This one keeps the ids
// themselves in flat open-addressing tables, 60-75% full (~48 bytes per id), split into 256
// shards by one byte of the id, each grown on its own (by 1.25x), so growing never holds a
// second copy of the whole set.
//
// Thread-safety: none; callers serialise Insert (const methods may run concurrently once no
// thread inserts).
class BlobIdSet {
 public:
  // Adds `id`; true if it was not in the set.
  bool Insert(const BlobId& id) {
    if (IsZero(id)) {
      if (has_zero_) return false;
      has_zero_ = true;
      return true;
    }
    Shard& s = shards_[id[kShardByte]];
    if (4 * (s.count + 1) > 3 * s.cap) Grow(s);
    BlobId* slot = Probe(s, id);
    if (!IsZero(*slot)) return false;  // found
    *slot = id;
    ++s.count;
    ++size_;
    return true;
  }
  bool Contains(const BlobId& id) const {
    if (IsZero(id)) return has_zero_;
    const Shard& s = shards_[id[kShardByte]];
    if (s.cap == 0) return false;
    return !IsZero(*Probe(s, id));
  }
  size_t size() const { return size_ + (has_zero_ ? 1 : 0); }
  // Heap bytes held by the tables.
  size_t bytes() const {
    size_t n = 0;
    for (const auto& s : shards_) n += s.cap * sizeof(BlobId);
    return n;
  }

 private:
  static constexpr size_t kShards = 256;
  // Ids are keyed MAC outputs, uniform in every byte: the index's table hashes bytes 0-7, the
  // slot here comes from bytes 8-15 and the shard from byte 16, independent of both.
  static constexpr size_t kShardByte = 16;
  static constexpr size_t kMinCap = 16;
  struct Shard {
    std::unique_ptr<BlobId[]> slots;  // all-zero = empty (the zero id is has_zero_)
    size_t cap = 0;
    size_t count = 0;
  };
  static bool IsZero(const BlobId& id) {
    uint64_t w[4];
    std::memcpy(w, id.data(), sizeof w);
    return (w[0] | w[1] | w[2] | w[3]) == 0;
  }
  static size_t Home(const BlobId& id, size_t cap) {
    uint64_t h;
    std::memcpy(&h, id.data() + 8, sizeof h);
    return static_cast<size_t>((static_cast<unsigned __int128>(h) * cap) >> 64);
  }
  // The slot holding `id`, or the empty slot where it belongs (the table is never full).
  static BlobId* Probe(const Shard& s, const BlobId& id) {
    uint64_t key;
    std::memcpy(&key, id.data(), sizeof key);
    size_t i = Home(id, s.cap);
    while (true) {
      BlobId* slot = &s.slots[i];
      uint64_t w;
      std::memcpy(&w, slot->data(), sizeof w);
      if ((w == key && *slot == id) || (w == 0 && IsZero(*slot))) return slot;
      if (++i == s.cap) i = 0;
    }
  }
  static void Grow(Shard& s) {
    const size_t cap = s.cap < kMinCap ? kMinCap : s.cap + s.cap / 4;
    Shard bigger;
    bigger.slots = std::make_unique<BlobId[]>(cap);  // value-initialised: all empty
    bigger.cap = cap;
    bigger.count = s.count;
    for (size_t i = 0; i < s.cap; ++i) {
      if (!IsZero(s.slots[i])) *Probe(bigger, s.slots[i]) = s.slots[i];
    }
    s = std::move(bigger);
  }

  std::array<Shard, kShards> shards_;
  size_t size_ = 0;
  bool has_zero_ = false;
};

}  // namespace mlvault::vault
