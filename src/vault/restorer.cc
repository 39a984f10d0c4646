// Restore: recreates a recovery point below a target, bit for bit, without ever writing outside.
//
// One walker thread creates directories (mode 0700 while restoring, so read-only directories can
// be filled), symlinks, FIFOs and devices, and hands files to writer threads: small files in
// batches, large files in segments of up to 32 MiB so one large file keeps every core busy.
// Writers fetch the blobs a task needs with few, coalesced range reads (blobs of neighbouring
// files sit next to each other in packs), authenticate, decompress and re-hash each one, and
// write it with pwrite; holes are never written. Hard links, then directory metadata (deepest
// first) are applied at the end.
//
// Safety: every name comes from a decoded tree (validated: no '/', no "..", no NUL) and is
// checked again here; every directory is opened with O_NOFOLLOW | O_DIRECTORY relative to its
// parent's descriptor; files are created with O_EXCL | O_NOFOLLOW; symlinks are created, never
// followed. A manifest cannot make restore write outside the target.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>

#include "util/files.h"
#include "util/log.h"
#include "util/thread_pool.h"
#include "vault/engine.h"

namespace mlvault::vault {
namespace {

using util::UniqueFd;

constexpr size_t kBatchFiles = 128;
constexpr uint64_t kBatchBytes = 8ull << 20;
constexpr uint64_t kSegmentBytes = 32ull << 20;
// Range reads of neighbouring blobs are merged across gaps up to this size, up to a total.
constexpr uint64_t kCoalesceGap = 256u << 10;
constexpr uint64_t kCoalesceMax = 8ull << 20;

std::string JoinPath(const std::vector<std::string>& parts, const std::string& name = "") {
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

// Removes `name` in `dirfd` and everything below it without following symlinks.
Status RemoveTreeAt(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return util::Ok();
    return util::ErrnoError("cannot stat " + PrintablePath(name), errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return util::ErrnoError("cannot remove " + PrintablePath(name), errno);
    }
    return util::Ok();
  }
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return util::ErrnoError("cannot open " + PrintablePath(name), errno);
  std::vector<std::string> children;
  {
    int dupfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR* d = dupfd >= 0 ? ::fdopendir(dupfd) : nullptr;
    if (d == nullptr) {
      ::close(fd);
      if (dupfd >= 0) ::close(dupfd);
      return util::ErrnoError("cannot list " + PrintablePath(name), errno);
    }
    while (struct dirent* de = ::readdir(d)) {
      if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0)
        children.emplace_back(de->d_name);
    }
    ::closedir(d);
  }
  (void)::fchmod(fd, 0700);
  for (const auto& c : children) {
    if (auto s = RemoveTreeAt(fd, c); !s) {
      ::close(fd);
      return s;
    }
  }
  ::close(fd);
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return util::ErrnoError("cannot remove directory " + PrintablePath(name), errno);
  }
  return util::Ok();
}

