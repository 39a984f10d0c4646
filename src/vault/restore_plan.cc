// Restore from remote storage, planned in pack order. On S3 every read is a request the server
// must serve, so restoring file by file (each task reading the ranges its files need) reads
// many small ranges and the same pack several times: the walk's order and the packs' order
// differ (packs are written by parallel workers). Here the walk creates a window of files and
// records every blob they need; the window is then sorted by pack and offset and each pack's
// wanted part is read once (Fetch merges neighbouring blobs into one range) and written to
// every file that needs each blob. Windows are bounded in open files and bytes, so memory and
// descriptors stay bounded whatever the size of the recovery point.
#include <fmt/core.h>

#include <algorithm>
#include <memory>
#include <set>

#include "util/log.h"
#include "vault/restorer_internal.h"

namespace mlvault::vault::restore {

std::vector<std::pair<size_t, size_t>> PlanChunks(const std::vector<Want>& wants) {
  std::vector<std::pair<size_t, size_t>> chunks;
  size_t first = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < wants.size(); ++i) {
    bytes += wants[i].stored_len;
    const bool last = i + 1 == wants.size();
    if (!last && wants[i + 1].pack == wants[i].pack && bytes < kPlanChunkBytes) continue;
    chunks.emplace_back(first, i + 1);
    first = i + 1;
    bytes = 0;
  }
  return chunks;
}

void Restorer::PlanBatch(std::vector<Want>& wants, std::vector<std::unique_ptr<FileState>>& files) {
  util::MutexLock lock(plan_mu_);
  plan_wants_.insert(plan_wants_.end(), wants.begin(), wants.end());
  for (auto& f : files) plan_files_.push_back(std::move(f));
}

void Restorer::PlanLarge(std::shared_ptr<FileState> f) {
  std::vector<Want> wants;
  for (size_t i = 0; i < f->entry.pieces.size(); ++i) {
    const Piece& p = f->entry.pieces[i];
    if (p.hole) {
      bytes_done_ += p.length;
      continue;
    }
    if (!AddWant(f.get(), p, f->offsets[i], wants)) break;
  }
  util::MutexLock lock(plan_mu_);
  plan_wants_.insert(plan_wants_.end(), wants.begin(), wants.end());
  plan_large_.push_back(std::move(f));
}

void Restorer::PlanCounted(uint64_t bytes) {
  ++plan_counted_files_;
  plan_counted_bytes_ += bytes;
  if (plan_counted_files_ < plan_window_files_ && plan_counted_bytes_ < kPlanWindowBytes) return;
  FlushBatch();
  RunPlan();
}

void Restorer::RunPlan() {
  const double t0 = util::MonotonicSeconds();
  writers_->Wait();  // every batch of the window has created its files and handed them over
  const double t1 = util::MonotonicSeconds();
  plan_counted_files_ = 0;
  plan_counted_bytes_ = 0;
  std::vector<Want> wants;
  auto files = std::make_shared<std::vector<std::unique_ptr<FileState>>>();
  std::vector<std::shared_ptr<FileState>> large;
  {
    util::MutexLock lock(plan_mu_);
    wants.swap(plan_wants_);
    files->swap(plan_files_);
    large.swap(plan_large_);
  }
  if (!Stopped() && !wants.empty()) {
    std::sort(wants.begin(), wants.end(), [](const Want& a, const Want& b) {
      return a.pack != b.pack ? a.pack < b.pack : a.offset < b.offset;
    });
    // One task per pack (its wanted part), a pack with more than kPlanChunkBytes wanted split
    // over several; Fetch merges each task's neighbouring blobs into range reads.
    for (auto [first, last] : PlanChunks(wants)) {
      auto chunk = std::make_shared<std::vector<Want>>(wants.begin() + static_cast<long>(first),
                                                       wants.begin() + static_cast<long>(last));
      writers_->Submit([this, chunk] {
        if (!Stopped()) Fetch(*chunk, false);
      });
    }
    writers_->Wait();
  }
  // Every file of the window ends here: finished (its metadata set through its descriptor) or,
  // after a failure, removed. Groups of files go to the writers (metadata is a few syscalls a
  // file; restores of many small files are syscall-bound).
  const size_t group = 256;
  for (size_t a = 0; a < files->size(); a += group) {
    const size_t b = std::min(files->size(), a + group);
    writers_->Submit([this, files, a, b] {
      for (size_t k = a; k < b; ++k) FinishFile(*(*files)[k], !state_.failed());
    });
  }
  for (auto& f : large) FinishFile(*f, !state_.failed());
  writers_->Wait();
  size_t unused = 0;  // prefetched reads no task took (the walk made a different window)
  {
    util::MutexLock lock(plan_mu_);
    for (const auto& [pack, reads] : prefetched_) unused += reads.size();
    prefetched_.clear();
  }
  if (unused > 0) util::Log(util::LogLevel::kDebug, "restore: {} prefetched reads unused", unused);
  util::Log(util::LogLevel::kDebug,
            "restore: window of {} files, {} blobs: files made in {:.3f} s, written in {:.3f} s",
            files->size() + large.size(), wants.size(), t1 - t0, util::MonotonicSeconds() - t1);
}

