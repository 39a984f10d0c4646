// The restore engine's internals, shared by its part files (not a public interface; use
// RunRestore in engine.h). See restorer.cc for how a restore proceeds.
#pragma once

#include <sys/mman.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/dir_fd.h"
#include "util/files.h"
#include "util/mutex.h"
#include "util/thread_pool.h"
#include "vault/engine.h"
#include "vault/file_meta.h"
#include "vault/operation_state.h"

namespace mlvault::vault::restore {

using util::UniqueFd;
// Builds an entry's path for a message, only when one is needed (paths are never stored:
// building one costs its depth).
using PathFn = std::function<std::string()>;

constexpr size_t kBatchFiles = 128;
constexpr uint64_t kBatchBytes = 8ull << 20;
constexpr uint64_t kSegmentBytes = 32ull << 20;
// Range reads of neighbouring blobs are merged across gaps up to this size, up to a total.
constexpr uint64_t kCoalesceGap = 256u << 10;
constexpr uint64_t kCoalesceMax = 8ull << 20;
// Remote storage (Backend::ConcurrentReads() > 1), where every request costs a round trip and
// the server's per-request work: at least kRemoteWriters writers, batches and merged ranges twice
// as large (fewer, larger requests; a gap up to kRemoteCoalesceGap is read rather than
// split), and each writer reads up to kReadAheadBytes of its task's next ranges ahead, on a pool
// of fetch threads (one per concurrent read the backend wants), while it writes the current one.
constexpr size_t kRemoteWriters = 8;
constexpr size_t kRemoteBatchFiles = 2 * kBatchFiles;
constexpr uint64_t kRemoteBatchBytes = 2 * kBatchBytes;
constexpr uint64_t kRemoteCoalesceGap = 1u << 20;
constexpr uint64_t kRemoteCoalesceMax = 2 * kCoalesceMax;
constexpr uint64_t kReadAheadBytes = 16ull << 20;
// Remote storage restores files in windows planned in pack order (restore_plan.cc): the walk
// creates a window's files, then every blob they need is fetched pack by pack, each pack (or
// the part of it the window needs) with one read, and written to every file that needs it.
// A window closes at kPlanWindowFiles descriptors it opened (its files and the directories
// made in it; half the descriptor limit when that is lower) or kPlanWindowBytes of file data;
// a pack whose wanted bytes exceed kPlanChunkBytes is split over several tasks. Directories
// still open from earlier windows are the walk's ancestors (bounded by depth) and those
// holding a hard link's first file.
constexpr size_t kPlanWindowFiles = 16384;
constexpr uint64_t kPlanWindowBytes = 16ull << 30;
constexpr uint64_t kPlanChunkBytes = 32ull << 20;

// Buffers of finished range reads, handed to the next read (Backend::GetInto): each read then
// receives into memory already touched, where a fresh buffer per read cost a page fault per
// 4 KiB received. Keeps at most kMax buffers of at most kMaxBytes capacity each. Thread-safe.
class ReadBuffers {
 public:
  // A buffer of at least `bytes` capacity: the smallest kept one that fits, else a new one
  // reserved for kGrain more (ranges of one pack differ in size by a few blobs; a kept buffer
  // a little too small would be re-allocated, and its memory touched afresh, by the read).
  // Reserved pages the reads never reach are never touched.
  util::Bytes Take(uint64_t bytes) {
    {
      util::MutexLock lock(mu_);
      size_t best = free_.size();
      for (size_t i = 0; i < free_.size(); ++i) {
        if (free_[i].capacity() >= bytes &&
            (best == free_.size() || free_[i].capacity() < free_[best].capacity()))
          best = i;
      }
      if (best != free_.size()) {
        util::Bytes b = std::move(free_[best]);
        free_[best] = std::move(free_.back());
        free_.pop_back();
        return b;
      }
    }
    util::Bytes b;
    if (bytes <= kMaxBytes) {
      b.reserve(static_cast<size_t>(std::min(bytes + kGrain, kMaxBytes)));
      AdviseHugePages(b.data(), b.capacity());
    }
    return b;
  }
  // Keeps `b` for a later read; when kMax are kept, in place of the smallest if `b` is larger.
  void Give(util::Bytes b) {
    if (b.capacity() == 0 || b.capacity() > kMaxBytes) return;
    util::MutexLock lock(mu_);
    if (free_.size() < kMax) {
      free_.push_back(std::move(b));
      return;
    }
    auto smallest = std::min_element(free_.begin(), free_.end(), [](const auto& x, const auto& y) {
      return x.capacity() < y.capacity();
    });
    if (smallest->capacity() < b.capacity()) *smallest = std::move(b);
  }

