#include "util/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "util/private_dir.h"
#include "util/random.h"

namespace mlvault::util {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}
UniqueFd::~UniqueFd() { reset(); }
void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

template <class Out>
static Result<Out> ReadWhole(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("cannot open " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat " + path, errno);
  Out out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  for (;;) {
    if (got == out.size()) out.resize(out.size() + 65536);
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read " + path, errno);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<std::string> ReadFile(const std::string& path) { return ReadWhole<std::string>(path); }
Result<Bytes> ReadFileBytes(const std::string& path) { return ReadWhole<Bytes>(path); }

Status WriteAll(int fd, ByteView data, std::string_view path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write " + std::string(path), errno);
    }
    done += static_cast<size_t>(n);
  }
  return Ok();
}

Status PreadExact(int fd, std::span<uint8_t> data, uint64_t offset, std::string_view path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read " + std::string(path), errno);
    }
    if (n == 0) return Corruption(std::string(path) + " ends before offset " + std::to_string(offset + data.size()));
    done += static_cast<size_t>(n);
  }
  return Ok();
}

Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("cannot open directory " + dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoError("cannot fsync directory " + dir, errno);
  return Ok();
}

Status WriteFileAtomic(const std::string& path, ByteView data, bool durable, int mode) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::string tmp = dir + "/." + p.filename().string() + ".tmp-" + RandomHex(8);
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd.valid()) return ErrnoError("cannot create " + tmp, errno);
    Status st = WriteAll(fd.get(), data, tmp);
    if (st && durable && ::fdatasync(fd.get()) != 0) st = ErrnoError("cannot fsync " + tmp, errno);
    if (!st) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot rename to " + path, err);
  }
  if (durable) return FsyncDir(dir);
  return Ok();
}

Status MakeDirs(const std::string& path, int mode) {
  if (path.empty()) return InvalidArgument("cannot create a directory with an empty name");
  // Each missing component is made with `mode` (less the umask); existing ones are left as
  // they are.
  std::string prefix;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    prefix = path.substr(0, slash);
    pos = slash + 1;
    if (prefix.empty() || prefix.back() == '/') continue;
    if (::mkdir(prefix.c_str(), static_cast<mode_t>(mode)) == 0) continue;
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      return ErrnoError("cannot create directory " + path + ": " + prefix + " is not a directory",
                        ENOTDIR);
    }
    return ErrnoError("cannot create directory " + path, err);
  }
  return Ok();
}

Status EnsurePrivateDir(const std::string& dir) { return EnsurePrivateDir(dir, {}); }

Status EnsurePrivateDir(const std::string& dir, const std::vector<std::string>& searchable) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return ErrnoError("cannot check " + dir, errno);
  if (!S_ISDIR(st.st_mode))
    return PermissionDenied(dir + " is not a directory (a symbolic link or a file); mlvault keeps "
                            "its catalog and keys only in a real directory of its own");
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return PermissionDenied(dir + " belongs to uid " + std::to_string(st.st_uid) +
                            ", not to this user; use a folder of your own, or run: chown -R " +
                            std::to_string(::geteuid()) + " " + dir);
  if ((st.st_mode & 022) != 0)
    return PermissionDenied(dir + " is writable by its group or by others, so anyone could " +
                            "replace the catalog or the keys in it; run: chmod 700 " + dir);
  // Search-only for others where asked (0711), nothing at all otherwise (0700). Set only when it
  // differs: a running workspace never sees its way through closed for a moment.
  const mode_t dir_mode = searchable.empty() ? (st.st_mode & 07700) : ((st.st_mode & 07700) | 0711);
  if ((st.st_mode & 07777) != dir_mode && ::chmod(dir.c_str(), dir_mode) != 0)
    return ErrnoError("cannot make " + dir + " private (chmod 700)", errno);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("cannot open " + dir, errno);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    struct stat es;
    if (::fstatat(fd.get(), name.c_str(), &es, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISLNK(es.st_mode)) continue;
    bool search = S_ISDIR(es.st_mode) &&
                  std::find(searchable.begin(), searchable.end(), name) != searchable.end();
    const mode_t want = search ? ((es.st_mode & 07700) | 0711) : (es.st_mode & 07700);
    if ((es.st_mode & 07777) == want) continue;
    if (::fchmodat(fd.get(), name.c_str(), want, 0) != 0)
      return ErrnoError("cannot make " + dir + "/" + name + " private", errno);
  }
  if (ec) return ErrnoError("cannot list " + dir, ec.value());
  return Ok();
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return ErrnoError("cannot remove " + path, ec.value());
  return Ok();
}

Result<uint64_t> FreeSpace(const std::string& path) {
  struct statvfs sv;
  if (::statvfs(path.c_str(), &sv) != 0) return ErrnoError("cannot statvfs " + path, errno);
  return static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
}

Result<std::string> MakeTempDir(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return ErrnoError("cannot create temporary directory", errno);
  return templ;
}

}  // namespace mlvault::util
