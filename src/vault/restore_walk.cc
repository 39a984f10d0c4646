// Restore, the tree walk: creates directories, symlinks, FIFOs and devices and hands files to
// the writers; then makes hard links. Directory metadata is applied as each directory finishes
// (DirDone), through the descriptor opened when it was created.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <unordered_map>

#include "util/log.h"
#include "vault/index.h"
#include "vault/restorer_internal.h"

namespace mlvault::vault::restore {

bool Restorer::MakeRoom(int dirfd, const std::string& name, const std::string& path) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return true;  // nothing there
  if (!options_.allow_nonempty_target) {
    Fail(util::Error(util::ErrorCode::kConflict, PrintablePath(path) + " exists in the target"));
    return false;
  }
  if (auto s = util::RemoveTreeAt(dirfd, name, PrintablePath(path)); !s) {
    Warn("cannot replace " + PrintablePath(path) + ": " + s.error().message());
    return false;
  }
  return true;
}

Result<UniqueFd> Restorer::CreateFile(int dirfd, const std::string& name, const PathFn& path,
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
    if (!MakeRoom(dirfd, name, path()))
      return util::Conflict(PrintablePath(path()) + " exists in the target");
  }
  const int err = errno;
  return util::ErrnoError("cannot create " + PrintablePath(path()), err);
}

std::string DirState::Path(std::string_view child) const {
  std::vector<const std::string*> names;
  for (const DirState* d = this; d != nullptr && d->parent != nullptr; d = d->parent.get())
    names.push_back(&d->name);
  std::string out;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!out.empty()) out += '/';
    out += **it;
  }
  if (!child.empty()) {
    if (!out.empty()) out += '/';
    out += child;
  }
  return out.empty() ? "." : out;
}

