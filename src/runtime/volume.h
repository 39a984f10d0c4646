// Volume: one file volume of the workspace (projects or models) and the only way the runtime
// touches files on it.
//
// Paths from clients are validated by SplitRelativePath and then resolved one component at a
// time with openat(O_NOFOLLOW), so neither ".." nor a symbolic link planted inside the volume
// (for example by a job) can lead a request outside its directory. Writes are staged in
// "<root>/.tmp/" and renamed into place, so readers and backups see the old or the new file,
// never half of one; a refused or failed write leaves nothing behind.
//
// Thread-safe: the root descriptor is constant after Open; cache_mu_ guards the checksum cache.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/sha256.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/files.h"
#include "util/mutex.h"

namespace mlvault::runtime {

using PathParts = std::vector<std::string>;

// Splits a client-given relative path ("data/train.csv") into components. kInvalidArgument,
// naming the problem, for: empty, absolute, "." or ".." or empty components, control
// characters, a component over 255 bytes, a path over 1024 bytes.
util::Result<PathParts> SplitRelativePath(std::string_view path);
std::string JoinPath(const PathParts& parts);

struct FileInfo {
  std::string path;  // relative to the listed directory, '/'-separated
  uint64_t size = 0;
  std::string sha256;
  util::TimeMicros modified = 0;
};

class Volume;

// A file being written in the volume's staging area. Removed on destruction unless committed.
class StagedFile {
 public:
  StagedFile(StagedFile&&) = default;
  ~StagedFile();

  util::Status Write(std::string_view data);
  uint64_t size() const { return size_; }
  int fd() const { return fd_.get(); }

 private:
  friend class Volume;
  StagedFile(const Volume* volume, util::UniqueFd fd, std::string name)
      : volume_(volume), fd_(std::move(fd)), name_(std::move(name)), hash_(new Sha256) {}

  const Volume* volume_;
  util::UniqueFd fd_;
  std::string name_;  // in <root>/.tmp; empty once committed
  uint64_t size_ = 0;
  std::unique_ptr<Sha256> hash_;
};

class Volume {
 public:
  // Opens (creating if needed) the volume rooted at `root`, with its ".tmp" and ".logs" folders.
  // Leftover staged files of an earlier process are removed.
  static util::Result<std::unique_ptr<Volume>> Open(const std::string& root);

  const std::string& root() const { return root_; }
  // Absolute path of a location in the volume (for logs and working directories only; never
  // for client paths, which go through the descriptor-based functions).
  std::string PathOf(const PathParts& parts) const;

  util::Result<StagedFile> Stage() const;
  // Moves a staged file to `parts` (creating parent directories), durably. Returns true if the
  // file is new, false if it replaced one. kConflict if `parts` is a directory or a parent is a
  // file; kInvalidArgument if a component is a symbolic link.
  util::Result<FileInfo> Commit(StagedFile& staged, const PathParts& parts, bool* created) const;

  // Opens a directory below the root (creating missing ones when `create`).
  util::Result<util::UniqueFd> OpenDir(const PathParts& parts, bool create) const;
  // Opens a regular file for reading. kNotFound if absent, kInvalidArgument if not a regular
  // file or reached through a symbolic link.
  util::Result<util::UniqueFd> OpenFile(const PathParts& parts) const;
  // Removes a regular file (or a symbolic link, never its target), then the parent directories
  // it leaves empty, down to (not including) the first `keep_depth` components.
  util::Status RemoveFile(const PathParts& parts, size_t keep_depth) const;
  // rm -rf of a directory below the root; symbolic links are removed, never followed.
  util::Status RemoveTree(const PathParts& parts) const;
  // Every regular file below `dir`, sorted by path, with size and SHA-256. Symbolic links and
  // special files are skipped. kNotFound if `dir` does not exist.
  util::Result<std::vector<FileInfo>> List(const PathParts& dir) const;
  // Size, hash and time of one open regular file (cached by inode, size and times).
  util::Result<FileInfo> Describe(int fd, std::string path) const;

  // A fresh empty directory in the staging area, for multi-file writes (builds); removed at the
  // next start if never renamed into place. Returns its parts (".tmp", name).
  util::Result<PathParts> StageDir() const;
  // Creates the new file `parts` (parents included) with everything read from `src_fd`, or with
  // `data`; flushed. kConflict if it exists.
  util::Result<FileInfo> CopyIn(const PathParts& parts, int src_fd) const;
  util::Result<FileInfo> WriteNew(const PathParts& parts, std::string_view data) const;
  // Renames a file or directory within the volume (destination parents created), durably.
  // kConflict if the destination exists.
  util::Status Rename(const PathParts& from, const PathParts& to) const;

  // Flushes the file system holding the volume (syncfs).
  util::Status Sync() const;

 private:
  Volume(std::string root, util::UniqueFd root_fd, util::UniqueFd tmp_fd)
      : root_(std::move(root)), root_fd_(std::move(root_fd)), tmp_fd_(std::move(tmp_fd)) {}
  friend class StagedFile;
  util::Result<FileInfo> CreateNew(const PathParts& parts,
                                   const std::function<util::Status(StagedFile&)>& fill) const;

  // Constant after construction.
  const std::string root_;
  const util::UniqueFd root_fd_;
  const util::UniqueFd tmp_fd_;

  mutable util::Mutex cache_mu_;
  // "dev:ino:size:mtime:ctime" -> sha256
  mutable std::unordered_map<std::string, std::string> hash_cache_ MLV_GUARDED_BY(cache_mu_);
};

}  // namespace mlvault::runtime
