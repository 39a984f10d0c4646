// BlobSet: one bit per indexed blob plus a side set for ids the index does not hold.
// BlobIdSet: a flat table of ids, grown shard by shard.
#include "vault/blob_set.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace mlvault::vault {
namespace {

BlobId RandomId(std::mt19937_64& rng) {
  BlobId id;
  for (auto& b : id) b = static_cast<uint8_t>(rng());
  return id;
}

TEST(BlobSet, MarksIndexedAndUnindexedIdsOnce) {
  std::mt19937_64 rng(7);
  std::vector<BlobId> ids;
  IndexPack pack{ObjectId{}, {}};
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(RandomId(rng));
    BlobEntry e;
    e.id = ids.back();
    e.offset = static_cast<uint32_t>(i * 10);
    e.stored_len = 10;
    e.raw_len = 10;
    pack.blobs.push_back(e);
  }
  // A duplicate entry (the same blob in a second pack) is one position.
  IndexPack second{ObjectId{1}, {pack.blobs[3]}};
  MasterIndex index(/*keep_raw=*/false);
  index.AddPack(pack);
  index.AddPack(second);
  index.Finalize();
  ASSERT_EQ(index.blob_count(), 1000u);
  // The index grew past its first table without a Reserve; every id is found, and the
  // duplicate keeps its first location.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_NE(index.Find(ids[i]), nullptr) << i;
    EXPECT_EQ(index.Find(ids[i])->offset, static_cast<uint32_t>(i * 10)) << i;
    EXPECT_EQ(index.Find(ids[i])->pack, 0u) << i;
  }

  BlobSet set(index);
  EXPECT_EQ(set.size(), 0u);
  std::set<size_t> want;
  for (int i = 0; i < 1000; i += 3) {
    EXPECT_TRUE(set.Insert(ids[i]));
    EXPECT_FALSE(set.Insert(ids[i]));  // already there
    want.insert(index.Position(ids[i]));
  }
  BlobId stranger = RandomId(rng);
  EXPECT_EQ(index.Position(stranger), MasterIndex::kNoPosition);
  EXPECT_FALSE(set.Contains(stranger));
  EXPECT_TRUE(set.Insert(stranger));
  EXPECT_FALSE(set.Insert(stranger));
  EXPECT_TRUE(set.Contains(stranger));

  EXPECT_EQ(set.indexed_count(), want.size());
  EXPECT_EQ(set.size(), want.size() + 1);
  ASSERT_EQ(set.unindexed().size(), 1u);
  EXPECT_EQ(*set.unindexed().begin(), stranger);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(set.Contains(ids[i]), i % 3 == 0) << i;

  // Iteration visits exactly the indexed members, by position, and positions map back to ids.
  std::vector<size_t> seen;
  set.ForEachIndexed([&](size_t pos) { seen.push_back(pos); });
  EXPECT_EQ(seen, std::vector<size_t>(want.begin(), want.end()));
  for (size_t pos : seen) {
    EXPECT_TRUE(set.Contains(index.IdAt(pos)));
    EXPECT_EQ(index.Find(index.IdAt(pos)), &index.LocationAt(pos));
  }
}

TEST(BlobSet, EmptyIndexHoldsOnlyUnindexedIds) {
  MasterIndex index(false);
  index.Finalize();
  BlobSet set(index);
  BlobId id{};
  id[0] = 9;
  EXPECT_FALSE(set.Contains(id));
  EXPECT_TRUE(set.Insert(id));
  EXPECT_TRUE(set.Contains(id));
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(set.indexed_count(), 0u);
  size_t calls = 0;
  set.ForEachIndexed([&](size_t) { ++calls; });
  EXPECT_EQ(calls, 0u);
}

TEST(BlobIdSet, HoldsEveryInsertedIdOnceAcrossGrowth) {
  std::mt19937_64 rng(11);
  BlobIdSet set;
  std::set<BlobId> want;
  std::vector<BlobId> ids;
  // Enough ids that every shard grows several times.
  for (int i = 0; i < 50000; ++i) ids.push_back(RandomId(rng));
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(set.Insert(ids[i]), want.insert(ids[i]).second) << i;
    if (i % 7 == 0) {
      // Re-inserting an earlier id (a chunk seen twice in a run) is refused.
      const BlobId& again = ids[i / 2];
      EXPECT_FALSE(set.Insert(again));
    }
  }
  EXPECT_EQ(set.size(), want.size());
  for (const auto& id : ids) EXPECT_TRUE(set.Contains(id));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(set.Contains(RandomId(rng)));
  // Each shard is at most 75% full (so never full), and ~60% or more once it has grown.
  EXPECT_GE(set.bytes(), want.size() * sizeof(BlobId) * 4 / 3);
  EXPECT_LE(set.bytes(), want.size() * sizeof(BlobId) * 2 + 256 * 16 * sizeof(BlobId));
}

TEST(BlobIdSet, IdsSharingTheirFirstBytesOrAllZeroAreDistinct) {
  BlobIdSet set;
  BlobId zero{};
  EXPECT_FALSE(set.Contains(zero));
  EXPECT_TRUE(set.Insert(zero));
  EXPECT_FALSE(set.Insert(zero));
  EXPECT_TRUE(set.Contains(zero));
  // Ids whose first eight bytes are zero (the word compared first), equal in the bytes that
  // pick the shard and the slot, differing only at the end: every one is its own member.
  std::vector<BlobId> ids;
  for (int i = 1; i <= 40; ++i) {
    BlobId id{};
    id[31] = static_cast<uint8_t>(i);
    ids.push_back(id);
    EXPECT_TRUE(set.Insert(id)) << i;
  }
  for (const auto& id : ids) {
    EXPECT_TRUE(set.Contains(id));
    EXPECT_FALSE(set.Insert(id));
  }
  BlobId other{};
  other[31] = 41;
  EXPECT_FALSE(set.Contains(other));
  EXPECT_EQ(set.size(), 41u);
}

}  // namespace
}  // namespace mlvault::vault
