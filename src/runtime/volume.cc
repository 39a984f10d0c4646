#include "runtime/volume.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "util/random.h"

namespace mlvault::runtime {

namespace {

constexpr size_t kMaxPathBytes = 1024;
constexpr size_t kMaxComponentBytes = 255;
constexpr size_t kHashCacheLimit = 200000;

util::TimeMicros MicrosOf(const struct timespec& ts) {
  return static_cast<util::TimeMicros>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::string CacheKey(const struct stat& st) {
  return fmt::format("{}:{}:{}:{}.{}:{}.{}", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                     st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

// Explains why openat of a component failed, with the component's real type.
std::unexpected<util::Error> ComponentError(int dirfd, const std::string& name,
                                            const std::string& shown, int err) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode))
      return util::InvalidArgument("'" + shown + "' is a symbolic link; it is not followed");
    if (!S_ISDIR(st.st_mode) && err == ENOTDIR)
      return util::Conflict("'" + shown + "' is a file, not a directory");
  }
  return util::ErrnoError("cannot open '" + shown + "'", err);
}

}  // namespace

util::Result<PathParts> SplitRelativePath(std::string_view path) {
  if (path.empty()) return util::InvalidArgument("the file path is empty");
  if (path.size() > kMaxPathBytes)
    return util::InvalidArgument(fmt::format("the file path is {} bytes; at most {} are allowed",
                                             path.size(), kMaxPathBytes));
  if (path.front() == '/')
    return util::InvalidArgument("the file path must be relative, not start with '/'");
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f)
      return util::InvalidArgument(
          fmt::format("the file path contains the control character 0x{:02x}", c));
  }
  PathParts parts;
  size_t pos = 0;
  while (true) {
    size_t slash = path.find('/', pos);
    std::string_view comp =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (comp.empty())
      return util::InvalidArgument("the file path has an empty component ('//' or a trailing '/')");
    if (comp == "." || comp == "..")
      return util::InvalidArgument("the file path may not contain '" + std::string(comp) +
                                   "' components");
    if (comp.size() > kMaxComponentBytes)
      return util::InvalidArgument(fmt::format("a file name is {} bytes; at most {} are allowed",
                                               comp.size(), kMaxComponentBytes));
    parts.emplace_back(comp);
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return parts;
}

