// Garbage collection (docs/vault-format.md section 10), run under the exclusive lock.
//
// Order of the visible steps is what makes a kill at any instant harmless:
//   new packs (repacked blobs) -> new index files -> remove old index files -> remove packs.
// Until the new index is complete nothing references the new packs; until the old index files
// are gone the old packs stay; packs are removed only when no index names them.
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "util/log.h"
#include "util/mutex.h"
#include "vault/blob_set.h"
#include "vault/engine.h"
#include "vault/lock.h"

namespace mlvault::vault {
namespace {

// A partly used pack is rewritten when more than this fraction of it is dead.
constexpr double kRepackDeadFraction = 0.20;
// Packs per new index file, as a backup writes them (IndexWriter also closes a file at
// IndexWriter::kBlobsPerFile blobs, so files of small files' chunks stay a few MB).
constexpr size_t kGcPacksPerIndexFile = 64;
constexpr size_t kMaxGcNotes = 5;

struct PackPlan {
  uint64_t size = 0;
  uint64_t live = 0;
  // The blobs whose chosen copy is here: places in the old index's raw lists, and whole
  // entries of an adopted (unindexed) pack.
  std::vector<MasterIndex::RawRef> live_refs;
  std::vector<BlobEntry> live_adopted;
};

}  // namespace

Result<GcStats> RunGc(Repository* repo, VaultLock* lock, util::ProgressSink* progress,
                      const util::CancelToken* cancel) {
  const double t0 = util::MonotonicSeconds();
  GcStats stats;
  auto cancelled = [&]() -> Status {
    if (cancel != nullptr && cancel->cancelled())
      return util::Cancelled("gc cancelled: " + cancel->reason());
    return util::Ok();
  };
  auto report = [&](const char* phase, uint64_t done, uint64_t total) {
    if (progress == nullptr) return;
    util::ProgressSnapshot s;
    s.phase = phase;
    s.files_done = done;
    s.files_total = total;
    progress->Report(s);
  };

  // 1. Everything there is. Damage anywhere stops GC before it removes anything.
  std::vector<ObjectId> old_index_files;
  auto index =
      MLV_TRY_CTX(repo->LoadIndex(&old_index_files, nullptr), "gc needs every index file readable");
  auto points = MLV_TRY_CTX(repo->ListManifests(nullptr), "gc needs every recovery point readable");
  stats.recovery_points = points.size();
  auto listed = MLV_TRY_CTX(repo->backend()->List("data/"), "cannot list packs");
  std::unordered_map<ObjectId, uint64_t, ObjectIdHash> present;
  for (const auto& o : listed) {
    if (auto id = IdFromName(o.name, "data/")) present[*id] = o.size;
  }

  // Packs no index names: leftovers of interrupted operations, or packs whose index file was
  // lost. Their headers (authenticated) say what they hold; marking uses them too, so a vault
  // that lost an index file is repaired (its packs adopted) rather than emptied.
  std::unordered_set<ObjectId, ObjectIdHash> indexed(index->packs().begin(), index->packs().end());
  std::vector<IndexPack> unindexed;
  std::vector<ObjectId> leftovers;
  for (const auto& [pack, size] : present) {
    if (indexed.count(pack)) continue;
    auto header = repo->ReadPackHeader(pack, size);
    if (header) {
      unindexed.push_back(IndexPack{pack, std::move(*header)});
    } else {
      leftovers.push_back(pack);  // a pack cut short by a crash: nothing can use it
    }
  }
  // Marking reads trees through the index plus the unindexed packs' blobs; without unindexed
  // packs (the usual case) that is the index itself, not a second copy of it.
  std::unique_ptr<MasterIndex> with_unindexed;
  if (!unindexed.empty()) {
    with_unindexed = std::make_unique<MasterIndex>(/*keep_raw=*/false);
    for (size_t r = 0; r < index->raw_count(); ++r) with_unindexed->AddPack(index->RawPackAt(r));
    for (const auto& ip : unindexed) with_unindexed->AddPack(ip);
    with_unindexed->Finalize();
  }
  const MasterIndex& full = with_unindexed ? *with_unindexed : *index;

  // 2. Mark: one bit per blob of `full` (blob_set.h), not a set of ids.
  std::optional<BlobSet> used_set(std::in_place, full);
  BlobSet& used = *used_set;
  std::vector<BlobId> roots;
  for (const auto& m : points) roots.push_back(m.tree);
  MLV_TRY_CTX(ForEachTree(
                  repo, full, roots,
                  [&](const BlobId& id, const Tree& tree) {
                    used.Insert(id);
                    for (const auto& e : tree.entries) {
                      if (e.type != EntryType::kFile) continue;
                      for (const auto& p : e.pieces) {
                        if (!p.hole) used.Insert(p.id);
                      }
                    }
                  },
                  nullptr, cancel),
              "gc cannot read every tree (run verify)");
  report("marked", 0, 0);

  // Adopt unindexed packs that hold used blobs the index lost; the others are leftovers.
  // (`missing` holds only damage: used blobs the index lost.)
  std::unordered_set<BlobId, BlobIdHash> missing(used.unindexed().begin(),
                                                 used.unindexed().end());
  uint64_t used_indexed = 0;  // used blobs the index holds
  used.ForEachIndexed([&](size_t pos) {
    if (with_unindexed == nullptr || index->Contains(full.IdAt(pos))) {
      ++used_indexed;
    } else {
      missing.insert(full.IdAt(pos));
    }
  });
  std::vector<IndexPack> adopted;
  for (auto& ip : unindexed) {
    bool holds_missing = std::any_of(ip.blobs.begin(), ip.blobs.end(),
                                     [&](const BlobEntry& b) { return missing.count(b.id) > 0; });
    if (holds_missing) {
      adopted.push_back(std::move(ip));
    } else {
      leftovers.push_back(ip.pack);
    }
  }
  for (const auto& ip : adopted) {
    for (const auto& b : ip.blobs) missing.erase(b.id);
  }
  if (!missing.empty()) {
    return util::Corruption(
        fmt::format("gc stopped: {} chunks referenced by recovery points are in no pack (first: "
                    "{}); run verify",
                    missing.size(), IdHex(*missing.begin())));
  }
  stats.packs_adopted = adopted.size();

  // 3. Plan: one copy of each used blob (an adopted or indexed location), live bytes per pack.
  // An indexed location is kept as its place in the old index's raw lists (4 bytes), so the
  // old index stays until the new one is written: at 10M chunks a plan of whole entries (48
  // bytes each) beside the index was what made GC the largest step.
  std::unordered_map<ObjectId, PackPlan, ObjectIdHash> plan;
  std::optional<BlobSet> placed_set(std::in_place, full);
  BlobSet& placed = *placed_set;
  auto take = [&](const ObjectId& pack) -> PackPlan* {
    auto it = present.find(pack);
    if (it == present.end()) return nullptr;  // an indexed pack that is gone: drop it from the index
    PackPlan& pp = plan[pack];
    pp.size = it->second;
    return &pp;
  };
  for (auto& ip : adopted) {
    PackPlan* pp = take(ip.pack);
    if (pp == nullptr) continue;
    for (const auto& b : ip.blobs) {
      if (!used.Contains(b.id) || !placed.Insert(b.id)) continue;
      pp->live += b.stored_len;
      pp->live_adopted.push_back(b);
    }
  }
  adopted.clear();
  for (size_t r = 0; r < index->raw_count(); ++r) {
    PackPlan* pp = take(index->RawPack(r));
    if (pp == nullptr) continue;
    index->ForEachRaw(r, [&](MasterIndex::RawRef ref, const BlobEntry& b) {
      if (!used.Contains(b.id) || !placed.Insert(b.id)) return;
      pp->live += b.stored_len;
      pp->live_refs.push_back(ref);
    });
  }
  // Every used blob is in `full` (the unindexed ones would have stopped GC above as missing),
  // so placed is a subset of used: equal sizes mean every used blob found a present pack.
  if (placed.size() != used.size()) {
    std::optional<BlobId> lost;
    used.ForEachIndexed([&](size_t pos) {
      if (!lost && !placed.Contains(full.IdAt(pos))) lost = full.IdAt(pos);
    });
    return util::Corruption("gc stopped: chunk " + (lost ? IdHex(*lost) : std::string("?")) +
                            " is indexed only in missing packs; run verify");
  }
  // From here on the plan and the old index (the entries its refs name) are needed: drop the
  // marks before repacking.
  const uint64_t indexed_blobs = index->blob_count();
  placed_set.reset();
  used_set.reset();
  with_unindexed.reset();
  // The live blobs of a pack in the plan, as whole entries.
  auto live_entries = [&](const PackPlan& pp) {
    std::vector<BlobEntry> out;
    out.reserve(pp.live_refs.size() + pp.live_adopted.size());
    for (MasterIndex::RawRef ref : pp.live_refs) out.push_back(index->RawEntry(ref));
    out.insert(out.end(), pp.live_adopted.begin(), pp.live_adopted.end());
    return out;
  };
  std::vector<ObjectId> remove, repack, keep;
  for (auto& [pack, pp] : plan) {
    if (pp.live == 0) {
      remove.push_back(pack);
    } else if (static_cast<double>(pp.size - std::min(pp.size, pp.live)) >
               kRepackDeadFraction * static_cast<double>(pp.size)) {
      repack.push_back(pack);
    } else {
      keep.push_back(pack);
    }
  }
  MLV_TRY(cancelled());

  // The new index files, written as their packs are known (kept packs first, then the packs
  // the repacking writes), each at kGcPacksPerIndexFile packs or IndexWriter::kBlobsPerFile
  // blobs: no list of every live blob is held, and a file of small files' chunks stays small.
  IndexWriter new_index(repo, kGcPacksPerIndexFile);
  for (const auto& pack : keep) MLV_TRY(new_index.Add(IndexPack{pack, live_entries(plan[pack])}));

  // 4. Repack: copy live sealed blobs unchanged into new packs, authenticating each first.
  util::Mutex new_mu;  // guards new_bytes: the pack writers' uploaders report here
  uint64_t new_bytes = 0;
  auto on_written = [&](const IndexPack& p, uint64_t size) -> Status {
    {
      util::MutexLock lk(new_mu);
      new_bytes += size;
    }
    return new_index.Add(p);
  };
  {
    PackWriter data_writer(repo, repo->options().pack_target_size, 1, on_written);
    PackWriter tree_writer(repo, repo->options().pack_target_size, 1, on_written);
    Bytes plain;
    size_t done = 0;
    for (const auto& pack : repack) {
      if (auto st = cancelled(); !st) {
        (void)data_writer.Finish();
        (void)tree_writer.Finish();
        return std::unexpected(st.error());
      }
      auto data = repo->backend()->Get(PackName(pack));
      Status st = data ? util::Ok()
                       : Status(std::unexpected(
                             data.error().WithContext("cannot read pack " + IdHex(pack))));
      if (st) {
        for (const auto& b : live_entries(plan[pack])) {
          if (uint64_t{b.offset} + b.stored_len > data->size()) {
            st = util::Corruption("pack " + IdHex(pack) + " is shorter than its index says");
            break;
          }
          ByteView sealed(data->data() + b.offset, b.stored_len);
          st = repo->OpenBlob(sealed, b.id, b.type, b.comp, b.raw_len, true, plain);
          if (!st) {
            st = std::unexpected(st.error().WithContext("gc stopped, nothing removed; run verify"));
            break;
          }
          st = (b.type == BlobType::kTree ? tree_writer : data_writer).AddSealed(b, sealed);
          if (!st) break;
        }
      }
      if (!st) {
        (void)data_writer.Finish();
        (void)tree_writer.Finish();
        return std::unexpected(st.error());
      }
      report("repacking", ++done, repack.size());
    }
    MLV_TRY(data_writer.Finish());
    MLV_TRY(tree_writer.Finish());
  }
  MLV_TRY(new_index.Flush());
  const std::vector<ObjectId> new_file_list = new_index.files();
  const std::set<ObjectId> new_files(new_file_list.begin(), new_file_list.end());
  const uint64_t index_bytes = new_index.bytes_written();
  plan.clear();
  index.reset();

  // 5. The new index is complete: kept packs (live blobs only), adopted packs and new packs.
  // Then the old index files go.
  if (lock != nullptr) MLV_TRY(lock->Check());
  uint64_t old_index_bytes = 0;
  {
    auto objs = MLV_TRY(repo->backend()->List("index/"));
    std::set<ObjectId> old(old_index_files.begin(), old_index_files.end());
    for (const auto& o : objs) {
      auto id = IdFromName(o.name, "index/");
      if (!id) continue;
      if (old.count(*id)) old_index_bytes += o.size;
    }
  }
  for (const auto& id : old_index_files) {
    auto st = repo->backend()->Remove(IndexName(id));
    if (!st && st.error().code() == util::ErrorCode::kConflict) {
      // mlvault never retains index files (section 10.1): a bucket default retention does.
      return util::PermissionDenied(
          "gc stopped before removing any pack: " + st.error().message() +
          "; mlvault retains the objects of locked backups itself, so remove the bucket's "
          "default Object Lock retention (index and lock objects must stay removable)");
    }
    MLV_TRY_CTX(std::move(st), "cannot remove an old index file");
  }

  // 6. A lock violation would show as an index file nobody here knows: then remove nothing.
  {
    auto objs = MLV_TRY(repo->backend()->List("index/"));
    for (const auto& o : objs) {
      auto id = IdFromName(o.name, "index/");
      if (id && !new_files.count(*id)) {
        return util::Conflict("gc found index file " + o.name +
                              " written while it held the exclusive lock; no packs were removed");
      }
    }
  }
  if (lock != nullptr) MLV_TRY(lock->Check());
  uint64_t freed = 0;
  // A pack under S3 Object Lock retention cannot be removed before its date (section 10.1):
  // it is skipped with a note, stays unindexed (or, repacked, a duplicate) and a later GC
  // removes it once the retention has ended.
  auto drop = [&](const ObjectId& pack) -> Result<bool> {
    auto st = repo->backend()->Remove(PackName(pack));
    if (!st && st.error().code() == util::ErrorCode::kConflict) {
      ++stats.packs_retained;
      if (stats.notes.size() < kMaxGcNotes) stats.notes.push_back(st.error().message());
      return false;
    }
    MLV_TRY_CTX(std::move(st), "cannot remove pack");
    freed += present[pack];
    return true;
  };
  for (const auto& p : remove) {
    if (MLV_TRY(drop(p))) ++stats.packs_removed;
  }
  for (const auto& p : repack) {
    if (MLV_TRY(drop(p))) ++stats.packs_repacked;
  }
  for (const auto& p : leftovers) {
    if (MLV_TRY(drop(p))) ++stats.leftovers_removed;
  }
  if (stats.packs_retained > 0)
    util::Log(util::LogLevel::kInfo,
              "gc: {} packs are retained by S3 Object Lock and were left in place (first: {})",
              stats.packs_retained, stats.notes.front());
  // Chunks removed: indexed blobs that no kept, adopted or new pack lists any more. The new
  // index lists exactly the used blobs (each placed once), so those are the indexed blobs not
  // used.
  stats.chunks_removed = indexed_blobs - used_indexed;
  uint64_t added = new_bytes + index_bytes;
  uint64_t removed = freed + old_index_bytes;
  stats.bytes_freed = removed > added ? removed - added : 0;
  stats.duration_seconds = util::MonotonicSeconds() - t0;
  if (progress != nullptr) progress->Finish();
  return stats;
}

}  // namespace mlvault::vault
