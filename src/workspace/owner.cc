#include "workspace/owner.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "util/files.h"

namespace mlvault::workspace {
namespace {

constexpr const char* kOwnerFile = "/.mlvault-owner";
constexpr const char* kDefaultRange = "1900000000-2099999999";
constexpr const char* kDefaultRegistry = "/var/lib/mlvault/workspace-uids";
// How many ids a claim looks at before it gives up (a range that full wants a larger range).
constexpr uint64_t kMaxProbes = 1'000'000;

struct Range {
  uint64_t first = 0, last = 0;
};

bool ParseId(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

util::Result<Range> ConfiguredRange() {
  const char* env = std::getenv("MLVAULT_WORKSPACE_UIDS");
  std::string_view text = env && *env ? env : kDefaultRange;
  Range r;
  size_t dash = text.find('-');
  bool ok = dash != std::string_view::npos && ParseId(text.substr(0, dash), &r.first) &&
            ParseId(text.substr(dash + 1), &r.last);
  if (!ok || r.first < 1000 || r.last < r.first || r.last >= 0xFFFFFFFFull)
    return util::InvalidArgument(
        "MLVAULT_WORKSPACE_UIDS=" + std::string(text) +
        " is not a range FIRST-LAST of unused numeric user ids (1000 <= FIRST <= LAST < "
        "4294967295), e.g. " +
        kDefaultRange);
  return r;
}

std::string RegistryDir() {
  const char* env = std::getenv("MLVAULT_WORKSPACE_UID_REGISTRY");
  return env && *env ? env : kDefaultRegistry;
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Reads a small regular file without following a symbolic link.
util::Result<std::string> ReadNoFollow(const std::string& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return util::ErrnoError("cannot open " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 4096)
    return util::Corruption(path + " is not a small regular file");
  std::string out(static_cast<size_t>(st.st_size), '\0');
  ssize_t n = ::pread(fd.get(), out.data(), out.size(), 0);
  if (n < 0) return util::ErrnoError("cannot read " + path, errno);
  out.resize(static_cast<size_t>(n));
  return out;
}

// The registry folder, opened and locked (root's own, 0700).
util::Result<util::UniqueFd> LockRegistry() {
  std::string dir = RegistryDir();
  // Its parents searchable (/var/lib/mlvault may hold an $MLVAULT_HOME too), itself private.
  std::string parent = std::filesystem::path(dir).parent_path().string();
  if (!parent.empty()) MLV_TRY_CTX(util::MakeDirs(parent, 0755), "the workspace uid registry");
  MLV_TRY_CTX(util::MakeDirs(dir, 0700), "the workspace uid registry");
  util::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return util::ErrnoError("cannot open the workspace uid registry " + dir, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return util::ErrnoError("cannot check " + dir, errno);
  if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0)
    return util::PermissionDenied("the workspace uid registry " + dir +
                                  " must belong to this user and be writable by no one else; "
                                  "run: chown root " +
                                  dir + " && chmod 700 " + dir);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return util::ErrnoError("cannot lock " + dir, errno);
  return fd;
}

util::Status WriteOwner(const std::string& root, const WorkspaceOwner& o) {
  std::string text = std::to_string(o.uid) + " " + std::to_string(o.gid) + " " +
                     (o.adopted ? "adopted" : "new") + "\n";
  return util::WriteFileAtomic(root + kOwnerFile, text, true, 0600);
}

// True if the claim of `id` pointing at `target` is still held by that workspace folder.
bool ClaimLive(const std::string& target, uint64_t id) {
  auto o = ReadOwner(target);
  return o && o->has_value() && (*o)->uid == id;
}

}  // namespace

bool WorkspaceOwnersApply() { return ::geteuid() == 0; }

util::Result<std::optional<WorkspaceOwner>> ReadOwner(const std::string& workspace_root) {
  auto text = ReadNoFollow(workspace_root + kOwnerFile);
  if (!text) {
    if (text.error().code() == util::ErrorCode::kNotFound) return std::nullopt;
    return std::unexpected(text.error());
  }
  std::string_view t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.remove_suffix(1);
  uint64_t uid = 0, gid = 0;
  size_t a = t.find(' '), b = a == std::string_view::npos ? a : t.find(' ', a + 1);
  std::string_view state = b == std::string_view::npos ? "" : t.substr(b + 1);
  if (b == std::string_view::npos || !ParseId(t.substr(0, a), &uid) ||
      !ParseId(t.substr(a + 1, b - a - 1), &gid) || uid == 0 || gid == 0 || uid >= 0xFFFFFFFFull ||
      gid >= 0xFFFFFFFFull || (state != "new" && state != "adopted"))
    return util::Corruption(workspace_root + kOwnerFile +
                            " does not say \"<uid> <gid> new|adopted\"");
  return WorkspaceOwner{static_cast<uid_t>(uid), static_cast<gid_t>(gid), state == "adopted"};
}

util::Result<WorkspaceOwner> ClaimOwner(const std::string& workspace_root,
                                        const std::string& workspace_id) {
  Range range = MLV_TRY(ConfiguredRange());
  util::UniqueFd reg = MLV_TRY(LockRegistry());  // unlocked when closed
  const uint64_t size = range.last - range.first + 1;
  const uint64_t start = Fnv1a(workspace_id) % size;
  const uint64_t probes = size < kMaxProbes ? size : kMaxProbes;
  for (uint64_t i = 0; i < probes; ++i) {
    uint64_t id = range.first + (start + i) % size;
    std::string name = std::to_string(id);
    bool claimed = ::symlinkat(workspace_root.c_str(), reg.get(), name.c_str()) == 0;
    if (!claimed && errno != EEXIST)
      return util::ErrnoError("cannot claim workspace uid " + name + " in " + RegistryDir(), errno);
    if (!claimed) {
      char buf[4096];
      ssize_t n = ::readlinkat(reg.get(), name.c_str(), buf, sizeof(buf));
      std::string target = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
      if (target != workspace_root && ClaimLive(target, id)) continue;
      // Stale (its workspace folder is gone or records another id), or already ours.
      if (target != workspace_root) {
        if (::unlinkat(reg.get(), name.c_str(), 0) != 0 && errno != ENOENT)
          return util::ErrnoError("cannot take over stale uid claim " + name, errno);
        if (::symlinkat(workspace_root.c_str(), reg.get(), name.c_str()) != 0)
          return util::ErrnoError("cannot claim workspace uid " + name, errno);
      }
    }
    WorkspaceOwner o{static_cast<uid_t>(id), static_cast<gid_t>(id), false};
    util::Status st = WriteOwner(workspace_root, o);
    if (st && ::lchown(workspace_root.c_str(), 0, o.gid) != 0)
      st = util::ErrnoError("cannot give " + workspace_root + " to group " + name, errno);
    if (st && ::chmod(workspace_root.c_str(), 0750) != 0)
      st = util::ErrnoError("cannot chmod 750 " + workspace_root, errno);
    if (!st) {
      (void)::unlinkat(reg.get(), name.c_str(), 0);
      return std::unexpected(st.error());
    }
    return o;
  }
  return util::Unavailable("every workspace uid of MLVAULT_WORKSPACE_UIDS (" +
                           std::to_string(range.first) + "-" + std::to_string(range.last) +
                           ") that was looked at is taken; give a larger range");
}

util::Status MarkAdopted(const std::string& workspace_root, const WorkspaceOwner& owner) {
  WorkspaceOwner o = owner;
  o.adopted = true;
  return WriteOwner(workspace_root, o);
}

void ReleaseOwner(const std::string& workspace_root) {
  auto o = ReadOwner(workspace_root);
  if (!o || !o->has_value()) return;
  auto reg = LockRegistry();
  if (!reg) return;
  std::string name = std::to_string((*o)->uid);
  char buf[4096];
  ssize_t n = ::readlinkat(reg->get(), name.c_str(), buf, sizeof(buf));
  if (n > 0 && std::string(buf, static_cast<size_t>(n)) == workspace_root)
    (void)::unlinkat(reg->get(), name.c_str(), 0);
}

std::vector<std::string> SearchableHomeEntries() {
  if (!WorkspaceOwnersApply()) return {};
  return {"environments"};
}

util::Status CheckSearchable(const std::string& dir) {
  std::string at;
  size_t pos = 0;
  for (;;) {
    size_t next = dir.find('/', pos + 1);
    at = next == std::string::npos ? dir : dir.substr(0, next);
    if (at.empty()) at = "/";
    struct stat st;
    if (::stat(at.c_str(), &st) != 0) return util::ErrnoError("cannot check " + at, errno);
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_IXOTH) == 0) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return util::PermissionDenied(
          "as root, mlvault runs each workspace as its own unprivileged user, which must reach "
          "its folder under " +
          dir + ", but " + at + " (mode " + mode +
          ") may not be searched by other users: allow it (chmod o+x " + at +
          "; others still cannot list or read it) or keep the environment's storage root under "
          "folders every user may search, e.g. /srv/mlvault/<environment> or the default "
          "$MLVAULT_HOME/environments/<environment> with $MLVAULT_HOME outside /root");
    }
    if (next == std::string::npos) return util::Ok();
    pos = next;
  }
}

