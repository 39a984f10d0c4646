// The backup engine's internals, shared by its stage files (not a public interface; use
// RunBackup in engine.h). See archiver.cc for the pipeline.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "chunking/chunker.h"
#include "util/files.h"
#include "util/mutex.h"
#include "util/thread_pool.h"
#include "vault/blob_set.h"
#include "vault/btrfs_changes.h"
#include "vault/engine.h"
#include "vault/file_meta.h"
#include "vault/operation_state.h"
#include "vault/slab_pool.h"

namespace mlvault::vault::archive {

using util::UniqueFd;

// Slabs hold at least 1.5 chunks of the largest size, so each refill cuts at least one chunk
// and the carried tail (< one chunk) is copied about once per 1.5 chunks of data.
constexpr size_t kMinSlabSize = 6u << 20;
// Small files are read in batches of up to this many files / bytes per reader task.
constexpr size_t kBatchFiles = 64;
constexpr size_t kBatchBytes = 4u << 20;
constexpr size_t kReadUnit = 1u << 20;
// Block volumes: the most data extents of an image a recovery point records (6 numbers each in
// its manifest, ~60 bytes); an image with more is read by its allocated data only.
constexpr size_t kMaxRecordedExtents = 16384;
constexpr uint64_t kSmallFileMax = 1u << 20;
// Data packs uploaded at once on remote storage (Backend::ConcurrentReads() > 1), where an
// upload waits on the server: one uploader left the packs of a changed-files backup queued
// behind each other while reading had ended. A local folder keeps one (a write is a copy).
constexpr size_t kRemoteUploaders = 3;
inline size_t DataUploaders(Repository* repo) {
  return repo->backend()->ConcurrentReads() > 1 ? kRemoteUploaders : 1;
}

// ---- the walk's state -----------------------------------------------------------------------

struct DirNode;

// A regular file being read. Pieces live in a deque so their addresses stay valid while the
// reader appends and compute workers fill ids in.
struct FileJob {
  DirNode* dir = nullptr;
  size_t entry = 0;
  std::string path;  // relative, for warnings
  uint64_t size = 0;
  std::shared_ptr<UniqueFd> dirfd;  // released once the file is read
  std::deque<Piece> pieces;
  std::atomic<int64_t> pending{1};  // compute jobs outstanding + 1 for the reader
  std::atomic<bool> failed{false};  // unreadable: the entry is dropped with a warning
};

struct DirNode {
  DirNode* parent = nullptr;
  size_t parent_entry = 0;
  std::string path;  // relative to the source root ("" for the root)
  std::vector<TreeEntry> entries;
  std::vector<std::unique_ptr<FileJob>> files;
  // The same directory in the parent recovery point: its id until the scan loads it (so only
  // the directories being scanned hold their parent's tree), then the tree.
  std::optional<BlobId> parent_tree_id;
  std::shared_ptr<const Tree> parent_tree;
  std::atomic<int64_t> pending{1};          // files + subdirectories outstanding + 1 for the scan
};

// Block volumes: a block-aligned range of the image whose data is unchanged since the parent's
// snapshot, with the parent's pieces for exactly that range (holes clipped to it).
struct ReusedSpan {
  uint64_t start = 0;
  uint64_t end = 0;
  std::vector<Piece> pieces;
};

struct ChunkItem {
  uint32_t offset;
  uint32_t length;
  Piece* piece;
  FileJob* file;
};

struct ComputeJob {
  std::shared_ptr<Slab> slab;
  std::vector<ChunkItem> items;
  bool zero_holes = false;
};

inline std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}
// Copies the metadata of `st` into `e` (not the type, size or content).
void FillMeta(TreeEntry& e, const struct stat& st);
// The entry called `name` in a sorted tree, or null.
const TreeEntry* FindEntry(const Tree* tree, const std::string& name);
// Opens a file for reading without following a symlink and without touching its atime where
// allowed (O_NOATIME needs ownership or CAP_FOWNER). -1 with errno on failure.
int OpenForRead(int dirfd, const char* name);

