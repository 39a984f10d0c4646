// Backup, scanning stage: lists directories, stats entries, compares them with the parent
// recovery point and hands changed files to the readers (small files in batches).
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/log.h"
#include "vault/archiver_internal.h"

namespace mlvault::vault::archive {

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

bool Archiver::ReuseFromParent(TreeEntry& e, const TreeEntry* old, bool old_has_extras) {
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
  if (old_has_extras) {
    e.xattrs = old->xattrs;
    e.fs_flags = old->fs_flags;
  }
  return true;
}

void Archiver::ReadExtras(int fd, int dirfd, const std::string& name, const std::string& path,
                          TreeEntry& e) {
  std::string via;
  if (fd < 0) via = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  auto x = vault::ReadXattrs(fd, via, [&] { return PrintablePath(path); });
  if (x) {
    e.xattrs = std::move(*x);
  } else {
    Warn(x.error().message() + "; recorded without them");
  }
  if (fd >= 0) e.fs_flags = ReadFsFlags(fd);
}

const TreeEntry* FindEntry(const Tree* tree, const std::string& name) {
  if (tree == nullptr) return nullptr;
  auto it = std::lower_bound(tree->entries.begin(), tree->entries.end(), name,
                             [](const TreeEntry& a, const std::string& n) { return a.name < n; });
  if (it == tree->entries.end() || it->name != name) return nullptr;
  return &*it;
}

void Archiver::PushDir(DirNode* node, std::shared_ptr<UniqueFd> parent_fd, std::string name) {
  util::MutexLock lock(scan_mu_);
  scan_stack_.push_back(ScanTask{node, std::move(parent_fd), std::move(name)});
  scan_cv_.NotifyOne();
}

void Archiver::ScanLoop() {
  std::vector<FileJob*> batch;
  size_t batch_bytes = 0;
  bool scanned = false;  // a task of this thread ended since it last held scan_mu_
  while (true) {
    std::optional<ScanTask> task;
    {
      util::MutexLock lock(scan_mu_);
      if (scanned) --scan_active_;
      scanned = false;
      while (scan_stack_.empty() && batch.empty()) {
        if (scan_active_ == 0) {
          scan_cv_.NotifyAll();
          return;
        }
        scan_cv_.Wait(scan_mu_);
      }
      if (!scan_stack_.empty()) {
        task = std::move(scan_stack_.back());
        scan_stack_.pop_back();
        ++scan_active_;
      }
    }
    if (!task) {
      // Going idle: hand over what this thread collected so readers are never starved.
      FlushBatch(batch, batch_bytes);
      continue;
    }
    ScanTask& t = *task;
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
        if (t.node->parent_tree_id) {
          auto old = repo_->LoadTree(*index_, *t.node->parent_tree_id);
          if (old) {
            t.node->parent_tree = std::make_shared<const Tree>(std::move(*old));
          } else {
            util::Log(util::LogLevel::kWarn, "parent tree of {} unreadable ({}); reading it afresh",
                      PrintablePath(t.node->path), old.error().message());
          }
          t.node->parent_tree_id.reset();
        }
        ScanDir(t.node, std::make_shared<UniqueFd>(fd), batch, batch_bytes);
      }
    } else {
      t.parent_fd.reset();
      DirDone(t.node);
    }
    scanned = true;
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
  // This directory's own extended attributes and flags go into its entry in the parent (the
  // parent's entries no longer change size; this slot is this scan's alone). The source root's
  // are not recorded (the manifest holds the root's stat metadata only).
  if (node->parent != nullptr) {
    TreeEntry& self = node->parent->entries[node->parent_entry];
    ReadExtras(fd->get(), -1, "", node->path, self);
  }

