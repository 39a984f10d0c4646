// A set of blob ids over one finalized MasterIndex: one bit per indexed blob (its position in
// the index), plus a hash set for ids the index does not hold (damage; normally empty). Verify
// and GC mark every blob a recovery point reaches: a node-based set of 32-byte ids costs about
// 70 bytes per blob (700 MB at 10M chunks), this 1 bit.
//
// Thread-safety: none; one thread inserts (const methods may run concurrently once filled).
// The index must outlive the set and not change.
#pragma once

#include <cstdint>
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

}  // namespace mlvault::vault
