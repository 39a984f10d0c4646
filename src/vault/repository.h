// The repository: a backend plus the vault's keys, speaking the objects of the format
// (config, packs, index files, manifests). The archiver, restorer, checker and GC are written
// against it; none of them sees sealing or object names.
//
// Thread-safe: every method may be called from several threads (cache_mu_ guards the tree-pack
// cache; everything else is constant after Open).
#pragma once

#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "util/mutex.h"
#include "vault/btrfs_changes.h"
#include "vault/format.h"
#include "vault/index.h"
#include "vault/keys.h"
#include "vault/vault.h"

namespace mlvault::vault {

// The decoded manifest of a recovery point (format doc section 7).
struct Manifest {
  ObjectId id{};
  VolumeKind kind = VolumeKind::kFilesystem;
  std::string source;
  std::string hostname;
  util::TimeMicros time = 0;
  std::map<std::string, std::string> labels;
  std::string parent;
  BlobId tree{};
  uint32_t root_mode = 0755;
  uint32_t root_uid = 0;
  uint32_t root_gid = 0;
  int64_t root_mtime_sec = 0;
  uint32_t root_mtime_nsec = 0;
  BackupStats stats;
  // Set when the source was a read-only btrfs snapshot read completely (no warnings): the uuid
  // of the subvolume it is a snapshot of and the transaction that created it. A later backup
  // of a newer snapshot of that subvolume walks only what changed since (btrfs_changes.h).
  std::string change_subvolume;
  uint64_t change_generation = 0;
  // The snapshot's creation time (0: not recorded, as by versions before the ctime rule).
  int64_t change_otime_sec = 0;
  uint32_t change_otime_nsec = 0;
  // Block volumes with a change base: the image's data extents in that snapshot, when known
  // (not for NOCOW images or too many extents). A later backup of a newer snapshot takes the
  // blocks whose extents are the same from this point instead of reading them (archive_block.cc).
  std::optional<std::vector<btrfs::Extent>> change_extents;
};

RecoveryPointInfo InfoOf(const Manifest& m);

// Damage found while loading (verify reports it; other operations fail on it).
struct LoadProblem {
  std::string object;
  std::string problem;
};

class Repository {
 public:
  static Result<std::unique_ptr<Repository>> Init(std::unique_ptr<backend::Backend> backend,
                                                  const KeySource& key, const InitOptions& init,
                                                  const Options& options);
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<backend::Backend> backend,
                                                  const KeySource& key, const Options& options);

  backend::Backend* backend() const { return backend_.get(); }
  const OpenedConfig& config() const { return config_; }
  const VaultKeys& keys() const { return config_.keys; }
  const Options& options() const { return options_; }

  // The id of a blob's plaintext.
  BlobId HashBlob(BlobType type, ByteView plain) const;

  // ---- index
  // Loads every index file. Undecodable or unreadable index files are returned in `problems`
  // when given (and skipped); otherwise they fail the load with kCorruption. `files` receives
  // the index files loaded.
  Result<std::shared_ptr<MasterIndex>> LoadIndex(std::vector<ObjectId>* files,
                                                 std::vector<LoadProblem>* problems,
                                                 bool keep_raw = true);
  // Writes one index file; returns its id and size.
  Result<std::pair<ObjectId, uint64_t>> WriteIndex(const std::vector<IndexPack>& packs);