// Opens a directory below `rootfd` one component at a time, never following a symlink.
Result<UniqueFd> OpenDirBeneath(int rootfd, const std::vector<std::string>& parts) {
  UniqueFd cur(::fcntl(rootfd, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return util::ErrnoError("dup", errno);
  for (const auto& p : parts) {
    MLV_TRY(ValidateEntryName(p));
    int fd = ::openat(cur.get(), p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return util::ErrnoError("cannot open directory " + PrintablePath(JoinPath(parts)), errno);
    cur.reset(fd);
  }
  return cur;
}

bool DirIsEmpty(int fd) {
  int dupfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR* d = dupfd >= 0 ? ::fdopendir(dupfd) : nullptr;
  if (d == nullptr) return false;
  bool empty = true;
  while (struct dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
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
        par_(ParallelismFor(repo->options())) {}

  Result<RestoreStats> Run();

 private:
  void Fail(util::Error e) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!error_) error_ = std::move(e);
    failed_ = true;
  }
  bool Stopped() {
    if (failed_) return true;
    if (cancel_ != nullptr && cancel_->cancelled()) {
      Fail(util::Error(util::ErrorCode::kCancelled, "restore cancelled: " + cancel_->reason()));
      return true;
    }
    return false;
  }
  void Warn(std::string w) {
    std::lock_guard<std::mutex> lk(mu_);
    if (warnings_.size() < 1000) warnings_.push_back(std::move(w));
  }
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

  std::mutex mu_;
  std::optional<util::Error> error_;   // guarded by mu_
  std::vector<std::string> warnings_;  // guarded by mu_
  std::atomic<bool> failed_{false};
  std::atomic<bool> owner_warned_{false};
  std::atomic<uint64_t> files_{0}, dirs_count_{0}, other_{0}, bytes_written_{0}, bytes_done_{0},
      files_done_{0};
};

bool Restorer::MakeRoom(int dirfd, const std::string& name, const std::string& path) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return true;  // nothing there
  if (!options_.allow_nonempty_target) {
    Fail(util::Error(util::ErrorCode::kConflict, PrintablePath(path) + " exists in the target"));
    return false;
  }
  if (auto s = RemoveTreeAt(dirfd, name); !s) {
    Warn("cannot replace " + PrintablePath(path) + ": " + s.error().message());
    return false;
  }
  return true;
}

Result<UniqueFd> Restorer::CreateFile(int dirfd, const std::string& name, const std::string& path,
                                      uint32_t mode, bool* mode_set) {
  mode_t create_mode = 0600;
  if (mode_set != nullptr) {
    *mode_set = umask_ >= 0 && (mode & 07000) == 0 && (mode & 0200) != 0 &&
                (mode & ~static_cast<uint32_t>(umask_)) == mode;
    if (*mode_set) create_mode = mode;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      create_mode);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != EEXIST || attempt == 1) break;
    if (!MakeRoom(dirfd, name, path))
      return util::Conflict(PrintablePath(path) + " exists in the target");
  }
  return util::ErrnoError("cannot create " + PrintablePath(path), errno);
}

