#include "vault/index.h"

#include <algorithm>
#include <cstring>

namespace mlvault::vault {

namespace {

uint64_t HashOf(const BlobId& id) {
  uint64_t h;
  std::memcpy(&h, id.data(), sizeof h);
  return h;
}

}  // namespace

void MasterIndex::AddPack(const IndexPack& pack) {
  AddLocations(pack);
  if (keep_raw_) raw_.push_back(pack);
}

void MasterIndex::AddPack(IndexPack&& pack) {
  AddLocations(pack);
  if (keep_raw_) raw_.push_back(std::move(pack));
}

void MasterIndex::Reserve(size_t blobs) {
  // A generous estimate costs address space, not memory: pages of the vector that are never
  // written are never faulted in.
  entries_.reserve(blobs);
  size_t cap = 16;
  while (2 * cap < 3 * blobs) cap <<= 1;
  if (cap > table_.size()) Rehash(cap);
}

void MasterIndex::Rehash(size_t cap) {
  table_.assign(cap, 0);
  mask_ = cap - 1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    for (uint64_t slot = HashOf(entries_[i].id) & mask_;; slot = (slot + 1) & mask_) {
      if (table_[slot] == 0) {
        table_[slot] = static_cast<uint32_t>(i + 1);
        break;
      }
    }
  }
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
    if (3 * (entries_.size() + 1) > 2 * table_.size())
      Rehash(std::max<size_t>(16, 2 * table_.size()));
    for (uint64_t slot = HashOf(b.id) & mask_;; slot = (slot + 1) & mask_) {
      uint32_t v = table_[slot];
      if (v == 0) {
        entries_.push_back(
            Item{b.id, BlobLocation{p, b.offset, b.stored_len, b.raw_len, b.type, b.comp}});
        table_[slot] = static_cast<uint32_t>(entries_.size());
        break;
      }
      if (entries_[v - 1].id == b.id) break;  // indexed already: the first location stays
    }
  }
}

void MasterIndex::Finalize() {}

size_t MasterIndex::Position(const BlobId& id) const {
  if (table_.empty()) return kNoPosition;
  for (uint64_t slot = HashOf(id) & mask_;; slot = (slot + 1) & mask_) {
    uint32_t v = table_[slot];
    if (v == 0) return kNoPosition;
    if (entries_[v - 1].id == id) return v - 1;
  }
}

const BlobLocation* MasterIndex::Find(const BlobId& id) const {
  size_t pos = Position(id);
  return pos == kNoPosition ? nullptr : &entries_[pos].loc;
}

}  // namespace mlvault::vault