  const Tree* old_tree = node->parent_tree.get();
  node->entries.reserve(names.size());
  struct SubDir {
    size_t entry;
    std::optional<BlobId> parent_tree;
  };
  std::vector<SubDir> subdirs;
  std::vector<size_t> file_entries;
  // Change detection: the old subdirectories whose subtree is kept (reused or walked again).
  std::vector<bool> kept;
  if (dirty_ != nullptr && old_tree != nullptr) kept.assign(old_tree->entries.size(), false);
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
    if (snapshot_ && e.dev == root_dev_) e.dev = 0;
    e.user = names_.User(e.uid);
    e.group = names_.Group(e.gid);
    const TreeEntry* old = FindEntry(old_tree, name);
    if (S_ISREG(st.st_mode)) {
      e.type = EntryType::kFile;
      e.size = static_cast<uint64_t>(st.st_size);
      ++files_;
      bytes_total_ += e.size;
      const bool old_extras = old_tree != nullptr && old_tree->version >= 2;
      const bool written = data_written_ != nullptr && data_written_->contains(e.ino);
      if (e.size == 0 || (!written && ReuseFromParent(e, old, old_extras))) {
        if (e.size != 0) {
          ++unchanged_;
          bytes_done_ += e.size;
        }
        ++files_done_;
        if (e.size == 0 || !old_extras) {
          // Not read, so its extras are read here (an empty file, or a parent without them).
          UniqueFd ffd(OpenForRead(fd->get(), name.c_str()));
          if (ffd.valid()) ReadExtras(ffd.get(), -1, name, Join(node->path, name), e);
        }
      } else {
        file_entries.push_back(node->entries.size());
      }
    } else if (S_ISDIR(st.st_mode)) {
      e.type = EntryType::kDir;
      ++dirs_;
      const bool old_dir = old != nullptr && old->type == EntryType::kDir;
      if (old_dir && !kept.empty()) kept[static_cast<size_t>(old - old_tree->entries.data())] = true;
      if (old_dir && dirty_ != nullptr && old->ino == e.ino && !dirty_->contains(e.ino) &&
          old_tree->version >= 2 && index_->Contains(old->subtree)) {
        // Nothing in it changed since the parent's snapshot: the parent's tree is this one.
        e.subtree = old->subtree;
        e.xattrs = old->xattrs;
        e.fs_flags = old->fs_flags;
        ++dirs_reused_;
      } else {
        subdirs.push_back(
            SubDir{node->entries.size(), old_dir ? std::optional(old->subtree) : std::nullopt});
      }
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
      ReadExtras(-1, fd->get(), name, Join(node->path, name), e);
    } else if (S_ISFIFO(st.st_mode)) {
      e.type = EntryType::kFifo;
      ++other_;
      ReadExtras(-1, fd->get(), name, Join(node->path, name), e);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      e.type = S_ISCHR(st.st_mode) ? EntryType::kCharDev : EntryType::kBlockDev;
      e.rdev = st.st_rdev;
      ++other_;
      ReadExtras(-1, fd->get(), name, Join(node->path, name), e);
    } else {
      Warn(fmt::format("{} is a socket or unknown file type; skipped",
                       PrintablePath(Join(node->path, name))));
      continue;
    }
    node->entries.push_back(std::move(e));
  }
  files_total_ = files_.load();
  if (!kept.empty()) CountReplaced(*old_tree, kept);
  // Every entry has taken what it needs of the parent's tree (pieces, subtree ids): drop it now,
  // not when the directory's files are read (a scan runs ahead of the readers, and a 1% change
  // in every folder of a million files kept all 10,000 parent trees at once).
  old_tree = nullptr;
  node->parent_tree.reset();

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
    child->parent_tree_id = sd.parent_tree;
    PushDir(child, fd, node->entries[sd.entry].name);
  }
  fd.reset();
  Report("scanning");
  DirDone(node);  // the scan's own reference
}

void Archiver::CountReplaced(const Tree& old, const std::vector<bool>& kept) {
  for (size_t i = 0; i < old.entries.size(); ++i) {
    const TreeEntry& e = old.entries[i];
    if (e.type == EntryType::kFile) {
      ++old_files_;
      old_bytes_ += e.size;
    } else if (e.type == EntryType::kDir) {
      ++old_dirs_;
      if (!kept[i]) CountOldSubtree(e.subtree);
    } else {
      ++old_other_;
    }
  }
}

void Archiver::CountOldSubtree(const BlobId& id) {
  auto t = repo_->LoadTree(*index_, id);
  if (!t) {
    // The totals are then those of what was scanned and kept, an overcount; say so.
    Warn("cannot read the parent's tree of a removed directory (" + t.error().message() +
         "); the recovery point's file and byte totals may be too high");
    return;
  }
  CountReplaced(*t, std::vector<bool>(t->entries.size(), false));
}

void Archiver::FlushBatch(std::vector<FileJob*>& batch, size_t& batch_bytes) {
  if (batch.empty()) return;
  std::vector<FileJob*> b;
  b.swap(batch);
  batch_bytes = 0;
  readers_->Submit([this, b = std::move(b)] { ReadBatch(b); });
}

}  // namespace mlvault::vault::archive