  // ---- blobs
  // Authenticates a sealed blob, decompresses it and (when `check_id`) recomputes its id.
  // kCorruption naming the blob otherwise. `out` receives the plaintext.
  Status OpenBlob(ByteView sealed, const BlobId& id, BlobType type, Compression comp,
                  uint32_t raw_len, bool check_id, Bytes& out) const;
  // OpenBlob without copies, for a reader that owns the buffer it read (a restore's ranges):
  // authenticates `sealed` where it lies (its bytes become the plaintext), decompresses into
  // `scratch` (reused: its capacity is kept) when the blob is compressed, and returns a view of
  // the blob's bytes, inside `sealed` or `scratch`, valid until either changes. Errors as
  // OpenBlob; after one, `sealed` holds no unauthenticated plaintext.
  Result<ByteView> OpenBlobInPlace(std::span<uint8_t> sealed, const BlobId& id, BlobType type,
                                   Compression comp, uint32_t raw_len, bool check_id,
                                   Bytes& scratch) const;
  // The checks after authentication, shared by both: decompresses `plain` into `scratch` (zstd)
  // or checks its length, then (when `check_id`) its id. The blob's bytes, as OpenBlobInPlace.
  Result<ByteView> CheckOpened(ByteView plain, const BlobId& id, BlobType type, Compression comp,
                               uint32_t raw_len, bool check_id, Bytes& scratch) const;
  // Reads, authenticates and checks one indexed blob. kNotFound if not indexed.
  Result<Bytes> ReadBlob(const MasterIndex& index, const BlobId& id);
  Result<Tree> LoadTree(const MasterIndex& index, const BlobId& id);
  // Frees the cached tree packs (up to 48 MiB) once a run is done walking trees; later reads
  // fill the cache again.
  void DropTreeCache();

  // ---- packs
  // Reads and authenticates a pack's header. `size` is the pack's object size.
  Result<std::vector<BlobEntry>> ReadPackHeader(const ObjectId& pack, uint64_t size);
  // Parses a whole pack held in memory.
  Result<std::vector<BlobEntry>> ParsePack(const ObjectId& pack, ByteView data) const;

  // ---- manifests
  Status SaveManifest(const Manifest& m, uint64_t* size);
  Result<Manifest> LoadManifest(const ObjectId& id);
  // Every manifest, oldest first. Unreadable ones go to `problems` when given, else fail.
  Result<std::vector<Manifest>> ListManifests(std::vector<LoadProblem>* problems);
  // Finds a recovery point by full id or unique prefix (>= 6 hex characters).
  Result<ObjectId> ResolvePoint(const std::string& id_or_prefix);

 private:
  Repository(std::unique_ptr<backend::Backend> backend, OpenedConfig config, const Options& options)
      : backend_(std::move(backend)), config_(std::move(config)), options_(options) {}

  // A whole tree pack, from the cache or read once: concurrent misses of the same pack (the
  // restore's tree reads ahead) wait for the one read in flight instead of each reading it.
  Result<std::shared_ptr<const Bytes>> CachedTreePack(const ObjectId& pack);

  const std::unique_ptr<backend::Backend> backend_;
  const OpenedConfig config_;
  const Options options_;

  // Whole tree packs, most recently used first, bounded by kTreeCacheBytes.
  util::Mutex cache_mu_;
  std::list<std::pair<ObjectId, std::shared_ptr<const Bytes>>> cache_ MLV_GUARDED_BY(cache_mu_);
  uint64_t cache_bytes_ MLV_GUARDED_BY(cache_mu_) = 0;
  // Tree packs being read by some thread: another thread asking for one waits for that read
  // (cache_cv_) instead of holding a second copy (a backup's scanners walk the same packs).
  std::vector<ObjectId> cache_loading_ MLV_GUARDED_BY(cache_mu_);
  util::CondVar cache_cv_;
};

// Accumulates blobs into packs and writes them from background threads (`uploaders` of them,
// each with one pack in flight: more than one on remote storage, where a pack's upload waits
// for the server), then reports each durable pack to `on_written`. At most uploaders + 1 pack
// buffers exist (one filling, one per upload): a pack that needs a buffer while every other one
// is queued or being written waits for one to be written. Thread-safe.
class PackWriter {
 public:
  using WrittenFn = std::function<Status(IndexPack&& pack, uint64_t size)>;
  PackWriter(Repository* repo, uint64_t target_size, size_t uploaders, WrittenFn on_written);
  ~PackWriter();  // waits for uploads (errors are lost: call Finish)

