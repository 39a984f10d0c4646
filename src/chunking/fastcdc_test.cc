#include <gtest/gtest.h>

#include <string_view>
#include <unordered_set>
#include <vector>

#include "chunking/chunker.h"

namespace mlvault::chunking {
namespace {

using util::Bytes;
using util::ByteView;

Bytes RandomBuffer(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < n; i += 8) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    for (size_t j = 0; j < 8 && i + j < n; ++j) b[i + j] = static_cast<uint8_t>(s >> (8 * j));
  }
  return b;
}

// Chunk lengths of a whole buffer, feeding the chunker the rest of the stream each time.
std::vector<size_t> Split(const FastCdc& cdc, ByteView data) {
  std::vector<size_t> out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = cdc.NextBoundary(data.subspan(pos));
    EXPECT_GT(n, 0u);
    if (n == 0) break;
    out.push_back(n);
    pos += n;
  }
  return out;
}

std::vector<size_t> Offsets(const std::vector<size_t>& lens) {
  std::vector<size_t> o;
  size_t pos = 0;
  for (size_t n : lens) o.push_back(pos += n);
  return o;
}

constexpr ChunkerParams kSmall{.min_size = 2048, .avg_size = 8192, .max_size = 65536, .seed = 0};

TEST(FastCdc, SizesWithinBoundsAndSumToInput) {
  Bytes data = RandomBuffer(8 << 20, 1);
  for (const ChunkerParams& p : {kSmall, ChunkerParams{}, ChunkerParams{.min_size = 64, .avg_size = 256, .max_size = 1024}}) {
    FastCdc cdc(p);
    auto lens = Split(cdc, data);
    ASSERT_GT(lens.size(), 1u);
    size_t sum = 0;
    for (size_t i = 0; i < lens.size(); ++i) {
      sum += lens[i];
      EXPECT_LE(lens[i], p.max_size);
      if (i + 1 < lens.size()) {
        EXPECT_GE(lens[i], p.min_size) << "chunk " << i;
      }
    }
    EXPECT_EQ(sum, data.size());
    // Normalized chunking keeps the mean near avg_size (min_size is skipped, so somewhat above).
    double mean = static_cast<double>(data.size()) / lens.size();
    EXPECT_GT(mean, 0.75 * p.avg_size) << p.avg_size;
    EXPECT_LT(mean, 2.0 * p.avg_size) << p.avg_size;
  }
}

TEST(FastCdc, Deterministic) {
  Bytes data = RandomBuffer(4 << 20, 2);
  FastCdc a(kSmall), b(kSmall);
  EXPECT_EQ(Split(a, data), Split(b, data));
}

TEST(FastCdc, ShortAndEmptyInput) {
  FastCdc cdc(kSmall);
  Bytes data = RandomBuffer(kSmall.min_size, 3);
  EXPECT_EQ(cdc.NextBoundary({}), 0u);
  EXPECT_EQ(cdc.NextBoundary(ByteView(data).first(10)), 10u);
  EXPECT_EQ(cdc.NextBoundary(data), data.size());
}

TEST(FastCdc, ConstantDataCutsAtMax) {
  // No content-defined cut in a run of zeros: chunks are max_size, still bounded.
  Bytes zeros(300000, 0);
  FastCdc cdc(kSmall);
  auto lens = Split(cdc, zeros);
  ASSERT_EQ(lens.size(), 5u);
  for (size_t i = 0; i + 1 < lens.size(); ++i) {
    EXPECT_EQ(lens[i], kSmall.max_size);
  }
}

TEST(FastCdc, StreamingWindowOfMaxSizeGivesSameChunks) {
  // The caller contract: a window of max_size bytes (not the whole rest) suffices.
  Bytes data = RandomBuffer(3 << 20, 4);
  FastCdc cdc(kSmall);
  std::vector<size_t> windowed;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t avail = std::min<size_t>(kSmall.max_size, data.size() - pos);
    size_t n = cdc.NextBoundary(ByteView(data).subspan(pos, avail));
    windowed.push_back(n);
    pos += n;
  }
  EXPECT_EQ(windowed, Split(cdc, data));
}

TEST(FastCdc, ShiftedHeaderStillDeduplicates) {
  Bytes original = RandomBuffer(64 << 20, 5);
  Bytes shifted = RandomBuffer(75, 6);
  shifted.insert(shifted.end(), original.begin(), original.end());
  FastCdc cdc(ChunkerParams{});
  std::unordered_set<std::string_view> known;
  size_t pos = 0;
  for (size_t n : Split(cdc, original)) {
    known.insert(util::AsString(ByteView(original).subspan(pos, n)));
    pos += n;
  }
  size_t shared = 0;
  pos = 0;
  auto lens = Split(cdc, shifted);
  for (size_t n : lens) {
    if (known.contains(util::AsString(ByteView(shifted).subspan(pos, n)))) shared += n;
    pos += n;
  }
  double ratio = static_cast<double>(shared) / shifted.size();
  EXPECT_GT(ratio, 0.90) << "only " << ratio << " of bytes in unchanged chunks, " << lens.size() << " chunks";
}

TEST(FastCdc, SeedChangesBoundaries) {
  Bytes data = RandomBuffer(8 << 20, 7);
  ChunkerParams p1 = kSmall, p2 = kSmall;
  p1.seed = 1;
  p2.seed = 2;
  auto o0 = Offsets(Split(FastCdc(kSmall), data));
  auto o1 = Offsets(Split(FastCdc(p1), data));
  auto o2 = Offsets(Split(FastCdc(p2), data));
  EXPECT_NE(o0, o1);
  EXPECT_NE(o1, o2);
  std::unordered_set<size_t> s1(o1.begin(), o1.end());
  size_t common = 0;
  for (size_t o : o2) common += s1.contains(o);
  // Independent gear tables give (almost) unrelated cut points; only the end is always shared.
  EXPECT_LT(common, o2.size() / 10) << common << " of " << o2.size();
}

TEST(FastCdc, ValidateRejectsBadParams) {
  EXPECT_TRUE(ChunkerParams{}.Validate().has_value());
  EXPECT_TRUE(kSmall.Validate().has_value());
  auto invalid = [](ChunkerParams p) {
    auto st = p.Validate();
    ASSERT_FALSE(st.has_value()) << p.min_size << "/" << p.avg_size << "/" << p.max_size;
    EXPECT_EQ(st.error().code(), util::ErrorCode::kInvalidArgument);
  };
  invalid({.min_size = 32, .avg_size = 256, .max_size = 1024});
  invalid({.min_size = 256, .avg_size = 256, .max_size = 1024});
  invalid({.min_size = 512, .avg_size = 256, .max_size = 1024});
  invalid({.min_size = 64, .avg_size = 1024, .max_size = 1024});
  invalid({.min_size = 64, .avg_size = 1000, .max_size = 4096});
  invalid({.min_size = 1024, .avg_size = 1 << 20, .max_size = (64u << 20) + 1});
  invalid({.min_size = 0, .avg_size = 0, .max_size = 0});
}

}  // namespace
}  // namespace mlvault::chunking
