#include "vault/index.h"

#include <algorithm>
#include <cstring>

namespace mlvault::vault {

void MasterIndex::AddPack(const IndexPack& pack) {
  AddLocations(pack);
  if (keep_raw_) raw_.push_back(pack);
}

void MasterIndex::AddPack(IndexPack&& pack) {
  AddLocations(pack);
  if (keep_raw_) raw_.push_back(std::move(pack));
}

void MasterIndex::AddLocations(const IndexPack& pack) {
  auto [it, inserted] = pack_index_.emplace(pack.pack, static_cast<uint32_t>(packs_.size()));
  if (inserted) {
    packs_.push_back(pack.pack);
    tree_pack_.push_back(true);
  }
  uint32_t p = it->second;
  for (const auto& b : pack.blobs) {
    if (b.type != BlobType::kTree) tree_pack_[p] = false;
    sorted_.push_back(
        Item{b.id, BlobLocation{p, b.offset, b.stored_len, b.raw_len, b.type, b.comp}});
  }
}

void MasterIndex::Finalize() {
  // stable_sort keeps the first-added location of a duplicated blob first.
  std::stable_sort(sorted_.begin(), sorted_.end(), [](const Item& a, const Item& b) {
    return std::memcmp(a.id.data(), b.id.data(), a.id.size()) < 0;
  });
  auto last = std::unique(sorted_.begin(), sorted_.end(),
                          [](const Item& a, const Item& b) { return a.id == b.id; });
  sorted_.erase(last, sorted_.end());
  sorted_.shrink_to_fit();
  size_t cap = 16;
  while (cap < 2 * sorted_.size()) cap <<= 1;
  table_.assign(cap, 0);
  mask_ = cap - 1;
  for (size_t i = 0; i < sorted_.size(); ++i) {
    uint64_t h;
    std::memcpy(&h, sorted_[i].id.data(), sizeof h);
    for (uint64_t slot = h & mask_;; slot = (slot + 1) & mask_) {
      if (table_[slot] == 0) {
        table_[slot] = static_cast<uint32_t>(i + 1);
        break;
      }
    }
  }
}

size_t MasterIndex::Position(const BlobId& id) const {
  if (table_.empty()) return kNoPosition;
  uint64_t h;
  std::memcpy(&h, id.data(), sizeof h);
  for (uint64_t slot = h & mask_;; slot = (slot + 1) & mask_) {
    uint32_t v = table_[slot];
    if (v == 0) return kNoPosition;
    if (sorted_[v - 1].id == id) return v - 1;
  }
}

const BlobLocation* MasterIndex::Find(const BlobId& id) const {
  size_t pos = Position(id);
  return pos == kNoPosition ? nullptr : &sorted_[pos].loc;
}

}  // namespace mlvault::vault