void Restorer::DirDone(DirState* d) {
  while (d != nullptr) {
    if (d->pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // Children change a directory's mtime, and a read-only mode would stop them: metadata last.
    if (!state_.failed() && d->fd.valid())
      ApplyMeta(
          d->fd.get(), d->meta, [d] { return d->Path(); }, false, d->created);
    d->fd.reset();
    d = d->parent.get();
  }
}

void Restorer::FileEnded(FileState& f, bool complete) {
  if (!complete && f.created && f.dir != nullptr) {
    // Never leave an empty or partial stand-in for a file that could not be restored.
    f.fd.reset();
    if (::unlinkat(f.dir->fd.get(), f.name.c_str(), 0) != 0 && errno != ENOENT)
      Warn(fmt::format("cannot remove the unfinished {}: {}", PrintablePath(f.Path()),
                       std::strerror(errno)));
  }
  f.fd.reset();
  if (f.dir != nullptr) {
    DirDone(f.dir.get());
    f.dir.reset();
  }
}

Result<std::shared_ptr<DirState>> Restorer::MakeDir(const std::shared_ptr<DirState>& parent,
                                                    const TreeEntry& e) {
  const int pfd = parent->fd.get();
  bool made = ::mkdirat(pfd, e.name.c_str(), 0700) == 0;
  bool created = made;
  if (!made && errno == EEXIST) {
    if (!options_.allow_nonempty_target)
      return util::Conflict(PrintablePath(parent->Path(e.name)) + " exists in the target");
    struct stat st;
    bool is_dir =
        ::fstatat(pfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    if (!is_dir) {
      if (!MakeRoom(pfd, e.name, parent->Path(e.name))) return nullptr;
      made = created = ::mkdirat(pfd, e.name.c_str(), 0700) == 0;
    } else {
      made = true;
    }
  }
  if (!made)
    return util::ErrnoError("cannot create directory " + PrintablePath(parent->Path(e.name)),
                            errno);
  auto d = std::make_shared<DirState>();
  d->fd.reset(::openat(pfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d->fd.valid())
    return util::ErrnoError("cannot open directory " + PrintablePath(parent->Path(e.name)), errno);
  // An existing directory is opened first and then made writable through its descriptor: a
  // symlink planted under its name is never followed.
  (void)::fchmod(d->fd.get(), 0700);
  d->parent = parent;
  d->name = e.name;
  d->created = created;
  d->meta = e;
  d->meta.pieces.clear();
  parent->pending.fetch_add(1, std::memory_order_relaxed);
  return d;
}

Status Restorer::Walk(std::shared_ptr<DirState> root) {
  struct Frame {
    std::shared_ptr<DirState> dir;
    Tree tree;
    size_t next = 0;
  };
  std::vector<Frame> stack;
  // Remote storage: each tree is a request. The subdirectories' trees of every tree the walk
  // loads are read ahead on the fetch threads, so the walk does not wait a round trip per
  // directory. Reads left running after a failure end on their own (the promise outlives this).
  using TreeRead = std::shared_ptr<std::promise<Result<Tree>>>;
  std::unordered_map<BlobId, std::future<Result<Tree>>, BlobIdHash> ahead;
  auto read_ahead = [&](const Tree& t) {
    if (fetchers_ == nullptr) return;
    for (const auto& e : t.entries) {
      if (e.type != EntryType::kDir || ahead.contains(e.subtree)) continue;
      TreeRead read = std::make_shared<std::promise<Result<Tree>>>();
      ahead.emplace(e.subtree, read->get_future());
      fetchers_->Submit(
          [this, read, id = e.subtree] { read->set_value(repo_->LoadTree(*index_, id)); });
    }
  };
  auto load = [&](const BlobId& id) -> Result<Tree> {
    Result<Tree> tree = util::Internal("no tree");
    if (auto it = ahead.find(id); it != ahead.end()) {
      tree = it->second.get();
      ahead.erase(it);
    } else {
      tree = repo_->LoadTree(*index_, id);
    }
    if (tree) read_ahead(*tree);
    return tree;
  };
  {
    auto tree = load(point_.tree);
    if (!tree) return std::unexpected(tree.error().WithContext("directory ."));
    stack.push_back(Frame{std::move(root), std::move(*tree), 0});
  }
  while (!stack.empty()) {
    if (Stopped()) return util::Ok();
    Frame& top = stack.back();
    if (top.next == top.tree.entries.size()) {
      std::shared_ptr<DirState> done = std::move(top.dir);
      stack.pop_back();
      DirDone(done.get());  // the walk's own reference
      continue;
    }
    TreeEntry& e = top.tree.entries[top.next++];
    const std::shared_ptr<DirState> dir = top.dir;  // `top` dies if a subdirectory is pushed
    const int fd = dir->fd.get();
    // Decoding validated the name already; a second check costs nothing and keeps this
    // function safe whatever tree it is handed.
    MLV_TRY(ValidateEntryName(e.name));
    switch (e.type) {
      case EntryType::kDir: {
        ++dirs_count_;
        auto sub = MLV_TRY(MakeDir(dir, e));
        if (sub == nullptr) break;     // warned: the entry could not be replaced
        if (planned_) PlanCounted(0);  // its descriptor stays open until its files are done
        auto tree = load(e.subtree);
        if (!tree) {
          return std::unexpected(
              tree.error().WithContext("directory " + PrintablePath(sub->Path())));
        }
        stack.push_back(Frame{std::move(sub), std::move(*tree), 0});
        break;
      }
      case EntryType::kFile: {
        ++files_;
        if (e.nlink > 1) {
          auto key = std::make_pair(e.dev, e.ino);
          auto it = primaries_.find(key);
          if (it != primaries_.end()) {
            dir->pending.fetch_add(1, std::memory_order_relaxed);
            links_.push_back(LinkRecord{dir, e.name, it->second.first, it->second.second});
            break;
          }
          // The first file's directory stays open until the links to it are made.
          dir->pending.fetch_add(1, std::memory_order_relaxed);
          primaries_.emplace(key, std::make_pair(dir, e.name));
        }
        auto f = std::make_unique<FileState>();
        f->dir = dir;
        f->name = e.name;
        f->entry = std::move(e);
        if (f->entry.size > kSegmentBytes) {
          // Large: create it here, then write segments in parallel.
          FileState* fp = f.get();
          auto created = CreateFile(fd, f->name, [fp] { return fp->Path(); });
          if (!created) {
            if (created.error().code() == util::ErrorCode::kConflict)
              return std::unexpected(created.error());
            Warn(created.error().message());
            break;
          }
          f->fd = std::move(*created);
          f->created = true;
          dir->pending.fetch_add(1, std::memory_order_relaxed);
          if (::ftruncate(f->fd.get(), static_cast<off_t>(f->entry.size)) != 0) {
            auto err = util::ErrnoError("cannot size " + PrintablePath(f->Path()), errno);
            FileEnded(*f, false);
            return err;
          }
          std::shared_ptr<FileState> shared(f.release());
          auto segs = CutSegments(*shared, /*count_holes=*/false);
          if (segs.empty()) segs.emplace_back(0, 0);
          if (planned_) {
            const uint64_t size = shared->entry.size;
            PlanLarge(std::move(shared));
            PlanCounted(size);
            break;
          }
          shared->pending = static_cast<int>(segs.size());
          for (auto [a, b] : segs)
            writers_->Submit([this, shared, a, b] { RunSegment(shared, a, b, false); });
        } else {
          dir->pending.fetch_add(1, std::memory_order_relaxed);
          const uint64_t size = f->entry.size;
          QueueFile(std::move(f));
          if (planned_) PlanCounted(size);
        }
        break;
      }
      case EntryType::kSymlink: {
        ++other_;
        if (::symlinkat(e.target.c_str(), fd, e.name.c_str()) != 0) {
          if (errno != EEXIST || !MakeRoom(fd, e.name, dir->Path(e.name)) ||
              ::symlinkat(e.target.c_str(), fd, e.name.c_str()) != 0) {
            if (state_.failed()) return util::Ok();
            Warn(fmt::format("cannot create symlink {}: {}", PrintablePath(dir->Path(e.name)),
                             std::strerror(errno)));
            break;
          }
        }
        ApplyMetaAt(fd, e.name, e, [&] { return dir->Path(e.name); });
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
          if (errno != EEXIST || !MakeRoom(fd, e.name, dir->Path(e.name)) ||
              ::mknodat(fd, e.name.c_str(), kind | 0600, dev) != 0) {
            if (state_.failed()) return util::Ok();
            Warn(fmt::format("cannot create {} {}: {}",
                             e.type == EntryType::kFifo ? "FIFO" : "device node",
                             PrintablePath(dir->Path(e.name)), std::strerror(errno)));
            break;
          }
        }
        ApplyMetaAt(fd, e.name, e, [&] { return dir->Path(e.name); });
        break;
      }
    }
  }
  return util::Ok();
}

void Restorer::RemovePartial() {
  if (!root_fd_.valid()) return;
  auto names = util::ListDirFd(root_fd_.get());
  if (!names) return;
  for (const auto& n : *names) (void)util::RemoveTreeAt(root_fd_.get(), n);
  if (created_target_) (void)::rmdir(target_.c_str());
}

Status Restorer::RestoreFilesystem() {
  struct stat st;
  if (::stat(target_.c_str(), &st) != 0) {
    if (errno != ENOENT) return util::ErrnoError("cannot access target " + target_, errno);
    MLV_TRY(util::MakeDirs(target_, 0700));
    created_target_ = true;
  } else if (!S_ISDIR(st.st_mode)) {
    return util::InvalidArgument("target " + target_ + " exists and is not a directory");
  }
  root_fd_.reset(::open(target_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd_.valid()) return util::ErrnoError("cannot open target " + target_, errno);
  struct stat rst;
  owner_is_creator_ = ::fstat(root_fd_.get(), &rst) == 0 && (rst.st_mode & S_ISGID) == 0;
  target_was_empty_ = util::DirIsEmpty(root_fd_.get());
  if (!options_.allow_nonempty_target && !target_was_empty_) {
    return util::Conflict("target " + target_ + " is not empty (allow it with --overwrite)");
  }
  // The root takes the source directory's metadata when everything below it is done.
  auto root = std::make_shared<DirState>();
  root->fd = MLV_TRY(util::DupFd(root_fd_.get()));
  root->created = created_target_;
  root->meta.type = EntryType::kDir;
  root->meta.mode = point_.root_mode;
  root->meta.uid = point_.root_uid;
  root->meta.gid = point_.root_gid;
  root->meta.mtime_sec = point_.root_mtime_sec;
  root->meta.mtime_nsec = point_.root_mtime_nsec;
  const double t0 = util::MonotonicSeconds();
  Status walked = Walk(root);
  if (walked) FlushBatch();
  util::Log(util::LogLevel::kDebug, "restore: walk done at {:.3f} s ({} bytes written so far)",
            util::MonotonicSeconds() - t0, bytes_written_.load());
  writers_->Wait();
  if (planned_) RunPlan();  // the last window (after a failure: ends its files)
  util::Log(util::LogLevel::kDebug, "restore: files done at {:.3f} s",
            util::MonotonicSeconds() - t0);
  if (!walked) return walked;
  if (auto e = state_.error()) return std::unexpected(*e);
  // Hard links: both directories are still open (they hold a pending reference for it).
  for (auto& l : links_) {
    const int from = l.primary_dir->fd.get(), to = l.dir->fd.get();
    if (::linkat(from, l.primary_name.c_str(), to, l.name.c_str(), 0) != 0) {
      const std::string path = l.dir->Path(l.name);
      if (!(errno == EEXIST && MakeRoom(to, l.name, path) &&
            ::linkat(from, l.primary_name.c_str(), to, l.name.c_str(), 0) == 0)) {
        Warn(
            fmt::format("cannot make hard link {}: {}", PrintablePath(path), std::strerror(errno)));
      }
    }
    DirDone(l.dir.get());
    l.dir.reset();
  }
  links_.clear();
  for (auto& [key, primary] : primaries_) DirDone(primary.first.get());
  primaries_.clear();
  util::Log(util::LogLevel::kDebug, "restore: links done at {:.3f} s",
            util::MonotonicSeconds() - t0);
  return util::Ok();
}

}  // namespace mlvault::vault::restore
