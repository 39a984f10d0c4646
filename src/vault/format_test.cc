#include "vault/format.h"

#include <gtest/gtest.h>

#include <random>

namespace mlvault::vault {
namespace {

BlobId IdOf(uint8_t seed) {
  BlobId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(seed * 31 + i);
  return id;
}

TEST(Varint, RoundTripsEdgeValues) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     uint64_t{1} << 35, UINT64_MAX}) {
    Bytes b;
    PutVarint(b, v);
    Decoder d(b);
    EXPECT_EQ(d.Varint(), v);
    EXPECT_TRUE(d.ok());
    EXPECT_TRUE(d.at_end());
  }
  for (int64_t v :
       {int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MIN, INT64_MAX, int64_t{-1700000000}}) {
    Bytes b;
    PutSvarint(b, v);
    Decoder d(b);
    EXPECT_EQ(d.Svarint(), v);
    EXPECT_TRUE(d.ok());
  }
}

TEST(Varint, RejectsOverlongOverflowAndTruncation) {
  {
    Bytes b{0x80, 0x00};  // overlong zero
    Decoder d(b);
    d.Varint();
    EXPECT_FALSE(d.ok());
  }
  {
    Bytes b(10, 0xff);
    b.push_back(0x01);  // 11 bytes
    Decoder d(b);
    d.Varint();
    EXPECT_FALSE(d.ok());
  }
  {
    Bytes b{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};  // bit 64 set
    Decoder d(b);
    d.Varint();
    EXPECT_FALSE(d.ok());
  }
  {
    Bytes b{0x80};
    Decoder d(b);
    d.Varint();
    EXPECT_FALSE(d.ok());
    EXPECT_EQ(d.Varint(), 0u);  // sticky failure
  }
}

std::vector<BlobEntry> SampleBlobs() {
  std::vector<BlobEntry> v;
  uint32_t off = 0;
  for (uint8_t i = 0; i < 5; ++i) {
    BlobEntry e;
    e.type = i % 2 ? BlobType::kTree : BlobType::kData;
    e.comp = i % 3 ? Compression::kZstd : Compression::kNone;
    e.raw_len = 1000 + i * 77;
    e.stored_len = e.comp == Compression::kNone ? e.raw_len + kSealOverhead : 500 + i;
    e.offset = off;
    off += e.stored_len;
    e.id = IdOf(i);
    v.push_back(e);
  }
  return v;
}

TEST(PackHeader, RoundTrip) {
  auto blobs = SampleBlobs();
  Bytes enc = EncodePackHeader(blobs);
  auto dec = DecodePackHeader(enc, 1 << 20);
  ASSERT_TRUE(dec) << dec.error().ToString();
  EXPECT_EQ(*dec, blobs);
}

TEST(PackHeader, RejectsBlobsPastTheDataArea) {
  auto blobs = SampleBlobs();
  Bytes enc = EncodePackHeader(blobs);
  uint64_t total = blobs.back().offset + blobs.back().stored_len;
  EXPECT_TRUE(DecodePackHeader(enc, total));
  auto r = DecodePackHeader(enc, total - 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kCorruption);
}

TEST(PackHeader, EveryTruncationFails) {
  Bytes enc = EncodePackHeader(SampleBlobs());
  for (size_t n = 0; n < enc.size(); ++n) {
    auto r = DecodePackHeader(ByteView(enc.data(), n), 1 << 20);
    EXPECT_FALSE(r) << "prefix of " << n << " bytes decoded";
  }
}

TEST(PackHeader, RejectsBadVersionTypeAndFlags) {
  Bytes enc = EncodePackHeader(SampleBlobs());
  Bytes v = enc;
  v[0] = 9;
  EXPECT_FALSE(DecodePackHeader(v, 1 << 20));
  Bytes t = enc;
  t[2] = 7;  // first blob's type
  EXPECT_FALSE(DecodePackHeader(t, 1 << 20));
  Bytes c = enc;
  c[3] = 5;  // first blob's compression
  EXPECT_FALSE(DecodePackHeader(c, 1 << 20));
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_FALSE(DecodePackHeader(trailing, 1 << 20));
}

