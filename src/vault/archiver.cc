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
// thread finished that last piece; the root's completion ends the walk.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <unordered_set>

#include "chunking/chunker.h"
#include "util/files.h"
#include "util/log.h"
#include "util/thread_pool.h"
#include "vault/compress.h"
#include "vault/engine.h"
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

namespace {

using util::UniqueFd;

// Slabs hold at least 1.5 chunks of the largest size, so each refill cuts at least one chunk
// and the carried tail (< one chunk) is copied about once per 1.5 chunks of data.
constexpr size_t kMinSlabSize = 6u << 20;
// Small files are read in batches of up to this many files / bytes per reader task.
constexpr size_t kBatchFiles = 64;
constexpr size_t kBatchBytes = 4u << 20;
constexpr size_t kReadUnit = 1u << 20;
constexpr uint64_t kSmallFileMax = 1u << 20;

// ---- slabs: fixed buffers shared by a reader and the compute jobs cutting chunks from them --

class SlabPool;
struct Slab {
  std::unique_ptr<uint8_t[]> data;
  SlabPool* pool = nullptr;
};

class SlabPool {
 public:
  SlabPool(size_t count, size_t size) : size_(size), free_(count) {}
  size_t size() const { return size_; }
  // Blocks until a slab is free. The slab returns to the pool when the last reference drops.
  std::shared_ptr<Slab> Acquire() {
    std::unique_ptr<uint8_t[]> buf;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return free_ > 0; });
      --free_;
      if (!spare_.empty()) {
        buf = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    if (!buf) buf.reset(new uint8_t[size_]);
    auto* s = new Slab{std::move(buf), this};
    return std::shared_ptr<Slab>(s, [](Slab* s) {
      s->pool->Release(std::move(s->data));
      delete s;
    });
  }

 private:
  void Release(std::unique_ptr<uint8_t[]> buf) {
    std::lock_guard<std::mutex> lk(mu_);
    spare_.push_back(std::move(buf));
    ++free_;
    cv_.notify_one();
  }
  const size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t free_;                                    // guarded by mu_
  std::vector<std::unique_ptr<uint8_t[]>> spare_;  // guarded by mu_
};

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
  std::shared_ptr<const Tree> parent_tree;  // the same directory in the parent recovery point
  std::atomic<int64_t> pending{1};          // files + subdirectories outstanding + 1 for the scan
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

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

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

void FillMeta(TreeEntry& e, const struct stat& st) {
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.mtime_sec = st.st_mtim.tv_sec;
  e.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  e.ctime_sec = st.st_ctim.tv_sec;
  e.ctime_nsec = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  e.ino = st.st_ino;
  e.nlink = st.st_nlink;
  e.dev = S_ISREG(st.st_mode) && st.st_nlink > 1 ? st.st_dev : 0;
}

// Opens a file for reading without following a symlink and without touching its atime where
// allowed (O_NOATIME needs ownership or CAP_FOWNER).
int OpenForRead(int dirfd, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME | O_NONBLOCK);
  if (fd < 0 && errno == EPERM)
    fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  return fd;
}

