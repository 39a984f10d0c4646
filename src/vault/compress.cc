#include "vault/compress.h"

#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace mlvault::vault {
namespace {

// Inputs at least this large are sampled before a full compression pass.
constexpr size_t kSampleThreshold = 64 * 1024;
constexpr size_t kSampleSize = 8 * 1024;
// The sample must shrink below 95 % (level 1) to be worth compressing at all.
constexpr double kSampleRatio = 0.95;
// A compressed blob is kept only below 97 % of the input: 3 % saves less than it costs to
// decompress on every restore.
constexpr double kKeepRatio = 0.97;

struct CctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* ThreadCctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> c(ZSTD_createCCtx());
  return c.get();
}
ZSTD_DCtx* ThreadDctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> c(ZSTD_createDCtx());
  return c.get();
}

// Smaller inputs get a cheaper test first: whether their bytes are spread as evenly as random
// bytes are (encrypted, already compressed or random data). Up to kSpreadWindow bytes from each
// of the start, the middle and the end are counted, and the sum of the squared counts compared
// with its expectation for uniform bytes, n + n(n-1)/256: text, code, numbers and repeated
// records all have far fewer distinct bytes (a 64-symbol alphabet alone gives ~4x). The test
// costs a few percent of compressing such text, and saves ~85 % of zstd's time on data that
// cannot shrink: at 1M small files of random bytes zstd was a fifth of a backup's CPU. (A
// random block repeated over more than the windows would be stored uncompressed; small files
// are rarely made so.)
constexpr size_t kSpreadWindow = 128;
constexpr double kSpreadFactor = 1.25;

bool BytesLookRandom(ByteView in) {
  // At most 3 * kSpreadWindow bytes: 16-bit counts suffice. The sum of squares grows as each
  // byte is counted ((c+1)^2 = c^2 + 2c + 1): no pass over the 256 counts afterwards.
  uint16_t counts[256] = {};
  uint64_t squares = 0;
  size_t n = 0;
  auto count = [&](const uint8_t* p, size_t len) {
    for (size_t i = 0; i < len; ++i) squares += 2u * counts[p[i]]++ + 1;
    n += len;
  };
  if (in.size() <= 3 * kSpreadWindow) {
    count(in.data(), in.size());
  } else {
    count(in.data(), kSpreadWindow);
    count(in.data() + (in.size() - kSpreadWindow) / 2, kSpreadWindow);
    count(in.data() + in.size() - kSpreadWindow, kSpreadWindow);
  }
  const double uniform = static_cast<double>(n) + static_cast<double>(n) * (n - 1) / 256.0;
  return static_cast<double>(squares) < kSpreadFactor * uniform;
}

bool SampleCompresses(ByteView in) {
  thread_local Bytes buf(ZSTD_compressBound(kSampleSize));
  size_t start = (in.size() - kSampleSize) / 2;
  size_t n =
      ZSTD_compressCCtx(ThreadCctx(), buf.data(), buf.size(), in.data() + start, kSampleSize, 1);
  if (ZSTD_isError(n)) return true;  // let the full pass decide
  return static_cast<double>(n) < kSampleRatio * kSampleSize;
}

}  // namespace

Compression MaybeCompress(ByteView in, int level, ByteView& out) {
  out = in;
  if (in.size() < 64) return Compression::kNone;
  if (in.size() >= kSampleThreshold ? !SampleCompresses(in) : BytesLookRandom(in))
    return Compression::kNone;
  // Output larger than kKeepRatio of the input is useless: give zstd only that much room (it
  // fails early instead of finishing), and keep the buffer uninitialised (no memset per chunk).
  const size_t limit = static_cast<size_t>(kKeepRatio * static_cast<double>(in.size()));
  thread_local std::unique_ptr<uint8_t[]> buf;
  thread_local size_t cap = 0;
  if (cap < limit) {
    // Sized once for the largest chunk, so the buffer is allocated once per thread.
    cap = std::max<size_t>(limit, 4u << 20);
    buf.reset(new uint8_t[cap]);
  }
  size_t n = ZSTD_compressCCtx(ThreadCctx(), buf.get(), limit, in.data(), in.size(), level);
  if (ZSTD_isError(n) || n >= limit) return Compression::kNone;
  out = ByteView(buf.get(), n);
  return Compression::kZstd;
}

util::Status Decompress(ByteView in, size_t raw_len, Bytes& out) {
  unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR ||
      (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_len)) {
    return util::Corruption("compressed blob has a bad frame header");
  }
  out.resize(raw_len);
  size_t n = ZSTD_decompressDCtx(ThreadDctx(), out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) {
    return util::Corruption(std::string("cannot decompress blob: ") + ZSTD_getErrorName(n));
  }
  if (n != raw_len) return util::Corruption("decompressed blob has the wrong length");
  return util::Ok();
}

}  // namespace mlvault::vault
