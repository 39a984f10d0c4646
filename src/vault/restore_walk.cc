// Restore, the tree walk: creates directories, symlinks, FIFOs and devices, hands files to the
// writers, then makes hard links and applies directory metadata.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/log.h"
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
            if (state_.failed()) return util::Ok();
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
            if (state_.failed()) return util::Ok();
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
  if (!options_.allow_nonempty_target && !util::DirIsEmpty(root_fd_.get())) {
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
  if (auto e = state_.error()) return std::unexpected(*e);
  // Hard links: both ends are reached through directories opened without following symlinks.
  for (const auto& l : links_) {
    auto from = util::OpenDirBeneath(root_fd_.get(), l.primary_dir);
    auto to = util::OpenDirBeneath(root_fd_.get(), l.dir);
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
    auto pfd = util::OpenDirBeneath(root_fd_.get(), parent);
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

}  // namespace mlvault::vault::restore