// One backup run. The stages live in separate files: archive_scanner.cc (directory walk and
// change detection), archive_reader.cc (reading files into slabs and cutting chunks),
// archive_tree_builder.cc (hash, compress and seal chunks; encode each finished directory as a
// tree) and archiver.cc (the run: parent, index, threads, manifest).
class Archiver {
 public:
  Archiver(Repository* repo, VaultLock* lock, const BackupRequest& req,
           util::ProgressSink* progress, const util::CancelToken* cancel)
      : repo_(repo),
        lock_(lock),
        req_(req),
        progress_(progress),
        cancel_(cancel),
        state_("backup", cancel),
        par_(ParallelismFor(repo->options())),
        cdc_(chunking::ChunkerParams{repo->config().params.chunk_min,
                                     repo->config().params.chunk_avg,
                                     repo->config().params.chunk_max, repo->keys().chunker_seed}),
        slabs_(par_.io + par_.compute,
               std::max<size_t>(kMinSlabSize, 3 *
                                                  static_cast<size_t>(
                                                      std::max(repo->config().params.chunk_max,
                                                               repo->config().params.block_size)) /
                                                  2)),
        index_writer_(repo, 64),
        data_packs_(repo, repo->options().pack_target_size, DataUploaders(repo),
                    [this](IndexPack&& p, uint64_t size) { return PackWritten(std::move(p), size); }),
        tree_packs_(repo, repo->options().pack_target_size, 1,
                    [this](IndexPack&& p, uint64_t size) { return PackWritten(std::move(p), size); }) {}

  Result<BackupResult> Run();

 private:
  // ---- the run's set-up (archiver.cc)
  // Filesystem volumes: identifies a read-only btrfs snapshot as the source (snapshot_) and, when
  // the parent was taken from an earlier snapshot of the same subvolume, asks btrfs what changed
  // since (dirty_, data_written_, inodes_changed_; docs/vault-format.md section 7). Leaves them
  // unset, so that every directory is walked, where that is not possible. `rfd` is the source's
  // root directory. Runs while the index loads (it touches no other member); the caller drops
  // what it found if the parent's tree cannot be read.
  void SetUpChangeDetection(int rfd, const std::optional<Manifest>& parent, double t0);
  // Block volumes (archive_block.cc): identifies a read-only btrfs snapshot holding the image
  // (snapshot_) and, when the parent was taken from an earlier snapshot of the same subvolume,
  // fills reuse_ with the block-aligned ranges whose data btrfs shows unchanged since and the
  // parent's pieces for them (`old` is the parent's image entry, `e` the one being read).
  void PlanBlockReuse(const std::optional<Manifest>& parent, const TreeEntry* old,
                      const TreeEntry& e);

  // ---- errors, warnings, progress
  void Fail(util::Error e) { state_.Fail(std::move(e)); }
  bool Stopped() { return state_.Stopped(); }
  void Warn(std::string w) { state_.Warn(std::move(w)); }
  void Report(const char* phase) {
    if (progress_ == nullptr) return;
    util::ProgressSnapshot s;
    s.bytes_done = bytes_done_;
    s.bytes_total = bytes_total_;
    s.files_done = files_done_;
    s.files_total = files_total_;
    s.phase = phase;
    progress_->Report(s);
  }

  Status PackWritten(IndexPack&& p, uint64_t size) {
    bytes_stored_ += size;
    return index_writer_.Add(std::move(p));
  }

  // ---- scanning (archive_scanner.cc)
  void ScanLoop();
  void ScanDir(DirNode* node, std::shared_ptr<UniqueFd> fd, std::vector<FileJob*>& batch,
               size_t& batch_bytes);
  void PushDir(DirNode* node, std::shared_ptr<UniqueFd> parent_fd, std::string name);
  void FlushBatch(std::vector<FileJob*>& batch, size_t& batch_bytes);
  // Change detection (dirty_ set): counts the entries of the parent's tree `old` that this scan
  // replaces (all of them, and below every old subdirectory not `kept`), so the totals are the
  // parent's minus what was replaced plus what was scanned.
  void CountReplaced(const Tree& old, const std::vector<bool>& kept);
  void CountOldSubtree(const BlobId& id);
  // Takes an unchanged file's pieces (and, from a version 2 tree, its extended attributes and
  // inode flags: changing them changes the ctime) from the parent's entry.
  bool ReuseFromParent(TreeEntry& e, const TreeEntry* old, bool old_has_extras);
  // Reads extended attributes (and, for regular files and directories, inode flags) into `e`
  // through an open descriptor, or when fd < 0 through `name` in `dirfd` without following a
  // symlink. Unreadable attributes are a warning; the entry is kept.
  void ReadExtras(int fd, int dirfd, const std::string& name, const std::string& path,
                  TreeEntry& e);

