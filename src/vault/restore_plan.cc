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

#include "util/log.h"
#include "vault/restorer_internal.h"

namespace mlvault::vault::restore {

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
    size_t first = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < wants.size(); ++i) {
      bytes += wants[i].stored_len;
      const bool last = i + 1 == wants.size();
      if (!last && wants[i + 1].pack == wants[i].pack && bytes < kPlanChunkBytes) continue;
      auto chunk = std::make_shared<std::vector<Want>>(wants.begin() + static_cast<long>(first),
                                                       wants.begin() + static_cast<long>(i + 1));
      writers_->Submit([this, chunk] {
        if (!Stopped()) Fetch(*chunk, false);
      });
      first = i + 1;
      bytes = 0;
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
  util::Log(util::LogLevel::kDebug,
            "restore: window of {} files, {} blobs: files made in {:.3f} s, written in {:.3f} s",
            files->size() + large.size(), wants.size(), t1 - t0, util::MonotonicSeconds() - t1);
}

}  // namespace mlvault::vault::restore
