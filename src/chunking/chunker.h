// Content-defined chunking (FastCDC with normalized chunking, Xia et al., USENIX ATC 2016).
//
// A chunker is an immutable table plus parameters: thread-safe, cheap to share. The caller
// buffers input and asks where the next chunk ends. Boundaries depend only on the bytes (and
// the seed), so an insertion early in a file moves only the chunks around it: a file with a
// shifted header still deduplicates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "util/bytes.h"
#include "util/error.h"

namespace mlvault::chunking {

struct ChunkerParams {
  uint32_t min_size = 256 * 1024;
  uint32_t avg_size = 1024 * 1024;   // power of two
  uint32_t max_size = 4 * 1024 * 1024;
  // Seeds the gear table, so chunk boundaries (and hence chunk sizes) reveal nothing about
  // content to someone who does not hold the vault key. 0 = the fixed public table.
  uint64_t seed = 0;

  // kInvalidArgument unless 64 <= min < avg < max <= 64 MiB and avg is a power of two.
  util::Status Validate() const;
};

class FastCdc {
 public:
  explicit FastCdc(const ChunkerParams& params);

  // Length of the next chunk at the start of `data`.
  // Contract: the caller passes at least max_size bytes unless `data` holds the rest of the
  // stream. Returns data.size() when data.size() <= min_size; never more than max_size.
  size_t NextBoundary(util::ByteView data) const;

  const ChunkerParams& params() const { return params_; }

 private:
  ChunkerParams params_;
  uint64_t mask_small_;  // harder to match before avg_size
  uint64_t mask_large_;  // easier to match after avg_size
  std::array<uint64_t, 256> gear_;
};

}  // namespace mlvault::chunking
