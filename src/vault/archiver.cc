// Backup: walks a source (a directory tree or one image file) and writes a recovery point.
//
// Pipeline (all stages overlap, memory is bounded by the slab pool and the pack writer):
//   scanners (several threads: stat is latency-bound on a cold cache) list directories, stat
//     entries, compare them with the parent recovery point's tree, and hand files to readers;
//     small files are batched so one task reads many of them;
//   readers (more threads than cores, so disk reads overlap CPU work) read files into 8 MiB
//     slabs and cut them into chunks (FastCDC, or fixed blocks for block volumes);
//   compute workers (one per core) hash each chunk, skip chunks the vault holds, compress and
//     seal the rest into packs; the pack writer writes full packs from its own thread.
// A directory's tree blob is encoded when its last file and subdirectory are done, by whichever
//
// The stages are in archive_scanner.cc, archive_reader.cc and archive_tree_builder.cc; this file
// runs them: the source, the parent, the index, the threads and finally the manifest.
#include <fcntl.h>
#include <fmt/core.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "util/dir_fd.h"
#include "util/log.h"
#include "vault/archiver_internal.h"
#include "vault/lock.h"

namespace mlvault::vault {

Parallelism ParallelismFor(const Options& options) {
  Parallelism p;
  size_t cores =
      options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  p.compute = cores;
  p.io = std::max<size_t>(4, cores + 2);
  p.scan = std::max<size_t>(8, 2 * cores);
  return p;
}

namespace archive {

void Archiver::SetUpChangeDetection(int rfd, const std::optional<Manifest>& parent, double t0) {
  snapshot_ = btrfs::IdentifySnapshot(rfd);
  if (snapshot_) {
    util::Log(util::LogLevel::kDebug, "backup: source is a snapshot of btrfs subvolume {} at {}",
              snapshot_->subvolume, snapshot_->generation);
  }
  if (snapshot_ && parent && parent->change_subvolume == snapshot_->subvolume &&
      parent->change_generation <= snapshot_->generation) {
    // The parent's snapshot was taken in the commit of transaction G, after G's last writer
    // and before the next transaction's first: what changed since is written in G+1 on.
    btrfs::SnapshotId base{parent->change_subvolume, parent->change_generation,
                           parent->change_otime_sec, parent->change_otime_nsec};
    // Above a fraction of the parent's entries changed, the walk costs less (btrfs_changes.h).
    const uint64_t entries =
        parent->stats.files + parent->stats.dirs + parent->stats.other_entries + 1;
    const auto max_changed =
        static_cast<uint64_t>(btrfs::kWalkFraction * static_cast<double>(entries));
    auto changes = btrfs::FindChanges(rfd, *snapshot_, base, max_changed);
    if (!changes) {
      util::Log(util::LogLevel::kInfo, "backup: walking every directory of {}: {}", req_.source,
                changes.error().message());
    } else if (changes->walk_all) {
      util::Log(util::LogLevel::kInfo, "backup: walking every directory of {}: {}", req_.source,
                changes->reason);
    } else {
      util::Log(util::LogLevel::kDebug,
                "backup: {} inodes changed since the parent's snapshot ({}), {} directories to "
                "walk, found at {:.3f} s",
                changes->inodes_changed,
                changes->ctime_rule ? "ctime rule" : "no ctime rule", changes->dirty.size(),
                util::MonotonicSeconds() - t0);
      dirty_ = std::make_unique<const std::unordered_set<uint64_t>>(std::move(changes->dirty));
      data_written_ =
          std::make_unique<const std::unordered_set<uint64_t>>(std::move(changes->data_written));
      inodes_changed_ = changes->inodes_changed;
    }
  }
}

Result<BackupResult> Archiver::Run() {
  const double t0 = util::MonotonicSeconds();
  const util::TimeMicros started = repo_->options().clock->Now();
  level_ = std::clamp(repo_->options().compression_level, 1, 19);
  block_kind_ = req_.kind == VolumeKind::kBlock;
  util::RaiseFdLimit();

  // The source.
  struct stat root_st;
  if (::stat(req_.source.c_str(), &root_st) != 0) {
    return std::unexpected(util::ErrnoError("cannot access source " + req_.source, errno).error());
  }
  if (block_kind_ && !S_ISREG(root_st.st_mode) && !S_ISBLK(root_st.st_mode)) {
    return util::InvalidArgument("block volume source " + req_.source +
                                 " is not a regular file or block device");
  }
  if (!block_kind_ && !S_ISDIR(root_st.st_mode)) {
    return util::InvalidArgument("filesystem volume source " + req_.source + " is not a directory");
  }

  // One index load per run, then the parent.
  std::optional<Manifest> parent;
  std::vector<LoadProblem> ignored;
  if (req_.parent && !req_.parent->empty()) {
    auto pid = MLV_TRY(repo_->ResolvePoint(*req_.parent));
    parent = MLV_TRY(repo_->LoadManifest(pid));
    if (parent->kind != req_.kind) {
      return util::InvalidArgument("parent recovery point " + IdHex(pid) + " is a " +
                                   VolumeKindName(parent->kind) + " volume");
    }
  } else {
    auto all = MLV_TRY(repo_->ListManifests(&ignored));
    const Manifest* best = nullptr;
    for (const auto& m : all) {  // oldest first: the last match is the latest
      if (m.kind != req_.kind || m.source != req_.source) continue;
      if (best == nullptr || m.labels == req_.labels || best->labels != req_.labels) best = &m;
    }
    if (best != nullptr) parent = *best;
  }
  std::shared_ptr<UniqueFd> source_dir;
  if (!block_kind_) {
    int rfd = ::open(req_.source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
      return std::unexpected(util::ErrnoError("cannot open source " + req_.source, errno).error());
    source_dir = std::make_shared<UniqueFd>(rfd);
    root_dev_ = root_st.st_dev;
  }
  // The index is loaded after the parent is chosen: a manifest is written only once its index
  // files are durable, so every blob of any manifest seen so far is in this load. Meanwhile
  // btrfs is asked what changed since the parent's snapshot, which needs only the manifest (at
  // a million files each of the two takes a good part of a second).
  Result<std::shared_ptr<MasterIndex>> loaded = util::Internal("the index was not loaded");
  {
    std::jthread loader(
        [&] { loaded = repo_->LoadIndex(nullptr, nullptr, /*keep_raw=*/false); });
    if (source_dir != nullptr) SetUpChangeDetection(source_dir->get(), parent, t0);
  }
  index_ = MLV_TRY(std::move(loaded));
  util::Log(util::LogLevel::kDebug, "backup: index of {} blobs loaded at {:.3f} s",
            index_->blob_count(), util::MonotonicSeconds() - t0);
  std::shared_ptr<const Tree> parent_root;
  if (parent) {
    auto t = repo_->LoadTree(*index_, parent->tree);
    if (t) {
      parent_root = std::make_shared<const Tree>(std::move(*t));
    } else {
      Warn("parent recovery point " + IdHex(parent->id) + " is unreadable (" + t.error().message() +
           "); reading every file");
    }
  }
  if (parent_root == nullptr) {
    // Without the parent's tree there is nothing to reuse: every directory is walked.
    dirty_.reset();
    data_written_.reset();
    inodes_changed_ = 0;
  }

  util::Log(util::LogLevel::kDebug, "backup: parent {} loaded at {:.3f} s",
            parent ? IdHex(parent->id) : "(none)", util::MonotonicSeconds() - t0);
  readers_ = std::make_unique<util::ThreadPool>(par_.io, par_.io);
  compute_ = std::make_unique<util::ThreadPool>(par_.compute, 2 * par_.compute);

  bool root_reused = false;
  auto* root = new DirNode;
  root->parent_tree = parent_root;
  if (block_kind_) {
    // One entry, "image", read in fixed blocks; zero blocks become holes.
    TreeEntry e;
    e.name = "image";
    e.type = EntryType::kFile;
    FillMeta(e, root_st);
    e.size = static_cast<uint64_t>(root_st.st_size);
    if (S_ISBLK(root_st.st_mode)) {
      UniqueFd bfd(::open(req_.source.c_str(), O_RDONLY | O_CLOEXEC));
      uint64_t bytes = 0;
      if (!bfd.valid() || ::ioctl(bfd.get(), BLKGETSIZE64, &bytes) != 0) {
        return std::unexpected(
            util::ErrnoError("cannot size block device " + req_.source, errno).error());
      }
      e.size = bytes;
    }
    ++files_;
    files_total_ = 1;
    bytes_total_ = e.size;
    const TreeEntry* old_image = FindEntry(parent_root.get(), "image");
    bool reused =
        S_ISREG(root_st.st_mode) && ReuseFromParent(e, old_image, /*old_has_extras=*/true);
    // An image in a btrfs snapshot: the blocks unchanged since the parent's are not read.
    if (S_ISREG(root_st.st_mode)) PlanBlockReuse(parent, reused ? nullptr : old_image, e);
    root->entries.push_back(std::move(e));
    if (reused) {
      ++unchanged_;
      files_done_ = 1;
      bytes_done_ += root->entries[0].size;
    } else if (root->entries[0].size > 0) {
      auto job = std::make_unique<FileJob>();
      job->dir = root;
      job->entry = 0;
      job->path = req_.source;
      job->size = root->entries[0].size;
      FileJob* f = job.get();
      root->files.push_back(std::move(job));
      root->pending += 1;
      readers_->Submit([this, f] { ReadBig(f, true); });
    }
    DirDone(root);
  } else {
    auto self = std::move(source_dir);
    if (dirty_ != nullptr && !dirty_->contains(btrfs::kRootInode) &&
        index_->Contains(parent->tree) && parent_root->version >= 2) {
      // Nothing changed since the parent's snapshot: its tree is this one.
      util::MutexLock lock(root_mu_);
      root_tree_ = parent->tree;
      root_done_ = true;
      root_reused = true;
      delete root;
    } else {
      // The root is scanned like any directory, from a descriptor of its own parent.
      {
        util::MutexLock lock(scan_mu_);
        scan_stack_.push_back(ScanTask{root, self, "."});
      }
      self.reset();
      std::vector<std::thread> scanners;
      for (size_t i = 0; i < par_.scan; ++i) scanners.emplace_back([this] { ScanLoop(); });
      for (auto& t : scanners) t.join();
    }
  }
  util::Log(util::LogLevel::kDebug, "backup: scan done at {:.3f} s", util::MonotonicSeconds() - t0);
  readers_->Wait();
  util::Log(util::LogLevel::kDebug, "backup: reading done at {:.3f} s",
            util::MonotonicSeconds() - t0);
  compute_->Wait();
  readers_.reset();
  compute_.reset();

  // The trees' last pack uploads while the data packs finish (both are complete now).
  Status tree_close = tree_packs_.Close();
  Status data_st = data_packs_.Finish();
  Status tree_st = tree_packs_.Finish();
  if (!tree_close) tree_st = tree_close;
  if (auto e = state_.error()) return std::unexpected(*e);
  MLV_TRY(data_st);
  MLV_TRY(tree_st);
  BlobId root_id;
  {
    util::MutexLock lock(root_mu_);
    if (!root_done_)
      return util::Internal("backup walk ended before the root directory was complete");
    root_id = root_tree_;
  }
  if (cancel_ != nullptr && cancel_->cancelled())
    return util::Cancelled("backup cancelled: " + cancel_->reason());
  MLV_TRY(index_writer_.Flush());
  util::Log(util::LogLevel::kDebug, "backup: packs and index durable at {:.3f} s",
            util::MonotonicSeconds() - t0);

  Manifest m;
  m.id = NewObjectId();
  m.kind = req_.kind;
  m.source = req_.source;
  m.time = started;
  m.labels = req_.labels;
  m.parent = parent ? IdHex(parent->id) : "";
  m.tree = root_id;
  m.root_mode = root_st.st_mode & 07777;
  m.root_uid = root_st.st_uid;
  m.root_gid = root_st.st_gid;
  m.root_mtime_sec = root_st.st_mtim.tv_sec;
  m.root_mtime_nsec = static_cast<uint32_t>(root_st.st_mtim.tv_nsec);
  BackupResult result;
  result.id = IdHex(m.id);
  BackupStats& s = result.stats;
  s.files = files_;
  s.dirs = dirs_;
  s.other_entries = other_;
  s.files_unchanged = unchanged_;
  s.bytes_total = bytes_total_;
  if (dirty_ != nullptr) {
    // Only what changed was walked: the totals are the parent's, minus the entries the walk
    // replaced, plus those it found.
    auto total = [](uint64_t parent_total, uint64_t found, uint64_t replaced) {
      return parent_total + found >= replaced ? parent_total + found - replaced : 0;
    };
    s.files = total(parent->stats.files, files_, old_files_);
    s.dirs = total(parent->stats.dirs, dirs_, old_dirs_);
    s.other_entries = total(parent->stats.other_entries, other_, old_other_);
    s.bytes_total = total(parent->stats.bytes_total, bytes_total_, old_bytes_);
    s.files_unchanged = unchanged_ + (s.files > files_ ? s.files - files_ : 0);
    s.dirs_reused = dirs_reused_ + (root_reused ? 1 : 0);
    s.inodes_changed = inodes_changed_;
  }
  s.bytes_read = bytes_read_;
  s.bytes_reused = bytes_reused_;
  s.bytes_new = bytes_new_;
  s.chunks = chunks_;
  s.chunks_new = chunks_new_;
  s.bytes_stored = bytes_stored_ + index_writer_.bytes_written();
  s.duration_seconds = util::MonotonicSeconds() - t0;
  m.stats = s;
  if (snapshot_ && state_.Warnings().empty()) {
    m.change_subvolume = snapshot_->subvolume;
    m.change_generation = snapshot_->generation;
    m.change_otime_sec = snapshot_->otime_sec;
    m.change_otime_nsec = snapshot_->otime_nsec;
    m.change_extents = image_extents_;
  }
  m.stats.bytes_stored +=
      512;  // the manifest itself, approximately (its size is known only once written)
  // Commit only while our lock is known to protect the data we reference (format doc 9.4).
  if (lock_ != nullptr) MLV_TRY(lock_->Check());
  uint64_t manifest_size = 0;
  MLV_TRY_CTX(repo_->SaveManifest(m, &manifest_size), "cannot write the recovery point manifest");
  s.bytes_stored += manifest_size;
  s.duration_seconds = util::MonotonicSeconds() - t0;
  result.warnings = state_.Warnings();
  if (progress_ != nullptr) progress_->Finish();
  return result;
}

}  // namespace archive

Result<BackupResult> RunBackup(Repository* repo, VaultLock* lock, const BackupRequest& request,
                               util::ProgressSink* progress, const util::CancelToken* cancel) {
  archive::Archiver a(repo, lock, request, progress, cancel);
  return a.Run();
}

}  // namespace mlvault::vault
