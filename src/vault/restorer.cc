// Restore: recreates a recovery point below a target, bit for bit, without ever writing outside.
//
// One walker thread creates directories (mode 0700 while restoring, so read-only directories can
// be filled), symlinks, FIFOs and devices, and hands files to writer threads: small files in
// batches, large files in segments of up to 32 MiB so one large file keeps every core busy.
// Writers fetch the blobs a task needs with few, coalesced range reads (blobs of neighbouring
// files sit next to each other in packs), authenticate, decompress and re-hash each one, and
// write it with pwrite; holes are never written. On remote storage (S3), where every read is
// a request, files are restored in windows planned in pack order instead (restore_plan.cc): the
// walk creates a window of files, then each pack's wanted part is read once and its blobs are
// written to every file that needs them. Hard links, then directory metadata (deepest first)
// are applied at the end.
//
// Safety: every name comes from a decoded tree (validated: no '/', no "..", no NUL) and is
// checked again here; every directory is opened with O_NOFOLLOW | O_DIRECTORY relative to its
// parent's descriptor; files are created with O_EXCL | O_NOFOLLOW; symlinks are created, never
// followed. A manifest cannot make restore write outside the target.
//
// Parts: restore_walk.cc, restore_writer.cc, restore_plan.cc, restore_meta.cc, restore_block.cc.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "util/log.h"
#include "vault/restorer_internal.h"

namespace mlvault::vault {
namespace restore {

Result<RestoreStats> Restorer::Run() {
  const double t0 = util::MonotonicSeconds();
  as_root_ = ::geteuid() == 0;
  euid_ = ::geteuid();
  egid_ = ::getegid();
  {
    // The umask without changing it (umask(2) would, process-wide and racily).
    auto status = util::ReadFile("/proc/self/status");
    size_t at = status ? status->find("Umask:") : std::string::npos;
    if (at != std::string::npos)
      umask_ = static_cast<int>(std::strtol(status->c_str() + at + 6, nullptr, 8));
  }
  chown_ = options_.restore_ownership && as_root_;
  if (options_.restore_ownership && !as_root_) {
    Warn("not running as root: owners (uid/gid) are not restored");
  }
  index_ = MLV_TRY(repo_->LoadIndex(nullptr, nullptr, /*keep_raw=*/false));
  util::Log(util::LogLevel::kDebug, "restore: index loaded at {:.3f} s",
            util::MonotonicSeconds() - t0);
  size_t writers = par_.io;
  if (const int reads = repo_->backend()->ConcurrentReads(); reads > 1) {
    // Remote storage: every range read waits a round trip. More writers keep more reads in
    // flight, and each writer reads its next ranges ahead (Fetch) on the fetch threads.
    writers = std::max(writers, kRemoteWriters);
    fetchers_ = std::make_unique<util::ThreadPool>(static_cast<size_t>(reads),
                                                   2 * static_cast<size_t>(reads));
    batch_files_ = kRemoteBatchFiles;
    batch_bytes_max_ = kRemoteBatchBytes;
    coalesce_gap_ = kRemoteCoalesceGap;
    coalesce_max_ = kRemoteCoalesceMax;
    // Files in windows planned in pack order (restore_plan.cc), one task per pack, so at most
    // `writers` whole-pack reads in flight (restic's default is 5 connections; 16 concurrent
    // whole packs made a single RADOS Gateway slower, bench/RESULTS.md).
    planned_ = true;
  }
  writers_ = std::make_unique<util::ThreadPool>(writers, 2 * writers);
  util::RaiseFdLimit();  // one descriptor per directory in progress (deep trees)
  if (struct rlimit rl; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    // A window's files and the directories made in it stay open until it is written: half the
    // descriptors at most (the rest: the walk's ancestors, hard links' directories, sockets).
    plan_window_files_ =
        std::clamp<size_t>(static_cast<size_t>(rl.rlim_cur) / 2, 64, kPlanWindowFiles);
  }
  Status st = point_.kind == VolumeKind::kBlock ? RestoreBlock() : RestoreFilesystem();
  writers_->Wait();
  writers_.reset();
  fetchers_.reset();  // after the writers: only they queue reads; waits for reads still running
  std::optional<util::Error> error;
  if (!st) error = st.error();
  if (!error) error = state_.error();
  if (error) {
    // A failed restore into an empty (or new) target leaves nothing behind: no empty or partial
    // file can be mistaken for a restored one. With --overwrite only unfinished files go.
    if (point_.kind == VolumeKind::kFilesystem && target_was_empty_) {
      RemovePartial();
      return std::unexpected(
          error->WithContext("restore failed; what it had made in " + target_ + " was removed"));
    }
    return std::unexpected(*error);
  }
  RestoreStats s;
  s.files = files_;
  s.dirs = dirs_count_;
  s.other_entries = other_;
  s.bytes_written = bytes_written_;
  s.duration_seconds = util::MonotonicSeconds() - t0;
  s.warnings = state_.Warnings();
  if (progress_ != nullptr) progress_->Finish();
  return s;
}

}  // namespace restore

Result<RestoreStats> RunRestore(Repository* repo, const Manifest& point, const std::string& target,
                                const RestoreOptions& options, util::ProgressSink* progress,
                                const util::CancelToken* cancel) {
  restore::Restorer r(repo, point, target, options, progress, cancel);
  return r.Run();
}

}  // namespace mlvault::vault
