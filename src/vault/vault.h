// The vault: the encrypted, deduplicated store of one workspace's recovery points.
//
// A recovery point is one volume (a directory tree, or one block-device-like image file) at one
// moment. Its bytes are cut into chunks (content-defined for files, fixed-size blocks for block
// volumes), each chunk is stored once per vault under a keyed id, compressed when that pays, and
// encrypted; chunks are grouped into pack files described by index files; a recovery point's
// manifest is written last, so a recovery point exists only once everything it needs is durable.
// The byte-level format is docs/vault-format.md.
//
// Thread-safety: a Vault is thread-safe. Every method may be called from several threads at
// once; long operations run their own worker threads internally.
//
// Multi-process safety: several processes (or machines) may use one vault at once. Backup,
// Restore, Verify and Delete take a shared lock in the vault; Gc takes an exclusive lock (so it
// never runs while a backup is writing). List reads without a lock. Locks carry a heartbeat; a
// lock whose heartbeat stopped is stale and ignored after Options::lock_stale_seconds, and a lock
// of a dead process on the same machine (kill -9) at once. A method that cannot get its lock within
// Options::lock_wait_seconds fails with kConflict naming the holder. A process killed at any
// instant leaves a vault that verifies clean; its leftovers are collected by a later Gc.
//
// Errors (util::ErrorCode): kPermissionDenied "wrong key ..." when the key does not unwrap the
// vault's data key; kNotFound for an unknown vault or recovery point id; kCorruption for stored
// data that fails authentication or structure checks; kConflict for lock contention;
// kCancelled when the CancelToken fires; kIo / kUnavailable from the source or the backend.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/progress.h"

namespace mlvault::backend {
class Backend;
}

namespace mlvault::vault {

using util::Result;
using util::Status;

// Where the key that unwraps the vault's data key comes from. Exactly one of the two is set.
struct KeySource {
  // A key file: 64 hex characters (32 random bytes), optional trailing newline. See
  // WriteNewKeyFile. Used directly as the key-encryption key.
  std::string key_file;
  // A passphrase; the key-encryption key is scrypt(passphrase, salt from the vault config).
  std::string passphrase;

