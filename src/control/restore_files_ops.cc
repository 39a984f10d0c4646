// restoreFiles (issue 16): plain files of a backup out to a local folder, never outside it.
//
// Every path comes from the backup's inventory ("projects/<project>/<path>"); a project name is
// free text in the workspace, so every component is checked (no "", ".", "..") and every folder
// is opened below the target with O_NOFOLLOW, one component at a time: neither a hostile name in
// the backup nor a symbolic link planted in the target can lead a write outside it. Files are
// written to a temporary name and renamed into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "control/backup_copies.h"
#include "control/inventory.h"
#include "control/operations.h"
#include "control/resource_authz.h"
#include "control/vaults.h"
#include "util/files.h"
#include "util/random.h"

namespace mlvault::control {

namespace {

// The components of an inventory path, or an error when one is unsafe.
util::Result<std::vector<std::string>> SafeComponents(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string c = path.substr(start, slash == std::string::npos ? slash : slash - start);
    if (c.empty() || c == "." || c == ".." || c.find('\0') != std::string::npos)
      return util::InvalidArgument("the backup's path \"" + path +
                                   "\" has an unsafe component; it is not written");
    out.push_back(c);
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

// Opens (creating) the folder `name` inside `dirfd` without following a symbolic link.
util::Result<util::UniqueFd> OpenSubdir(int dirfd, const std::string& name,
                                        const std::string& shown) {
  if (::mkdirat(dirfd, name.c_str(), 0755) != 0 && errno != EEXIST)
    return util::ErrnoError("cannot create folder " + shown, errno);
  util::UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ELOOP || err == ENOTDIR)
      return util::InvalidArgument(shown + " in the target is not a folder (a symbolic link or a "
                                           "file); nothing is written through it");
    return util::ErrnoError("cannot open folder " + shown, err);
  }
  return fd;
}

}  // namespace

util::Result<api::RestoreFilesResponse> Operations::RestoreFiles(
    const api::RestoreFilesRequest& request, const Wait& wait) {
  api::RestoreFilesRequest r = request;
  auto t = MLV_TRY(LoadBackupOf("ml:RestoreFiles", r));
  if (r.path.empty()) return util::InvalidField("path", "give at least one glob, e.g. 'projects/p1/**'");
  for (const auto& g : r.path)
    if (g.empty() || g.starts_with("/"))
      return util::InvalidField("path", "a glob over the backup's paths such as 'projects/p1/**', "
                                        "got \"" + g.substr(0, 80) + "\"");
  if (r.target.empty()) return util::InvalidField("target", "give the folder to write into");
  MLV_TRY(Authorize(t.request));
  util::Status st = [&]() -> util::Status {
    if (!t.found()) return util::NotFound("backup " + r.backup_crn + " does not exist");
    if (t.record->status != catalog::BackupStatus::kSucceeded)
      return util::Conflict("backup " + r.backup_crn + " is " +
                            catalog::BackupStatusName(t.record->status) +
                            "; only a succeeded backup has files to restore");
    return util::Ok();
  }();
  MLV_TRY(st);
  auto inv = MLV_TRY(EnsureInventory(*env_.db, env_.home, *t.record, env_.clock->Now()));
  auto all = MLV_TRY(catalog::InventoryStore(*env_.db).AllFiles(t.record->id));
  std::vector<catalog::InventoryFile> chosen;
  for (const auto& f : all)
    for (const auto& g : r.path)
      if (PathGlobMatch(g, f.path)) {
        chosen.push_back(f);
        break;
      }
  if (chosen.empty()) {
    std::string globs;
    for (const auto& g : r.path) globs += (globs.empty() ? "'" : ", '") + g + "'";
    return std::unexpected(util::Error(
        util::ErrorCode::kNotFound,
        "path: no file of backup " + r.backup_crn + " matches " + globs +
            " (describe-backup-contents --item-type file lists them)",
        "path"));
  }
  std::map<std::string, std::string> point_of;  // volume -> recovery point
  for (const auto& rp : MLV_TRY(catalog::BackupStore(*env_.db).RecoveryPoints(t.record->id)))
    point_of[rp.volume] = rp.vault_point_id;
  auto v = MLV_TRY(OpenBackupVault(*env_.db, env_.home, *t.record));

  MLV_TRY_CTX(util::MakeDirs(r.target, 0755), "target");
  util::UniqueFd root(::open(r.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return util::ErrnoError("target: cannot open " + r.target, errno);

  api::RestoreFilesResponse out;
  out.backup_crn = r.backup_crn;
  out.target = r.target;
  for (const auto& f : chosen) {
    if (wait.interrupted != nullptr && wait.interrupted->load())
      return util::Cancelled("interrupted after " + std::to_string(out.files) + " file(s)");
    auto parts = MLV_TRY(SafeComponents(f.path));
    // The folders, one at a time below the target.
    util::UniqueFd dir;
    int at = root.get();
    std::string shown = r.target;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      shown += "/" + parts[i];
      dir = MLV_TRY(OpenSubdir(at, parts[i], shown));
      at = dir.get();
    }
    const std::string& name = parts.back();
    std::string path = r.target + "/" + f.path;
    struct stat st_existing;
    if (::fstatat(at, name.c_str(), &st_existing, AT_SYMLINK_NOFOLLOW) == 0 &&
        (!r.overwrite || !S_ISREG(st_existing.st_mode)))
      return util::Conflict(path + " exists" +
                            (S_ISREG(st_existing.st_mode) ? "; give --overwrite to replace it"
                                                          : " and is not a regular file"));
    std::string tmp = "." + name.substr(0, 200) + ".mlvault-" + util::RandomHex(6);
    util::UniqueFd out_fd(
        ::openat(at, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!out_fd.valid()) return util::ErrnoError("cannot create " + path, errno);
    auto pit = point_of.find(f.volume);
    util::Status wrote =
        pit == point_of.end()
            ? util::NotFound("the backup has no volume \"" + f.volume + "\"")
            : v->ReadFile(pit->second, f.volume_path,
                          [&](util::ByteView bytes) { return util::WriteAll(out_fd.get(), bytes, path); },
                          nullptr);
    if (wrote && ::fsync(out_fd.get()) != 0) wrote = util::ErrnoError("cannot flush " + path, errno);
    out_fd.reset();
    if (wrote && ::renameat(at, tmp.c_str(), at, name.c_str()) != 0)
      wrote = util::ErrnoError("cannot move " + path + " into place", errno);
    if (!wrote) {
      (void)::unlinkat(at, tmp.c_str(), 0);
      return std::unexpected(wrote.error().WithContext("restoring " + f.path));
    }
    ++out.files;
    out.bytes += f.size;
    out.restored.push_back(f.path);
  }
  (void)inv;
  return out;
}

}  // namespace mlvault::control
