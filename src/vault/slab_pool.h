// Fixed-size buffers shared by a backup's reader and the compute jobs that cut chunks from them.
// The pool bounds the memory of a backup: a reader blocks in Acquire until a slab is free.
//
// Thread-safety: SlabPool is thread-safe; a Slab is owned by whoever holds its shared_ptr.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "util/mutex.h"

namespace mlvault::vault {

// ---- slabs: fixed buffers shared by a reader and the compute jobs cutting chunks from them --

class SlabPool;
struct Slab {
  std::unique_ptr<uint8_t[]> data;
  SlabPool* pool = nullptr;
};

class SlabPool {
 public:
  SlabPool(size_t count, size_t size) : size_(size), free_(count) {}
  size_t size() const { return size_; }
  // Blocks until a slab is free. The slab returns to the pool when the last reference drops.
  std::shared_ptr<Slab> Acquire() {
    std::unique_ptr<uint8_t[]> buf;
    {
      util::MutexLock lock(mu_);
      while (free_ == 0) cv_.Wait(mu_);
      --free_;
      if (!spare_.empty()) {
        buf = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    if (!buf) buf.reset(new uint8_t[size_]);
    auto* s = new Slab{std::move(buf), this};
    return std::shared_ptr<Slab>(s, [](Slab* s) {
      s->pool->Release(std::move(s->data));
      delete s;
    });
  }

 private:
  void Release(std::unique_ptr<uint8_t[]> buf) {
    util::MutexLock lock(mu_);
    spare_.push_back(std::move(buf));
    ++free_;
    cv_.NotifyOne();
  }
  const size_t size_;
  util::Mutex mu_;
  util::CondVar cv_;  // waited on with mu_: free_ grew
  size_t free_ MLV_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<uint8_t[]>> spare_ MLV_GUARDED_BY(mu_);
};

}  // namespace mlvault::vault
