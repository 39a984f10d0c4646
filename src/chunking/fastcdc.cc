#include "chunking/chunker.h"

#include <algorithm>
#include <bit>
#include <string>

namespace mlvault::chunking {
namespace {

// Normalization level 2 of the paper: the mask before avg_size has two more bits (cuts are
// 4x rarer), the mask after it two fewer (4x likelier), which narrows the size distribution.
constexpr int kNormalization = 2;
constexpr uint32_t kMaxAllowed = 64u * 1024 * 1024;

// A mask of the `bits` highest bits. The gear hash shifts left once per byte, so bit k of the
// fingerprint depends on the last k+1 bytes: the high bits see a 64-byte window, the low bits
// only a few bytes (the paper spreads mask bits for the same reason).
uint64_t TopBits(int bits) {
  bits = std::clamp(bits, 1, 63);
  return ~uint64_t{0} << (64 - bits);
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

util::Status ChunkerParams::Validate() const {
  auto bad = [&](std::string why) {
    return util::InvalidArgument("chunker parameters min=" + std::to_string(min_size) + " avg=" +
                                 std::to_string(avg_size) + " max=" + std::to_string(max_size) + ": " + why);
  };
  if (min_size < 64) return bad("min_size must be at least 64");
  if (!(min_size < avg_size && avg_size < max_size)) return bad("need min_size < avg_size < max_size");
  if (max_size > kMaxAllowed) return bad("max_size must be at most 64 MiB");
  if (!std::has_single_bit(avg_size)) return bad("avg_size must be a power of two");
  return util::Ok();
}

FastCdc::FastCdc(const ChunkerParams& params) : params_(params) {
  const int avg_bits = std::bit_width(std::max<uint32_t>(params.avg_size, 2)) - 1;
  mask_small_ = TopBits(avg_bits + kNormalization);
  mask_large_ = TopBits(avg_bits - kNormalization);
  uint64_t state = params.seed;
  for (auto& g : gear_) g = SplitMix64(state);
}

size_t FastCdc::NextBoundary(util::ByteView data) const {
  const size_t n = data.size();
  if (n <= params_.min_size) return n;
  const size_t end = std::min<size_t>(n, params_.max_size);
  const size_t normal = std::min<size_t>(params_.avg_size, end);
  const uint8_t* p = data.data();
  const uint64_t* gear = gear_.data();
  const uint64_t ms = mask_small_, ml = mask_large_;
  uint64_t fp = 0;
  size_t i = params_.min_size;
  // Cut points before min_size are skipped entirely (not hashed): the paper's "cut-point
  // skipping", which is where most of FastCDC's speed comes from.
  for (; i < normal; ++i) {
    fp = (fp << 1) + gear[p[i]];
    if ((fp & ms) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + gear[p[i]];
    if ((fp & ml) == 0) return i + 1;
  }
  return end;
}

}  // namespace mlvault::chunking
