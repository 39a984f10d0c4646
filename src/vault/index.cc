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

void MasterIndex::Reserve(size_t expected, size_t at_most) {
  // Pages of a vector that are never written are never faulted in. The table is written whole
  // (zeroed), so it is sized for the expected count and grows if that is passed.
  entries_.reserve(std::max(expected, at_most));
  if (keep_raw_) raw_refs_.reserve(std::max(expected, at_most));
  size_t cap = 16;
  while (2 * cap < 3 * expected) cap <<= 1;
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

void MasterIndex::AddPack(const IndexPack& pack) {
  auto [it, inserted] = pack_index_.emplace(pack.pack, static_cast<uint32_t>(packs_.size()));
  if (inserted) {
    packs_.push_back(pack.pack);
    tree_pack_.push_back(true);
  }
  uint32_t p = it->second;
  if (keep_raw_) {
    raw_.push_back(RawList{p, static_cast<uint32_t>(raw_refs_.size()),
                           static_cast<uint32_t>(raw_refs_.size())});
  }
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
        if (keep_raw_) raw_refs_.push_back(static_cast<RawRef>(entries_.size() - 1));
        break;
      }
      if (entries_[v - 1].id == b.id) {  // indexed already: the first location stays
        if (keep_raw_) {
          raw_refs_.push_back(kDupRef | static_cast<RawRef>(raw_dups_.size()));
          raw_dups_.push_back(b);
        }
        break;
      }
    }
  }
  if (keep_raw_) raw_.back().end = static_cast<uint32_t>(raw_refs_.size());
}

IndexPack MasterIndex::RawPackAt(size_t r) const {
  IndexPack ip{RawPack(r), {}};
  ip.blobs.reserve(raw_[r].end - raw_[r].begin);
  ForEachRaw(r, [&](RawRef, const BlobEntry& b) { ip.blobs.push_back(b); });
  return ip;
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