  static KeySource FromKeyFile(std::string path) { return {std::move(path), {}}; }
  static KeySource FromPassphrase(std::string passphrase) { return {{}, std::move(passphrase)}; }
};

// Writes a fresh random key file (mode 0600) at `path`. kConflict if `path` exists.
Status WriteNewKeyFile(const std::string& path);

// Parameters fixed when a vault is created; recorded in its config (the format can evolve).
struct InitOptions {
  // Content-defined chunking of files (FastCDC): min <= avg <= max, avg a power of two.
  uint32_t chunk_min_size = 256 * 1024;
  uint32_t chunk_avg_size = 1024 * 1024;
  uint32_t chunk_max_size = 4 * 1024 * 1024;
  // Block volumes are cut into fixed blocks of this size (power of two, >= 4096).
  uint32_t block_size = 1024 * 1024;
  // scrypt cost for passphrase-protected vaults (N = 2^scrypt_log_n, r, p).
  uint32_t scrypt_log_n = 15;
  uint32_t scrypt_r = 8;
  uint32_t scrypt_p = 1;
};

// Run-time choices of one process; they do not change the format.
struct Options {
  // Worker threads for chunking, hashing, compression and encryption (0: one per core).
  size_t threads = 0;
  // zstd level for compressible data (1..19). Incompressible data is stored raw.
  int compression_level = 2;
  // Pack files are closed and written once they hold about this many bytes.
  uint64_t pack_target_size = 8 * 1024 * 1024;
  // How long to wait for a conflicting lock to go away before failing with kConflict.
  double lock_wait_seconds = 60;
  // A lock not refreshed for this long is stale (its holder is presumed dead) and ignored.
  double lock_stale_seconds = 300;
  // Clock for timestamps and lock heartbeats; injectable for tests. Must outlive the Vault.
  const util::Clock* clock = &util::Clock::System();
  // A private directory where this client remembers how far each vault's signed state had
  // come (one small file per vault id), so that a whole vault rolled back to an older copy is
  // reported by List and Verify. Empty: not remembered (the vault's own state is still checked).
  std::string state_cache_dir;
};

enum class VolumeKind { kFilesystem, kBlock };
// "filesystem" / "block".
const char* VolumeKindName(VolumeKind kind);
// Inverse of VolumeKindName; kInvalidArgument for anything else.
Result<VolumeKind> ParseVolumeKind(const std::string& name);

struct BackupRequest {
  VolumeKind kind = VolumeKind::kFilesystem;
  // kFilesystem: a directory (its contents are the volume). kBlock: a regular file or a block
  // device (the image).
  std::string source;
  // Free-form labels stored with the recovery point (e.g. workspace, volume name, backup id).
  std::map<std::string, std::string> labels;
  // An earlier recovery point of the same source: files whose size, mtime, ctime and inode are
  // unchanged are taken from it without reading them. When empty, the latest recovery point of
  // the same kind, source path and labels is used, if there is one. kNotFound if given but
  // unknown; kInvalidArgument if it is of another kind.
  std::optional<std::string> parent;
};

struct BackupStats {
  uint64_t files = 0;  // regular files (block: 1)
  uint64_t dirs = 0;
  uint64_t other_entries = 0;    // symlinks, FIFOs, devices, sockets recorded
  uint64_t files_unchanged = 0;  // taken from the parent without reading
  uint64_t bytes_total = 0;      // logical size of the volume (sum of file sizes)
  uint64_t bytes_read = 0;       // bytes actually read from the source
  // Block volumes on btrfs snapshots: data taken from the parent without reading it, because
  // btrfs shows it unchanged since the parent's snapshot (not counted in bytes_read).
  uint64_t bytes_reused = 0;
  uint64_t bytes_new = 0;        // bytes of chunks the vault did not hold before (uncompressed)
  uint64_t bytes_stored = 0;     // bytes added to the vault (packs + index + trees + manifest)
  uint64_t chunks = 0;           // data chunks referenced by the recovery point
  uint64_t chunks_new = 0;
  // Directories taken whole from the parent without walking them (btrfs change detection);
  // `chunks` does not count the chunks below them.
  uint64_t dirs_reused = 0;
  // Inodes btrfs change detection counted as changed since the parent's snapshot (0 when every
  // directory was walked).
  uint64_t inodes_changed = 0;
  double duration_seconds = 0;
};

struct BackupResult {
  std::string id;  // the new recovery point's id (32 lowercase hex characters)
  BackupStats stats;
  // Things skipped or degraded, one sentence each: unreadable files, sockets, files that
  // changed while being read, ownership not recorded, ...
  std::vector<std::string> warnings;
};

struct RecoveryPointInfo {
  std::string id;
  VolumeKind kind = VolumeKind::kFilesystem;
  std::string source;         // the source path as given at backup
  util::TimeMicros time = 0;  // when the backup started
  std::map<std::string, std::string> labels;
  std::string parent;  // the parent recovery point used (empty: none)
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes_total = 0;   // logical size
  uint64_t bytes_stored = 0;  // what this backup added to the vault when it ran
  double duration_seconds = 0;
  // Empty for a sound recovery point. Otherwise one sentence saying why it cannot be trusted
  // or used: its manifest is unreadable (only `id` is set then), it was deleted and came back
  // (rollback), or it is in the vault's signed state but its manifest is missing.
  std::string problem;
};

struct RestoreOptions {
  // Restore into a target that already has entries; existing files of the same name are
  // replaced. Without it a non-empty target is kConflict.
  bool allow_nonempty_target = false;
  // Set owners (uid/gid) as recorded. Only effective as root; otherwise owners are skipped
  // with one warning.
  bool restore_ownership = true;
};

struct RestoreStats {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t other_entries = 0;
  uint64_t bytes_written = 0;  // logical bytes (holes not counted as written)
  double duration_seconds = 0;
  std::vector<std::string> warnings;
};

// One damaged or missing object found by Verify.
struct Damage {
  // "blob <id> in data/3f/3f09..." (a chunk or tree), "data/3f/3f09..." (a pack),
  // "index/ab12..." (an index file), "points/80f1..." (a manifest).
  std::string object;
  std::string problem;  // one sentence
  // What the damage affects: "<recovery point id>:<path>" for files,
  // "<recovery point id>:blocks <first>-<last> (bytes <offset>+<length>)" for block volumes.
  std::vector<std::string> affected;
};

struct VerifyReport {
  bool ok = true;
  uint64_t recovery_points = 0;
  uint64_t packs = 0;
  uint64_t chunks = 0;      // chunks referenced
  uint64_t bytes_read = 0;  // bytes read back from the vault (read_data)
  std::vector<Damage> damaged;
  double duration_seconds = 0;
};

struct GcStats {
  uint64_t recovery_points = 0;  // kept
  uint64_t packs_removed = 0;    // wholly unused packs deleted
  uint64_t packs_repacked = 0;   // partly used packs rewritten
  uint64_t chunks_removed = 0;
  uint64_t bytes_freed = 0;        // net bytes the vault shrank by
  uint64_t leftovers_removed = 0;  // objects of interrupted operations collected
  uint64_t packs_adopted = 0;      // unindexed packs holding live data, indexed again (repair)
  // Unused packs left in place because S3 Object Lock retains them until a later date (a later
  // GC removes them), and the first few reasons ("... retains it (COMPLIANCE) until <date>").
  uint64_t packs_retained = 0;
  // Manifests of deleted recovery points left in place for the same reason.
  uint64_t points_retained = 0;
  std::vector<std::string> notes;
  double duration_seconds = 0;
};

// One entry of a recovery point's tree, as ForEachEntry reports it.
struct EntryInfo {
  std::string path;  // relative to the volume's root, '/'-separated, raw bytes of the names
  enum class Type { kFile, kDir, kSymlink, kOther } type = Type::kFile;
  uint64_t size = 0;  // files: logical size
  int64_t mtime_sec = 0;
  uint32_t mode = 0;  // permission bits
  // Files: the hex of a digest over the ids of its chunks. Two files of one vault with equal
  // content have the same content id (within a vault: ids are keyed by the vault's key).
  std::string content_id;
};

class Vault {
 public:
  // Creates a new vault in `backend` (which must be empty of vault objects: kConflict
  // otherwise), protected by `key`. The key file must exist (see WriteNewKeyFile).
  static Result<std::unique_ptr<Vault>> Init(std::unique_ptr<backend::Backend> backend,
                                             const KeySource& key, const InitOptions& init = {},
                                             const Options& options = {});
  // Opens an existing vault. kNotFound if there is none; kPermissionDenied "wrong key ..."
  // if `key` does not open it; kCorruption if its config is damaged.
  static Result<std::unique_ptr<Vault>> Open(std::unique_ptr<backend::Backend> backend,
                                             const KeySource& key, const Options& options = {});