TEST(Index, RoundTripAndTruncation) {
  std::vector<IndexPack> packs;
  for (uint8_t p = 0; p < 3; ++p) {
    IndexPack ip;
    for (size_t i = 0; i < ip.pack.size(); ++i) ip.pack[i] = static_cast<uint8_t>(p + i);
    ip.blobs = SampleBlobs();
    packs.push_back(ip);
  }
  Bytes enc = EncodeIndex(packs);
  auto dec = DecodeIndex(enc);
  ASSERT_TRUE(dec) << dec.error().ToString();
  EXPECT_EQ(*dec, packs);
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(DecodeIndex(ByteView(enc.data(), n))) << n;
  }
}

TEST(Index, HugeCountsDoNotAllocate) {
  Bytes b{kIndexVersion};
  PutVarint(b, uint64_t{1} << 60);  // claims 2^60 packs in a few bytes
  auto r = DecodeIndex(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("exceeds"), std::string::npos);
}

Tree SampleTree() {
  Tree t;
  TreeEntry dir;
  dir.name = "a dir";
  dir.type = EntryType::kDir;
  dir.mode = 0755;
  dir.subtree = IdOf(9);
  TreeEntry file;
  file.name = "file\nwith newline";
  file.type = EntryType::kFile;
  file.mode = 04755;
  file.uid = 1000;
  file.gid = 100;
  file.mtime_sec = -5;
  file.mtime_nsec = 999999999;
  file.ctime_sec = 1700000000;
  file.ctime_nsec = 1;
  file.ino = 1234567;
  file.nlink = 3;
  file.dev = 2049;
  file.pieces = {Piece{4096, true, {}}, Piece{1000, false, IdOf(1)}, Piece{77, false, IdOf(2)}};
  file.size = 4096 + 1000 + 77;
  TreeEntry fifo;
  fifo.name = "fifo";
  fifo.type = EntryType::kFifo;
  fifo.mode = 0600;
  TreeEntry dev;
  dev.name = "null";
  dev.type = EntryType::kCharDev;
  dev.rdev = 0x103;
  TreeEntry link;
  link.name = std::string("s\xff\xfe-non-utf8");
  link.type = EntryType::kSymlink;
  link.mode = 0777;
  link.target = "../somewhere/else";
  TreeEntry empty;
  empty.name = std::string(255, 'x');
  empty.type = EntryType::kFile;
  t.entries = {dir, file, fifo, dev, link, empty};
  std::sort(t.entries.begin(), t.entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
  return t;
}

TEST(Tree, RoundTripsEveryEntryKind) {
  Tree t = SampleTree();
  Bytes enc = EncodeTree(t);
  auto dec = DecodeTree(enc);
  ASSERT_TRUE(dec) << dec.error().ToString();
  EXPECT_EQ(*dec, t);
  // Deterministic: equal trees encode to equal bytes.
  EXPECT_EQ(EncodeTree(*dec), enc);
}

// The entry count is checked against the smallest possible entry, not a typical one: a tree of
// minimal entries (fifos with one-byte names and zero fields) encodes to 13 bytes an entry and
// must decode (a fuzz finding: a bound of 16 bytes refused what EncodeTree wrote).
TEST(Tree, MinimalEntriesRoundTrip) {
  Tree t;
  for (char c = 'a'; c <= 'z'; ++c) {
    TreeEntry e;
    e.name = std::string(1, c);
    e.type = EntryType::kFifo;
    e.nlink = 0;
    t.entries.push_back(e);
  }
  Bytes enc = EncodeTree(t);
  EXPECT_EQ(enc.size(), 2 + 13 * t.entries.size());
  auto dec = DecodeTree(enc);
  ASSERT_TRUE(dec) << dec.error().ToString();
  EXPECT_EQ(*dec, t);
  // One entry more than the bytes could hold is still refused before anything is allocated.
  Bytes more = enc;
  more[1] = static_cast<uint8_t>(t.entries.size() + 1);
  EXPECT_FALSE(DecodeTree(more));
}

TEST(Tree, VersionTwoExtrasRoundTripAndAreChecked) {
  Tree t = SampleTree();
  t.entries[0].xattrs = {{"security.capability", std::string("\x01\x00\x00\x02", 4)},
                         {"user.note", "hello"}};
  t.entries[0].fs_flags = 0x10;
  t.entries[0].user = "alice";
  t.entries[0].group = "staff";
  t.entries[1].user = "bob";  // names without xattrs
  Bytes enc = EncodeTree(t);
  EXPECT_EQ(enc[0], kTreeVersion);
  auto dec = DecodeTree(enc);
  ASSERT_TRUE(dec) << dec.error().ToString();
  EXPECT_EQ(*dec, t);
  for (size_t n = 0; n < enc.size(); ++n) EXPECT_FALSE(DecodeTree(ByteView(enc.data(), n))) << n;
  // Unsorted attribute names are refused.
  Tree bad = SampleTree();
  bad.entries[0].xattrs = {{"user.b", "1"}, {"user.a", "2"}};
  EXPECT_FALSE(DecodeTree(EncodeTree(bad)));
  // An unknown version is refused; version 1 (no extras) is read.
  Bytes v9 = enc;
  v9[0] = 9;
  EXPECT_FALSE(DecodeTree(v9));
}

TEST(Tree, EveryTruncationFails) {
  Bytes enc = EncodeTree(SampleTree());
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(DecodeTree(ByteView(enc.data(), n))) << n;
  }
}