 private:
  // Asks for transparent huge pages (where the kernel offers them on request) for the 2 MiB
  // blocks inside [p, p + n): a read touches each block once, so one fault per 2 MiB instead of
  // one per 4 KiB received (on a virtual machine each fault is a trap: perf showed 18 % of a
  // restore's client CPU in the fault path). Without huge pages this is a no-op.
  static void AdviseHugePages(void* p, size_t n) {
    constexpr uintptr_t kHuge = 2u << 20;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(kHuge - 1);
    if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }

  static constexpr size_t kMax = 32;
  static constexpr uint64_t kMaxBytes = 64ull << 20;
  static constexpr uint64_t kGrain = 4ull << 20;
  util::Mutex mu_;
  std::vector<util::Bytes> free_ MLV_GUARDED_BY(mu_);
};

// A directory being restored. It keeps the descriptor the walk opened (O_NOFOLLOW) until
// everything inside it is done (its files written, its subdirectories finished, hard links into
// it made); then its owner, mode and times are set through that descriptor, it is closed, and
// its parent is told. Each directory is opened once, relative to its parent, whatever its depth.
struct DirState {
  std::shared_ptr<DirState> parent;  // null for the root
  std::string name;                  // in the parent; empty for the root
  UniqueFd fd;
  TreeEntry meta;                   // no pieces; for the root: from the manifest
  std::atomic<int64_t> pending{1};  // the walk's reference + files, subdirectories, links
  bool created = true;              // made by this restore (not an existing one reused)
  // The path relative to the target ("." for the root) for messages, built on demand (a
  // directory never stores its full path: that would be quadratic in depth).
  std::string Path(std::string_view child = {}) const;
};

struct FileState {
  std::shared_ptr<DirState> dir;  // null for a block volume's image
  std::string name;
  std::string path;               // block volumes only (the target); see Path()
  TreeEntry entry;                // metadata and pieces
  std::vector<uint64_t> offsets;  // file offset of each piece
  UniqueFd fd;                    // open while segments are written (large files)
  bool mode_set = false;          // created with its final permissions
  bool created = false;           // this restore created it (removed again if unfinished)
  std::atomic<int> pending{0};    // segments outstanding (large files)
  std::atomic<bool> failed{false};
  std::string Path() const { return dir ? dir->Path(name) : path; }
};

// A hard link to make once every file is written. Both directories hold a pending reference
// (so their descriptors stay open) until it is made.
struct LinkRecord {
  std::shared_ptr<DirState> dir;
  std::string name;
  std::shared_ptr<DirState> primary_dir;
  std::string primary_name;
};

// A blob a task needs and where its bytes go.
struct Want {
  uint32_t pack;
  uint32_t offset;
  uint32_t stored_len;
  BlobId id;
  const BlobLocation* loc;
  FileState* file;
  uint64_t file_offset;
  uint64_t length;
};

// Records where each piece of `f` starts (f.offsets) and cuts its pieces into runs of about
// kSegmentBytes, each [first, last) one writer task. `count_holes`: holes count towards a run's
// size (a block device writes them as zeros). No pieces: no runs.
std::vector<std::pair<size_t, size_t>> CutSegments(FileState& f, bool count_holes);

// One restore run. Its parts live in separate files: restore_walk.cc (the tree walk that
// creates directories and entries and queues files), restore_writer.cc (writer tasks: fetch
// blobs, write files), restore_plan.cc (remote storage: windows in pack order), restore_meta.cc
// (owners, modes, times), restore_block.cc (block volumes) and restorer.cc (the run).
class Restorer {
 public:
  Restorer(Repository* repo, const Manifest& point, const std::string& target,
           const RestoreOptions& options, util::ProgressSink* progress,
           const util::CancelToken* cancel)
      : repo_(repo),
        point_(point),
        target_(target),
        options_(options),
        progress_(progress),
        cancel_(cancel),
        state_("restore", cancel),
        par_(ParallelismFor(repo->options())) {}