void RaiseFdLimit() {
  // Scanners and batched readers hold directory and file descriptors in flight; the soft limit
  // of 1024 common on Linux is too low for wide trees. Raising to the hard limit is harmless.
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

class Archiver {
 public:
  Archiver(Repository* repo, VaultLock* lock, const BackupRequest& req,
           util::ProgressSink* progress, const util::CancelToken* cancel)
      : repo_(repo),
        lock_(lock),
        req_(req),
        progress_(progress),
        cancel_(cancel),
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
        data_packs_(repo, repo->options().pack_target_size, 1,
                    [this](const IndexPack& p, uint64_t size) { return PackWritten(p, size); }),
        tree_packs_(repo, repo->options().pack_target_size, 1,
                    [this](const IndexPack& p, uint64_t size) { return PackWritten(p, size); }) {}

  Result<BackupResult> Run();

 private:
  // ---- errors, warnings, progress
  void Fail(util::Error e) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!error_) error_ = std::move(e);
    failed_ = true;
  }
  bool Stopped() {
    if (failed_) return true;
    if (cancel_ != nullptr && cancel_->cancelled()) {
      Fail(util::Error(util::ErrorCode::kCancelled, "backup cancelled: " + cancel_->reason()));
      return true;
    }
    return false;
  }
  void Warn(std::string w) {
    std::lock_guard<std::mutex> lk(mu_);
    if (warnings_.size() < 1000)
      warnings_.push_back(std::move(w));
    else
      ++warnings_dropped_;
  }
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

  Status PackWritten(const IndexPack& p, uint64_t size) {
    bytes_stored_ += size;
    return index_writer_.Add(p);
  }

  // ---- scanning
  void ScanLoop();
  void ScanDir(DirNode* node, std::shared_ptr<UniqueFd> fd, std::vector<FileJob*>& batch,
               size_t& batch_bytes);
  void PushDir(DirNode* node, std::shared_ptr<UniqueFd> parent_fd, std::string name);
  void FlushBatch(std::vector<FileJob*>& batch, size_t& batch_bytes);
  bool ReuseFromParent(TreeEntry& e, const TreeEntry* old);

  // ---- reading
  void ReadBatch(std::vector<FileJob*> batch);
  void ReadBig(FileJob* job, bool block_mode);
  Status ReadExtent(FileJob* job, int fd, uint64_t start, uint64_t length, bool block_mode);
  void SubmitCompute(std::shared_ptr<ComputeJob> job);

  // ---- compute and completion
  void Compute(ComputeJob& job);
  void FileDone(FileJob* f);
  void DirDone(DirNode* d);
  void FinalizeDir(DirNode* d);
  bool Claim(const BlobId& id) {
    if (index_->Contains(id)) return false;
    std::lock_guard<std::mutex> lk(claim_mu_);
    return claimed_.insert(id).second;
  }

  Repository* const repo_;
  VaultLock* const lock_;
  const BackupRequest req_;
  util::ProgressSink* const progress_;
  const util::CancelToken* const cancel_;
  const Parallelism par_;
  const chunking::FastCdc cdc_;
  std::shared_ptr<MasterIndex> index_;
  int level_ = 3;
  bool block_kind_ = false;

  SlabPool slabs_;
  IndexWriter index_writer_;
  PackWriter data_packs_;
  PackWriter tree_packs_;
  std::unique_ptr<util::ThreadPool> readers_;
  std::unique_ptr<util::ThreadPool> compute_;

  std::mutex mu_;
  std::optional<util::Error> error_;   // guarded by mu_
  std::vector<std::string> warnings_;  // guarded by mu_
  size_t warnings_dropped_ = 0;        // guarded by mu_
  std::atomic<bool> failed_{false};

  std::mutex claim_mu_;
  std::unordered_set<BlobId, BlobIdHash> claimed_;  // guarded by claim_mu_

  // Directory scan queue (LIFO: depth-first order keeps few directories open).
  std::mutex scan_mu_;
  std::condition_variable scan_cv_;
  struct ScanTask {
    DirNode* node;
    std::shared_ptr<UniqueFd> parent_fd;
    std::string name;
  };
  std::vector<ScanTask> scan_stack_;  // guarded by scan_mu_
  size_t scan_active_ = 0;            // guarded by scan_mu_

  std::mutex root_mu_;
  std::condition_variable root_cv_;
  bool root_done_ = false;  // guarded by root_mu_
  BlobId root_tree_{};      // guarded by root_mu_

  std::atomic<uint64_t> files_{0}, dirs_{0}, other_{0}, unchanged_{0};
  std::atomic<uint64_t> bytes_total_{0}, bytes_read_{0}, bytes_new_{0}, bytes_stored_{0};
  std::atomic<uint64_t> chunks_{0}, chunks_new_{0};
  std::atomic<uint64_t> bytes_done_{0}, files_done_{0}, files_total_{0};
};

// ---- scanning -----------------------------------------------------------------------------------

bool Archiver::ReuseFromParent(TreeEntry& e, const TreeEntry* old) {
  if (old == nullptr || old->type != EntryType::kFile || old->size != e.size ||
      old->mtime_sec != e.mtime_sec || old->mtime_nsec != e.mtime_nsec ||
      old->ctime_sec != e.ctime_sec || old->ctime_nsec != e.ctime_nsec || old->ino != e.ino) {
    return false;
  }
  // Reuse only what the vault still holds: a damaged vault heals itself on the next backup.
  for (const auto& p : old->pieces) {
    if (!p.hole && !index_->Contains(p.id)) return false;
  }
  e.pieces = old->pieces;
  return true;
}

