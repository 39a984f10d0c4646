#include "vault/format.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "util/random.h"

namespace mlvault::vault {

Bytes LabelAad(std::string_view label, ByteView id) {
  Bytes out(label.begin(), label.end());
  out.insert(out.end(), id.begin(), id.end());
  return out;
}

std::array<uint8_t, 34> BlobAad(const BlobId& id, BlobType type, Compression comp) {
  std::array<uint8_t, 34> a;
  std::memcpy(a.data(), id.data(), 32);
  a[32] = static_cast<uint8_t>(type);
  a[33] = static_cast<uint8_t>(comp);
  return a;
}

std::string IdHex(const BlobId& id) { return util::ToHex(id); }
std::string IdHex(const ObjectId& id) { return util::ToHex(id); }

namespace {
bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
}  // namespace

std::optional<BlobId> ParseBlobId(std::string_view hex) {
  if (hex.size() != 64 || !IsLowerHex(hex)) return std::nullopt;
  auto b = util::FromHex(hex);
  if (!b) return std::nullopt;
  BlobId id{};
  std::copy(b->begin(), b->end(), id.begin());
  return id;
}

std::optional<ObjectId> ParseObjectId(std::string_view hex) {
  if (hex.size() != 32 || !IsLowerHex(hex)) return std::nullopt;
  auto b = util::FromHex(hex);
  if (!b) return std::nullopt;
  ObjectId id{};
  std::copy(b->begin(), b->end(), id.begin());
  return id;
}

ObjectId NewObjectId() {
  ObjectId id{};
  util::RandomFill(id);
  return id;
}

std::string PackName(const ObjectId& id) {
  std::string h = IdHex(id);
  return "data/" + h.substr(0, 2) + "/" + h;
}
std::string IndexName(const ObjectId& id) { return "index/" + IdHex(id); }
std::string PointName(const ObjectId& id) { return "points/" + IdHex(id); }
std::string LockName(const ObjectId& id) { return "locks/" + IdHex(id); }

std::optional<ObjectId> IdFromName(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = name.substr(prefix.size());
  if (prefix == "data/") {
    // <hh>/<id>
    if (rest.size() != 35 || rest[2] != '/') return std::nullopt;
    auto id = ParseObjectId(rest.substr(3));
    if (!id || rest.substr(0, 2) != rest.substr(3, 2)) return std::nullopt;
    return id;
  }
  return ParseObjectId(rest);
}

// ---- varints --------------------------------------------------------------------------------

void PutVarint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

void PutSvarint(Bytes& out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void Decoder::Fail(std::string what) {
  if (error_.empty()) error_ = std::move(what);
  p_ = end_;
}

uint8_t Decoder::U8() {
  if (!ok()) return 0;
  if (p_ == end_) {
    Fail("truncated");
    return 0;
  }
  return *p_++;
}

uint64_t Decoder::Varint() {
  if (!ok()) return 0;
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ == end_) {
      Fail("truncated varint");
      return 0;
    }
    uint8_t b = *p_++;
    if (shift == 63 && b > 1) {
      Fail("varint overflows 64 bits");
      return 0;
    }
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (b == 0 && shift > 0) {
        Fail("overlong varint");
        return 0;
      }
      return v;
    }
  }
  Fail("varint too long");
  return 0;
}

