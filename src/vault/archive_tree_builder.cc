// Backup, compute and completion stage: hashes each chunk, compresses and seals new ones into
// packs, and encodes each directory as a tree blob once its last file and subdirectory are done.
#include <cstring>

#include "vault/archiver_internal.h"
#include "vault/compress.h"

namespace mlvault::vault::archive {

namespace {

bool IsZero(const uint8_t* p, size_t n) {
  // Word-wise check; all-zero blocks of block volumes become holes.
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w != 0) return false;
  }
  for (; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

void Archiver::Compute(ComputeJob& job) {
  for (auto& it : job.items) {
    const uint8_t* p = job.slab->data.get() + it.offset;
    ByteView data(p, it.length);
    if (!Stopped()) {
      if (job.zero_holes && IsZero(p, it.length)) {
        it.piece->hole = true;
      } else {
        BlobId id = repo_->HashBlob(BlobType::kData, data);
        it.piece->id = id;
        if (Claim(id)) {
          ByteView stored;
          Compression c = MaybeCompress(data, level_, stored);
          if (auto st = data_packs_.Add(id, BlobType::kData, c, stored, it.length); !st) {
            Fail(st.error());
          }
          bytes_new_ += it.length;
          ++chunks_new_;
        }
      }
      bytes_done_ += it.length;
    }
    FileJob* f = it.file;
    FileDone(f);
  }
  job.slab.reset();
  Report("reading");
}

void Archiver::FileDone(FileJob* f) {
  if (f->pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  ++files_done_;
  DirDone(f->dir);
}

void Archiver::DirDone(DirNode* d) {
  while (d != nullptr) {
    if (d->pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    DirNode* parent = d->parent;
    FinalizeDir(d);
    d = parent;
  }
}

void Archiver::FinalizeDir(DirNode* d) {
  // Move the finished files' pieces into their entries, merging adjacent holes.
  std::vector<bool> drop(d->entries.size(), false);
  for (auto& f : d->files) {
    if (f->failed) {
      drop[f->entry] = true;
      continue;
    }
    auto& pieces = d->entries[f->entry].pieces;
    pieces.clear();
    uint64_t total = 0;
    for (const auto& p : f->pieces) {
      if (p.hole && !pieces.empty() && pieces.back().hole) {
        pieces.back().length += p.length;
      } else {
        pieces.push_back(p);
      }
      total += p.length;
    }
    d->entries[f->entry].size = total;
  }
  d->files.clear();
  Tree tree;
  tree.entries.reserve(d->entries.size());
  for (size_t i = 0; i < d->entries.size(); ++i) {
    if (drop[i]) continue;
    for (const auto& p : d->entries[i].pieces) {
      if (!p.hole) ++chunks_;
    }
    tree.entries.push_back(std::move(d->entries[i]));
  }
  BlobId id{};
  if (!state_.failed()) {
    Bytes plain = EncodeTree(tree);
    id = repo_->HashBlob(BlobType::kTree, plain);
    if (Claim(id)) {
      ByteView stored;
      Compression c = MaybeCompress(plain, level_, stored);
      if (auto st =
              tree_packs_.Add(id, BlobType::kTree, c, stored, static_cast<uint32_t>(plain.size()));
          !st) {
        Fail(st.error());
      }
    }
  }
  if (d->parent != nullptr) {
    d->parent->entries[d->parent_entry].subtree = id;
  } else {
    util::MutexLock lock(root_mu_);
    root_tree_ = id;
    root_done_ = true;
  }
  delete d;
}

}  // namespace mlvault::vault::archive
