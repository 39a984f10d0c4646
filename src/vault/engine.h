// The operations of the vault engine over a Repository: backup (archiver.cc), restore
// (restorer.cc), verify (checker.cc) and garbage collection (gc.cc). Vault (vault.cc) takes the
// locks and calls these. Each is a function of its arguments; all are thread-safe in that sense.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "util/progress.h"
#include "vault/repository.h"
#include "vault/vault.h"

namespace mlvault::vault {

class VaultLock;

// Thread counts for one operation, derived from Options.
struct Parallelism {
  size_t compute = 2;  // chunk/hash/compress/encrypt (or decrypt/decompress) workers
  size_t io = 4;       // file readers / writers, more than cores so disk reads overlap CPU work
  size_t scan = 4;     // directory scanners (stat is latency-bound on a cold cache)
};
Parallelism ParallelismFor(const Options& options);

Result<BackupResult> RunBackup(Repository* repo, VaultLock* lock, const BackupRequest& request,
                               util::ProgressSink* progress, const util::CancelToken* cancel);

Result<RestoreStats> RunRestore(Repository* repo, const Manifest& point, const std::string& target,
                                const RestoreOptions& options, util::ProgressSink* progress,
                                const util::CancelToken* cancel);

Result<VerifyReport> RunVerify(Repository* repo, const std::optional<std::string>& id,
                               bool read_data, util::ProgressSink* progress,
                               const util::CancelToken* cancel);

Result<GcStats> RunGc(Repository* repo, VaultLock* lock, util::ProgressSink* progress,
                      const util::CancelToken* cancel);

// S3 Object Lock (retention.cc, docs/vault-format.md section 10.1). The objects `point` needs to
// be restored: "config", its manifest and every pack holding one of its blobs (index files are
// derived data and not listed). RunRetain retains each until `until_unix` in `mode`
// (Backend::Retain) and returns how many; the first failure stops it.
Result<std::vector<std::string>> PointObjects(Repository* repo, const Manifest& point,
                                              const util::CancelToken* cancel);
Result<uint64_t> RunRetain(Repository* repo, const Manifest& point, std::string_view mode,
                           int64_t until_unix, const util::CancelToken* cancel);

// Browsing a recovery point without restoring it (browse.cc): its entries, one file's bytes.
Status RunForEachEntry(Repository* repo, const Manifest& point,
                       const std::function<Status(const EntryInfo&)>& visit,
                       const util::CancelToken* cancel);
Status RunReadFile(Repository* repo, const Manifest& point, const std::string& path,
                   const std::function<Status(util::ByteView)>& sink,
                   const util::CancelToken* cancel);

// Visits every distinct tree reachable from `roots` once (depth-first). A tree that cannot be
// read is passed to `on_error` (which returns false to stop the walk); without `on_error` the
// walk stops with that error.
using TreeVisitor = std::function<void(const BlobId& id, const Tree& tree)>;
using TreeErrorFn = std::function<bool(const BlobId& id, const util::Error& error)>;
Status ForEachTree(Repository* repo, const MasterIndex& index, const std::vector<BlobId>& roots,
                   const TreeVisitor& visit, const TreeErrorFn& on_error,
                   const util::CancelToken* cancel);
}  // namespace mlvault::vault
