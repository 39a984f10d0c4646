#include "vault/compress.h"

#include <zstd.h>

#include <algorithm>
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
  if (in.size() >= kSampleThreshold && !SampleCompresses(in)) return Compression::kNone;
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