int64_t Decoder::Svarint() {
  uint64_t u = Varint();
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

ByteView Decoder::Raw(size_t n) {
  if (!ok()) return {};
  if (remaining() < n) {
    Fail("truncated");
    return {};
  }
  ByteView v(p_, n);
  p_ += n;
  return v;
}

// ---- packs and index ------------------------------------------------------------------------

namespace {

void PutBlobCommon(Bytes& out, const BlobEntry& b) {
  out.push_back(static_cast<uint8_t>(b.type));
  out.push_back(static_cast<uint8_t>(b.comp));
}

// Reads type and compression; fails the decoder on unknown values.
void GetBlobCommon(Decoder& d, BlobEntry& b) {
  uint8_t t = d.U8();
  uint8_t c = d.U8();
  if (!d.ok()) return;
  if (t > 1) return d.Fail(fmt::format("unknown blob type {}", t));
  if (c > 1) return d.Fail(fmt::format("unknown compression {}", c));
  b.type = static_cast<BlobType>(t);
  b.comp = static_cast<Compression>(c);
}

// Lengths common to headers and index entries; fails on impossible values.
void GetLengths(Decoder& d, BlobEntry& b) {
  uint64_t stored = d.Varint();
  uint64_t raw = d.Varint();
  if (!d.ok()) return;
  if (stored < kSealOverhead || stored > kMaxPackSize) {
    return d.Fail(fmt::format("impossible stored length {}", stored));
  }
  if (raw > kMaxBlobRaw) return d.Fail(fmt::format("blob too large ({} bytes)", raw));
  if (b.comp == Compression::kNone && raw + kSealOverhead != stored) {
    return d.Fail("uncompressed blob length does not match its stored length");
  }
  b.stored_len = static_cast<uint32_t>(stored);
  b.raw_len = static_cast<uint32_t>(raw);
}

// A count that cannot exceed what the remaining bytes could hold at `min_size` bytes each.
uint64_t GetCount(Decoder& d, size_t min_size, const char* what) {
  uint64_t n = d.Varint();
  if (d.ok() && n > d.remaining() / min_size)
    d.Fail(fmt::format("{} count {} exceeds the data", what, n));
  return n;
}

}  // namespace

Bytes EncodePackHeader(const std::vector<BlobEntry>& blobs) {
  Bytes out;
  out.reserve(2 + blobs.size() * 42);
  out.push_back(kPackVersion);
  PutVarint(out, blobs.size());
  for (const auto& b : blobs) {
    PutBlobCommon(out, b);
    PutVarint(out, b.stored_len);
    PutVarint(out, b.raw_len);
    out.insert(out.end(), b.id.begin(), b.id.end());
  }
  return out;
}

Result<std::vector<BlobEntry>> DecodePackHeader(ByteView plain, uint64_t data_size) {
  Decoder d(plain);
  uint8_t version = d.U8();
  if (d.ok() && version != kPackVersion) {
    return util::Corruption(fmt::format("pack header: unsupported version {}", version));
  }
  uint64_t n = GetCount(d, 36, "blob");
  std::vector<BlobEntry> blobs;
  if (d.ok()) blobs.reserve(n);
  uint64_t offset = 0;
  for (uint64_t i = 0; i < n && d.ok(); ++i) {
    BlobEntry b;
    GetBlobCommon(d, b);
    GetLengths(d, b);
    b.id = d.Fixed<32>();
    if (!d.ok()) break;
    if (offset + b.stored_len > data_size) {
      d.Fail(fmt::format("blob {} extends past the data area", i));
      break;
    }
    b.offset = static_cast<uint32_t>(offset);
    offset += b.stored_len;
    blobs.push_back(b);
  }
  if (d.ok() && !d.at_end()) d.Fail("trailing bytes");
  if (!d.ok()) return util::Corruption("pack header: " + d.error());
  return blobs;
}

Bytes EncodeIndex(const std::vector<IndexPack>& packs) {
  Bytes out;
  size_t total = 0;
  for (const auto& p : packs) total += p.blobs.size();
  out.reserve(2 + packs.size() * 20 + total * 46);
  out.push_back(kIndexVersion);
  PutVarint(out, packs.size());
  for (const auto& p : packs) {
    out.insert(out.end(), p.pack.begin(), p.pack.end());
    PutVarint(out, p.blobs.size());
    for (const auto& b : p.blobs) {
      PutBlobCommon(out, b);
      PutVarint(out, b.offset);
      PutVarint(out, b.stored_len);
      PutVarint(out, b.raw_len);
      out.insert(out.end(), b.id.begin(), b.id.end());
    }
  }
  return out;
}

Result<std::vector<IndexPack>> DecodeIndex(ByteView plain) {
  Decoder d(plain);
  uint8_t version = d.U8();
  if (d.ok() && version != kIndexVersion) {
    return util::Corruption(fmt::format("index: unsupported version {}", version));
  }
  uint64_t np = GetCount(d, 17, "pack");
  std::vector<IndexPack> packs;
  if (d.ok()) packs.reserve(np);
  for (uint64_t i = 0; i < np && d.ok(); ++i) {
    IndexPack p;
    p.pack = d.Fixed<16>();
    uint64_t nb = GetCount(d, 37, "blob");
    if (d.ok()) p.blobs.reserve(nb);
    for (uint64_t j = 0; j < nb && d.ok(); ++j) {
      BlobEntry b;
      GetBlobCommon(d, b);
      uint64_t offset = d.Varint();
      GetLengths(d, b);
      b.id = d.Fixed<32>();
      if (!d.ok()) break;
      // stored_len <= kMaxPackSize (GetLengths), so this cannot overflow as offset + stored_len
      // could for a huge offset.
      if (offset > kMaxPackSize - b.stored_len) {
        d.Fail("blob offset past the largest pack");
        break;
      }
      b.offset = static_cast<uint32_t>(offset);
      p.blobs.push_back(b);
    }
    packs.push_back(std::move(p));
  }
  if (d.ok() && !d.at_end()) d.Fail("trailing bytes");
  if (!d.ok()) return util::Corruption("index: " + d.error());
  return packs;
}

// ---- trees ----------------------------------------------------------------------------------

Status ValidateEntryName(std::string_view name) {
  if (name.empty()) return util::Corruption("empty entry name");
  if (name.size() > kMaxNameLen) return util::Corruption("entry name too long");
  if (name == "." || name == "..") return util::Corruption("entry name \".\" or \"..\"");
  if (name.find('/') != std::string_view::npos) return util::Corruption("entry name contains '/'");
  if (name.find('\0') != std::string_view::npos) return util::Corruption("entry name contains NUL");
  return util::Ok();
}

namespace {

constexpr uint64_t kExtraXattrs = 1, kExtraFlags = 2, kExtraNames = 4;

// Reads a length-prefixed string of at most `max` bytes (at least `min`).
bool GetString(Decoder& d, size_t min, size_t max, std::string& out) {
  uint64_t len = d.Varint();
  if (!d.ok()) return false;
  if (len < min || len > max) return false;
  ByteView b = d.Raw(len);
  if (!d.ok()) return false;
  out.assign(util::AsString(b));
  return true;
}

void DecodeExtras(Decoder& d, uint64_t i, TreeEntry& e) {
  uint64_t extras = d.Varint();
  if (!d.ok()) return;
  if (extras & ~(kExtraXattrs | kExtraFlags | kExtraNames)) {
    d.Fail(fmt::format("entry {}: unknown extras {}", i, extras));
    return;
  }
  if (extras & kExtraXattrs) {
    uint64_t n = d.Varint();
    if (d.ok() && (n == 0 || n > kMaxXattrs)) {
      d.Fail(fmt::format("entry {}: bad extended attribute count {}", i, n));
      return;
    }
    for (uint64_t k = 0; k < n && d.ok(); ++k) {
      std::string name, value;
      if (!GetString(d, 1, kMaxXattrName, name) || !GetString(d, 0, kMaxXattrValue, value)) {
        d.Fail(fmt::format("entry {}: bad extended attribute", i));
        return;
      }
      if (name.find('\0') != std::string::npos ||
          (!e.xattrs.empty() && !(e.xattrs.back().first < name))) {
        d.Fail(fmt::format("entry {}: extended attribute names out of order or invalid", i));
        return;
      }
      e.xattrs.emplace_back(std::move(name), std::move(value));
    }
  }
  if (extras & kExtraFlags) {
    uint64_t f = d.Varint();
    if (d.ok() && (f == 0 || f > UINT32_MAX)) {
      d.Fail(fmt::format("entry {}: bad inode flags", i));
      return;
    }
    e.fs_flags = static_cast<uint32_t>(f);
  }
  if (extras & kExtraNames) {
    if (!GetString(d, 0, kMaxOwnerName, e.user) || !GetString(d, 0, kMaxOwnerName, e.group)) {
      d.Fail(fmt::format("entry {}: bad owner names", i));
      return;
    }
  }
}

}  // namespace

Bytes EncodeTree(const Tree& tree) {
  Bytes out;
  out.reserve(8 + tree.entries.size() * 96);
  out.push_back(kTreeVersion);
  PutVarint(out, tree.entries.size());
  for (const auto& e : tree.entries) {
    PutVarint(out, e.name.size());
    out.insert(out.end(), e.name.begin(), e.name.end());
    out.push_back(static_cast<uint8_t>(e.type));
    PutVarint(out, e.mode);
    PutVarint(out, e.uid);
    PutVarint(out, e.gid);
    PutSvarint(out, e.mtime_sec);
    PutVarint(out, e.mtime_nsec);
    PutSvarint(out, e.ctime_sec);
    PutVarint(out, e.ctime_nsec);
    PutVarint(out, e.ino);
    PutVarint(out, e.nlink);
    if (e.type == EntryType::kFile && e.nlink > 1) PutVarint(out, e.dev);
    switch (e.type) {
      case EntryType::kFile:
        PutVarint(out, e.size);
        PutVarint(out, e.pieces.size());
        for (const auto& p : e.pieces) {
          PutVarint(out, (p.length << 1) | (p.hole ? 1 : 0));
          if (!p.hole) out.insert(out.end(), p.id.begin(), p.id.end());
        }
        break;
      case EntryType::kDir:
        out.insert(out.end(), e.subtree.begin(), e.subtree.end());
        break;
      case EntryType::kSymlink:
        PutVarint(out, e.target.size());
        out.insert(out.end(), e.target.begin(), e.target.end());
        break;
      case EntryType::kCharDev:
      case EntryType::kBlockDev:
        PutVarint(out, e.rdev);
        break;
      case EntryType::kFifo:
        break;
    }
    // Version 2 extras: a bit set says which optional groups follow.
    const uint64_t extras = (e.xattrs.empty() ? 0 : kExtraXattrs) |
                            (e.fs_flags == 0 ? 0 : kExtraFlags) |
                            (e.user.empty() && e.group.empty() ? 0 : kExtraNames);
    PutVarint(out, extras);
    if (extras & kExtraXattrs) {
      PutVarint(out, e.xattrs.size());
      for (const auto& [name, value] : e.xattrs) {
        PutVarint(out, name.size());
        out.insert(out.end(), name.begin(), name.end());
        PutVarint(out, value.size());
        out.insert(out.end(), value.begin(), value.end());
      }
    }
    if (extras & kExtraFlags) PutVarint(out, e.fs_flags);
    if (extras & kExtraNames) {
      PutVarint(out, e.user.size());
      out.insert(out.end(), e.user.begin(), e.user.end());
      PutVarint(out, e.group.size());
      out.insert(out.end(), e.group.begin(), e.group.end());
    }
  }
  return out;
}

Result<Tree> DecodeTree(ByteView plain) {
  Decoder d(plain);
  uint8_t version = d.U8();
  if (d.ok() && (version < kTreeVersionMin || version > kTreeVersion)) {
    return util::Corruption(fmt::format("tree: unsupported version {}", version));
  }
  // The smallest entry: a one-byte name, its length, the type and nine one-byte varints (mode
  // to nlink) -- a fifo or device has nothing more -- plus the extras byte from version 2.
  uint64_t n = GetCount(d, version >= 2 ? 13 : 12, "entry");
  Tree tree;
  tree.version = version;
  if (d.ok()) tree.entries.reserve(n);
  for (uint64_t i = 0; i < n && d.ok(); ++i) {
    TreeEntry e;
    uint64_t name_len = d.Varint();
    if (d.ok() && (name_len == 0 || name_len > kMaxNameLen)) {
      d.Fail(fmt::format("entry {}: bad name length {}", i, name_len));
      break;
    }
    ByteView name = d.Raw(name_len);
    if (!d.ok()) break;
    e.name.assign(util::AsString(name));
    if (auto st = ValidateEntryName(e.name); !st) {
      d.Fail(fmt::format("entry {}: {}", i, st.error().message()));
      break;
    }
    if (!tree.entries.empty() && !(tree.entries.back().name < e.name)) {
      d.Fail(fmt::format("entry {}: names out of order or duplicated", i));
      break;
    }
    uint8_t type = d.U8();
    if (d.ok() && (type < 1 || type > 6)) {
      d.Fail(fmt::format("entry {}: unknown type {}", i, type));
      break;
    }
    e.type = static_cast<EntryType>(type);
    uint64_t mode = d.Varint();
    uint64_t uid = d.Varint();
    uint64_t gid = d.Varint();
    e.mtime_sec = d.Svarint();
    uint64_t mns = d.Varint();
    e.ctime_sec = d.Svarint();
    uint64_t cns = d.Varint();
    e.ino = d.Varint();
    e.nlink = d.Varint();
    if (!d.ok()) break;
    if (mode > 07777 || uid > UINT32_MAX || gid > UINT32_MAX || mns >= 1000000000 ||
        cns >= 1000000000) {
      d.Fail(fmt::format("entry {}: field out of range", i));
      break;
    }
    e.mode = static_cast<uint32_t>(mode);
    e.uid = static_cast<uint32_t>(uid);
    e.gid = static_cast<uint32_t>(gid);
    e.mtime_nsec = static_cast<uint32_t>(mns);
    e.ctime_nsec = static_cast<uint32_t>(cns);
    if (e.type == EntryType::kFile && e.nlink > 1) e.dev = d.Varint();
    switch (e.type) {
      case EntryType::kFile: {
        e.size = d.Varint();
        uint64_t k = GetCount(d, 1, "piece");
        if (!d.ok()) break;
        e.pieces.reserve(k);
        uint64_t sum = 0;
        for (uint64_t j = 0; j < k && d.ok(); ++j) {
          Piece p;
          uint64_t v = d.Varint();
          p.length = v >> 1;
          p.hole = (v & 1) != 0;
          if (!p.hole) p.id = d.Fixed<32>();
          if (!d.ok()) break;
          if (p.length == 0 || (!p.hole && p.length > kMaxBlobRaw)) {
            d.Fail(fmt::format("entry {}: bad piece length {}", i, p.length));
            break;
          }
          sum += p.length;
          if (sum < p.length) {
            d.Fail(fmt::format("entry {}: piece lengths overflow", i));
            break;
          }
          e.pieces.push_back(p);
        }
        if (d.ok() && sum != e.size) {
          d.Fail(fmt::format("entry {}: pieces add up to {} bytes, size is {}", i, sum, e.size));
        }
        break;
      }
      case EntryType::kDir:
        e.subtree = d.Fixed<32>();
        break;
      case EntryType::kSymlink: {
        uint64_t len = d.Varint();
        if (d.ok() && (len == 0 || len > kMaxLinkTarget)) {
          d.Fail(fmt::format("entry {}: bad symlink target length {}", i, len));
          break;
        }
        ByteView t = d.Raw(len);
        if (d.ok()) e.target.assign(util::AsString(t));
        if (d.ok() && e.target.find('\0') != std::string::npos) {
          d.Fail(fmt::format("entry {}: symlink target contains NUL", i));
        }
        break;
      }
      case EntryType::kCharDev:
      case EntryType::kBlockDev:
        e.rdev = d.Varint();
        break;
      case EntryType::kFifo:
        break;
    }
    if (d.ok() && version >= 2) DecodeExtras(d, i, e);
    if (d.ok()) tree.entries.push_back(std::move(e));
  }
  if (d.ok() && !d.at_end()) d.Fail("trailing bytes");
  if (!d.ok()) return util::Corruption("tree: " + d.error());
  return tree;
}

}  // namespace mlvault::vault
