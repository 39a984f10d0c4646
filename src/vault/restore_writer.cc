// Restore, writer tasks: create batches of small files, fetch the blobs a task needs with few
// coalesced range reads, authenticate and decompress them, and write them with pwrite (holes are
// never written); large files are written in segments by several writers at once. On remote
// storage each writer reads its task's next ranges ahead while it writes the current one.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <memory>

#include "vault/restorer_internal.h"

namespace mlvault::vault::restore {

bool Restorer::Fetch(std::vector<Want>& wants, bool block_device) {
  (void)block_device;
  std::sort(wants.begin(), wants.end(), [](const Want& a, const Want& b) {
    return a.pack != b.pack ? a.pack < b.pack : a.offset < b.offset;
  });
  // Merge neighbours in one pack into one range read: wants [first, last) in [start, end).
  struct Range {
    size_t first, last;
    uint64_t start, end;
  };
  std::vector<Range> ranges;
  for (size_t i = 0; i < wants.size();) {
    size_t j = i + 1;
    uint64_t start = wants[i].offset;
    uint64_t end = start + wants[i].stored_len;
    while (j < wants.size() && wants[j].pack == wants[i].pack &&
           wants[j].offset <= end + coalesce_gap_ &&
           std::max<uint64_t>(end, wants[j].offset + wants[j].stored_len) - start <=
               coalesce_max_) {
      end = std::max<uint64_t>(end, wants[j].offset + wants[j].stored_len);
      ++j;
    }
    ranges.push_back({i, j, start, end});
    i = j;
  }
  backend::Backend* storage = repo_->backend();
  auto name_of = [&](const Range& r) { return PackName(index_->packs()[wants[r.first].pack]); };
  // Remote storage: the next ranges are read on the fetch threads while this one is written, up
  // to kReadAheadBytes ahead (at least one range). Reads left running after a failure end on
  // their own (the promise outlives this call).
  using Read = std::shared_ptr<std::promise<Result<Bytes>>>;
  std::deque<std::future<Result<Bytes>>> ahead;
  size_t issued = 0;
  uint64_t ahead_bytes = 0;
  auto issue = [&] {
    const Range& r = ranges[issued++];
    Read read = std::make_shared<std::promise<Result<Bytes>>>();
    ahead.push_back(read->get_future());
    ahead_bytes += r.end - r.start;
    fetchers_->Submit([storage, read, buffers = read_buffers_, name = name_of(r), start = r.start,
                       len = r.end - r.start] {
      Bytes buf = buffers->Take(len);
      if (Status st = storage->GetInto(name, start, len, buf); !st) {
        read->set_value(std::unexpected(st.error()));
      } else {
        read->set_value(std::move(buf));
      }
    });
  };

  // Decompressed blobs (kept per writer thread: its capacity is reused from task to task).
  thread_local Bytes scratch;
  for (size_t n = 0; n < ranges.size(); ++n) {
    if (Stopped()) return false;
    const Range& r = ranges[n];
    const ObjectId& pack = index_->packs()[wants[r.first].pack];
    Result<Bytes> range;
    if (fetchers_ != nullptr) {
      while (issued < ranges.size() &&
             (issued <= n ||
              ahead_bytes + (ranges[issued].end - ranges[issued].start) <= kReadAheadBytes)) {
        issue();
      }
      range = ahead.front().get();
      ahead.pop_front();
      ahead_bytes -= r.end - r.start;
    } else {
      range = storage->Get(name_of(r), r.start, r.end - r.start);
    }
    if (!range) {
      Fail(range.error().WithContext("pack " + IdHex(pack)));
      return false;
    }
    uint8_t* base = range->data();  // byte r.start of the pack
    const BlobId* last_id = nullptr;
    ByteView plain;
    for (size_t k = r.first; k < r.last; ++k) {
      Want& w = wants[k];
      // Wants of one blob are neighbours (sorted by offset): the blob is opened once, where it
      // lies in the range (decrypted in place: no copy, no new memory per blob).
      if (last_id == nullptr || *last_id != w.id) {
        std::span<uint8_t> sealed(base + (w.offset - r.start), w.stored_len);
        auto opened = repo_->OpenBlobInPlace(sealed, w.id, w.loc->type, w.loc->comp,
                                             w.loc->raw_len, true, scratch);
        if (!opened) {
          Fail(opened.error().WithContext("pack " + IdHex(pack)));
          return false;
        }
        plain = *opened;
        last_id = &w.id;
      }
      if (plain.size() != w.length) {
        Fail(util::Error(util::ErrorCode::kCorruption,
                         fmt::format("chunk {} of {} has {} bytes, the tree says {}", IdHex(w.id),
                                     PrintablePath(w.file->Path()), plain.size(), w.length)));
        return false;
      }
      if (w.file->failed) continue;
      int fd = w.file->fd.get();
      size_t done = 0;
      while (done < plain.size()) {
        ssize_t written = ::pwrite(fd, plain.data() + done, plain.size() - done,
                                   static_cast<off_t>(w.file_offset + done));
        if (written < 0) {
          if (errno == EINTR) continue;
          Fail(util::ErrnoError("cannot write " + PrintablePath(w.file->Path()), errno).error());
          return false;
        }
        done += static_cast<size_t>(written);
      }
      bytes_written_ += plain.size();
      bytes_done_ += plain.size();
    }
    if (fetchers_ != nullptr) read_buffers_->Give(std::move(*range));
    Report();
  }
  return true;
}

void Restorer::QueueFile(std::unique_ptr<FileState> f) {
  batch_bytes_ += f->entry.size;
  batch_.push_back(std::move(f));
  if (batch_.size() >= batch_files_ || batch_bytes_ >= batch_bytes_max_) FlushBatch();
}

void Restorer::FlushBatch() {
  if (batch_.empty()) return;
  auto files = std::make_shared<std::vector<std::unique_ptr<FileState>>>(std::move(batch_));
  batch_.clear();
  batch_bytes_ = 0;
  writers_->Submit([this, files] { RunBatch(*files); });
}

void Restorer::RunBatch(std::vector<std::unique_ptr<FileState>>& files) {
  std::vector<Want> wants;
  bool ok = !Stopped();
  for (auto& f : files) {
    if (!ok || Stopped()) {
      ok = false;
      break;
    }
    FileState* fp = f.get();
    auto fd = CreateFile(
        f->dir->fd.get(), f->name, [fp] { return fp->Path(); }, f->entry.mode, &f->mode_set);
    if (!fd) {
      if (fd.error().code() == util::ErrorCode::kConflict)
        Fail(fd.error());
      else
        Warn(fd.error().message());
      f->failed = true;
      continue;
    }
    f->fd = std::move(*fd);
    f->created = true;
    // Without holes the writes cover the whole file; holes need the size set first.
    const bool has_hole = std::any_of(f->entry.pieces.begin(), f->entry.pieces.end(),
                                      [](const Piece& p) { return p.hole; });
    if (has_hole && ::ftruncate(f->fd.get(), static_cast<off_t>(f->entry.size)) != 0) {
      Fail(util::ErrnoError("cannot size " + PrintablePath(f->Path()), errno).error());
      ok = false;
      break;
    }
    uint64_t off = 0;
    for (const auto& p : f->entry.pieces) {
      if (!p.hole) {
        if (!AddWant(f.get(), p, off, wants)) {
          ok = false;
          break;
        }
      } else {
        bytes_done_ += p.length;
      }
      off += p.length;
    }
  }
  if (ok && planned_) {
    // Remote storage: the window fetches the blobs in pack order and ends the files.
    PlanBatch(wants, files);
    return;
  }
  if (ok) ok = Fetch(wants, false);
  // Every file of the batch ends here, finished or not (an unfinished one is removed).
  for (auto& f : files) FinishFile(*f, ok);
}

std::vector<std::pair<size_t, size_t>> CutSegments(FileState& f, bool count_holes) {
  const auto& pieces = f.entry.pieces;
  uint64_t off = 0;
  for (const auto& p : pieces) {
    f.offsets.push_back(off);
    off += p.length;
  }
  std::vector<std::pair<size_t, size_t>> segs;
  size_t first = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (count_holes || !pieces[i].hole) bytes += pieces[i].length;
    if (bytes >= kSegmentBytes || i + 1 == pieces.size()) {
      segs.emplace_back(first, i + 1);
      first = i + 1;
      bytes = 0;
    }
  }
  return segs;
}