TEST(Tree, RandomCorruptionNeverCrashes) {
  Bytes enc = EncodeTree(SampleTree());
  std::mt19937 rng(7);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    Bytes c = enc;
    c[rng() % c.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    if (!DecodeTree(c)) ++rejected;
  }
  EXPECT_GT(rejected,
            0);  // many flips land in names or ids and decode "fine"; structure flips must not
}

Tree OneEntry(std::string name) {
  Tree t;
  TreeEntry e;
  e.name = std::move(name);
  e.type = EntryType::kFifo;
  t.entries.push_back(e);
  return t;
}

TEST(Tree, RejectsDangerousNames) {
  for (std::string bad :
       {std::string(".."), std::string("."), std::string("a/b"), std::string("../x"),
        std::string("a\0b", 3), std::string(kMaxNameLen + 1, 'n')}) {
    auto r = DecodeTree(EncodeTree(OneEntry(bad)));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), util::ErrorCode::kCorruption);
  }
}

TEST(Tree, RejectsDuplicateAndUnsortedNames) {
  Tree t = OneEntry("b");
  t.entries.push_back(t.entries[0]);  // duplicate "b"
  EXPECT_FALSE(DecodeTree(EncodeTree(t)));
  Tree u = OneEntry("b");
  u.entries.push_back(OneEntry("a").entries[0]);  // out of order
  EXPECT_FALSE(DecodeTree(EncodeTree(u)));
}

TEST(Tree, RejectsPiecesThatDoNotAddUp) {
  Tree t;
  TreeEntry f;
  f.name = "f";
  f.type = EntryType::kFile;
  f.pieces = {Piece{10, false, IdOf(1)}};
  f.size = 11;
  t.entries.push_back(f);
  auto r = DecodeTree(EncodeTree(t));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("add up"), std::string::npos);
}

TEST(Names, ObjectNamesRoundTrip) {
  ObjectId id = NewObjectId();
  EXPECT_EQ(IdFromName(PackName(id), "data/"), id);
  EXPECT_EQ(IdFromName(IndexName(id), "index/"), id);
  EXPECT_EQ(IdFromName(PointName(id), "points/"), id);
  const std::string h = IdHex(id);
  EXPECT_FALSE(
      IdFromName("data/" + std::string(h.substr(0, 2) == "00" ? "01" : "00") + "/" + h, "data/"));
  EXPECT_FALSE(IdFromName("index/~put-123", "index/"));
  EXPECT_FALSE(ParseObjectId("ABCDEF0123456789abcdef0123456789"));  // uppercase is not canonical
  EXPECT_EQ(ParseBlobId(IdHex(IdOf(3))), IdOf(3));
}

}  // namespace
}  // namespace mlvault::vault