const TreeEntry* FindEntry(const Tree* tree, const std::string& name) {
  if (tree == nullptr) return nullptr;
  auto it = std::lower_bound(tree->entries.begin(), tree->entries.end(), name,
                             [](const TreeEntry& a, const std::string& n) { return a.name < n; });
  if (it == tree->entries.end() || it->name != name) return nullptr;
  return &*it;
}

void Archiver::PushDir(DirNode* node, std::shared_ptr<UniqueFd> parent_fd, std::string name) {
  std::lock_guard<std::mutex> lk(scan_mu_);
  scan_stack_.push_back(ScanTask{node, std::move(parent_fd), std::move(name)});
  scan_cv_.notify_one();
}

void Archiver::ScanLoop() {
  std::vector<FileJob*> batch;
  size_t batch_bytes = 0;
  std::unique_lock<std::mutex> lk(scan_mu_);
  while (true) {
    if (scan_stack_.empty()) {
      // Going idle: hand over what this thread collected so readers are never starved.
      if (!batch.empty()) {
        lk.unlock();
        FlushBatch(batch, batch_bytes);
        lk.lock();
        continue;
      }
      if (scan_active_ == 0) {
        scan_cv_.notify_all();
        return;
      }
      scan_cv_.wait(lk);
      continue;
    }
    ScanTask t = std::move(scan_stack_.back());
    scan_stack_.pop_back();
    ++scan_active_;
    lk.unlock();
    if (!Stopped()) {
      int fd = ::openat(t.parent_fd->get(), t.name.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        Warn(fmt::format("cannot open directory {}: {}; recorded empty",
                         PrintablePath(t.node->path), std::strerror(err)));
        t.parent_fd.reset();
        DirDone(t.node);
      } else {
        t.parent_fd.reset();
        ScanDir(t.node, std::make_shared<UniqueFd>(fd), batch, batch_bytes);
      }
    } else {
      t.parent_fd.reset();
      DirDone(t.node);
    }
    lk.lock();
    --scan_active_;
  }
}

