// The storage contract below the vault: a flat namespace of immutable-by-convention objects.
//
// Names are '/'-separated relative paths of [A-Za-z0-9._-] segments (no empty, "." or ".."
// segment); anything else is kInvalidArgument. Implementations (local directory, S3) and
// decorators (retry, read-only, fault injection) are all thread-safe: the vault calls them
// from many threads at once. One conformance suite (backend/conformance.h) runs against each.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/error.h"

namespace mlvault::backend {

using util::Bytes;
using util::ByteView;
using util::Result;
using util::Status;

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

// An object's retention (S3 Object Lock): it cannot be removed or overwritten before
// `until_unix`. `mode` "" means none; otherwise "COMPLIANCE" (nobody can shorten or remove it)
// or "GOVERNANCE" (credentials allowed to bypass governance can).
struct Retention {
  std::string mode;
  int64_t until_unix = 0;  // seconds since 1970, UTC
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Stores `data` under `name`, replacing any object of that name atomically. When it
  // returns OK the object is durable (survives a crash or power loss) and wholly visible;
  // on error no partial object is visible under `name`.
  virtual Status Put(std::string_view name, ByteView data) = 0;

  // Reads `length` bytes at `offset` (length 0: to the end). kNotFound if the object does not
  // exist; kCorruption if it ends before offset + length.
  virtual Result<Bytes> Get(std::string_view name, uint64_t offset = 0, uint64_t length = 0) = 0;

  // kNotFound if the object does not exist.
  virtual Result<ObjectInfo> Stat(std::string_view name) = 0;

  // Every object whose name starts with `prefix`, in no particular order.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;

  // Removes the object; removing a missing object is OK (idempotent). kConflict, naming the
  // date, if the object is under a retention (SupportsRetention) that has not ended: it stays.
  // On versioned storage (an S3 bucket with versioning, which Object Lock needs) every version
  // of the name is removed, so the space is reclaimed; not just hidden by a delete marker.
  virtual Status Remove(std::string_view name) = 0;

  // --- Retention (S3 Object Lock). Storage without it (local directories) answers false and
  // refuses Retain with kInvalidArgument.
  // Whether objects can be retained here (an S3 bucket created with Object Lock enabled).
  virtual Result<bool> SupportsRetention() { return false; }
  // The object's retention ({"", 0} if none). kNotFound if the object does not exist.
  virtual Result<Retention> GetRetention(std::string_view name) {
    MLV_TRY(Stat(name));
    return Retention{};
  }
  // Retains the object's current version until `until_unix` in `mode` ("COMPLIANCE" or
  // "GOVERNANCE"). Only ever extends: a later retention already in place is kept (OK).
  // kNotFound if the object does not exist; kInvalidArgument where retention is not supported.
  virtual Status Retain(std::string_view name, std::string_view mode, int64_t until_unix) {
    (void)name, (void)mode, (void)until_unix;
    return util::InvalidArgument(Describe() +
                                 " cannot retain objects (it is not an S3 bucket with Object Lock)");
  }

  // For messages: "local:/var/vaults/mlv-...", "s3://bucket/prefix".
  virtual std::string Describe() const = 0;

  // The longest time after a Put or Remove returns until List shows the change (0: at once,
  // as a local directory and S3 with strong consistency do). The vault lock protocol waits
  // this long between writing its lock and trusting a listing (docs/vault-format.md §8).
  virtual double ListingLagSeconds() const { return 0; }

  // How many reads a caller should keep in flight to use this storage well. 1 for a local
  // directory (a read is a copy out of the page cache; a reader thread per core is all it
  // takes); more for remote storage, where each request waits a network round trip (S3: its
  // connection pool). Readers that can fetch ahead (restore) use it to size their read-ahead.
  virtual int ConcurrentReads() const { return 1; }
};

// kInvalidArgument naming the problem unless `name` is a valid object name.
Status ValidateName(std::string_view name);
// kInvalidArgument unless `prefix` can start a valid name: empty, or allowed characters whose
// complete segments (those followed by '/') are valid. A partial last segment is fine ("data/ab").
Status ValidatePrefix(std::string_view prefix);

// A directory on the local file system. `create`: make the directory if missing;
// otherwise kNotFound when it does not exist. Writes go to a temporary file, are fsynced and
// renamed into place, and the directory is fsynced.
Result<std::unique_ptr<Backend>> OpenLocal(const std::string& root, bool create);

struct RetryPolicy {
  int attempts = 5;              // total tries for kUnavailable / kIo errors
  int initial_backoff_ms = 50;   // doubled each retry (at most 10 s), plus up to 50 % jitter
};
// Retries transient failures (kUnavailable, kIo) of the inner backend with exponential backoff
// and jitter; other errors pass at once.
std::unique_ptr<Backend> WithRetry(std::unique_ptr<Backend> inner, RetryPolicy policy = {});

struct OpenOptions {
  bool create = false;     // local: make the directory; S3: make the bucket when missing
  bool read_only = false;  // wrap in ReadOnly
  RetryPolicy retry;       // for remote storage (S3)
  // S3 settings; an empty field is taken from the environment: MLVAULT_S3_ENDPOINT,
  // MLVAULT_S3_ACCESS_KEY, MLVAULT_S3_SECRET_KEY, MLVAULT_S3_REGION (default us-east-1).
  std::string s3_endpoint;
  std::string s3_access_key;
  std::string s3_secret_key;
  std::string s3_region;
  // Listing lag of the store (S3Config::listing_lag_seconds); negative: from
  // MLVAULT_S3_LISTING_LAG_SECONDS, else 0.
  double s3_listing_lag_seconds = -1;
};

// The one way callers open storage: `location` is a local directory (as OpenLocal) or
// "s3://bucket[/prefix]" (an S3Backend wrapped in WithRetry). Returns the decorated stack.
// kInvalidArgument for a malformed location or missing S3 settings (naming the variable to
// set, never printing a credential); otherwise the errors of OpenLocal / S3Backend::Open.
Result<std::unique_ptr<Backend>> OpenBackend(std::string_view location, const OpenOptions& options = {});

// Refuses Put and Remove with kPermissionDenied.
std::unique_ptr<Backend> ReadOnly(std::unique_ptr<Backend> inner);

// Fault injection for tests: before each operation `fault` is asked; a non-OK answer is
// returned instead of calling the inner backend. `op` is "put", "get", "stat", "list", "remove".
using FaultFn = std::function<Status(std::string_view op, std::string_view name)>;
std::unique_ptr<Backend> WithFaults(std::unique_ptr<Backend> inner, FaultFn fault);

}  // namespace mlvault::backend
