// File helpers: whole-file reads, durable atomic writes, directory fsync, an owning fd.
// All functions are thread-compatible (no shared state) and report failures as util::Error
// built from errno, naming the path.
#pragma once

#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/error.h"

namespace mlvault::util {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Reads the whole file. kNotFound if it does not exist.
Result<std::string> ReadFile(const std::string& path);
Result<Bytes> ReadFileBytes(const std::string& path);

// Writes all of `data` to fd, retrying short writes and EINTR.
Status WriteAll(int fd, ByteView data, std::string_view path_for_errors);
// Reads exactly data.size() bytes at offset; kCorruption if the file ends first.
Status PreadExact(int fd, std::span<uint8_t> data, uint64_t offset, std::string_view path_for_errors);

// Writes `data` to `path` so that readers see either the old or the whole new content:
// temporary file in the same directory, fsync (when durable), rename, fsync of the directory.
Status WriteFileAtomic(const std::string& path, ByteView data, bool durable = true, int mode = 0644);
inline Status WriteFileAtomic(const std::string& path, std::string_view data, bool durable = true,
                              int mode = 0644) {
  return WriteFileAtomic(path, AsBytes(data), durable, mode);
}

// fsyncs a directory so that renames and creations in it are durable.
Status FsyncDir(const std::string& dir);

// mkdir -p: each missing directory is created with `mode` (less the umask); existing ones keep
// their mode. kIo (ENOTDIR) if a component exists and is not a directory.
Status MakeDirs(const std::string& path, int mode = 0755);

// Checks a private state directory ($MLVAULT_HOME) as ssh checks ~/.ssh, and makes it private:
// kPermissionDenied, with the command that fixes it, if `dir` is not a directory, is owned by
// another user (other than root), or is writable by its group or others; otherwise sets `dir`
// to 0700 and removes every group/other permission from the entries directly inside it (files
// become at most 0600, directories 0700), so that earlier, looser modes are corrected.
Status EnsurePrivateDir(const std::string& dir);

// rm -rf. A missing path is fine.
Status RemoveAll(const std::string& path);

// Free bytes available to an unprivileged user on the file system holding `path`.
Result<uint64_t> FreeSpace(const std::string& path);

// A fresh directory under $TMPDIR (or /tmp) with the given prefix; removed by the caller.
Result<std::string> MakeTempDir(std::string_view prefix);

}  // namespace mlvault::util