  Result<RestoreStats> Run();

 private:
  void Fail(util::Error e) { state_.Fail(std::move(e)); }
  bool Stopped() { return state_.Stopped(); }
  void Warn(std::string w) { state_.Warn(std::move(w)); }
  void Report() {
    if (progress_ == nullptr) return;
    util::ProgressSnapshot s;
    s.bytes_done = bytes_done_;
    s.bytes_total = point_.stats.bytes_total;
    s.files_done = files_done_;
    s.files_total = point_.stats.files;
    s.phase = "restoring";
    progress_->Report(s);
  }

  Status RestoreFilesystem();
  Status RestoreBlock();
  // Walks the recovery point's trees depth-first with an explicit stack (no recursion: depth is
  // bounded by the recovery point, not by the thread's stack).
  Status Walk(std::shared_ptr<DirState> root);
  // Creates or reuses the directory `e` in `parent`; its DirState holds the opened descriptor.
  Result<std::shared_ptr<DirState>> MakeDir(const std::shared_ptr<DirState>& parent,
                                            const TreeEntry& e);
  // Drops one pending reference of `d`; the last one applies its metadata and moves up.
  void DirDone(DirState* d);
  // Ends a file: its directory is told; an unfinished file this restore created is removed.
  void FileEnded(FileState& f, bool complete);
  // Creates (replacing when allowed) a non-directory entry; returns false after a warning.
  bool MakeRoom(int dirfd, const std::string& name, const std::string& path);
  // Creates a file. When its final permissions can be given at creation (no setuid/setgid/
  // sticky bits, owner-writable, unchanged by the umask) they are, and *mode_set says so: one
  // fchmod less per file (restores of many small files are syscall-bound).
  Result<UniqueFd> CreateFile(int dirfd, const std::string& name, const PathFn& path,
                              uint32_t mode = 0, bool* mode_set = nullptr);
  // Sets owner, mode and times through `fd`. `mode_set`: the mode is right already. `created`:
  // this restore made the entry (so its owner is this process's).
  void ApplyMeta(int fd, const TreeEntry& e, const PathFn& path, bool mode_set = false,
                 bool created = true);
  // Sets owner, mode and times of a symlink, FIFO or device node `name` in `dirfd` through an
  // O_PATH descriptor of the entry itself (checked to be of type `e.type`), never by name.
  void ApplyMetaAt(int dirfd, const std::string& name, const TreeEntry& e, const PathFn& path);
  // The owner to give `e`: by name where the name exists here, else the recorded ids.
  std::pair<uid_t, gid_t> OwnerOf(const TreeEntry& e);
  // Sets `e`'s extended attributes through `fd` (or the /proc link `via` when fd < 0); each
  // one the target refuses is a warning naming the file and the attribute.
  void ApplyExtras(int fd, const std::string& via, const TreeEntry& e, const PathFn& path);
  // After a failed restore into a target that was empty: removes what the restore made.
  void RemovePartial();
  void QueueFile(std::unique_ptr<FileState> f);
  void FlushBatch();
  void RunBatch(std::vector<std::unique_ptr<FileState>>& files);
  void RunSegment(std::shared_ptr<FileState> f, size_t first, size_t last, bool block_device);
  // Adds the blob of piece `p` (not a hole) of `f`, `offset` bytes into the file, to `wants`;
  // false after recording a kCorruption failure when no index holds the blob.
  bool AddWant(FileState* f, const Piece& p, uint64_t offset, std::vector<Want>& wants);
  // Fetches and writes every wanted blob; false after recording the failure.
  bool Fetch(std::vector<Want>& wants, bool block_device);
  // Ends a file: when `ok` (its data is written), it did not fail and it is open, its metadata is
  // set through its descriptor and it counts as done; otherwise an unfinished file this restore
  // made is removed.
  void FinishFile(FileState& f, bool ok);
  // Remote storage (planned_): a writer hands its batch's files and wants to the window.
  void PlanBatch(std::vector<Want>& wants, std::vector<std::unique_ptr<FileState>>& files);
  // The walker hands a large file (created and sized) to the window.
  void PlanLarge(std::shared_ptr<FileState> f);
  // The walker counts a descriptor it opened (a file of `bytes`, or a directory: 0) into the
  // window and runs the window when it is full.
  void PlanCounted(uint64_t bytes);
  // Runs the window: waits for the batches still being created, fetches every wanted blob in
  // pack order, then finishes every file of the window (metadata, or removal if unfinished).
  void RunPlan();