std::string JoinPath(const PathParts& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

// ---- StagedFile

StagedFile::~StagedFile() {
  if (!name_.empty() && volume_) ::unlinkat(volume_->tmp_fd_.get(), name_.c_str(), 0);
}

util::Status StagedFile::Write(std::string_view data) {
  MLV_TRY(util::WriteAll(fd_.get(), util::AsBytes(data), "staged upload"));
  hash_->Update(data);
  size_ += data.size();
  return util::Ok();
}

// ---- Volume

util::Result<std::unique_ptr<Volume>> Volume::Open(const std::string& root) {
  MLV_TRY(util::MakeDirs(root));
  util::UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return util::ErrnoError("cannot open volume " + root, errno);
  // Staged files of a process that died (or that were caught by a backup) are garbage.
  MLV_TRY(util::RemoveAll(root + "/.tmp"));
  MLV_TRY(util::MakeDirs(root + "/.tmp"));
  MLV_TRY(util::MakeDirs(root + "/.logs"));
  util::UniqueFd tmp_fd(
      ::openat(root_fd.get(), ".tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!tmp_fd.valid()) return util::ErrnoError("cannot open " + root + "/.tmp", errno);
  return std::unique_ptr<Volume>(new Volume(root, std::move(root_fd), std::move(tmp_fd)));
}

std::string Volume::PathOf(const PathParts& parts) const {
  std::string out = root_;
  for (const auto& p : parts) out += "/" + p;
  return out;
}

util::Result<StagedFile> Volume::Stage() const {
  std::string name = "stage-" + util::RandomHex(12);
  util::UniqueFd fd(::openat(tmp_fd_.get(), name.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid())
    return util::ErrnoError("cannot create a staging file in " + root_ + "/.tmp", errno);
  return StagedFile(this, std::move(fd), std::move(name));
}

util::Result<util::UniqueFd> Volume::OpenDir(const PathParts& parts, bool create) const {
  util::UniqueFd cur(::dup(root_fd_.get()));
  if (!cur.valid()) return util::ErrnoError("cannot duplicate a descriptor", errno);
  std::string shown;
  for (const auto& comp : parts) {
    shown += shown.empty() ? comp : "/" + comp;
    int fd = ::openat(cur.get(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST)
        return util::ErrnoError("cannot create directory '" + shown + "'", errno);
      fd = ::openat(cur.get(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT) return util::NotFound("'" + shown + "' does not exist");
      return ComponentError(cur.get(), comp, shown, err);
    }
    cur.reset(fd);
  }
  return cur;
}

util::Result<FileInfo> Volume::Describe(int fd, std::string path) const {
  struct stat st;
  if (::fstat(fd, &st) != 0) return util::ErrnoError("cannot stat '" + path + "'", errno);
  FileInfo info;
  info.path = std::move(path);
  info.size = static_cast<uint64_t>(st.st_size);
  info.modified = MicrosOf(st.st_mtim);
  std::string key = CacheKey(st);
  {
    util::MutexLock lock(cache_mu_);
    auto it = hash_cache_.find(key);
    if (it != hash_cache_.end()) {
      info.sha256 = it->second;
      return info;
    }
  }
  if (::lseek(fd, 0, SEEK_SET) < 0)
    return util::ErrnoError("cannot seek '" + info.path + "'", errno);
  info.sha256 = MLV_TRY(Sha256Fd(fd, info.path));
  util::MutexLock lock(cache_mu_);
  if (hash_cache_.size() >= kHashCacheLimit) hash_cache_.clear();
  hash_cache_[key] = info.sha256;
  return info;
}

util::Result<FileInfo> Volume::Commit(StagedFile& staged, const PathParts& parts,
                                      bool* created) const {
  if (parts.empty()) return util::InvalidArgument("no destination path");
  PathParts dir_parts(parts.begin(), parts.end() - 1);
  util::UniqueFd dir = MLV_TRY(OpenDir(dir_parts, /*create=*/true));
  const std::string& leaf = parts.back();
  std::string shown = JoinPath(parts);
  struct stat st;
  bool exists = ::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && S_ISDIR(st.st_mode)) return util::Conflict("'" + shown + "' is a directory");
  if (::fsync(staged.fd_.get()) != 0)
    return util::ErrnoError("cannot flush '" + shown + "'", errno);
  if (::renameat(tmp_fd_.get(), staged.name_.c_str(), dir.get(), leaf.c_str()) != 0)
    return util::ErrnoError("cannot move the upload to '" + shown + "'", errno);
  staged.name_.clear();
  if (::fsync(dir.get()) != 0)
    return util::ErrnoError("cannot flush the directory of '" + shown + "'", errno);
  if (created) *created = !exists;
  // The staged descriptor is the committed file; cache its hash under its final identity.
  struct stat fst;
  if (::fstat(staged.fd_.get(), &fst) != 0)
    return util::ErrnoError("cannot stat '" + shown + "'", errno);
  FileInfo info;
  info.path = shown;
  info.size = staged.size_;
  info.sha256 = staged.hash_->Finish();
  info.modified = MicrosOf(fst.st_mtim);
  util::MutexLock lock(cache_mu_);
  if (hash_cache_.size() >= kHashCacheLimit) hash_cache_.clear();
  hash_cache_[CacheKey(fst)] = info.sha256;
  return info;
}

util::Result<util::UniqueFd> Volume::OpenFile(const PathParts& parts) const {
  if (parts.empty()) return util::InvalidArgument("no file path");
  PathParts dir_parts(parts.begin(), parts.end() - 1);
  util::UniqueFd dir = MLV_TRY(OpenDir(dir_parts, false));
  std::string shown = JoinPath(parts);
  int fd =
      ::openat(dir.get(), parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return util::NotFound("'" + shown + "' does not exist");
    return ComponentError(dir.get(), parts.back(), shown, err);
  }
  util::UniqueFd file(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return util::ErrnoError("cannot stat '" + shown + "'", errno);
  if (S_ISDIR(st.st_mode)) return util::InvalidArgument("'" + shown + "' is a directory");
  if (!S_ISREG(st.st_mode)) return util::InvalidArgument("'" + shown + "' is not a regular file");
  // O_NONBLOCK only guarded the open against FIFOs; regular file reads ignore it anyway.
  ::fcntl(fd, F_SETFL, 0);
  return file;
}

util::Status Volume::RemoveFile(const PathParts& parts, size_t keep_depth) const {
  if (parts.size() <= keep_depth) return util::InvalidArgument("no file path");
  PathParts dir_parts(parts.begin(), parts.end() - 1);
  util::UniqueFd dir = MLV_TRY(OpenDir(dir_parts, false));
  std::string shown = JoinPath(parts);
  struct stat st;
  if (::fstatat(dir.get(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return util::NotFound("'" + shown + "' does not exist");
    return util::ErrnoError("cannot stat '" + shown + "'", errno);
  }
  if (S_ISDIR(st.st_mode)) return util::InvalidArgument("'" + shown + "' is a directory");
  if (::unlinkat(dir.get(), parts.back().c_str(), 0) != 0)
    return util::ErrnoError("cannot remove '" + shown + "'", errno);
  ::fsync(dir.get());
  // Tidy now-empty parents; stops at the first one that still holds something.
  PathParts p = dir_parts;
  while (p.size() > keep_depth) {
    std::string leaf = p.back();
    p.pop_back();
    auto parent = OpenDir(p, false);
    if (!parent) break;
    if (::unlinkat(parent->get(), leaf.c_str(), AT_REMOVEDIR) != 0) break;
  }
  return util::Ok();
}

util::Status Volume::RemoveTree(const PathParts& parts) const {
  if (parts.empty()) return util::InvalidArgument("refusing to remove the whole volume");
  // A fresh descriptor walk: unlinkat never follows symbolic links.
  std::function<util::Status(int, const std::string&)> remove_children =
      [&](int dirfd, const std::string& shown) -> util::Status {
    int dup = ::dup(dirfd);
    if (dup < 0) return util::ErrnoError("cannot duplicate a descriptor", errno);
    DIR* d = ::fdopendir(dup);
    if (!d) {
      ::close(dup);
      return util::ErrnoError("cannot list '" + shown + "'", errno);
    }
    std::vector<std::pair<std::string, bool>> entries;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      entries.emplace_back(name, S_ISDIR(st.st_mode));
    }
    ::closedir(d);
    for (auto& [name, is_dir] : entries) {
      if (is_dir) {
        util::UniqueFd sub(
            ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.valid())
          return util::ErrnoError(fmt::format("cannot open '{}/{}'", shown, name), errno);
        MLV_TRY(remove_children(sub.get(), fmt::format("{}/{}", shown, name)));
        if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0)
          return util::ErrnoError(fmt::format("cannot remove '{}/{}'", shown, name), errno);
      } else if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
        return util::ErrnoError(fmt::format("cannot remove '{}/{}'", shown, name), errno);
      }
    }
    return util::Ok();
  };
  PathParts parent_parts(parts.begin(), parts.end() - 1);
  auto parent = OpenDir(parent_parts, false);
  if (!parent)
    return parent.error().code() == util::ErrorCode::kNotFound
               ? util::Ok()
               : util::Status(std::unexpected(parent.error()));
  auto dir = OpenDir(parts, false);
  if (!dir) {
    if (dir.error().code() == util::ErrorCode::kNotFound) return util::Ok();
    // A symbolic link (or file) where the directory should be: remove just that entry.
    if (::unlinkat(parent->get(), parts.back().c_str(), 0) != 0 && errno != ENOENT)
      return util::ErrnoError("cannot remove '" + JoinPath(parts) + "'", errno);
    return util::Ok();
  }
  MLV_TRY(remove_children(dir->get(), JoinPath(parts)));
  if (::unlinkat(parent->get(), parts.back().c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return util::ErrnoError("cannot remove '" + JoinPath(parts) + "'", errno);
  return util::Ok();
}

util::Result<std::vector<FileInfo>> Volume::List(const PathParts& dir_parts) const {
  util::UniqueFd dir = MLV_TRY(OpenDir(dir_parts, false));
  std::vector<FileInfo> out;
  std::function<util::Status(int, const std::string&)> walk =
      [&](int dirfd, const std::string& prefix) -> util::Status {
    int dup = ::dup(dirfd);
    if (dup < 0) return util::ErrnoError("cannot duplicate a descriptor", errno);
    DIR* d = ::fdopendir(dup);
    if (!d) {
      ::close(dup);
      return util::ErrnoError("cannot list '" + prefix + "'", errno);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    for (const auto& name : names) {
      std::string rel = prefix.empty() ? name : fmt::format("{}/{}", prefix, name);
      struct stat st;
      if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
      if (S_ISDIR(st.st_mode)) {
        util::UniqueFd sub(
            ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.valid()) continue;
        MLV_TRY(walk(sub.get(), rel));
      } else if (S_ISREG(st.st_mode)) {
        util::UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!f.valid()) continue;
        out.push_back(MLV_TRY(Describe(f.get(), rel)));
      }
    }
    return util::Ok();
  };
  MLV_TRY(walk(dir.get(), ""));
  std::sort(out.begin(), out.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });
  return out;
}

util::Result<PathParts> Volume::StageDir() const {
  std::string name = "dir-" + util::RandomHex(12);
  if (::mkdirat(tmp_fd_.get(), name.c_str(), 0755) != 0)
    return util::ErrnoError("cannot create a staging directory in " + root_ + "/.tmp", errno);
  return PathParts{".tmp", name};
}

util::Result<FileInfo> Volume::CreateNew(
    const PathParts& parts, const std::function<util::Status(StagedFile&)>& fill) const {
  if (parts.empty()) return util::InvalidArgument("no file path");
  PathParts dir_parts(parts.begin(), parts.end() - 1);
  util::UniqueFd dir = MLV_TRY(OpenDir(dir_parts, /*create=*/true));
  std::string shown = JoinPath(parts);
  int fd = ::openat(dir.get(), parts.back().c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return util::ErrnoError("cannot create '" + shown + "'", errno);
  // A StagedFile without a staging name: the file is already where it belongs.
  StagedFile out(this, util::UniqueFd(fd), "");
  util::Status st = fill(out);
  if (st && ::fsync(fd) != 0) st = util::ErrnoError("cannot flush '" + shown + "'", errno);
  if (!st) {
    ::unlinkat(dir.get(), parts.back().c_str(), 0);
    return std::unexpected(st.error());
  }
  FileInfo info;
  info.path = shown;
  info.size = out.size_;
  info.sha256 = out.hash_->Finish();
  struct stat st_buf;
  if (::fstat(fd, &st_buf) == 0) info.modified = MicrosOf(st_buf.st_mtim);
  return info;
}

util::Result<FileInfo> Volume::CopyIn(const PathParts& parts, int src_fd) const {
  return CreateNew(parts, [&](StagedFile& f) -> util::Status {
    std::string buf(1 << 16, '\0');
    for (;;) {
      ssize_t n = ::read(src_fd, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return util::ErrnoError("cannot read the source of '" + JoinPath(parts) + "'", errno);
      }
      if (n == 0) return util::Ok();
      MLV_TRY(f.Write(std::string_view(buf.data(), static_cast<size_t>(n))));
    }
  });
}

util::Result<FileInfo> Volume::WriteNew(const PathParts& parts, std::string_view data) const {
  return CreateNew(parts, [&](StagedFile& f) { return f.Write(data); });
}

util::Status Volume::Rename(const PathParts& from, const PathParts& to) const {
  if (from.empty() || to.empty()) return util::InvalidArgument("cannot rename the volume root");
  util::UniqueFd from_dir = MLV_TRY(OpenDir(PathParts(from.begin(), from.end() - 1), false));
  util::UniqueFd to_dir = MLV_TRY(OpenDir(PathParts(to.begin(), to.end() - 1), true));
  if (::renameat2(from_dir.get(), from.back().c_str(), to_dir.get(), to.back().c_str(),
                  RENAME_NOREPLACE) != 0)
    return util::ErrnoError("cannot move '" + JoinPath(from) + "' to '" + JoinPath(to) + "'",
                            errno);
  if (::fsync(to_dir.get()) != 0)
    return util::ErrnoError("cannot flush the directory of '" + JoinPath(to) + "'", errno);
  ::fsync(from_dir.get());
  return util::Ok();
}

util::Status Volume::Sync() const {
  if (::syncfs(root_fd_.get()) != 0) return util::ErrnoError("cannot flush volume " + root_, errno);
  return util::Ok();
}

}  // namespace mlvault::runtime
