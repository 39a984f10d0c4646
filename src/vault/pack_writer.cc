// The vault's writers (declared in repository.h): PackWriter fills packs with sealed blobs and
// uploads them in the background; IndexWriter collects the packs' entries into index files.
// The repository that reads what they write is in repository.cc.
#include <fmt/core.h>

#include <algorithm>

#include "util/log.h"
#include "vault/repository.h"

namespace mlvault::vault {

// ---- pack writer -------------------------------------------------------------------------------

namespace {
// Pack buffers are allocated once at their full size (target + the largest chunk + room for
// the header) and reused for every pack: no reallocation copies, no page faults after the first
// pack, and no freed megabytes for malloc to keep resident. At most uploaders + 1 exist per
// writer (TakeBufferLocked). `reserve` does not touch memory, so a writer that only ever holds
// small trees costs only what it writes.
constexpr size_t kPackSlack = (4u << 20) + (512u << 10);

void Reserve(Bytes& data, size_t more, uint64_t target) {
  size_t need = data.size() + more + (256u << 10);
  if (need <= data.capacity()) return;
  data.reserve(std::max<size_t>(need, target + kPackSlack));
}
}  // namespace

PackWriter::PackWriter(Repository* repo, uint64_t target_size, size_t uploaders,
                       WrittenFn on_written)
    : repo_(repo),
      target_(target_size),
      max_buffers_(std::max<size_t>(1, uploaders) + 1),
      on_written_(std::move(on_written)) {
  current_.id = NewObjectId();
  for (size_t i = 0; i < std::max<size_t>(1, uploaders); ++i)
    threads_.emplace_back([this] { Upload(); });
}

PackWriter::~PackWriter() {
  {
    util::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  for (auto& t : threads_) t.join();
}

Status PackWriter::TakeBufferLocked() {
  // Backpressure: every buffer but the filling one is queued or being written, so waiting here
  // ends when an uploader finishes a write (it returns the buffer before reporting the pack).
  while (true) {
    if (error_) return std::unexpected(*error_);
    if (current_.data.capacity() != 0) return util::Ok();
    if (!spare_.empty()) {
      current_.data = std::move(spare_.back());
      spare_.pop_back();
      return util::Ok();
    }
    if (buffers_ < max_buffers_) {
      ++buffers_;  // Reserve allocates it
      return util::Ok();
    }
    cv_.Wait(mu_);
  }
}

Status PackWriter::Add(const BlobId& id, BlobType type, Compression comp, ByteView stored,
                       uint32_t raw_len) {
  util::MutexLock lock(mu_);
  MLV_TRY(TakeBufferLocked());
  Reserve(current_.data, stored.size() + kSealOverhead, target_);
  BlobEntry e;
  e.type = type;
  e.comp = comp;
  e.offset = static_cast<uint32_t>(current_.data.size());
  e.raw_len = raw_len;
  e.id = id;
  auto aad = BlobAad(id, type, comp);
  crypto::SealAppend(repo_->keys().encrypt, stored, aad, current_.data);
  e.stored_len = static_cast<uint32_t>(current_.data.size() - e.offset);
  current_.blobs.push_back(e);
  if (current_.data.size() >= target_) return CloseLocked();
  return util::Ok();
}

Status PackWriter::AddSealed(const BlobEntry& entry, ByteView sealed) {
  util::MutexLock lock(mu_);
  MLV_TRY(TakeBufferLocked());
  Reserve(current_.data, sealed.size(), target_);
  BlobEntry e = entry;
  e.offset = static_cast<uint32_t>(current_.data.size());
  e.stored_len = static_cast<uint32_t>(sealed.size());
  current_.data.insert(current_.data.end(), sealed.begin(), sealed.end());
  current_.blobs.push_back(e);
  if (current_.data.size() >= target_) return CloseLocked();
  return util::Ok();
}

Status PackWriter::CloseLocked() {
  if (current_.blobs.empty()) return util::Ok();
  Open pack = std::move(current_);
  current_ = Open{};
  current_.id = NewObjectId();
  Bytes header = EncodePackHeader(pack.blobs);
  size_t before = pack.data.size();
  if (before + header.size() + kSealOverhead + kPackTrailer > pack.data.capacity()) {
    pack.data.reserve(before + header.size() + kSealOverhead + kPackTrailer);  // exact: no doubling
  }
  crypto::SealAppend(repo_->keys().encrypt, header, LabelAad(kAadPack, pack.id), pack.data);
  util::PutU32(pack.data, static_cast<uint32_t>(pack.data.size() - before));
  // No wait here: the buffer count bounds the queue (the next Add waits for a buffer).
  pending_.push_back(std::move(pack));
  cv_.NotifyAll();
  return util::Ok();
}

void PackWriter::Upload() {
  while (true) {
    Open pack;
    {
      util::MutexLock lock(mu_);
      while (!stop_ && pending_.empty()) cv_.Wait(mu_);
      if (pending_.empty()) return;  // stop_ and nothing left
      pack = std::move(pending_.front());
      pending_.pop_front();
      ++uploading_;
    }
    Status st = repo_->backend()->Put(PackName(pack.id), pack.data);
    const uint64_t size = pack.data.size();
    {
      // The buffer is free once written: the next pack may fill it while this one is reported
      // (an index file may be written then).
      util::MutexLock lock(mu_);
      pack.data.clear();
      spare_.push_back(std::move(pack.data));
      cv_.NotifyAll();
    }
    if (st) st = on_written_(IndexPack{pack.id, std::move(pack.blobs)}, size);
    util::MutexLock lock(mu_);
    --uploading_;
    if (!st && !error_) error_ = st.error().WithContext("cannot write pack");
    cv_.NotifyAll();
  }
}

Status PackWriter::Close() {
  util::MutexLock lock(mu_);
  if (!error_) {
    if (auto st = CloseLocked(); !st && !error_) error_ = st.error();
  }
  if (error_) return std::unexpected(*error_);
  return util::Ok();
}

Status PackWriter::Finish() {
  util::MutexLock lock(mu_);
  if (!error_) {
    if (auto st = CloseLocked(); !st && !error_) error_ = st.error();
  }
  while (!(pending_.empty() && uploading_ == 0) && !error_.has_value()) cv_.Wait(mu_);
  // Even on error, wait for uploads in progress so no thread touches freed state.
  while (uploading_ != 0) cv_.Wait(mu_);
  if (error_) return std::unexpected(*error_);
  return util::Ok();
}

// ---- index writer ------------------------------------------------------------------------------

Status IndexWriter::Add(IndexPack&& pack) {
  util::MutexLock lock(mu_);
  pending_blobs_ += pack.blobs.size();
  pending_.push_back(std::move(pack));
  if (pending_.size() >= per_file_ || pending_blobs_ >= blobs_per_file_) return WriteLocked();
  return util::Ok();
}

Status IndexWriter::Flush() {
  util::MutexLock lock(mu_);
  if (pending_.empty()) return util::Ok();
  return WriteLocked();
}

Status IndexWriter::WriteLocked() {
  std::vector<IndexPack> packs = std::move(pending_);
  pending_.clear();
  // Index writes are rare (every 64 packs or 64k blobs); holding the lock keeps the file order
  // simple.
  auto r = repo_->WriteIndex(packs);
  if (!r) {
    pending_ = std::move(packs);
    return std::unexpected(r.error());
  }
  pending_blobs_ = 0;
  files_.push_back(r->first);
  bytes_ += r->second;
  return util::Ok();
}

uint64_t IndexWriter::bytes_written() const {
  util::MutexLock lock(mu_);
  return bytes_;
}

std::vector<ObjectId> IndexWriter::files() const {
  util::MutexLock lock(mu_);
  return files_;
}

}  // namespace mlvault::vault
