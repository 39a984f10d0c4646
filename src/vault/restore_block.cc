// Restore of a block volume: one image written in parallel segments to a file or a device.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/restorer_internal.h"

namespace mlvault::vault::restore {

Status Restorer::RestoreBlock() {
  auto tree = MLV_TRY(repo_->LoadTree(*index_, point_.tree));
  if (tree.entries.size() != 1 || tree.entries[0].type != EntryType::kFile) {
    return util::Corruption("block recovery point " + IdHex(point_.id) +
                            " does not hold one image");
  }
  auto f = std::make_shared<FileState>();
  f->entry = std::move(tree.entries[0]);
  f->path = target_;
  bool device = false;
  struct stat st;
  if (::stat(target_.c_str(), &st) == 0) {
    if (S_ISBLK(st.st_mode)) {
      if (!options_.allow_nonempty_target) {
        return util::Conflict("target " + target_ +
                              " is a block device; overwrite it with --overwrite");
      }
      device = true;
      f->fd.reset(::open(target_.c_str(), O_WRONLY | O_CLOEXEC));
    } else if (S_ISREG(st.st_mode)) {
      if (st.st_size > 0 && !options_.allow_nonempty_target) {
        return util::Conflict("target " + target_ +
                              " exists and is not empty (allow it with --overwrite)");
      }
      f->fd.reset(::open(target_.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC));
    } else {
      return util::InvalidArgument("target " + target_ +
                                   " is neither a regular file nor a block device");
    }
  } else {
    if (errno != ENOENT) return util::ErrnoError("cannot access target " + target_, errno);
    f->fd.reset(
        ::open(target_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  }
  if (!f->fd.valid()) return util::ErrnoError("cannot open target " + target_, errno);
  if (!device && ::ftruncate(f->fd.get(), static_cast<off_t>(f->entry.size)) != 0) {
    return util::ErrnoError("cannot size " + target_, errno);
  }
  auto segs = CutSegments(*f, /*count_holes=*/true);
  f->pending = static_cast<int>(segs.size()) + 1;
  ++files_;
  for (auto [a, b] : segs)
    writers_->Submit([this, f, a, b, device] { RunSegment(f, a, b, device); });
  writers_->Wait();
  if (auto e = state_.error()) return std::unexpected(*e);
  if (device) {
    if (::fsync(f->fd.get()) != 0) return util::ErrnoError("cannot flush " + target_, errno);
    f->fd.reset();
  } else {
    ApplyMeta(f->fd.get(), f->entry, [this] { return target_; });
    f->fd.reset();
  }
  ++files_done_;
  return util::Ok();
}

}  // namespace mlvault::vault::restore
