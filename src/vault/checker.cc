// Verify: proves recovery points restorable without restoring them, and names what damage
// affects. Structural pass: every index file decodes, every manifest opens, every tree reached
// decodes, every chunk referenced is indexed in a pack that exists and is long enough. With
// read_data: every pack that holds indexed blobs is read whole; its header must authenticate and
// agree with the index, and every blob must authenticate, decompress and hash to its id.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "util/log.h"
#include "util/mutex.h"
#include "util/thread_pool.h"
#include "vault/blob_set.h"
#include "vault/engine.h"

namespace mlvault::vault {

Status ForEachTree(Repository* repo, const MasterIndex& index, const std::vector<BlobId>& roots,
                   const TreeVisitor& visit, const TreeErrorFn& on_error,
                   const util::CancelToken* cancel) {
  std::unordered_set<BlobId, BlobIdHash> seen;
  std::vector<BlobId> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back(*it);
  while (!stack.empty()) {
    if (cancel != nullptr && cancel->cancelled())
      return util::Cancelled("cancelled: " + cancel->reason());
    BlobId id = stack.back();
    stack.pop_back();
    if (!seen.insert(id).second) continue;
    auto tree = repo->LoadTree(index, id);
    if (!tree) {
      if (on_error && on_error(id, tree.error())) continue;
      return std::unexpected(tree.error());
    }
    visit(id, *tree);
    for (auto it = tree->entries.rbegin(); it != tree->entries.rend(); ++it) {
      if (it->type == EntryType::kDir) stack.push_back(it->subtree);
    }
  }
  return util::Ok();
}

namespace {

constexpr size_t kMaxAffected = 200;

class Checker {
 public:
  Checker(Repository* repo, const std::optional<std::string>& id, bool read_data,
          util::ProgressSink* progress, const util::CancelToken* cancel)
      : repo_(repo), only_(id), read_data_(read_data), progress_(progress), cancel_(cancel) {}

  Result<VerifyReport> Run();

 private:
  void BadBlob(const BlobId& id, std::string object, std::string problem) {
    util::MutexLock lk(mu_);
    bad_.emplace(id, std::make_pair(std::move(object), std::move(problem)));
  }
  void AddDamage(Damage d) {
    util::MutexLock lk(mu_);
    report_.damaged.push_back(std::move(d));
  }
  void CheckPackData(uint32_t pack, uint64_t size);
  // CheckPackData with `buf` to read the pack into.
  void CheckPackBytes(uint32_t pack, const std::string& object, Bytes& buf);
  // Calls fn(entry) for every blob the index places in `pack` (duplicates included).
  template <typename Fn>
  void ForEachEntry(const ObjectId& pack, Fn&& fn) const {
    auto it = pack_raw_.find(pack);
    if (it == pack_raw_.end()) return;
    for (uint32_t r : it->second) {
      index_->ForEachRaw(r, [&](MasterIndex::RawRef, const BlobEntry& b) { fn(b); });
    }
  }
  void NameAffected() MLV_REQUIRES(mu_);

  Repository* const repo_;
  const std::optional<std::string> only_;
  const bool read_data_;
  util::ProgressSink* const progress_;
  const util::CancelToken* const cancel_;

  std::shared_ptr<MasterIndex> index_;
  std::vector<Manifest> points_;
  std::unique_ptr<BlobSet> used_;  // data and tree blobs reached: a bit per indexed blob
  std::unordered_map<ObjectId, uint64_t, ObjectIdHash> listed_;  // packs present, with sizes
  // Per pack, the index's raw lists that list its blobs (not a copy of them).
  std::unordered_map<ObjectId, std::vector<uint32_t>, ObjectIdHash> pack_raw_;

