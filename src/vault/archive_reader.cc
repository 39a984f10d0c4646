// Backup, reading stage: reads files into slabs (small files batched into one slab, large
// files extent by extent, skipping holes) and cuts them into chunks for the compute workers.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vault/archiver_internal.h"

namespace mlvault::vault::archive {

int OpenForRead(int dirfd, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME | O_NONBLOCK);
  if (fd < 0 && errno == EPERM)
    fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  return fd;
}

void Archiver::SubmitCompute(std::shared_ptr<ComputeJob> job) {
  compute_->Submit([this, job] { Compute(*job); });
}

void Archiver::ReadBatch(std::vector<FileJob*> batch) {
  // Open every file first and ask the kernel to read them all ahead: on a cold cache this
  // puts the whole batch into the disk queue at once instead of one small read at a time.
  std::vector<UniqueFd> fds(batch.size());
  if (!Stopped()) {
    for (size_t i = 0; i < batch.size(); ++i) {
      FileJob* f = batch[i];
      int fd = OpenForRead(f->dirfd->get(), f->dir->entries[f->entry].name.c_str());
      if (fd < 0) {
        Warn(fmt::format("cannot open {}: {}; skipped", PrintablePath(f->path),
                         std::strerror(errno)));
        f->failed = true;
        continue;
      }
      fds[i].reset(fd);
      TreeEntry& e = f->dir->entries[f->entry];
      ReadExtras(fd, -1, e.name, f->path, e);
      (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
    }
  }
  auto job = std::make_shared<ComputeJob>();
  job->slab = slabs_.Acquire();
  uint8_t* base = job->slab->data.get();
  size_t used = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    FileJob* f = batch[i];
    f->dirfd.reset();
    if (Stopped() || f->failed || !fds[i].valid()) {
      f->failed = true;
      FileDone(f);
      continue;
    }
    int fd = fds[i].get();
    // Read at most the size seen by the scan: a growing file is cut there (and warned about).
    size_t want = static_cast<size_t>(std::min<uint64_t>(f->size, slabs_.size() - used));
    size_t got = 0;
    bool error = false;
    while (got < want) {
      ssize_t n = ::pread(fd, base + used + got, want - got, static_cast<off_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        Warn(fmt::format("cannot read {}: {}; skipped", PrintablePath(f->path),
                         std::strerror(errno)));
        error = true;
        break;
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    // One fstat after reading (not one before and one after: small files are syscall-bound)
    // tells whether what was read is the file the scan saw, unchanged.
    struct stat after;
    const TreeEntry& seen = f->dir->entries[f->entry];
    if (!error && (::fstat(fd, &after) != 0 || !S_ISREG(after.st_mode))) {
      Warn(fmt::format("{} changed type while being read; skipped", PrintablePath(f->path)));
      error = true;
    } else if (!error &&
               (after.st_ino != seen.ino || static_cast<uint64_t>(after.st_size) != f->size ||
                after.st_mtim.tv_sec != seen.mtime_sec ||
                static_cast<uint32_t>(after.st_mtim.tv_nsec) != seen.mtime_nsec ||
                got != f->size)) {
      Warn(fmt::format("{} changed while being read; the recovery point holds the bytes read",
                       PrintablePath(f->path)));
    }
    fds[i].reset();
    if (error) {
      f->failed = true;
      FileDone(f);
      continue;
    }
    bytes_read_ += got;
    f->size = got;
    if (got == 0) {
      FileDone(f);
      continue;
    }
    f->pieces.push_back(Piece{got, false, {}});
    f->pending += 1;
    job->items.push_back(
        ChunkItem{static_cast<uint32_t>(used), static_cast<uint32_t>(got), &f->pieces.back(), f});
    used += got;
    FileDone(f);  // the reader's reference; the compute job holds its own
  }
  if (!job->items.empty()) SubmitCompute(std::move(job));
}

void Archiver::ReadBig(FileJob* f, bool block_mode) {
  auto done = [&] {
    f->dirfd.reset();
    FileDone(f);
  };
  if (Stopped()) {
    f->failed = true;
    return done();
  }
  int raw = block_mode ? ::open(req_.source.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME)
                       : OpenForRead(f->dirfd->get(), f->dir->entries[f->entry].name.c_str());
  if (raw < 0 && block_mode && errno == EPERM)
    raw = ::open(req_.source.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    int err = errno;
    if (block_mode)
      Fail(util::ErrnoError("cannot open " + req_.source, err).error());
    else
      Warn(fmt::format("cannot open {}: {}; skipped", PrintablePath(f->path), std::strerror(err)));
    f->failed = true;
    return done();
  }
  UniqueFd fd(raw);
  if (!block_mode) ReadExtras(fd.get(), -1, "", f->path, f->dir->entries[f->entry]);
  f->dirfd.reset();
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 ||
      (!S_ISREG(st.st_mode) && !(block_mode && S_ISBLK(st.st_mode)))) {
    Warn(fmt::format("{} changed type while being read; skipped", PrintablePath(f->path)));
    f->failed = true;
    return done();
  }
  (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  const uint64_t size = f->size;
  uint64_t pos = 0;
  Status st_read = util::Ok();
  bool sparse_ok = S_ISREG(st.st_mode);
  size_t next_reuse = 0;  // block volumes: the next range taken from the parent (reuse_)
  while (pos < size && st_read && !Stopped()) {
    uint64_t limit = size;  // read up to the next reused range
    if (block_mode && next_reuse < reuse_.size()) {
      const ReusedSpan& span = reuse_[next_reuse];
      if (span.start <= pos) {
        TakeReused(f, span);
        pos = std::max(pos, span.end);
        ++next_reuse;
        continue;
      }
      limit = std::min(size, span.start);
    }
    uint64_t data = pos, hole = limit;
    if (sparse_ok) {
      off_t d = ::lseek(fd.get(), static_cast<off_t>(pos), SEEK_DATA);
      if (d < 0) {
        if (errno == ENXIO) {
          data = limit;  // only a hole remains
        } else {
          sparse_ok = false;  // SEEK_DATA unsupported: read everything
        }
      } else {
        data = std::min<uint64_t>(static_cast<uint64_t>(d), limit);
        off_t h = data < limit ? ::lseek(fd.get(), d, SEEK_HOLE) : -1;
        hole = h < 0 ? limit : std::min<uint64_t>(static_cast<uint64_t>(h), limit);
      }
    }
    if (data > pos) {
      f->pieces.push_back(Piece{data - pos, true, {}});
      bytes_done_ += data - pos;
      pos = data;
    }
    if (pos >= limit) continue;
    st_read = ReadExtent(f, fd.get(), pos, hole - pos, block_mode);
    pos = hole;
  }
  if (!st_read) {
    if (block_mode) {
      Fail(st_read.error());
    } else {
      Warn(fmt::format("cannot read {}: {}; skipped", PrintablePath(f->path),
                       st_read.error().message()));
    }
    f->failed = true;
    return done();
  }
  struct stat after;
  if (::fstat(fd.get(), &after) == 0 &&
      (after.st_size != st.st_size || after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
       after.st_mtim.tv_nsec != st.st_mtim.tv_nsec)) {
    Warn(fmt::format("{} changed while being read; the recovery point holds the bytes read",
                     PrintablePath(f->path)));
  }
  uint64_t total = 0;
  for (const auto& p : f->pieces) total += p.length;
  f->size = total;
  done();
}

void Archiver::TakeReused(FileJob* f, const ReusedSpan& span) {
  for (const Piece& p : span.pieces) f->pieces.push_back(p);
  bytes_done_ += span.end - span.start;
}

Status Archiver::ReadExtent(FileJob* f, int fd, uint64_t start, uint64_t length, bool block_mode) {
  const size_t max_chunk =
      block_mode ? repo_->config().params.block_size : repo_->config().params.chunk_max;
  const uint64_t block = repo_->config().params.block_size;
  std::shared_ptr<Slab> slab = slabs_.Acquire();
  size_t fill = 0, consumed = 0;
  uint64_t off = start, remaining = length;
  while (true) {
    if (Stopped()) return util::Ok();
    while (fill < slabs_.size() && remaining > 0) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>({slabs_.size() - fill, remaining, 4 * kReadUnit}));
      ssize_t n = ::pread(fd, slab->data.get() + fill, want, static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR) continue;
        return util::ErrnoError("read", errno);
      }
      if (n == 0) {
        remaining = 0;  // the file shrank: keep what was there
        break;
      }
      fill += static_cast<size_t>(n);
      off += static_cast<uint64_t>(n);
      remaining -= static_cast<uint64_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
    }
    const bool eof = remaining == 0;
    std::vector<std::shared_ptr<ComputeJob>> jobs;
    uint64_t abs = off - (fill - consumed);  // file offset of slab[consumed]
    while (consumed < fill) {
      size_t avail = fill - consumed;
      if (!eof && avail < max_chunk) break;
      size_t len;
      if (block_mode) {
        len = static_cast<size_t>(std::min<uint64_t>(avail, block - (abs % block)));
      } else {
        len = cdc_.NextBoundary(ByteView(slab->data.get() + consumed, avail));
      }
      f->pieces.push_back(Piece{len, false, {}});
      f->pending += 1;
      // One job per chunk: a single large file keeps every core busy.
      auto j = std::make_shared<ComputeJob>();
      j->slab = slab;
      j->zero_holes = block_mode;
      j->items.push_back(ChunkItem{static_cast<uint32_t>(consumed), static_cast<uint32_t>(len),
                                   &f->pieces.back(), f});
      jobs.push_back(std::move(j));
      consumed += len;
      abs += len;
    }
    for (auto& j : jobs) SubmitCompute(std::move(j));
    if (eof && consumed == fill) return util::Ok();
    // Carry the unchunked tail into a fresh slab; the old one lives until its jobs finish.
    std::shared_ptr<Slab> next = slabs_.Acquire();
    std::memcpy(next->data.get(), slab->data.get() + consumed, fill - consumed);
    fill -= consumed;
    consumed = 0;
    slab = std::move(next);
  }
}

}  // namespace mlvault::vault::archive
