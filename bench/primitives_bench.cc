// Throughput of the per-chunk hot path: content-defined chunking, AES-256-GCM seal/open,
// HMAC-SHA-256 chunk ids, SHA-256. Single thread, in-memory, random data.
//   build/bench/mlvault_primitives_bench [MiB=256] [repeats=3]
// Prints the best of `repeats` runs per primitive in MB/s (10^6 bytes per second).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "chunking/chunker.h"
#include "crypto/crypto.h"
#include "util/random.h"

using namespace mlvault;

static double BestMBps(size_t bytes, int repeats, const std::function<void()>& fn) {
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, bytes / s / 1e6);
  }
  return best;
}

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  if (mib == 0 || repeats <= 0) {
    std::fprintf(stderr, "usage: %s [MiB>0] [repeats>0]\n", argv[0]);
    return 2;
  }
  const size_t n = mib << 20;
  util::Bytes data = util::RandomBytes(n);
  util::ByteView view(data);
  volatile size_t sink = 0;

  chunking::ChunkerParams params;  // vault defaults: 256 KiB / 1 MiB / 4 MiB
  params.seed = 0x1234;
  chunking::FastCdc cdc(params);
  size_t chunks = 0;
  double cdc_mbps = BestMBps(n, repeats, [&] {
    chunks = 0;
    for (size_t pos = 0; pos < n;) {
      pos += cdc.NextBoundary(view.subspan(pos));
      ++chunks;
    }
    sink = sink + chunks;
  });

  crypto::Key key = crypto::Key::Random();
  constexpr size_t kChunk = 1 << 20;
  util::Bytes sealed;
  sealed.reserve(kChunk + crypto::kSealOverhead);
  double seal_mbps = BestMBps(n, repeats, [&] {
    for (size_t pos = 0; pos < n; pos += kChunk) {
      sealed.clear();
      crypto::SealAppend(key, view.subspan(pos, std::min(kChunk, n - pos)), {}, sealed);
    }
    sink = sink + sealed[0];
  });
  util::Bytes one = crypto::Seal(key, view.first(kChunk));
  double open_mbps = BestMBps(n, repeats, [&] {
    for (size_t pos = 0; pos < n; pos += kChunk) sink = sink + crypto::Open(key, one)->size();
  });
  double hmac_mbps = BestMBps(n, repeats, [&] {
    for (size_t pos = 0; pos < n; pos += kChunk) {
      sink = sink + crypto::HmacSha256(key, view.subspan(pos, std::min(kChunk, n - pos)))[0];
    }
  });
  double sha_mbps = BestMBps(n, repeats, [&] {
    for (size_t pos = 0; pos < n; pos += kChunk) {
      sink = sink + crypto::Sha256(view.subspan(pos, std::min(kChunk, n - pos)))[0];
    }
  });

  // Small objects (tree blobs, index entries): per-call overhead dominates.
  constexpr size_t kSmall = 4096;
  const size_t small_total = std::min<size_t>(n, 64 << 20);
  double seal_small = BestMBps(small_total, repeats, [&] {
    for (size_t pos = 0; pos + kSmall <= small_total; pos += kSmall) {
      sealed.clear();
      crypto::SealAppend(key, view.subspan(pos, kSmall), {}, sealed);
    }
    sink = sink + sealed[0];
  });
  double hmac_small = BestMBps(small_total, repeats, [&] {
    for (size_t pos = 0; pos + kSmall <= small_total; pos += kSmall) {
      sink = sink + crypto::HmacSha256(key, view.subspan(pos, kSmall))[0];
    }
  });

  std::printf("data: %zu MiB random, best of %d, single thread\n", mib, repeats);
  std::printf("fastcdc (256K/1M/4M)  %8.0f MB/s  (%zu chunks, mean %.0f KiB)\n", cdc_mbps, chunks,
              n / 1024.0 / chunks);
  std::printf("aes-256-gcm seal 1MiB %8.0f MB/s\n", seal_mbps);
  std::printf("aes-256-gcm open 1MiB %8.0f MB/s\n", open_mbps);
  std::printf("hmac-sha256 1MiB      %8.0f MB/s\n", hmac_mbps);
  std::printf("sha256 1MiB           %8.0f MB/s\n", sha_mbps);
  std::printf("aes-256-gcm seal 4KiB %8.0f MB/s  (%.0f ns/call)\n", seal_small, kSmall / seal_small * 1e3);
  std::printf("hmac-sha256 4KiB      %8.0f MB/s  (%.0f ns/call)\n", hmac_small, kSmall / hmac_small * 1e3);
  return 0;
}
