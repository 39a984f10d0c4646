// The local-directory backend: object "a/b/c" is the file <root>/a/b/c.
//
// Durability of Put: the data goes to a temporary file in the target's directory, is
// fdatasync'ed, renamed over the target (atomic replace), and the directory is fsynced. The
// temporary name starts with '~', a character no object name may hold, so List and every other
// operation can never see or hit it, and a temp left by a crash is just skipped.
//
// Objects of kDirectMin bytes or more (a vault's packs) are written with O_DIRECT where the
// filesystem allows it: from one reused aligned buffer to the disk, instead of being copied into
// fresh page-cache pages, which on this project's virtual machines costs about 4.4 CPU-seconds per
// GB against 0.1 (bench/RESULTS.md, "Where an initial backup's CPU goes"). Packs are written once
// and read back later. A filesystem without O_DIRECT (tmpfs) or with other alignment rules gets
// the buffered path, as smaller objects do.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "util/files.h"
#include "util/random.h"

namespace mlvault::backend {
namespace {

using util::UniqueFd;

constexpr std::string_view kTempPrefix = "~put-";

constexpr size_t kDirectMin = size_t{1} << 20;
constexpr size_t kDirectAlign = 4096;      // a multiple of every logical block size in use
constexpr size_t kDirectBuffer = size_t{1} << 20;

// Writes `data` from offset 0 of `fd`, a file opened with O_DIRECT: each piece is copied into an
// aligned buffer (the last one padded with zeros to the alignment, the file then truncated to
// data.size()). Where the kernel refuses an aligned write (EINVAL), the descriptor drops O_DIRECT
// and the rest is written through the page cache.
Status WriteDirect(int fd, ByteView data, const std::string& path) {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<uint8_t, Free> buf;
  if (!buf) {
    void* p = nullptr;
    if (::posix_memalign(&p, kDirectAlign, kDirectBuffer) != 0) return util::WriteAll(fd, data, path);
    buf.reset(static_cast<uint8_t*>(p));
  }
  size_t done = 0;
  bool padded = false;
  while (done < data.size()) {
    const size_t n = std::min(kDirectBuffer, data.size() - done);
    const size_t len = (n + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    std::memcpy(buf.get(), data.data() + done, n);
    if (len > n) std::memset(buf.get() + n, 0, len - n);
    ssize_t w = ::pwrite(fd, buf.get(), len, static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EINVAL) break;  // alignment refused: the page cache below
    if (w < 0) return util::ErrnoError("cannot write " + path, errno);
    padded = padded || len > n;
    // A short write leaves `done` unaligned; the next direct write is then refused (EINVAL).
    done += std::min(static_cast<size_t>(w), n);
  }
  if (done < data.size()) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_DIRECT) != 0) {
      return util::ErrnoError("cannot write " + path, errno);
    }
    if (::lseek(fd, static_cast<off_t>(done), SEEK_SET) < 0) return util::ErrnoError("cannot write " + path, errno);
    MLV_TRY(util::WriteAll(fd, data.subspan(done), path));
  }
  if (padded && ::ftruncate(fd, static_cast<off_t>(data.size())) != 0) {
    return util::ErrnoError("cannot write " + path, errno);
  }
  return util::Ok();
}

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(std::string root) : root_(std::move(root)) {}

  Status Put(std::string_view name, ByteView data) override {
    MLV_TRY(ValidateName(name));
    const std::string path = PathOf(name);
    const std::string dir = DirOf(path);
    const std::string tmp = dir + "/" + std::string(kTempPrefix) + util::RandomHex(8);

    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    bool direct = data.size() >= kDirectMin;
    UniqueFd fd(::open(tmp.c_str(), flags | (direct ? O_DIRECT : 0), 0644));
    if (!fd.valid() && errno == ENOENT) {
      MLV_TRY(MakeParents(name));
      fd.reset(::open(tmp.c_str(), flags | (direct ? O_DIRECT : 0), 0644));
    }
    if (!fd.valid() && direct && errno == EINVAL) {
      // No O_DIRECT here (tmpfs). The refused open may have created the file already.
      ::unlink(tmp.c_str());
      direct = false;
      fd.reset(::open(tmp.c_str(), flags, 0644));
    }
    if (!fd.valid()) {
      int err = errno;
      if (err == ENOTDIR) return ParentIsObject(name);
      return util::ErrnoError("cannot store " + Where(name), err);
    }
    auto fail = [&](util::Error e) -> Status {
      ::unlink(tmp.c_str());
      return std::unexpected(std::move(e));
    };
    if (auto st = direct ? WriteDirect(fd.get(), data, tmp) : util::WriteAll(fd.get(), data, tmp); !st) {
      return fail(st.error());
    }
    if (::fdatasync(fd.get()) != 0) return fail(util::ErrnoError("cannot fsync " + tmp, errno).error());
    if (::close(fd.release()) != 0) return fail(util::ErrnoError("cannot close " + tmp, errno).error());
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      if (err == EISDIR) {
        return fail(util::Error(util::ErrorCode::kConflict,
                                "cannot store " + Where(name) + ": names a directory of other objects"));
      }
      return fail(util::ErrnoError("cannot rename into " + Where(name), err).error());
    }
    return util::FsyncDir(dir);
  }

  Result<Bytes> Get(std::string_view name, uint64_t offset, uint64_t length) override {
    Bytes out;
    MLV_TRY(GetInto(name, offset, length, out));
    return out;
  }

  // Reads into `out`'s storage when its capacity suffices (verify's and restore's readers keep
  // one buffer each instead of allocating, and leaving to malloc, one per read).
  Status GetInto(std::string_view name, uint64_t offset, uint64_t length, Bytes& out) override {
    MLV_TRY(ValidateName(name));
    const std::string path = PathOf(name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return OpenError(name, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return util::ErrnoError("cannot stat " + path, errno);
    if (!S_ISREG(st.st_mode)) return Missing(name);
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (offset > size || (length != 0 && length > size - offset)) {
      return util::Corruption(Where(name) + " has " + std::to_string(size) + " bytes; cannot read " +
                              std::to_string(length) + " at offset " + std::to_string(offset));
    }
    const uint64_t n = length != 0 ? length : size - offset;
    if (n > out.capacity()) out.clear();  // the old content is not worth copying
    out.resize(static_cast<size_t>(n));
    MLV_TRY(util::PreadExact(fd.get(), out, offset, path));
    return util::Ok();
  }

  Result<ObjectInfo> Stat(std::string_view name) override {
    MLV_TRY(ValidateName(name));
    struct stat st;
    if (::stat(PathOf(name).c_str(), &st) != 0) return OpenError(name, errno);
    if (!S_ISREG(st.st_mode)) return Missing(name);
    return ObjectInfo{std::string(name), static_cast<uint64_t>(st.st_size)};
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    MLV_TRY(ValidatePrefix(prefix));
    // Start at the deepest directory the prefix names entirely; filter the rest by name.
    const size_t slash = prefix.rfind('/');
    const std::string base = slash == std::string_view::npos ? "" : std::string(prefix.substr(0, slash + 1));
    std::vector<ObjectInfo> out;
    UniqueFd fd(::open((root_ + "/" + base).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT || errno == ENOTDIR) return out;
      return util::ErrnoError("cannot list " + Describe() + "/" + base, errno);
    }
    MLV_TRY(Walk(std::move(fd), base, prefix, out));
    return out;
  }

  Status Remove(std::string_view name) override {
    MLV_TRY(ValidateName(name));
    const std::string path = PathOf(name);
    if (::unlink(path.c_str()) != 0) {
      int err = errno;
      // Nothing of that name (or a directory, which is not an object): already removed.
      if (err == ENOENT || err == ENOTDIR || err == EISDIR) return util::Ok();
      return util::ErrnoError("cannot remove " + Where(name), err);
    }
    return util::FsyncDir(DirOf(path));
  }

  std::string Describe() const override { return "local:" + root_; }

 private:
  std::string PathOf(std::string_view name) const { return root_ + "/" + std::string(name); }
  static std::string DirOf(const std::string& path) { return path.substr(0, path.rfind('/')); }
  std::string Where(std::string_view name) const { return "object " + std::string(name) + " in " + Describe(); }

  std::unexpected<util::Error> Missing(std::string_view name) const {
    return util::NotFound("no " + Where(name));
  }
  std::unexpected<util::Error> OpenError(std::string_view name, int err) const {
    if (err == ENOENT || err == ENOTDIR) return Missing(name);
    return util::ErrnoError("cannot open " + Where(name), err);
  }
  std::unexpected<util::Error> ParentIsObject(std::string_view name) const {
    return util::Conflict("cannot store " + Where(name) + ": a parent of it is an object");
  }

  // Creates the directories of `name`'s parents, fsyncing each new directory's parent so the
  // object's path survives a crash along with the object.
  Status MakeParents(std::string_view name) {
    std::string dir = root_;
    size_t start = 0;
    for (size_t slash; (slash = name.find('/', start)) != std::string_view::npos; start = slash + 1) {
      std::string parent = dir;
      dir += "/";
      dir += name.substr(start, slash - start);
      if (::mkdir(dir.c_str(), 0755) == 0) {
        MLV_TRY(util::FsyncDir(parent));
      } else if (errno == ENOTDIR) {
        return ParentIsObject(name);
      } else if (errno != EEXIST) {
        return util::ErrnoError("cannot create directory " + dir, errno);
      }
    }
    return util::Ok();
  }

  // Appends objects under the open directory `fd` (relative path `rel`, "" or ending in '/')
  // whose names start with `prefix`.
  Status Walk(UniqueFd fd, const std::string& rel, std::string_view prefix, std::vector<ObjectInfo>& out) {
    DIR* d = ::fdopendir(fd.get());
    if (d == nullptr) return util::ErrnoError("cannot list " + Describe() + "/" + rel, errno);
    fd.release();  // owned by d now
    struct Closer {
      DIR* d;
      ~Closer() { ::closedir(d); }
    } closer{d};
    for (;;) {
      errno = 0;
      struct dirent* e = ::readdir(d);
      if (e == nullptr) {
        if (errno != 0) return util::ErrnoError("cannot list " + Describe() + "/" + rel, errno);
        break;
      }
      std::string_view entry = e->d_name;
      // Skips ".", "..", temporaries and anything else that no valid name can produce.
      if (!ValidateName(entry) || entry.find('/') != std::string_view::npos) continue;
      std::string name = rel + std::string(entry);
      unsigned char type = e->d_type;
      struct stat st;
      if (type == DT_UNKNOWN || type == DT_REG) {
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          if (errno == ENOENT) continue;  // removed while we list
          return util::ErrnoError("cannot stat " + Describe() + "/" + name, errno);
        }
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
      }
      if (type == DT_REG) {
        if (name.starts_with(prefix)) out.push_back({std::move(name), static_cast<uint64_t>(st.st_size)});
      } else if (type == DT_DIR) {
        std::string sub = name + "/";
        // Descend only where names can still match the prefix.
        if (!sub.starts_with(prefix) && !prefix.starts_with(sub)) continue;
        UniqueFd child(::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child.valid()) {
          if (errno == ENOENT) continue;
          return util::ErrnoError("cannot list " + Describe() + "/" + sub, errno);
        }
        MLV_TRY(Walk(std::move(child), sub, prefix, out));
      }
    }
    return util::Ok();
  }

  const std::string root_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenLocal(const std::string& root, bool create) {
  if (root.empty()) return util::InvalidArgument("the local vault directory is empty");
  std::error_code ec;
  std::string abs = std::filesystem::absolute(root, ec).lexically_normal().string();
  if (ec) return util::InvalidArgument("cannot resolve vault directory " + root + ": " + ec.message());
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  if (create) MLV_TRY(util::MakeDirs(abs));
  struct stat st;
  if (::stat(abs.c_str(), &st) != 0) {
    if (errno == ENOENT) return util::NotFound("vault directory " + abs + " does not exist");
    return util::ErrnoError("cannot open vault directory " + abs, errno);
  }
  if (!S_ISDIR(st.st_mode)) return util::InvalidArgument(abs + " is not a directory");
  return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(abs));
}

}  // namespace mlvault::backend
