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

  // Removes the object; removing a missing object is OK (idempotent).
  virtual Status Remove(std::string_view name) = 0;

  // For messages: "local:/var/vaults/mlv-...", "s3://bucket/prefix".
  virtual std::string Describe() const = 0;
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
  int initial_backoff_ms = 50;   // doubled each retry
};
// Retries transient failures (kUnavailable, kIo) of the inner backend; other errors pass.
std::unique_ptr<Backend> WithRetry(std::unique_ptr<Backend> inner, RetryPolicy policy = {});

// Refuses Put and Remove with kPermissionDenied.
std::unique_ptr<Backend> ReadOnly(std::unique_ptr<Backend> inner);

// Fault injection for tests: before each operation `fault` is asked; a non-OK answer is
// returned instead of calling the inner backend. `op` is "put", "get", "stat", "list", "remove".
using FaultFn = std::function<Status(std::string_view op, std::string_view name)>;
std::unique_ptr<Backend> WithFaults(std::unique_ptr<Backend> inner, FaultFn fault);

}  // namespace mlvault::backend
