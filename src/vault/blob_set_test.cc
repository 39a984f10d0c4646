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

// The raw lists (keep_raw) give back every pack's list exactly as added, duplicates included,
// though a first location is held as its entry and only a duplicate whole.
TEST(MasterIndexRaw, ListsComeBackAsAddedWithDuplicates) {
  std::mt19937_64 rng(11);
  auto entry = [&](uint32_t offset, BlobType type) {
    BlobEntry e;
    e.id = RandomId(rng);
    e.type = type;
    e.comp = offset % 2 ? Compression::kZstd : Compression::kNone;
    e.offset = offset;
    e.stored_len = 100 + offset;
    e.raw_len = 200 + offset;
    return e;
  };
  IndexPack a{ObjectId{1}, {}}, b{ObjectId{2}, {}}, a_again{ObjectId{1}, {}};
  for (uint32_t i = 0; i < 300; ++i) a.blobs.push_back(entry(i * 400, BlobType::kData));
  for (uint32_t i = 0; i < 50; ++i) b.blobs.push_back(entry(i * 400, BlobType::kTree));
  // Pack 2 also holds copies of pack 1's blobs 7 and 9 (at its own offsets), and pack 1 is
  // listed again by a second index file, with one blob of its own.
  for (uint32_t i : {7u, 9u}) {
    BlobEntry dup = a.blobs[i];
    dup.offset = 50 * 400 + i;
    b.blobs.push_back(dup);
  }
  a_again.blobs.push_back(a.blobs[0]);
  MasterIndex index(/*keep_raw=*/true);
  index.AddPack(a);
  index.AddPack(b);
  index.AddPack(a_again);
  index.Finalize();
  EXPECT_EQ(index.blob_count(), 350u);
  ASSERT_EQ(index.raw_count(), 3u);
  EXPECT_EQ(index.packs().size(), 2u);
  EXPECT_EQ(index.RawPackAt(0), a);
  EXPECT_EQ(index.RawPackAt(1), b);
  EXPECT_EQ(index.RawPackAt(2), a_again);
  EXPECT_EQ(index.RawPack(2), ObjectId{1});
  // A duplicate's entry is its own location; the index still answers with the first.
  std::vector<BlobEntry> seen;
  std::vector<MasterIndex::RawRef> refs;
  index.ForEachRaw(1, [&](MasterIndex::RawRef ref, const BlobEntry& e) {
    refs.push_back(ref);
    seen.push_back(e);
  });
  ASSERT_EQ(seen.size(), 52u);
  EXPECT_EQ(seen[50].offset, 50u * 400 + 7);
  EXPECT_EQ(index.RawEntry(refs[51]), b.blobs[51]);
  EXPECT_EQ(index.Find(a.blobs[7].id)->offset, 7u * 400);
  EXPECT_FALSE(index.IsTreePack(0));
  EXPECT_FALSE(index.IsTreePack(1));  // it holds data blobs' copies too

  // Without keep_raw nothing is kept.
  MasterIndex lean(/*keep_raw=*/false);
  lean.AddPack(a);
  EXPECT_EQ(lean.raw_count(), 0u);
  EXPECT_EQ(lean.blob_count(), 300u);
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