void Archiver::ScanDir(DirNode* node, std::shared_ptr<UniqueFd> fd, std::vector<FileJob*>& batch,
                       size_t& batch_bytes) {
  // List names.
  std::vector<std::string> names;
  {
    int dupfd = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0);
    DIR* dir = dupfd >= 0 ? ::fdopendir(dupfd) : nullptr;
    if (dir == nullptr) {
      if (dupfd >= 0) ::close(dupfd);
      Warn(fmt::format("cannot list directory {}: {}", PrintablePath(node->path),
                       std::strerror(errno)));
      DirDone(node);
      return;
    }
    errno = 0;
    while (struct dirent* de = ::readdir(dir)) {
      if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
      names.emplace_back(de->d_name);
    }
    if (errno != 0) {
      Warn(fmt::format("error listing directory {}: {}", PrintablePath(node->path),
                       std::strerror(errno)));
    }
    ::closedir(dir);
  }
  std::sort(names.begin(), names.end());

  const Tree* old_tree = node->parent_tree.get();
  node->entries.reserve(names.size());
  struct SubDir {
    size_t entry;
    std::shared_ptr<const Tree> parent_tree;
  };
  std::vector<SubDir> subdirs;
  std::vector<size_t> file_entries;
  for (auto& name : names) {
    struct stat st;
    if (::fstatat(fd->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) {
        Warn(fmt::format("cannot stat {}: {}; skipped", PrintablePath(Join(node->path, name)),
                         std::strerror(errno)));
      }
      continue;
    }
    TreeEntry e;
    e.name = name;
    FillMeta(e, st);
    const TreeEntry* old = FindEntry(old_tree, name);
    if (S_ISREG(st.st_mode)) {
      e.type = EntryType::kFile;
      e.size = static_cast<uint64_t>(st.st_size);
      ++files_;
      bytes_total_ += e.size;
      if (e.size == 0) {
        ++files_done_;
      } else if (ReuseFromParent(e, old)) {
        ++unchanged_;
        ++files_done_;
        bytes_done_ += e.size;
      } else {
        file_entries.push_back(node->entries.size());
      }
    } else if (S_ISDIR(st.st_mode)) {
      e.type = EntryType::kDir;
      ++dirs_;
      std::shared_ptr<const Tree> sub;
      if (old != nullptr && old->type == EntryType::kDir) {
        auto t = repo_->LoadTree(*index_, old->subtree);
        if (t) {
          sub = std::make_shared<const Tree>(std::move(*t));
        } else {
          util::Log(util::LogLevel::kWarn, "parent tree of {} unreadable ({}); reading it afresh",
                    PrintablePath(Join(node->path, name)), t.error().message());
        }
      }
      subdirs.push_back(SubDir{node->entries.size(), std::move(sub)});
    } else if (S_ISLNK(st.st_mode)) {
      e.type = EntryType::kSymlink;
      std::string target(static_cast<size_t>(std::max<off_t>(st.st_size, 0)) + 1, '\0');
      while (true) {
        ssize_t n = ::readlinkat(fd->get(), name.c_str(), target.data(), target.size());
        if (n < 0) {
          target.clear();
          break;
        }
        if (static_cast<size_t>(n) < target.size()) {
          target.resize(static_cast<size_t>(n));
          break;
        }
        target.resize(target.size() * 2);
      }
      if (target.empty() || target.size() > kMaxLinkTarget) {
        Warn(fmt::format("cannot read symlink {}; skipped", PrintablePath(Join(node->path, name))));
        continue;
      }
      e.target = std::move(target);
      ++other_;
    } else if (S_ISFIFO(st.st_mode)) {
      e.type = EntryType::kFifo;
      ++other_;
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      e.type = S_ISCHR(st.st_mode) ? EntryType::kCharDev : EntryType::kBlockDev;
      e.rdev = st.st_rdev;
      ++other_;
    } else {
      Warn(fmt::format("{} is a socket or unknown file type; skipped",
                       PrintablePath(Join(node->path, name))));
      continue;
    }
    node->entries.push_back(std::move(e));
  }
  files_total_ = files_.load();

  // From here the entries vector does not change size; children write into their own slots.
  node->pending += static_cast<int64_t>(file_entries.size() + subdirs.size());
  for (size_t idx : file_entries) {
    auto job = std::make_unique<FileJob>();
    job->dir = node;
    job->entry = idx;
    job->path = Join(node->path, node->entries[idx].name);
    job->size = node->entries[idx].size;
    job->dirfd = fd;
    FileJob* f = job.get();
    node->files.push_back(std::move(job));
    // Files up to the minimum chunk size are one chunk each; batches of them share a slab
    // (kBatchBytes plus one such file always fit).
    if (f->size <= std::min<uint64_t>(repo_->config().params.chunk_min, kSmallFileMax)) {
      batch.push_back(f);
      batch_bytes += f->size;
      if (batch.size() >= kBatchFiles || batch_bytes >= kBatchBytes) FlushBatch(batch, batch_bytes);
    } else {
      readers_->Submit([this, f] { ReadBig(f, false); });
    }
  }
  for (auto& sd : subdirs) {
    auto* child = new DirNode;
    child->parent = node;
    child->parent_entry = sd.entry;
    child->path = Join(node->path, node->entries[sd.entry].name);
    child->parent_tree = std::move(sd.parent_tree);
    PushDir(child, fd, node->entries[sd.entry].name);
  }
  fd.reset();
  Report("scanning");
  DirDone(node);  // the scan's own reference
}

void Archiver::FlushBatch(std::vector<FileJob*>& batch, size_t& batch_bytes) {
  if (batch.empty()) return;
  std::vector<FileJob*> b;
  b.swap(batch);
  batch_bytes = 0;
  readers_->Submit([this, b = std::move(b)] { ReadBatch(b); });
}

// ---- reading ------------------------------------------------------------------------------------

void Archiver::SubmitCompute(std::shared_ptr<ComputeJob> job) {
  compute_->Submit([this, job] { Compute(*job); });
}