  // ---- reading (archive_reader.cc)
  // Appends the pieces of `span` to `f` (taken from the parent, not read).
  void TakeReused(FileJob* f, const ReusedSpan& span);
  void ReadBatch(std::vector<FileJob*> batch);
  void ReadBig(FileJob* job, bool block_mode);
  Status ReadExtent(FileJob* job, int fd, uint64_t start, uint64_t length, bool block_mode);
  void SubmitCompute(std::shared_ptr<ComputeJob> job);

  // ---- compute and completion (archive_tree_builder.cc)
  void Compute(ComputeJob& job);
  void FileDone(FileJob* f);
  void DirDone(DirNode* d);
  void FinalizeDir(DirNode* d);
  bool Claim(const BlobId& id) {
    if (index_->Contains(id)) return false;
    util::MutexLock lock(claim_mu_);
    return claimed_.Insert(id);
  }

  Repository* const repo_;
  VaultLock* const lock_;
  const BackupRequest req_;
  util::ProgressSink* const progress_;
  const util::CancelToken* const cancel_;
  OperationState state_;
  const Parallelism par_;
  const chunking::FastCdc cdc_;
  std::shared_ptr<MasterIndex> index_;
  int level_ = 3;
  bool block_kind_ = false;
  // The source is a read-only btrfs snapshot (then hard-linked files record device 0: the
  // device number of a snapshot differs from one snapshot to the next).
  std::optional<btrfs::SnapshotId> snapshot_;
  dev_t root_dev_ = 0;
  // Directories that may have changed since the parent's snapshot; null when every directory
  // is walked.
  std::unique_ptr<const std::unordered_set<uint64_t>> dirty_;
  // With dirty_: files whose data was written since the parent's snapshot, read even when their
  // metadata equals the parent's entry; and how many inodes counted as changed.
  std::unique_ptr<const std::unordered_set<uint64_t>> data_written_;
  uint64_t inodes_changed_ = 0;
  // Block volumes: the ranges taken from the parent instead of read, sorted (PlanBlockReuse).
  std::vector<ReusedSpan> reuse_;
  // Block volumes in a btrfs snapshot: the image's data extents, recorded in the manifest.
  std::optional<std::vector<btrfs::Extent>> image_extents_;

  OwnerNames names_;
  SlabPool slabs_;
  IndexWriter index_writer_;
  PackWriter data_packs_;
  PackWriter tree_packs_;
  std::unique_ptr<util::ThreadPool> readers_;
  std::unique_ptr<util::ThreadPool> compute_;

  util::Mutex claim_mu_;
  // Chunks and trees this run stored (the index holds those of earlier runs).
  BlobIdSet claimed_ MLV_GUARDED_BY(claim_mu_);

  // Directory scan queue (LIFO: depth-first order keeps few directories open).
  util::Mutex scan_mu_;
  util::CondVar scan_cv_;  // waited on with scan_mu_: scan_stack_ grew or scan_active_ reached 0
  struct ScanTask {
    DirNode* node;
    std::shared_ptr<UniqueFd> parent_fd;
    std::string name;
  };
  std::vector<ScanTask> scan_stack_ MLV_GUARDED_BY(scan_mu_);
  size_t scan_active_ MLV_GUARDED_BY(scan_mu_) = 0;

  // The root directory's tree, set by whichever thread finishes it (or by the run when the
  // parent's root is reused); read by the run after every thread ended.
  util::Mutex root_mu_;
  bool root_done_ MLV_GUARDED_BY(root_mu_) = false;
  BlobId root_tree_ MLV_GUARDED_BY(root_mu_) = {};

  std::atomic<uint64_t> files_{0}, dirs_{0}, other_{0}, unchanged_{0};
  std::atomic<uint64_t> bytes_total_{0}, bytes_read_{0}, bytes_new_{0}, bytes_stored_{0};
  std::atomic<uint64_t> chunks_{0}, chunks_new_{0};
  std::atomic<uint64_t> dirs_reused_{0};
  std::atomic<uint64_t> bytes_reused_{0};  // block volumes: data taken from the parent unread
  // The parent's entries replaced by this scan (change detection only).
  std::atomic<uint64_t> old_files_{0}, old_dirs_{0}, old_other_{0}, old_bytes_{0};
  std::atomic<uint64_t> bytes_done_{0}, files_done_{0}, files_total_{0};
};

}  // namespace mlvault::vault::archive