util::Status ChownTree(const std::string& path, uid_t uid, gid_t gid) {
  int top = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0) {
    int err = errno;
    if (err == ENOENT) return util::Ok();
    if ((err == ENOTDIR || err == ELOOP) &&
        ::fchownat(AT_FDCWD, path.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0)
      return util::Ok();
    return util::ErrnoError("cannot give " + path + " to uid " + std::to_string(uid), err);
  }
  // One frame per directory on the way down: its identity (to check the climb back up) and the
  // subdirectories still to visit. Only the current directory is open.
  struct Frame {
    dev_t dev;
    ino_t ino;
    std::string rel;
    std::vector<std::string> subdirs;
  };
  std::vector<Frame> stack;
  util::UniqueFd cur(top);
  auto enter = [&](std::string rel) -> util::Status {
    struct stat st;
    if (::fstat(cur.get(), &st) != 0) return util::ErrnoError("cannot check " + path + rel, errno);
    if (::fchown(cur.get(), uid, gid) != 0)
      return util::ErrnoError("cannot give " + path + rel + " to uid " + std::to_string(uid),
                              errno);
    Frame f{st.st_dev, st.st_ino, std::move(rel), {}};
    int dup = ::openat(cur.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = dup < 0 ? nullptr : ::fdopendir(dup);
    if (!d) {
      int err = errno;
      if (dup >= 0) ::close(dup);
      return util::ErrnoError("cannot list " + path + f.rel, err);
    }
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) {
        struct stat es;
        is_dir =
            ::fstatat(cur.get(), e->d_name, &es, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(es.st_mode);
      }
      if (is_dir) {
        f.subdirs.emplace_back(name);  // changed when entered
      } else if (::fchownat(cur.get(), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
                 errno != ENOENT) {
        int err = errno;
        ::closedir(d);
        return util::ErrnoError("cannot give " + path + f.rel + "/" + std::string(name) +
                                    " to uid " + std::to_string(uid),
                                err);
      }
    }
    ::closedir(d);
    stack.push_back(std::move(f));
    return util::Ok();
  };
  MLV_TRY(enter(""));
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (!f.subdirs.empty()) {
      std::string name = std::move(f.subdirs.back());
      f.subdirs.pop_back();
      std::string rel = f.rel + "/" + name;
      int child =
          ::openat(cur.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) {
        if (errno == ENOENT) continue;
        if (errno == ENOTDIR || errno == ELOOP) {  // replaced by a file or link meanwhile
          if (::fchownat(cur.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0) continue;
        }
        return util::ErrnoError("cannot open " + path + rel, errno);
      }
      cur = util::UniqueFd(child);
      MLV_TRY(enter(std::move(rel)));
      continue;
    }
    std::string rel = f.rel;
    stack.pop_back();
    if (stack.empty()) break;
    int parent = ::openat(cur.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (parent < 0 || ::fstat(parent, &st) != 0 || st.st_dev != stack.back().dev ||
        st.st_ino != stack.back().ino) {
      if (parent >= 0) ::close(parent);
      return util::IoError(path + rel +
                           " was moved while its owner was being changed; start again");
    }
    cur = util::UniqueFd(parent);
  }
  return util::Ok();
}

}  // namespace mlvault::workspace