  // Seals `stored` (the plaintext or its zstd frame) into the current pack.
  Status Add(const BlobId& id, BlobType type, Compression comp, ByteView stored, uint32_t raw_len);
  // Appends an already sealed blob unchanged (GC repack).
  Status AddSealed(const BlobEntry& entry, ByteView sealed);
  // Hands the last partial pack to the uploaders without waiting for the uploads (so several
  // writers can finish at once); the first error so far. Add must not be called after it.
  Status Close();
  // Writes the last partial pack and waits for every upload; the first error of any.
  Status Finish();

 private:
  struct Open {
    ObjectId id{};
    Bytes data;
    std::vector<BlobEntry> blobs;
  };
  // Gives current_ a buffer (a written one, or a new one while fewer than max_buffers_ exist),
  // waiting for a write to end if needed; the first error otherwise.
  Status TakeBufferLocked() MLV_REQUIRES(mu_);
  Status CloseLocked() MLV_REQUIRES(mu_);
  void Upload() MLV_EXCLUDES(mu_);

  Repository* const repo_;
  const uint64_t target_;
  const size_t max_buffers_;
  const WrittenFn on_written_;

  util::Mutex mu_;
  util::CondVar cv_;  // waited on with mu_: pending_, uploading_, stop_ or error_ changed
  Open current_ MLV_GUARDED_BY(mu_);
  std::deque<Open> pending_ MLV_GUARDED_BY(mu_);
  // Written packs' buffers, reused (no page faults).
  std::vector<Bytes> spare_ MLV_GUARDED_BY(mu_);
  size_t buffers_ MLV_GUARDED_BY(mu_) = 0;    // pack buffers allocated so far
  size_t uploading_ MLV_GUARDED_BY(mu_) = 0;  // packs taken by an uploader, not yet reported
  bool stop_ MLV_GUARDED_BY(mu_) = false;
  std::optional<util::Error> error_ MLV_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// Collects durable packs and writes an index file every `packs_per_file` packs, or sooner once
// they list `blobs_per_file` blobs, and at Flush. The blob bound keeps the lists held and the
// file encoded at once small where packs hold many small chunks (64 packs of 4 KiB files are
// 250k blobs: ~36 MB between the lists, the encoded file and its sealed copy). Thread-safe.
class IndexWriter {
 public:
  static constexpr size_t kBlobsPerFile = 65536;
  IndexWriter(Repository* repo, size_t packs_per_file, size_t blobs_per_file = kBlobsPerFile)
      : repo_(repo), per_file_(packs_per_file), blobs_per_file_(blobs_per_file) {}
  Status Add(IndexPack&& pack);
  Status Add(const IndexPack& pack) { return Add(IndexPack(pack)); }
  Status Flush();
  uint64_t bytes_written() const;
  std::vector<ObjectId> files() const;

 private:
  Status WriteLocked() MLV_REQUIRES(mu_);
  Repository* const repo_;
  const size_t per_file_;
  const size_t blobs_per_file_;
  mutable util::Mutex mu_;
  std::vector<IndexPack> pending_ MLV_GUARDED_BY(mu_);
  size_t pending_blobs_ MLV_GUARDED_BY(mu_) = 0;
  uint64_t bytes_ MLV_GUARDED_BY(mu_) = 0;
  std::vector<ObjectId> files_ MLV_GUARDED_BY(mu_);
};

// "<id prefix>:<path>" style helpers for naming damaged things; non-UTF-8 bytes and control
// characters in `path` are escaped as \xNN so the result is safe in JSON and on a terminal.
std::string PrintablePath(std::string_view path);
// True if `s` is well-formed UTF-8 (manifests store source paths and labels as JSON strings).
bool IsUtf8(std::string_view s);

}  // namespace mlvault::vault