bool Restorer::AddWant(FileState* f, const Piece& p, uint64_t offset, std::vector<Want>& wants) {
  const BlobLocation* loc = index_->Find(p.id);
  if (loc == nullptr) {
    Fail(util::Error(
        util::ErrorCode::kCorruption,
        fmt::format("chunk {} of {} is in no index", IdHex(p.id), PrintablePath(f->Path()))));
    return false;
  }
  wants.push_back(Want{loc->pack, loc->offset, loc->stored_len, p.id, loc, f, offset, p.length});
  return true;
}

void Restorer::RunSegment(std::shared_ptr<FileState> f, size_t first, size_t last,
                          bool block_device) {
  if (!Stopped()) {
    std::vector<Want> wants;
    bool ok = true;
    for (size_t i = first; i < last; ++i) {
      const Piece& p = f->entry.pieces[i];
      if (p.hole) {
        if (block_device) {
          // A device has no holes: write the zeros.
          static const Bytes zeros(1u << 20, 0);
          uint64_t done = 0;
          while (done < p.length && ok) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), p.length - done));
            ssize_t w =
                ::pwrite(f->fd.get(), zeros.data(), n, static_cast<off_t>(f->offsets[i] + done));
            if (w < 0) {
              if (errno == EINTR) continue;
              Fail(util::ErrnoError("cannot write " + PrintablePath(f->Path()), errno).error());
              ok = false;
              break;
            }
            done += static_cast<uint64_t>(w);
          }
        }
        bytes_done_ += p.length;
        continue;
      }
      if (!AddWant(f.get(), p, f->offsets[i], wants)) {
        ok = false;
        break;
      }
    }
    if (ok) Fetch(wants, block_device);
  }
  if (f->pending.fetch_sub(1) == 1) FinishFile(*f, !state_.failed());
}

void Restorer::FinishFile(FileState& f, bool ok) {
  const bool complete = ok && !f.failed && f.fd.valid();
  if (complete) {
    ApplyMeta(
        f.fd.get(), f.entry, [&f] { return f.Path(); }, f.mode_set);
    ++files_done_;
  }
  FileEnded(f, complete);
}

}  // namespace mlvault::vault::restore
