// SameData: which bytes two extent lists of a file hold in common (btrfs_changes.h).
#include "vault/btrfs_changes.h"

#include <gtest/gtest.h>

namespace mlvault::vault::btrfs {
namespace {

constexpr uint64_t kM = 1u << 20;

Extent Ext(uint64_t offset, uint64_t length, uint64_t bytenr, uint64_t extent_offset,
           uint64_t generation, uint32_t kind = 1) {
  return Extent{offset, length, bytenr, extent_offset, generation, kind};
}

TEST(BtrfsSameData, IdenticalListsAreTheSameEverywhereTheyHoldData) {
  std::vector<Extent> a = {Ext(0, 4 * kM, 100 * kM, 0, 7), Ext(8 * kM, 2 * kM, 300 * kM, 0, 9)};
  EXPECT_EQ(SameData(a, a), (std::vector<ByteRange>{{0, 4 * kM}, {8 * kM, 10 * kM}}));
}

TEST(BtrfsSameData, AnOverwriteInTheMiddleSplitsTheExtent) {
  // One extent, then a 1 MiB write at 2 MiB: the parts before and after still point into the
  // old extent at the same places.
  std::vector<Extent> before = {Ext(0, 8 * kM, 100 * kM, 0, 7)};
  std::vector<Extent> now = {Ext(0, 2 * kM, 100 * kM, 0, 7), Ext(2 * kM, kM, 500 * kM, 0, 12),
                             Ext(3 * kM, 5 * kM, 100 * kM, 3 * kM, 7)};
  EXPECT_EQ(SameData(before, now), (std::vector<ByteRange>{{0, 2 * kM}, {3 * kM, 8 * kM}}));
}

TEST(BtrfsSameData, AnExtentClonedToAnotherOffsetIsNotTheSame) {
  // A reflink of the old extent's first MiB to offset 4 MiB: the same extent and generation,
  // but other bytes of it at that offset.
  std::vector<Extent> before = {Ext(0, 8 * kM, 100 * kM, 0, 7)};
  std::vector<Extent> now = {Ext(0, 4 * kM, 100 * kM, 0, 7), Ext(4 * kM, kM, 100 * kM, 0, 7),
                             Ext(5 * kM, 3 * kM, 100 * kM, 5 * kM, 7)};
  EXPECT_EQ(SameData(before, now), (std::vector<ByteRange>{{0, 4 * kM}, {5 * kM, 8 * kM}}));
}

TEST(BtrfsSameData, ReusedSpaceAndWrittenPreallocationAreNotTheSame) {
  // The same address created by a later transaction (space freed and reused), and a
  // preallocated extent since written in place (kind 2 -> 1).
  std::vector<Extent> before = {Ext(0, kM, 100 * kM, 0, 7), Ext(kM, kM, 200 * kM, 0, 7, 2)};
  std::vector<Extent> now = {Ext(0, kM, 100 * kM, 0, 15), Ext(kM, kM, 200 * kM, 0, 7, 1)};
  EXPECT_TRUE(SameData(before, now).empty());
  // A compressed extent differs from an uncompressed one at the same address.
  EXPECT_TRUE(SameData({Ext(0, kM, 100 * kM, 0, 7, 1)}, {Ext(0, kM, 100 * kM, 0, 7, 1 | 1 << 8)})
                  .empty());
}

TEST(BtrfsSameData, HolesAndMissingRangesAreNotTheSame) {
  std::vector<Extent> before = {Ext(0, 4 * kM, 100 * kM, 0, 7)};
  // A hole punched at 1..2 MiB and the file truncated at 3 MiB.
  std::vector<Extent> now = {Ext(0, kM, 100 * kM, 0, 7), Ext(2 * kM, kM, 100 * kM, 2 * kM, 7)};
  EXPECT_EQ(SameData(before, now), (std::vector<ByteRange>{{0, kM}, {2 * kM, 3 * kM}}));
  EXPECT_TRUE(SameData({}, now).empty());
  EXPECT_TRUE(SameData(before, {}).empty());
}

}  // namespace
}  // namespace mlvault::vault::btrfs