  virtual ~Vault() = default;

  // The vault's random id (hex), recorded at Init.
  virtual std::string id() const = 0;

  // Takes a recovery point of request.source. On success the recovery point is durable and
  // listed. On any failure (including cancel) no recovery point is created and earlier ones are
  // untouched; partial data is left for Gc. Unreadable entries inside a tree are warnings, not
  // failures; an unreadable source root is an error.
  virtual Result<BackupResult> Backup(const BackupRequest& request, util::ProgressSink* progress,
                                      const util::CancelToken* cancel) = 0;

  // Every recovery point, oldest first. Damage does not fail the list: a manifest that cannot
  // be read, a recovery point that the vault's signed state says was deleted (a rollback) or
  // that the state lists but is missing, and a vault whose state went back since this client
  // last saw it (Options::state_cache_dir) come as entries with `problem` set (after the sound
  // ones; the last kind with an empty id).
  virtual Result<std::vector<RecoveryPointInfo>> List() = 0;
  // One recovery point. kNotFound if unknown.
  virtual Result<RecoveryPointInfo> Get(const std::string& id) = 0;

  // Restores a recovery point into `target`: for kFilesystem a directory (created if missing),
  // for kBlock a file path (the image). Every chunk read is authenticated; nothing is written
  // outside `target` whatever the manifest says. kConflict if the target is not empty and
  // options.allow_nonempty_target is false.
  virtual Result<RestoreStats> Restore(const std::string& id, const std::string& target,
                                       const RestoreOptions& options, util::ProgressSink* progress,
                                       const util::CancelToken* cancel) = 0;

