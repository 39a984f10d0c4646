#include "vault/index.h"

#include <algorithm>
#include <cstring>

namespace mlvault::vault {

void MasterIndex::AddPack(const IndexPack& pack) {
  auto [it, inserted] = pack_index_.emplace(pack.pack, static_cast<uint32_t>(packs_.size()));
  if (inserted) {
    packs_.push_back(pack.pack);
    tree_pack_.push_back(true);
  }
  uint32_t p = it->second;
  for (const auto& b : pack.blobs) {
    if (b.type != BlobType::kTree) tree_pack_[p] = false;
    sorted_.push_back(Item{b.id, BlobLocation{p, b.offset, b.stored_len, b.raw_len, b.type, b.comp}});
  }
  if (keep_raw_) raw_.push_back(pack);
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
}

const BlobLocation* MasterIndex::Find(const BlobId& id) const {
  auto it = std::lower_bound(sorted_.begin(), sorted_.end(), id, [](const Item& a, const BlobId& b) {
    return std::memcmp(a.id.data(), b.data(), b.size()) < 0;
  });
  if (it == sorted_.end() || it->id != id) return nullptr;
  return &it->loc;
}

}  // namespace mlvault::vault