  // mu_ guards the bad blobs, and report_.damaged while the pack readers run (CheckPackData on
  // the pool). report_ is not annotated: Run fills its other fields, and `damaged` before and
  // after the pool runs, on its own thread, which the analysis cannot tell apart.
  util::Mutex mu_;
  VerifyReport report_;
  std::map<BlobId, std::pair<std::string, std::string>> bad_ MLV_GUARDED_BY(mu_);
  std::atomic<uint64_t> bytes_read_{0};
  std::atomic<uint64_t> packs_done_{0};
  // The data pass's pack buffers, one per reader at most, reused from pack to pack: a whole
  // pack (8 MiB) allocated per read left each reader thread's malloc arena holding freed packs.
  util::Mutex buffers_mu_;
  std::vector<Bytes> buffers_ MLV_GUARDED_BY(buffers_mu_);
};

void Checker::CheckPackData(uint32_t p, uint64_t size) {
  (void)size;
  const std::string object = PackName(index_->packs()[p]);
  // A buffer of the pool (each reader returns its own when done with the pack).
  Bytes buf;
  {
    util::MutexLock lk(buffers_mu_);
    if (!buffers_.empty()) {
      buf = std::move(buffers_.back());
      buffers_.pop_back();
    }
  }
  CheckPackBytes(p, object, buf);
  util::MutexLock lk(buffers_mu_);
  buffers_.push_back(std::move(buf));
}

void Checker::CheckPackBytes(uint32_t p, const std::string& object, Bytes& buf) {
  const ObjectId& pack = index_->packs()[p];
  if (auto st = repo_->backend()->GetInto(object, 0, 0, buf); !st) {
    ForEachEntry(pack, [&](const BlobEntry& b) {
      BadBlob(b.id, object, "cannot read the pack: " + st.error().message());
    });
    return;
  }
  const Bytes& data = buf;
  bytes_read_ += data.size();
  auto header = repo_->ParsePack(pack, data);
  if (!header) {
    AddDamage(Damage{object,
                     header.error().message() + " (the blobs are checked one by one; the header is "
                                                "needed only to rebuild a lost index)",
                     {}});
  } else {
    std::map<uint32_t, const BlobEntry*> by_offset;
    for (const auto& h : *header) by_offset[h.offset] = &h;
    ForEachEntry(pack, [&](const BlobEntry& b) {
      auto it = by_offset.find(b.offset);
      if (it == by_offset.end() || !(*it->second == b)) {
        AddDamage(Damage{
            object,
            fmt::format("the pack header does not list blob {} the index places at offset {}",
                        IdHex(b.id), b.offset),
            {}});
      }
    });
  }
  Bytes plain;
  ForEachEntry(pack, [&](const BlobEntry& b) {
    if (cancel_ != nullptr && cancel_->cancelled()) return;
    if (static_cast<uint64_t>(b.offset) + b.stored_len > data.size()) {
      BadBlob(b.id, object, "the pack ends before this blob");
      return;
    }
    ByteView sealed(data.data() + b.offset, b.stored_len);
    if (auto st = repo_->OpenBlob(sealed, b.id, b.type, b.comp, b.raw_len, true, plain); !st) {
      BadBlob(b.id, object, st.error().message());
    }
  });
  if (cancel_ != nullptr && cancel_->cancelled()) return;
  ++packs_done_;
  if (progress_ != nullptr) {
    util::ProgressSnapshot s;
    s.phase = "reading packs";
    s.bytes_done = bytes_read_;
    s.files_done = packs_done_;
    s.files_total = pack_raw_.size();
    progress_->Report(s);
  }
}

void Checker::NameAffected() {
  // Second walk, with paths, only when something is damaged: which files and blocks does it hit?
  std::map<BlobId, std::vector<std::string>> affected;
  auto note = [&](const BlobId& id, std::string what) {
    auto& v = affected[id];
    if (v.size() < kMaxAffected)
      v.push_back(std::move(what));
    else if (v.size() == kMaxAffected)
      v.push_back("... and more");
  };
  const uint64_t block = repo_->config().params.block_size;
  for (const auto& m : points_) {
    const std::string rp = IdHex(m.id);
    std::unordered_set<BlobId, BlobIdHash> tree_seen;
    struct Item {
      BlobId id;
      std::string path;
    };
    std::vector<Item> stack{{m.tree, ""}};
    while (!stack.empty()) {
      Item it = std::move(stack.back());
      stack.pop_back();
      if (bad_.count(it.id)) {
        note(it.id, rp + ":" + (it.path.empty() ? "/" : PrintablePath(it.path) + "/") +
                        " (directory listing and everything below)");
        continue;
      }
      auto tree = repo_->LoadTree(*index_, it.id);
      if (!tree) continue;
      for (const auto& e : tree->entries) {
        std::string path = it.path.empty() ? e.name : it.path + "/" + e.name;
        if (e.type == EntryType::kDir) {
          stack.push_back({e.subtree, path});
        } else if (e.type == EntryType::kFile) {
          uint64_t off = 0;
          for (const auto& p : e.pieces) {
            if (!p.hole && bad_.count(p.id)) {
              if (m.kind == VolumeKind::kBlock) {
                note(p.id, fmt::format("{}:blocks {}-{} (bytes {}+{})", rp, off / block,
                                       (off + p.length - 1) / block, off, p.length));
              } else {
                note(p.id, rp + ":" + PrintablePath(path));
              }
            }
            off += p.length;
          }
        }
      }
    }
  }
  // One Damage per bad blob; blobs of one pack with one problem are reported together.
  for (const auto& [id, what] : bad_) {
    Damage d;
    d.object = "blob " + IdHex(id) + (what.first.empty() ? "" : " in " + what.first);
    d.problem = what.second;
    auto it = affected.find(id);
    if (it != affected.end()) d.affected = it->second;
    report_.damaged.push_back(std::move(d));
  }
}

Result<VerifyReport> Checker::Run() {
  const double t0 = util::MonotonicSeconds();
  std::vector<LoadProblem> problems;
  // Manifests before the index: a backup running concurrently writes its manifest only after
  // its index files, so every manifest listed here has its blobs in the index loaded next.
  if (only_) {
    auto id = ParseObjectId(*only_);
    if (!id) return util::InvalidArgument("bad recovery point id " + *only_);
    auto m = repo_->LoadManifest(*id);
    if (!m) {
      if (m.error().code() == util::ErrorCode::kNotFound) return std::unexpected(m.error());
      report_.damaged.push_back(
          Damage{PointName(*id), m.error().message(), {*only_ + ": the whole recovery point"}});
    } else {
      points_.push_back(std::move(*m));
    }
  } else {
    points_ = MLV_TRY(repo_->ListManifests(&problems));
    for (auto& p : problems) {
      std::string rp = p.object.substr(p.object.find('/') + 1);
      report_.damaged.push_back(Damage{p.object, p.problem, {rp + ": the whole recovery point"}});
    }
  }
  report_.recovery_points = points_.size();
  problems.clear();
  index_ = MLV_TRY(repo_->LoadIndex(nullptr, &problems));
  for (auto& p : problems) {
    report_.damaged.push_back(Damage{p.object, p.problem, {}});
  }

  // Packs present.
  auto listed = MLV_TRY_CTX(repo_->backend()->List("data/"), "cannot list packs");
  for (const auto& o : listed) {
    if (auto id = IdFromName(o.name, "data/")) listed_[*id] = o.size;
  }
  for (uint32_t r = 0; r < index_->raw_count(); ++r) pack_raw_[index_->RawPack(r)].push_back(r);
  used_ = std::make_unique<BlobSet>(*index_);

  // Walk trees: every tree and chunk reached.
  std::vector<BlobId> roots;
  for (const auto& m : points_) roots.push_back(m.tree);
  MLV_TRY(ForEachTree(
      repo_, *index_, roots,
      [&](const BlobId& id, const Tree& tree) {
        used_->Insert(id);
        for (const auto& e : tree.entries) {
          if (e.type != EntryType::kFile) continue;
          for (const auto& p : e.pieces) {
            if (!p.hole) used_->Insert(p.id);
          }
        }
      },
      [&](const BlobId& id, const util::Error& e) {
        used_->Insert(id);
        BadBlob(id, "", "tree cannot be read: " + e.message());
        return true;
      },
      cancel_));

  // Structure: each used blob indexed, in a pack that exists and is long enough.
  std::set<uint32_t> needed_packs;
  for (const auto& id : used_->unindexed())
    BadBlob(id, "", "the blob is in no index (its index file or pack was lost)");
  used_->ForEachIndexed([&](size_t pos) { needed_packs.insert(index_->LocationAt(pos).pack); });
  report_.chunks = used_->size();
  for (uint32_t p = 0; p < index_->packs().size(); ++p) {
    const ObjectId& pack = index_->packs()[p];
    auto it = listed_.find(pack);
    const bool needed = needed_packs.count(p) > 0;
    if (!needed && only_) continue;
    uint64_t need = 0;
    ForEachEntry(pack, [&](const BlobEntry& b) {
      need = std::max<uint64_t>(need, uint64_t{b.offset} + b.stored_len);
    });
    if (it == listed_.end()) {
      ForEachEntry(pack, [&](const BlobEntry& b) {
        if (used_->Contains(b.id) && index_->Find(b.id)->pack == p)
          BadBlob(b.id, PackName(pack), "the pack is missing");
      });
      if (!needed)
        report_.damaged.push_back(
            Damage{PackName(pack), "an indexed pack is missing (no recovery point uses it)", {}});
      continue;
    }
    if (it->second < need + kPackTrailer + kSealOverhead) {
      bool blob_cut = false;
      ForEachEntry(pack, [&](const BlobEntry& b) {
        if (uint64_t{b.offset} + b.stored_len > it->second) {
          blob_cut = true;
          BadBlob(b.id, PackName(pack),
                  fmt::format("the pack is cut short ({} bytes)", it->second));
        }
      });
      if (!blob_cut) {
        report_.damaged.push_back(Damage{
            PackName(pack), fmt::format("the pack is cut short ({} bytes)", it->second), {}});
      }
    }
  }

  // Data: read every relevant pack.
  if (read_data_) {
    // The walk is done: its cached tree packs would sit beside the readers' pack buffers.
    repo_->DropTreeCache();
    util::ThreadPool pool(ParallelismFor(repo_->options()).compute + 1, 4);
    for (uint32_t p = 0; p < index_->packs().size(); ++p) {
      const ObjectId& pack = index_->packs()[p];
      auto it = listed_.find(pack);
      if (it == listed_.end()) continue;
      if (only_ && !needed_packs.count(p)) continue;
      ++report_.packs;
      uint64_t size = it->second;
      pool.Submit([this, p, size] { CheckPackData(p, size); });
      if (cancel_ != nullptr && cancel_->cancelled()) break;
    }
    pool.Wait();
    if (cancel_ != nullptr && cancel_->cancelled())
      return util::Cancelled("verify cancelled: " + cancel_->reason());
  } else {
    report_.packs = only_ ? needed_packs.size() : index_->packs().size();
  }
  report_.bytes_read = bytes_read_;
  {
    util::MutexLock lk(mu_);  // the pack readers are done: uncontended
    if (!bad_.empty()) NameAffected();
  }
  report_.ok = report_.damaged.empty();
  report_.duration_seconds = util::MonotonicSeconds() - t0;
  if (progress_ != nullptr) progress_->Finish();
  return report_;
}

}  // namespace

Result<VerifyReport> RunVerify(Repository* repo, const std::optional<std::string>& id,
                               bool read_data, util::ProgressSink* progress,
                               const util::CancelToken* cancel) {
  Checker c(repo, id, read_data, progress, cancel);
  return c.Run();
}

}  // namespace mlvault::vault
