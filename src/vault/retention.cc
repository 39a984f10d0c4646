// S3 Object Lock retention of a recovery point's objects (docs/vault-format.md section 10.1):
// the objects a point needs to be restored, and retaining them.
#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_set>

#include "util/mutex.h"
#include "vault/engine.h"

namespace mlvault::vault {

Result<std::vector<std::string>> PointObjects(Repository* repo, const Manifest& point,
                                              const util::CancelToken* cancel) {
  auto index = MLV_TRY_CTX(repo->LoadIndex(nullptr, nullptr, /*keep_raw=*/true),
                           "cannot read the vault's index to find what a recovery point needs");
  std::unordered_set<BlobId, BlobIdHash> used;
  MLV_TRY_CTX(ForEachTree(
                  repo, *index, {point.tree},
                  [&](const BlobId& id, const Tree& tree) {
                    used.insert(id);
                    for (const auto& e : tree.entries) {
                      if (e.type != EntryType::kFile) continue;
                      for (const auto& p : e.pieces)
                        if (!p.hole) used.insert(p.id);
                    }
                  },
                  nullptr, cancel),
              "cannot read every tree of recovery point " + IdHex(point.id) + " (run verify)");
  std::vector<std::string> out = {"config", PointName(point.id)};
  // Every pack holding one of its blobs, duplicates included: whichever copy GC keeps, the
  // retained one stays, and GC adopts it again if the other goes.
  for (size_t r = 0; r < index->raw_count(); ++r) {
    bool holds = false;
    index->ForEachRaw(r, [&](MasterIndex::RawRef, const BlobEntry& b) {
      holds = holds || used.count(b.id) > 0;
    });
    if (holds) out.push_back(PackName(index->RawPack(r)));
  }
  return out;
}

Result<uint64_t> RunRetain(Repository* repo, const Manifest& point, std::string_view mode,
                           int64_t until_unix, const util::CancelToken* cancel) {
  auto objects = MLV_TRY(PointObjects(repo, point, cancel));
  backend::Backend* b = repo->backend();
  std::atomic<size_t> next{0};
  util::Mutex mu;  // guards failure while the workers run
  std::optional<util::Error> failure;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < objects.size();) {
      if (cancel != nullptr && cancel->cancelled()) return;
      auto st = b->Retain(objects[i], mode, until_unix);
      if (!st) {
        util::MutexLock lk(mu);
        if (!failure) failure = st.error();
        next = objects.size();
        return;
      }
    }
  };
  const size_t n = std::clamp<size_t>(static_cast<size_t>(b->ConcurrentReads()), 1, 8);
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(n, objects.size()); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (failure)
    return std::unexpected(failure->WithContext("retaining recovery point " + IdHex(point.id)));
  if (cancel != nullptr && cancel->cancelled())
    return util::Cancelled("retention cancelled: " + cancel->reason());
  return objects.size();
}

}  // namespace mlvault::vault