void Archiver::ReadBatch(std::vector<FileJob*> batch) {
  // Open every file first and ask the kernel to read them all ahead: on a cold cache this
  // puts the whole batch into the disk queue at once instead of one small read at a time.
  std::vector<UniqueFd> fds(batch.size());
  if (!Stopped()) {
    for (size_t i = 0; i < batch.size(); ++i) {
      FileJob* f = batch[i];
      int fd = OpenForRead(f->dirfd->get(), f->dir->entries[f->entry].name.c_str());
      if (fd < 0) {
        Warn(fmt::format("cannot open {}: {}; skipped", PrintablePath(f->path),
                         std::strerror(errno)));
        f->failed = true;
        continue;
      }
      fds[i].reset(fd);
      (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
    }
  }
  auto job = std::make_shared<ComputeJob>();
  job->slab = slabs_.Acquire();
  uint8_t* base = job->slab->data.get();
  size_t used = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    FileJob* f = batch[i];
    f->dirfd.reset();
    if (Stopped() || f->failed || !fds[i].valid()) {
      f->failed = true;
      FileDone(f);
      continue;
    }
    int fd = fds[i].get();
    // Read at most the size seen by the scan: a growing file is cut there (and warned about).
    size_t want = static_cast<size_t>(std::min<uint64_t>(f->size, slabs_.size() - used));
    size_t got = 0;
    bool error = false;
    while (got < want) {
      ssize_t n = ::pread(fd, base + used + got, want - got, static_cast<off_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        Warn(fmt::format("cannot read {}: {}; skipped", PrintablePath(f->path),
                         std::strerror(errno)));
        error = true;
        break;
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    // One fstat after reading (not one before and one after: small files are syscall-bound)
    // tells whether what was read is the file the scan saw, unchanged.
    struct stat after;
    const TreeEntry& seen = f->dir->entries[f->entry];
    if (!error && (::fstat(fd, &after) != 0 || !S_ISREG(after.st_mode))) {
      Warn(fmt::format("{} changed type while being read; skipped", PrintablePath(f->path)));
      error = true;
    } else if (!error &&
               (after.st_ino != seen.ino || static_cast<uint64_t>(after.st_size) != f->size ||
                after.st_mtim.tv_sec != seen.mtime_sec ||
                static_cast<uint32_t>(after.st_mtim.tv_nsec) != seen.mtime_nsec ||
                got != f->size)) {
      Warn(fmt::format("{} changed while being read; the recovery point holds the bytes read",
                       PrintablePath(f->path)));
    }
    fds[i].reset();
    if (error) {
      f->failed = true;
      FileDone(f);
      continue;
    }
    bytes_read_ += got;
    f->size = got;
    if (got == 0) {
      FileDone(f);
      continue;
    }
    f->pieces.push_back(Piece{got, false, {}});
    f->pending += 1;
    job->items.push_back(
        ChunkItem{static_cast<uint32_t>(used), static_cast<uint32_t>(got), &f->pieces.back(), f});
    used += got;
    FileDone(f);  // the reader's reference; the compute job holds its own
  }
  if (!job->items.empty()) SubmitCompute(std::move(job));
}

void Archiver::ReadBig(FileJob* f, bool block_mode) {
  auto done = [&] {
    f->dirfd.reset();
    FileDone(f);
  };
  if (Stopped()) {
    f->failed = true;
    return done();
  }
  int raw = block_mode ? ::open(req_.source.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME)
                       : OpenForRead(f->dirfd->get(), f->dir->entries[f->entry].name.c_str());
  if (raw < 0 && block_mode && errno == EPERM)
    raw = ::open(req_.source.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    int err = errno;
    if (block_mode)
      Fail(util::ErrnoError("cannot open " + req_.source, err).error());
    else
      Warn(fmt::format("cannot open {}: {}; skipped", PrintablePath(f->path), std::strerror(err)));
    f->failed = true;
    return done();
  }
  UniqueFd fd(raw);
  f->dirfd.reset();
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 ||
      (!S_ISREG(st.st_mode) && !(block_mode && S_ISBLK(st.st_mode)))) {
    Warn(fmt::format("{} changed type while being read; skipped", PrintablePath(f->path)));
    f->failed = true;
    return done();
  }
  (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  const uint64_t size = f->size;
  uint64_t pos = 0;
  Status st_read = util::Ok();
  bool sparse_ok = S_ISREG(st.st_mode);
  while (pos < size && st_read && !Stopped()) {
    uint64_t data = pos, hole = size;
    if (sparse_ok) {
      off_t d = ::lseek(fd.get(), static_cast<off_t>(pos), SEEK_DATA);
      if (d < 0) {
        if (errno == ENXIO) {
          data = size;  // only a hole remains
        } else {
          sparse_ok = false;  // SEEK_DATA unsupported: read everything
        }
      } else {
        data = std::min<uint64_t>(static_cast<uint64_t>(d), size);
        off_t h = ::lseek(fd.get(), d, SEEK_HOLE);
        hole = h < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(h), size);
      }
    }
    if (data > pos) {
      f->pieces.push_back(Piece{data - pos, true, {}});
      bytes_done_ += data - pos;
      pos = data;
    }
    if (pos >= size) break;
    st_read = ReadExtent(f, fd.get(), pos, hole - pos, block_mode);
    pos = hole;
  }
  if (!st_read) {
    if (block_mode) {
      Fail(st_read.error());
    } else {
      Warn(fmt::format("cannot read {}: {}; skipped", PrintablePath(f->path),
                       st_read.error().message()));
    }
    f->failed = true;
    return done();
  }
  struct stat after;
  if (::fstat(fd.get(), &after) == 0 &&
      (after.st_size != st.st_size || after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
       after.st_mtim.tv_nsec != st.st_mtim.tv_nsec)) {
    Warn(fmt::format("{} changed while being read; the recovery point holds the bytes read",
                     PrintablePath(f->path)));
  }
  uint64_t total = 0;
  for (const auto& p : f->pieces) total += p.length;
  f->size = total;
  done();
}

Status Archiver::ReadExtent(FileJob* f, int fd, uint64_t start, uint64_t length, bool block_mode) {
  const size_t max_chunk =
      block_mode ? repo_->config().params.block_size : repo_->config().params.chunk_max;
  const uint64_t block = repo_->config().params.block_size;
  std::shared_ptr<Slab> slab = slabs_.Acquire();
  size_t fill = 0, consumed = 0;
  uint64_t off = start, remaining = length;
  while (true) {
    if (Stopped()) return util::Ok();
    while (fill < slabs_.size() && remaining > 0) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>({slabs_.size() - fill, remaining, 4 * kReadUnit}));
      ssize_t n = ::pread(fd, slab->data.get() + fill, want, static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR) continue;
        return util::ErrnoError("read", errno);
      }
      if (n == 0) {
        remaining = 0;  // the file shrank: keep what was there
        break;
      }
      fill += static_cast<size_t>(n);
      off += static_cast<uint64_t>(n);
      remaining -= static_cast<uint64_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
    }
    const bool eof = remaining == 0;
    std::vector<std::shared_ptr<ComputeJob>> jobs;
    uint64_t abs = off - (fill - consumed);  // file offset of slab[consumed]
    while (consumed < fill) {
      size_t avail = fill - consumed;
      if (!eof && avail < max_chunk) break;
      size_t len;
      if (block_mode) {
        len = static_cast<size_t>(std::min<uint64_t>(avail, block - (abs % block)));
      } else {
        len = cdc_.NextBoundary(ByteView(slab->data.get() + consumed, avail));
      }
      f->pieces.push_back(Piece{len, false, {}});
      f->pending += 1;
      // One job per chunk: a single large file keeps every core busy.
      auto j = std::make_shared<ComputeJob>();
      j->slab = slab;
      j->zero_holes = block_mode;
      j->items.push_back(ChunkItem{static_cast<uint32_t>(consumed), static_cast<uint32_t>(len),
                                   &f->pieces.back(), f});
      jobs.push_back(std::move(j));
      consumed += len;
      abs += len;
    }
    for (auto& j : jobs) SubmitCompute(std::move(j));
    if (eof && consumed == fill) return util::Ok();
    // Carry the unchunked tail into a fresh slab; the old one lives until its jobs finish.
    std::shared_ptr<Slab> next = slabs_.Acquire();
    std::memcpy(next->data.get(), slab->data.get() + consumed, fill - consumed);
    fill -= consumed;
    consumed = 0;
    slab = std::move(next);
  }
}