  // Calls `visit` with every entry of a filesystem recovery point (directories before what they
  // hold, names in byte order); for a block recovery point its one image. Reads trees only, never
  // file data, and holds no entry after its call: memory does not grow with the tree. Stops at
  // the first error of `visit` and returns it. kNotFound if `id` is unknown; kCorruption for a
  // tree that fails authentication.
  virtual Status ForEachEntry(const std::string& id,
                              const std::function<Status(const EntryInfo&)>& visit,
                              const util::CancelToken* cancel) = 0;
  // Streams the content of the regular file `path` (as ForEachEntry names it) of recovery point
  // `id` to `sink`, in order, every chunk authenticated; stops at the first error of `sink`.
  // kNotFound if there is no such file; kInvalidArgument if `path` is not a regular file.
  virtual Status ReadFile(const std::string& id, const std::string& path,
                          const std::function<Status(util::ByteView)>& sink,
                          const util::CancelToken* cancel) = 0;

  // Checks the vault (all recovery points, or only `id`): every referenced chunk is in the index
  // and its pack exists and is large enough; with `read_data`, every referenced pack is read,
  // decrypted and every chunk re-hashed. The vault's signed state is compared with the manifests
  // present (rollback and removal, see List). Damage is reported in the VerifyReport (ok=false), not as
  // an error; errors are reserved for failures to run (wrong key, backend unreachable).
  virtual Result<VerifyReport> Verify(const std::optional<std::string>& id, bool read_data,
                                      util::ProgressSink* progress,
                                      const util::CancelToken* cancel) = 0;

  // Removes a recovery point: records its deletion in the vault's signed state, then removes its
  // manifest. Space is reclaimed by Gc. kNotFound if unknown. An error after the record (the
  // manifest's removal failed, retried) leaves the point deleted all the same: List leaves it
  // out, Verify does not count it as damage, and the next Delete or Gc removes the manifest.
  virtual Status Delete(const std::string& id) = 0;

  // Reclaims space no remaining recovery point uses: removes unused packs, repacks partly used
  // ones, rewrites the index, and collects leftovers of interrupted operations (among them the
  // manifests of interrupted deletes, counted in leftovers_removed). Never removes
  // data that a backup running concurrently (holding its lock) may need.
  virtual Result<GcStats> Gc(util::ProgressSink* progress, const util::CancelToken* cancel) = 0;

  // --- S3 Object Lock (docs/vault-format.md section 10.1).
  // Whether the vault's storage can retain objects (an S3 bucket with Object Lock enabled).
  virtual Result<bool> SupportsRetention() = 0;
  // Retains what recovery point `id` needs to be restored (the config, its manifest, every pack
  // holding one of its chunks) until `until_unix` (seconds, UTC) in `mode` ("COMPLIANCE" or
  // "GOVERNANCE"), under a shared lock. Never shortens a retention in place. Returns the number
  // of objects. kNotFound if the point is unknown; kInvalidArgument where the storage cannot
  // retain; the storage's errors otherwise.
  virtual Result<uint64_t> Retain(const std::string& id, std::string_view mode, int64_t until_unix,
                                  const util::CancelToken* cancel) = 0;
};

}  // namespace mlvault::vault