  Repository* const repo_;
  const Manifest point_;
  const std::string target_;
  const RestoreOptions options_;
  util::ProgressSink* const progress_;
  const util::CancelToken* const cancel_;
  OperationState state_;
  const Parallelism par_;
  std::shared_ptr<MasterIndex> index_;
  bool as_root_ = false;
  bool chown_ = false;
  int umask_ = -1;  // the process umask, -1 if unknown
  uid_t euid_ = 0;
  gid_t egid_ = 0;
  bool owner_is_creator_ = false;  // new files get euid_/egid_ (no setgid target directory)
  OwnerNames names_;
  UniqueFd root_fd_;
  std::unique_ptr<util::ThreadPool> writers_;
  // Remote storage only (null for a local vault): runs the reads writers issue ahead.
  std::unique_ptr<util::ThreadPool> fetchers_;
  // Remote storage: buffers reused from one range read to the next (shared with the reads,
  // which may outlive a failed Fetch).
  std::shared_ptr<ReadBuffers> read_buffers_ = std::make_shared<ReadBuffers>();
  // Batch and range limits: the k* constants, or the kRemote* ones for remote storage.
  size_t batch_files_ = kBatchFiles;
  uint64_t batch_bytes_max_ = kBatchBytes;
  uint64_t coalesce_gap_ = kCoalesceGap;
  uint64_t coalesce_max_ = kCoalesceMax;
  // Remote storage: files are restored in windows planned in pack order (restore_plan.cc).
  bool planned_ = false;
  size_t plan_window_files_ = kPlanWindowFiles;
  util::Mutex plan_mu_;
  std::vector<Want> plan_wants_ MLV_GUARDED_BY(plan_mu_);
  std::vector<std::unique_ptr<FileState>> plan_files_ MLV_GUARDED_BY(plan_mu_);
  std::vector<std::shared_ptr<FileState>> plan_large_ MLV_GUARDED_BY(plan_mu_);
  size_t plan_counted_files_ = 0;                       // walker thread only
  uint64_t plan_counted_bytes_ = 0;                     // walker thread only

  std::vector<std::unique_ptr<FileState>> batch_;  // walker thread only
  uint64_t batch_bytes_ = 0;                       // walker thread only
  std::vector<LinkRecord> links_;                  // walker thread only
  // Hard-link groups: (dev, ino) -> the first file's directory and name. The directory holds
  // a pending reference until the links are made.
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::shared_ptr<DirState>, std::string>>
      primaries_;                // walker thread only
  bool created_target_ = false;  // the target directory did not exist
  bool target_was_empty_ = false;

  std::atomic<bool> owner_warned_{false};
  std::atomic<uint64_t> files_{0}, dirs_count_{0}, other_{0}, bytes_written_{0}, bytes_done_{0},
      files_done_{0};
};

}  // namespace mlvault::vault::restore