// ---- compute and completion ---------------------------------------------------------------------

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
  if (!failed_) {
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
    std::lock_guard<std::mutex> lk(root_mu_);
    root_tree_ = id;
    root_done_ = true;
    root_cv_.notify_all();
  }
  delete d;
}

// ---- the run ------------------------------------------------------------------------------------

Result<BackupResult> Archiver::Run() {
  const double t0 = util::MonotonicSeconds();
  const util::TimeMicros started = repo_->options().clock->Now();
  level_ = std::clamp(repo_->options().compression_level, 1, 19);
  block_kind_ = req_.kind == VolumeKind::kBlock;
  RaiseFdLimit();

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
  // The index is loaded after the parent is chosen: a manifest is written only once its index
  // files are durable, so every blob of any manifest seen so far is in this load.
  index_ = MLV_TRY(repo_->LoadIndex(nullptr, nullptr, /*keep_raw=*/false));
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

  util::Log(util::LogLevel::kDebug, "backup: parent {} loaded at {:.3f} s",
            parent ? IdHex(parent->id) : "(none)", util::MonotonicSeconds() - t0);
  readers_ = std::make_unique<util::ThreadPool>(par_.io, par_.io);
  compute_ = std::make_unique<util::ThreadPool>(par_.compute, 2 * par_.compute);

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
    bool reused =
        S_ISREG(root_st.st_mode) && ReuseFromParent(e, FindEntry(parent_root.get(), "image"));
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
    int rfd = ::open(req_.source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) {
      delete root;
      return std::unexpected(util::ErrnoError("cannot open source " + req_.source, errno).error());
    }
    // The root is scanned like any directory, from a descriptor of its own parent.
    auto self = std::make_shared<UniqueFd>(rfd);
    {
      std::lock_guard<std::mutex> lk(scan_mu_);
      scan_stack_.push_back(ScanTask{root, self, "."});
    }
    self.reset();
    std::vector<std::thread> scanners;
    for (size_t i = 0; i < par_.scan; ++i) scanners.emplace_back([this] { ScanLoop(); });
    for (auto& t : scanners) t.join();
  }
  util::Log(util::LogLevel::kDebug, "backup: scan done at {:.3f} s", util::MonotonicSeconds() - t0);
  readers_->Wait();
  util::Log(util::LogLevel::kDebug, "backup: reading done at {:.3f} s",
            util::MonotonicSeconds() - t0);
  compute_->Wait();
  readers_.reset();
  compute_.reset();

  Status data_st = data_packs_.Finish();
  Status tree_st = tree_packs_.Finish();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (error_) return std::unexpected(*error_);
  }
  MLV_TRY(data_st);
  MLV_TRY(tree_st);
  BlobId root_id;
  {
    std::lock_guard<std::mutex> lk(root_mu_);
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
  s.bytes_read = bytes_read_;
  s.bytes_new = bytes_new_;
  s.chunks = chunks_;
  s.chunks_new = chunks_new_;
  s.bytes_stored = bytes_stored_ + index_writer_.bytes_written();
  s.duration_seconds = util::MonotonicSeconds() - t0;
  m.stats = s;
  m.stats.bytes_stored +=
      512;  // the manifest itself, approximately (its size is known only once written)
  // Commit only while our lock is known to protect the data we reference (format doc 9.4).
  if (lock_ != nullptr) MLV_TRY(lock_->Check());
  uint64_t manifest_size = 0;
  MLV_TRY_CTX(repo_->SaveManifest(m, &manifest_size), "cannot write the recovery point manifest");
  s.bytes_stored += manifest_size;
  s.duration_seconds = util::MonotonicSeconds() - t0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    result.warnings = warnings_;
    if (warnings_dropped_ > 0)
      result.warnings.push_back(fmt::format("... and {} more warnings", warnings_dropped_));
  }
  if (progress_ != nullptr) progress_->Finish();
  return result;
}

}  // namespace

Result<BackupResult> RunBackup(Repository* repo, VaultLock* lock, const BackupRequest& request,
                               util::ProgressSink* progress, const util::CancelToken* cancel) {
  Archiver a(repo, lock, request, progress, cancel);
  return a.Run();
}

}  // namespace mlvault::vault