void Restorer::ApplyMeta(int fd, const TreeEntry& e, const std::string& path, bool mode_set) {
  // A file this process created already has its uid and gid (directories being restored are
  // 0700 and carry no setgid bit), so chown only when the recorded owner differs.
  const bool owner_ok = owner_is_creator_ && e.uid == euid_ && e.gid == egid_;
  if (chown_ && !owner_ok && ::fchown(fd, e.uid, e.gid) != 0) {
    Warn(fmt::format("cannot set owner of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
  if (!mode_set && ::fchmod(fd, e.mode) != 0) {
    Warn(fmt::format("cannot set mode of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
  struct timespec ts[2];
  ts[0].tv_sec = e.mtime_sec;
  ts[0].tv_nsec = e.mtime_nsec;
  ts[1] = ts[0];
  if (::futimens(fd, ts) != 0) {
    Warn(fmt::format("cannot set times of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
}

void Restorer::ApplyMetaAt(int dirfd, const std::string& name, const TreeEntry& e,
                           const std::string& path) {
  if (chown_ && ::fchownat(dirfd, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    Warn(fmt::format("cannot set owner of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
  if (e.type != EntryType::kSymlink && ::fchmodat(dirfd, name.c_str(), e.mode, 0) != 0) {
    Warn(fmt::format("cannot set mode of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
  struct timespec ts[2];
  ts[0].tv_sec = e.mtime_sec;
  ts[0].tv_nsec = e.mtime_nsec;
  ts[1] = ts[0];
  if (::utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    Warn(fmt::format("cannot set times of {}: {}", PrintablePath(path), std::strerror(errno)));
  }
}

// ---- blob fetching ------------------------------------------------------------------------------

bool Restorer::Fetch(std::vector<Want>& wants, bool block_device) {
  (void)block_device;
  std::sort(wants.begin(), wants.end(), [](const Want& a, const Want& b) {
    return a.pack != b.pack ? a.pack < b.pack : a.offset < b.offset;
  });
  Bytes plain;
  size_t i = 0;
  while (i < wants.size()) {
    if (Stopped()) return false;
    // Merge neighbours in one pack into one range read.
    size_t j = i + 1;
    uint64_t start = wants[i].offset;
    uint64_t end = start + wants[i].stored_len;
    while (j < wants.size() && wants[j].pack == wants[i].pack &&
           wants[j].offset <= end + kCoalesceGap &&
           std::max<uint64_t>(end, wants[j].offset + wants[j].stored_len) - start <= kCoalesceMax) {
      end = std::max<uint64_t>(end, wants[j].offset + wants[j].stored_len);
      ++j;
    }
    const ObjectId& pack = index_->packs()[wants[i].pack];
    auto range = repo_->backend()->Get(PackName(pack), start, end - start);
    if (!range) {
      Fail(range.error().WithContext("pack " + IdHex(pack)));
      return false;
    }
    const BlobId* last_id = nullptr;
    for (size_t k = i; k < j; ++k) {
      Want& w = wants[k];
      if (last_id == nullptr || *last_id != w.id) {
        ByteView sealed(range->data() + (w.offset - start), w.stored_len);
        if (auto s = repo_->OpenBlob(sealed, w.id, w.loc->type, w.loc->comp, w.loc->raw_len, true,
                                     plain);
            !s) {
          Fail(s.error().WithContext("pack " + IdHex(pack)));
          return false;
        }
        last_id = &w.id;
      }
      if (plain.size() != w.length) {
        Fail(util::Error(util::ErrorCode::kCorruption,
                         fmt::format("chunk {} of {} has {} bytes, the tree says {}", IdHex(w.id),
                                     PrintablePath(w.file->path), plain.size(), w.length)));
        return false;
      }
      if (w.file->failed) continue;
      int fd = w.file->fd.get();
      size_t done = 0;
      while (done < plain.size()) {
        ssize_t n = ::pwrite(fd, plain.data() + done, plain.size() - done,
                             static_cast<off_t>(w.file_offset + done));
        if (n < 0) {
          if (errno == EINTR) continue;
          Fail(util::ErrnoError("cannot write " + PrintablePath(w.file->path), errno).error());
          return false;
        }
        done += static_cast<size_t>(n);
      }
      bytes_written_ += plain.size();
      bytes_done_ += plain.size();
    }
    i = j;
    Report();
  }
  return true;
}

// ---- filesystem volumes -------------------------------------------------------------------------

void Restorer::QueueFile(std::unique_ptr<FileState> f) {
  batch_bytes_ += f->entry.size;
  batch_.push_back(std::move(f));
  if (batch_.size() >= kBatchFiles || batch_bytes_ >= kBatchBytes) FlushBatch();
}

void Restorer::FlushBatch() {
  if (batch_.empty()) return;
  auto files = std::make_shared<std::vector<std::unique_ptr<FileState>>>(std::move(batch_));
  batch_.clear();
  batch_bytes_ = 0;
  writers_->Submit([this, files] { RunBatch(*files); });
}

void Restorer::RunBatch(std::vector<std::unique_ptr<FileState>>& files) {
  std::vector<Want> wants;
  for (auto& f : files) {
    if (Stopped()) return;
    auto fd = CreateFile(f->dirfd->get(), f->name, f->path, f->entry.mode, &f->mode_set);
    if (!fd) {
      if (fd.error().code() == util::ErrorCode::kConflict)
        Fail(fd.error());
      else
        Warn(fd.error().message());
      f->failed = true;
      continue;
    }
    f->fd = std::move(*fd);
    // Without holes the writes cover the whole file; holes need the size set first.
    const bool has_hole = std::any_of(f->entry.pieces.begin(), f->entry.pieces.end(),
                                      [](const Piece& p) { return p.hole; });
    if (has_hole && ::ftruncate(f->fd.get(), static_cast<off_t>(f->entry.size)) != 0) {
      Fail(util::ErrnoError("cannot size " + PrintablePath(f->path), errno).error());
      return;
    }
    uint64_t off = 0;
    for (const auto& p : f->entry.pieces) {
      if (!p.hole) {
        const BlobLocation* loc = index_->Find(p.id);
        if (loc == nullptr) {
          Fail(util::Error(
              util::ErrorCode::kCorruption,
              fmt::format("chunk {} of {} is in no index", IdHex(p.id), PrintablePath(f->path))));
          return;
        }
        wants.push_back(
            Want{loc->pack, loc->offset, loc->stored_len, p.id, loc, f.get(), off, p.length});
      } else {
        bytes_done_ += p.length;
      }
      off += p.length;
    }
  }
  if (!Fetch(wants, false)) return;
  for (auto& f : files) {
    if (f->failed || !f->fd.valid()) continue;
    ApplyMeta(f->fd.get(), f->entry, f->path, f->mode_set);
    f->fd.reset();
    f->dirfd.reset();
    ++files_done_;
  }
}

void Restorer::RunSegment(std::shared_ptr<FileState> f, size_t first, size_t last,
                          bool block_device) {
  if (!Stopped()) {
    std::vector<Want> wants;
    bool ok = true;
    for (size_t i = first; i < last; ++i) {
      const Piece& p = f->entry.pieces[i];
      if (p.hole) {
        if (block_device) {
          // A device has no holes: write the zeros.
          static const Bytes zeros(1u << 20, 0);
          uint64_t done = 0;
          while (done < p.length && ok) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), p.length - done));
            ssize_t w =
                ::pwrite(f->fd.get(), zeros.data(), n, static_cast<off_t>(f->offsets[i] + done));
            if (w < 0) {
              if (errno == EINTR) continue;
              Fail(util::ErrnoError("cannot write " + PrintablePath(f->path), errno).error());
              ok = false;
              break;
            }
            done += static_cast<uint64_t>(w);
          }
        }
        bytes_done_ += p.length;
        continue;
      }
      const BlobLocation* loc = index_->Find(p.id);
      if (loc == nullptr) {
        Fail(util::Error(
            util::ErrorCode::kCorruption,
            fmt::format("chunk {} of {} is in no index", IdHex(p.id), PrintablePath(f->path))));
        ok = false;
        break;
      }
      wants.push_back(Want{loc->pack, loc->offset, loc->stored_len, p.id, loc, f.get(),
                           f->offsets[i], p.length});
    }
    if (ok) Fetch(wants, block_device);
  }
  if (f->pending.fetch_sub(1) == 1) FinishLarge(f.get());
}

void Restorer::FinishLarge(FileState* f) {
  if (!failed_ && f->fd.valid()) {
    ApplyMeta(f->fd.get(), f->entry, f->path);
    ++files_done_;
  }
  f->fd.reset();
  f->dirfd.reset();
}

Status Restorer::WalkDir(int fd, const std::vector<std::string>& parts, const BlobId& tree_id) {
  auto tree = repo_->LoadTree(*index_, tree_id);
  if (!tree)
    return std::unexpected(tree.error().WithContext("directory " + PrintablePath(JoinPath(parts))));
  auto dirfd = std::make_shared<UniqueFd>(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  for (auto& e : tree->entries) {
    if (Stopped()) return util::Ok();
    // Decoding validated the name already; a second check costs nothing and keeps this
    // function safe whatever tree it is handed.
    MLV_TRY(ValidateEntryName(e.name));
    const std::string path = JoinPath(parts, e.name);
    switch (e.type) {
      case EntryType::kDir: {
        ++dirs_count_;
        bool made = ::mkdirat(fd, e.name.c_str(), 0700) == 0;
        if (!made && errno == EEXIST) {
          struct stat st;
          bool is_dir =
              ::fstatat(fd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
          if (!options_.allow_nonempty_target) {
            return util::Conflict(PrintablePath(path) + " exists in the target");
          }
          if (!is_dir) {
            if (!MakeRoom(fd, e.name, path)) break;
            made = ::mkdirat(fd, e.name.c_str(), 0700) == 0;
          } else {
            made = true;
            (void)::fchmodat(fd, e.name.c_str(), 0700, 0);
          }
        }
        if (!made) return util::ErrnoError("cannot create directory " + PrintablePath(path), errno);
        int sub = ::openat(fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) return util::ErrnoError("cannot open directory " + PrintablePath(path), errno);
        UniqueFd subfd(sub);
        std::vector<std::string> sub_parts = parts;
        sub_parts.push_back(e.name);
        BlobId subtree = e.subtree;
        dirs_.push_back(DirRecord{sub_parts, e});
        dirs_.back().meta.pieces.clear();
        MLV_TRY(WalkDir(subfd.get(), sub_parts, subtree));
        break;
      }
      case EntryType::kFile: {
        ++files_;
        if (e.nlink > 1) {
          auto key = std::make_pair(e.dev, e.ino);
          auto it = primaries_.find(key);
          if (it != primaries_.end()) {
            links_.push_back(LinkRecord{parts, e.name, it->second.first, it->second.second});
            break;
          }
          primaries_.emplace(key, std::make_pair(parts, e.name));
        }
        auto f = std::make_unique<FileState>();
        f->dirfd = dirfd;
        f->name = e.name;
        f->path = path;
        f->entry = std::move(e);
        if (f->entry.size > kSegmentBytes) {
          // Large: create it here, then write segments in parallel.
          auto created = CreateFile(fd, f->name, f->path);
          if (!created) {
            if (created.error().code() == util::ErrorCode::kConflict)
              return std::unexpected(created.error());
            Warn(created.error().message());
            break;
          }
          f->fd = std::move(*created);
          if (::ftruncate(f->fd.get(), static_cast<off_t>(f->entry.size)) != 0) {
            return util::ErrnoError("cannot size " + PrintablePath(path), errno);
          }
          std::shared_ptr<FileState> shared(f.release());
          uint64_t off = 0;
          for (const auto& p : shared->entry.pieces) {
            shared->offsets.push_back(off);
            off += p.length;
          }
          std::vector<std::pair<size_t, size_t>> segs;
          size_t first = 0;
          uint64_t seg_bytes = 0;
          for (size_t i = 0; i < shared->entry.pieces.size(); ++i) {
            seg_bytes += shared->entry.pieces[i].hole ? 0 : shared->entry.pieces[i].length;
            if (seg_bytes >= kSegmentBytes || i + 1 == shared->entry.pieces.size()) {
              segs.emplace_back(first, i + 1);
              first = i + 1;
              seg_bytes = 0;
            }
          }
          if (segs.empty()) segs.emplace_back(0, 0);
          shared->pending = static_cast<int>(segs.size());
          for (auto [a, b] : segs)
            writers_->Submit([this, shared, a, b] { RunSegment(shared, a, b, false); });
        } else {
          QueueFile(std::move(f));
        }
        break;
      }
      case EntryType::kSymlink: {
        ++other_;
        if (::symlinkat(e.target.c_str(), fd, e.name.c_str()) != 0) {
          if (errno != EEXIST || !MakeRoom(fd, e.name, path) ||
              ::symlinkat(e.target.c_str(), fd, e.name.c_str()) != 0) {
            if (failed_) return util::Ok();
            Warn(fmt::format("cannot create symlink {}: {}", PrintablePath(path),
                             std::strerror(errno)));
            break;
          }
        }
        ApplyMetaAt(fd, e.name, e, path);
        break;
      }
      case EntryType::kFifo:
      case EntryType::kCharDev:
      case EntryType::kBlockDev: {
        ++other_;
        mode_t kind = e.type == EntryType::kFifo      ? S_IFIFO
                      : e.type == EntryType::kCharDev ? S_IFCHR
                                                      : S_IFBLK;
        dev_t dev = e.type == EntryType::kFifo ? 0 : static_cast<dev_t>(e.rdev);
        if (::mknodat(fd, e.name.c_str(), kind | 0600, dev) != 0) {
          if (errno != EEXIST || !MakeRoom(fd, e.name, path) ||
              ::mknodat(fd, e.name.c_str(), kind | 0600, dev) != 0) {
            if (failed_) return util::Ok();
            Warn(fmt::format("cannot create {} {}: {}",
                             e.type == EntryType::kFifo ? "FIFO" : "device node",
                             PrintablePath(path), std::strerror(errno)));
            break;
          }
        }
        ApplyMetaAt(fd, e.name, e, path);
        break;
      }
    }
  }
  return util::Ok();
}

Status Restorer::RestoreFilesystem() {
  struct stat st;
  if (::stat(target_.c_str(), &st) != 0) {
    if (errno != ENOENT) return util::ErrnoError("cannot access target " + target_, errno);
    MLV_TRY(util::MakeDirs(target_, 0700));
  } else if (!S_ISDIR(st.st_mode)) {
    return util::InvalidArgument("target " + target_ + " exists and is not a directory");
  }
  root_fd_.reset(::open(target_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd_.valid()) return util::ErrnoError("cannot open target " + target_, errno);
  struct stat rst;
  owner_is_creator_ = ::fstat(root_fd_.get(), &rst) == 0 && (rst.st_mode & S_ISGID) == 0;
  if (!options_.allow_nonempty_target && !DirIsEmpty(root_fd_.get())) {
    return util::Conflict("target " + target_ + " is not empty (allow it with --overwrite)");
  }
  const double t0 = util::MonotonicSeconds();
  Status walked = WalkDir(root_fd_.get(), {}, point_.tree);
  if (walked) FlushBatch();
  util::Log(util::LogLevel::kDebug, "restore: walk done at {:.3f} s ({} bytes written so far)",
            util::MonotonicSeconds() - t0, bytes_written_.load());
  writers_->Wait();
  util::Log(util::LogLevel::kDebug, "restore: files done at {:.3f} s",
            util::MonotonicSeconds() - t0);
  if (!walked) return walked;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (error_) return std::unexpected(*error_);
  }
  // Hard links: both ends are reached through directories opened without following symlinks.
  for (const auto& l : links_) {
    auto from = OpenDirBeneath(root_fd_.get(), l.primary_dir);
    auto to = OpenDirBeneath(root_fd_.get(), l.dir);
    const std::string path = JoinPath(l.dir, l.name);
    if (!from || !to) {
      Warn("cannot make hard link " + PrintablePath(path) + ": " +
           (!from ? from.error() : to.error()).message());
      continue;
    }
    if (::linkat(from->get(), l.primary_name.c_str(), to->get(), l.name.c_str(), 0) != 0) {
      if (errno == EEXIST && MakeRoom(to->get(), l.name, path) &&
          ::linkat(from->get(), l.primary_name.c_str(), to->get(), l.name.c_str(), 0) == 0) {
        continue;
      }
      Warn(fmt::format("cannot make hard link {}: {}", PrintablePath(path), std::strerror(errno)));
    }
  }
  util::Log(util::LogLevel::kDebug, "restore: links done at {:.3f} s",
            util::MonotonicSeconds() - t0);
  // Directory metadata last (children change a directory's mtime), deepest first.
  std::stable_sort(dirs_.begin(), dirs_.end(), [](const DirRecord& a, const DirRecord& b) {
    return a.parts.size() > b.parts.size();
  });
  for (const auto& d : dirs_) {
    std::vector<std::string> parent(d.parts.begin(), d.parts.end() - 1);
    auto pfd = OpenDirBeneath(root_fd_.get(), parent);
    if (!pfd) {
      Warn("cannot set metadata of " + PrintablePath(JoinPath(d.parts)) + ": " +
           pfd.error().message());
      continue;
    }
    ApplyMetaAt(pfd->get(), d.parts.back(), d.meta, JoinPath(d.parts));
  }
  // The root directory takes the source directory's metadata.
  TreeEntry root;
  root.type = EntryType::kDir;
  root.mode = point_.root_mode;
  root.uid = point_.root_uid;
  root.gid = point_.root_gid;
  root.mtime_sec = point_.root_mtime_sec;
  root.mtime_nsec = point_.root_mtime_nsec;
  ApplyMeta(root_fd_.get(), root, ".");
  return util::Ok();
}

// ---- block volumes ------------------------------------------------------------------------------

Status Restorer::RestoreBlock() {
  auto tree = MLV_TRY(repo_->LoadTree(*index_, point_.tree));
  if (tree.entries.size() != 1 || tree.entries[0].type != EntryType::kFile) {
    return util::Corruption("block recovery point " + IdHex(point_.id) +
                            " does not hold one image");
  }
  auto f = std::make_shared<FileState>();
  f->entry = std::move(tree.entries[0]);
  f->path = target_;
  bool device = false;
  struct stat st;
  if (::stat(target_.c_str(), &st) == 0) {
    if (S_ISBLK(st.st_mode)) {
      if (!options_.allow_nonempty_target) {
        return util::Conflict("target " + target_ +
                              " is a block device; overwrite it with --overwrite");
      }
      device = true;
      f->fd.reset(::open(target_.c_str(), O_WRONLY | O_CLOEXEC));
    } else if (S_ISREG(st.st_mode)) {
      if (st.st_size > 0 && !options_.allow_nonempty_target) {
        return util::Conflict("target " + target_ +
                              " exists and is not empty (allow it with --overwrite)");
      }
      f->fd.reset(::open(target_.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC));
    } else {
      return util::InvalidArgument("target " + target_ +
                                   " is neither a regular file nor a block device");
    }
  } else {
    if (errno != ENOENT) return util::ErrnoError("cannot access target " + target_, errno);
    f->fd.reset(
        ::open(target_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  }
  if (!f->fd.valid()) return util::ErrnoError("cannot open target " + target_, errno);
  if (!device && ::ftruncate(f->fd.get(), static_cast<off_t>(f->entry.size)) != 0) {
    return util::ErrnoError("cannot size " + target_, errno);
  }
  uint64_t off = 0;
  for (const auto& p : f->entry.pieces) {
    f->offsets.push_back(off);
    off += p.length;
  }
  std::vector<std::pair<size_t, size_t>> segs;
  size_t first = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < f->entry.pieces.size(); ++i) {
    bytes += f->entry.pieces[i].length;
    if (bytes >= kSegmentBytes || i + 1 == f->entry.pieces.size()) {
      segs.emplace_back(first, i + 1);
      first = i + 1;
      bytes = 0;
    }
  }
  f->pending = static_cast<int>(segs.size()) + 1;
  ++files_;
  for (auto [a, b] : segs)
    writers_->Submit([this, f, a, b, device] { RunSegment(f, a, b, device); });
  writers_->Wait();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (error_) return std::unexpected(*error_);
  }
  if (device) {
    if (::fsync(f->fd.get()) != 0) return util::ErrnoError("cannot flush " + target_, errno);
    f->fd.reset();
  } else {
    ApplyMeta(f->fd.get(), f->entry, target_);
    f->fd.reset();
  }
  ++files_done_;
  return util::Ok();
}

Result<RestoreStats> Restorer::Run() {
  const double t0 = util::MonotonicSeconds();
  as_root_ = ::geteuid() == 0;
  euid_ = ::geteuid();
  egid_ = ::getegid();
  {
    // The umask without changing it (umask(2) would, process-wide and racily).
    auto status = util::ReadFile("/proc/self/status");
    size_t at = status ? status->find("Umask:") : std::string::npos;
    if (at != std::string::npos)
      umask_ = static_cast<int>(std::strtol(status->c_str() + at + 6, nullptr, 8));
  }
  chown_ = options_.restore_ownership && as_root_;
  if (options_.restore_ownership && !as_root_) {
    Warn("not running as root: owners (uid/gid) are not restored");
  }
  index_ = MLV_TRY(repo_->LoadIndex(nullptr, nullptr, /*keep_raw=*/false));
  writers_ = std::make_unique<util::ThreadPool>(par_.io, 2 * par_.io);
  Status st = point_.kind == VolumeKind::kBlock ? RestoreBlock() : RestoreFilesystem();
  writers_->Wait();
  writers_.reset();
  if (!st) return std::unexpected(st.error());
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (error_) return std::unexpected(*error_);
  }
  RestoreStats s;
  s.files = files_;
  s.dirs = dirs_count_;
  s.other_entries = other_;
  s.bytes_written = bytes_written_;
  s.duration_seconds = util::MonotonicSeconds() - t0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    s.warnings = warnings_;
  }
  if (progress_ != nullptr) progress_->Finish();
  return s;
}

}  // namespace

Result<RestoreStats> RunRestore(Repository* repo, const Manifest& point, const std::string& target,
                                const RestoreOptions& options, util::ProgressSink* progress,
                                const util::CancelToken* cancel) {
  Restorer r(repo, point, target, options, progress, cancel);
  return r.Run();
}

}  // namespace mlvault::vault
