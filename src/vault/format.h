// Binary encodings of the vault format (docs/vault-format.md): pack headers, index files and
// trees, plus the constants and AAD labels they use. Pure functions on byte buffers: no I/O,
// thread-safe. Every decoder checks bounds and structure and returns kCorruption naming what
// is wrong; none trusts a length it has not checked against the input.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/error.h"

namespace mlvault::vault {

using util::Bytes;
using util::ByteView;
using util::Result;
using util::Status;

using BlobId = crypto::Digest;             // HMAC-SHA-256 of the plaintext
using ObjectId = std::array<uint8_t, 16>;  // random id of a pack, index, point or lock

inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint8_t kPackVersion = 1;
inline constexpr uint8_t kIndexVersion = 1;
// Trees of version 1 (no extended attributes, inode flags or owner names) are still read;
// version 2 is written.
inline constexpr uint8_t kTreeVersion = 2;
inline constexpr uint8_t kTreeVersionMin = 1;
inline constexpr int kPointVersion = 1;
inline constexpr int kLockVersion = 1;

// Limits a reader enforces (see the format doc for the reasons).
inline constexpr uint64_t kMaxPackSize = 1ull << 30;
inline constexpr uint64_t kMaxPackHeader = 64ull << 20;
inline constexpr uint64_t kMaxBlobRaw = 64ull << 20;
inline constexpr size_t kMaxNameLen = 4096;
inline constexpr size_t kMaxLinkTarget = 65536;
// Extended attributes per entry, name and value sizes (Linux: names <= 255, values <= 64 KiB).
inline constexpr size_t kMaxXattrs = 1024;
inline constexpr size_t kMaxXattrName = 255;
inline constexpr size_t kMaxXattrValue = 65536;
inline constexpr size_t kMaxOwnerName = 256;
inline constexpr size_t kPackTrailer = 4;  // u32 LE length of the sealed header
// Bytes AES-GCM adds to every sealed blob.
inline constexpr uint32_t kSealOverhead = static_cast<uint32_t>(crypto::kSealOverhead);

// AAD labels.
inline constexpr std::string_view kAadKey = "mlvault/v1/key";
inline constexpr std::string_view kAadParams = "mlvault/v1/params";
inline constexpr std::string_view kAadPack = "mlvault/v1/pack";
inline constexpr std::string_view kAadIndex = "mlvault/v1/index";
inline constexpr std::string_view kAadPoint = "mlvault/v1/point";
inline constexpr std::string_view kAadLock = "mlvault/v1/lock";

enum class BlobType : uint8_t { kData = 0, kTree = 1 };
enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

// "<label><id bytes>": the AAD of objects bound to their name.
Bytes LabelAad(std::string_view label, ByteView id);
// id || type || compression: the AAD of a sealed blob.
std::array<uint8_t, 34> BlobAad(const BlobId& id, BlobType type, Compression comp);

std::string IdHex(const BlobId& id);
std::string IdHex(const ObjectId& id);
// Parses 64 (blob) or 32 (object) lowercase hex characters.
std::optional<BlobId> ParseBlobId(std::string_view hex);
std::optional<ObjectId> ParseObjectId(std::string_view hex);
ObjectId NewObjectId();

// Object names.
std::string PackName(const ObjectId& id);   // data/<hh>/<id>
std::string IndexName(const ObjectId& id);  // index/<id>
std::string PointName(const ObjectId& id);  // points/<id>
std::string LockName(const ObjectId& id);   // locks/<id>
// The id from a listed object name under a prefix ("data/", "index/", ...); nullopt when the
// name is not one of ours (tmp files, foreign objects).
std::optional<ObjectId> IdFromName(std::string_view name, std::string_view prefix);

// ---- LEB128 varints -------------------------------------------------------------------------

void PutVarint(Bytes& out, uint64_t v);
void PutSvarint(Bytes& out, int64_t v);  // zigzag

// A bounds-checked cursor over an encoded buffer. After the first failure every read returns 0
// and ok() stays false; `what` names the first failure for the error message.
class Decoder {
 public:
  explicit Decoder(ByteView in) : p_(in.data()), end_(in.data() + in.size()) {}
  uint8_t U8();
  uint64_t Varint();
  int64_t Svarint();
  // A view of the next n bytes (empty view on failure).
  ByteView Raw(size_t n);
  template <size_t N>
  std::array<uint8_t, N> Fixed() {
    std::array<uint8_t, N> a{};
    ByteView v = Raw(N);
    if (v.size() == N) std::copy(v.begin(), v.end(), a.begin());
    return a;
  }
  void Fail(std::string what);
  bool ok() const { return error_.empty(); }
  bool at_end() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const std::string& error() const { return error_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  std::string error_;
};

// ---- packs and index ------------------------------------------------------------------------

// One blob as a pack header or an index lists it.
struct BlobEntry {
  BlobType type = BlobType::kData;
  Compression comp = Compression::kNone;
  uint32_t offset = 0;      // in the pack (implied by order in a pack header)
  uint32_t stored_len = 0;  // sealed length
  uint32_t raw_len = 0;     // plaintext length
  BlobId id{};
  bool operator==(const BlobEntry&) const = default;
};

// Plaintext of a pack header. Offsets are taken from the order and lengths.
Bytes EncodePackHeader(const std::vector<BlobEntry>& blobs);
// Inverse; fills offsets. `data_size` = pack size - trailer - sealed header: every blob must fit.
Result<std::vector<BlobEntry>> DecodePackHeader(ByteView plain, uint64_t data_size);

struct IndexPack {
  ObjectId pack{};
  std::vector<BlobEntry> blobs;
  bool operator==(const IndexPack&) const = default;
};
Bytes EncodeIndex(const std::vector<IndexPack>& packs);
Result<std::vector<IndexPack>> DecodeIndex(ByteView plain);

// ---- trees ----------------------------------------------------------------------------------

enum class EntryType : uint8_t {
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kFifo = 4,
  kCharDev = 5,
  kBlockDev = 6,
};

// A run of a file's bytes: a chunk, or a hole of `length` zero bytes.
struct Piece {
  uint64_t length = 0;
  bool hole = false;
  BlobId id{};
  bool operator==(const Piece&) const = default;
};

struct TreeEntry {
  std::string name;  // raw bytes
  EntryType type = EntryType::kFile;
  uint32_t mode = 0;  // permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  int64_t ctime_sec = 0;
  uint32_t ctime_nsec = 0;
  uint64_t ino = 0;
  uint64_t nlink = 1;
  uint64_t dev = 0;  // stored only for files with nlink > 1
  // kFile
  uint64_t size = 0;
  std::vector<Piece> pieces;
  // kDir
  BlobId subtree{};
  // kSymlink
  std::string target;
  // devices
  uint64_t rdev = 0;
  // Version 2 extras (empty / 0 in version 1 trees):
  // Extended attributes (name, value), sorted by name, names unique: user.*, trusted.*,
  // security.* (file capabilities, SELinux labels), system.posix_acl_* (POSIX ACLs).
  std::vector<std::pair<std::string, std::string>> xattrs;
  // Inode flags (FS_IOC_GETFLAGS: immutable, append-only, no-dump, ...), 0 if none or unknown.
  uint32_t fs_flags = 0;
  // The owner's user and group names at backup time; empty when the id had no name.
  std::string user;
  std::string group;
  bool operator==(const TreeEntry&) const = default;
};

struct Tree {
  std::vector<TreeEntry> entries;  // sorted by name, unique
  // The version it was decoded from (EncodeTree always writes kTreeVersion). Entries of a
  // version 1 tree carry no extended attributes, inode flags or owner names.
  uint8_t version = kTreeVersion;
  bool operator==(const Tree&) const = default;
};

// kCorruption unless `name` is a valid entry name: 1..kMaxNameLen bytes, no '/' or NUL, not
// "." or "..".
Status ValidateEntryName(std::string_view name);

// Encodes deterministically. The caller sorts entries by name; EncodeTree does not check.
Bytes EncodeTree(const Tree& tree);
// Decodes and validates everything listed in the format doc.
Result<Tree> DecodeTree(ByteView plain);

}  // namespace mlvault::vault
