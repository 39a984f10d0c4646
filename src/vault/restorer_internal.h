// The restore engine's internals, shared by its part files (not a public interface; use
// RunRestore in engine.h). See restorer.cc for how a restore proceeds.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/dir_fd.h"
#include "util/files.h"
#include "util/thread_pool.h"
#include "vault/engine.h"
#include "vault/operation_state.h"

namespace mlvault::vault::restore {

using util::UniqueFd;

constexpr size_t kBatchFiles = 128;
constexpr uint64_t kBatchBytes = 8ull << 20;
constexpr uint64_t kSegmentBytes = 32ull << 20;
// Range reads of neighbouring blobs are merged across gaps up to this size, up to a total.
constexpr uint64_t kCoalesceGap = 256u << 10;
constexpr uint64_t kCoalesceMax = 8ull << 20;

inline std::string JoinPath(const std::vector<std::string>& parts, const std::string& name = "") {
  std::string s;
  for (const auto& p : parts) {
    if (!s.empty()) s += '/';
    s += p;
  }
  if (!name.empty()) {
    if (!s.empty()) s += '/';
    s += name;
  }
  return s;
}


struct FileState {
  std::shared_ptr<UniqueFd> dirfd;
  std::string name;
  std::string path;               // relative, for messages
  TreeEntry entry;                // metadata and pieces
  std::vector<uint64_t> offsets;  // file offset of each piece
  UniqueFd fd;                    // open while segments are written (large files)
  bool mode_set = false;          // created with its final permissions
  std::atomic<int> pending{0};    // segments outstanding (large files)
  std::atomic<bool> failed{false};
};

struct DirRecord {
  std::vector<std::string> parts;
  TreeEntry meta;  // for the root: built from the manifest
};

struct LinkRecord {
  std::vector<std::string> dir;
  std::string name;
  std::vector<std::string> primary_dir;
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

// One restore run. Its parts live in separate files: restore_walk.cc (the tree walk that
// creates directories and entries and queues files), restore_writer.cc (writer tasks: fetch
// blobs, write files), restore_meta.cc (owners, modes, times), restore_block.cc (block volumes)
// and restorer.cc (the run).
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
  Status WalkDir(int fd, const std::vector<std::string>& parts, const BlobId& tree_id);
  // Creates (replacing when allowed) a non-directory entry; returns false after a warning.
  bool MakeRoom(int dirfd, const std::string& name, const std::string& path);
  // Creates a file. When its final permissions can be given at creation (no setuid/setgid/
  // sticky bits, owner-writable, unchanged by the umask) they are, and *mode_set says so: one
  // fchmod less per file (restores of many small files are syscall-bound).
  Result<UniqueFd> CreateFile(int dirfd, const std::string& name, const std::string& path,
                              uint32_t mode = 0, bool* mode_set = nullptr);
  void ApplyMeta(int fd, const TreeEntry& e, const std::string& path, bool mode_set = false);
  void ApplyMetaAt(int dirfd, const std::string& name, const TreeEntry& e, const std::string& path);
  void QueueFile(std::unique_ptr<FileState> f);
  void FlushBatch();
  void RunBatch(std::vector<std::unique_ptr<FileState>>& files);
  void RunSegment(std::shared_ptr<FileState> f, size_t first, size_t last, bool block_device);
  // Fetches and writes every wanted blob; false after recording the failure.
  bool Fetch(std::vector<Want>& wants, bool block_device);
  void FinishLarge(FileState* f);

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
  UniqueFd root_fd_;
  std::unique_ptr<util::ThreadPool> writers_;

  std::vector<std::unique_ptr<FileState>> batch_;  // walker thread only
  uint64_t batch_bytes_ = 0;                       // walker thread only
  std::vector<DirRecord> dirs_;                    // walker thread only
  std::vector<LinkRecord> links_;                  // walker thread only
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::vector<std::string>, std::string>>
      primaries_;

  std::atomic<bool> owner_warned_{false};
  std::atomic<uint64_t> files_{0}, dirs_count_{0}, other_{0}, bytes_written_{0}, bytes_done_{0},
      files_done_{0};
};

}  // namespace mlvault::vault::restore