void Restorer::PrefetchFirstWindow(const Tree& root) {
  const double t0 = util::MonotonicSeconds();
  // The walk's order and count (PlanCounted): a directory made counts one, a file one and its
  // size, a further name of a hard-linked file nothing; the window ends with the entry that
  // fills it. Only packs, offsets and lengths matter here (no file exists yet).
  std::vector<Want> wants;
  std::set<std::pair<uint64_t, uint64_t>> linked;
  size_t counted = 0;
  uint64_t counted_bytes = 0;
  auto full = [&](uint64_t bytes) {
    ++counted;
    counted_bytes += bytes;
    return counted >= plan_window_files_ || counted_bytes >= kPlanWindowBytes;
  };
  struct Pos {
    const Tree* tree;
    size_t next;
  };
  std::vector<Pos> stack{{&root, 0}};
  bool done = false;
  while (!stack.empty() && !done && !Stopped()) {
    Pos& top = stack.back();
    if (top.next == top.tree->entries.size()) {
      stack.pop_back();
      continue;
    }
    const TreeEntry& e = top.tree->entries[top.next++];
    if (e.type == EntryType::kDir) {
      if (full(0)) break;
      const Tree* sub = nullptr;
      if (auto it = trees_planned_.find(e.subtree); it != trees_planned_.end()) {
        sub = &it->second;
      } else {
        auto tree = LoadWalkTree(e.subtree);
        if (!tree) break;  // the walk reads it again and reports the error
        sub = &trees_planned_.emplace(e.subtree, std::move(*tree)).first->second;
      }
      stack.push_back(Pos{sub, 0});  // `top` is not used after this
    } else if (e.type == EntryType::kFile) {
      if (e.nlink > 1 && !linked.emplace(e.dev, e.ino).second) continue;
      for (const Piece& p : e.pieces) {
        if (p.hole) continue;
        if (const BlobLocation* loc = index_->Find(p.id); loc != nullptr)
          wants.push_back(Want{loc->pack, loc->offset, loc->stored_len, p.id, loc, nullptr, 0, 0});
      }
      done = full(e.size);
    }
  }
  // The reads RunPlan's tasks will make first (PlanChunks, then Fetch's MergeRanges), in pack
  // order, up to kPrefetchBytes.
  std::sort(wants.begin(), wants.end(), [](const Want& a, const Want& b) {
    return a.pack != b.pack ? a.pack < b.pack : a.offset < b.offset;
  });
  uint64_t issued = 0;
  size_t reads = 0;
  bool budget_spent = false;
  for (auto [first, last] : PlanChunks(wants)) {
    const std::vector<Want> chunk(wants.begin() + static_cast<long>(first),
                                  wants.begin() + static_cast<long>(last));
    for (const Range& r : MergeRanges(chunk, coalesce_gap_, coalesce_max_)) {
      if (issued > 0 && issued + (r.end - r.start) > kPrefetchBytes) {
        budget_spent = true;
        break;
      }
      const uint32_t pack = chunk[r.first].pack;
      Prefetched pre{r.start, r.end, ReadRange(pack, r.start, r.end - r.start)};
      util::MutexLock lock(plan_mu_);
      prefetched_[pack].push_back(std::move(pre));
      issued += r.end - r.start;
      ++reads;
    }
    if (budget_spent || issued >= kPrefetchBytes) break;
  }
  util::Log(util::LogLevel::kDebug,
            "restore: first window planned from {} trees in {:.3f} s ({} blobs); {} reads of {} "
            "bytes started",
            trees_planned_.size(), util::MonotonicSeconds() - t0, wants.size(), reads, issued);
}

std::optional<Restorer::Prefetched> Restorer::TakePrefetched(uint32_t pack, uint64_t start,
                                                             uint64_t end) {
  util::MutexLock lock(plan_mu_);
  auto it = prefetched_.find(pack);
  if (it == prefetched_.end()) return std::nullopt;
  auto& reads = it->second;
  for (size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].start <= start && end <= reads[i].end) {
      Prefetched out = std::move(reads[i]);
      reads.erase(reads.begin() + static_cast<long>(i));
      if (reads.empty()) prefetched_.erase(it);
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace mlvault::vault::restore
