// The storage a vault lives on, opened from its location string: the one way the layers above
// the vault (control, cli) reach a backend. What it returns is what Vault::Init and Vault::Open
// take; callers may also ask it about the storage itself (Backend::SupportsRetention).
//
// A location is a local directory ("/srv/vault") or "s3://bucket[/prefix]"; S3 settings come
// from the environment (backend::OpenOptions names the variables).
//
// Thread-safety: OpenStorage may be called from several threads at once; the backend it returns
// is thread-safe (backend/backend.h).
#pragma once

#include <memory>
#include <string_view>

#include "backend/backend.h"
#include "util/error.h"

namespace mlvault::vault {

using util::Result;

// Asked before each operation of the backend with the operation ("put", "get", "stat", "list",
// "remove") and the object's name; a non-OK answer is returned instead of the operation.
using StorageFault = backend::FaultFn;

struct StorageOptions {
  // Local: make the directory when missing; S3: make the bucket when missing. Otherwise a
  // missing location is kNotFound.
  bool create = false;
  // S3 with `create`: a missing bucket is made with S3 Object Lock enabled.
  bool s3_object_lock = false;
  // Fault injection for tests (util/test_hooks.h). Empty: no faults.
  StorageFault fault;
};

// Opens the storage at `location`. Errors: kInvalidArgument for a malformed location or missing
// S3 settings (naming the variable to set, never printing a credential); kNotFound for a missing
// local directory without `create`; kIo / kUnavailable / kPermissionDenied from the storage.
Result<std::unique_ptr<backend::Backend>> OpenStorage(std::string_view location,
                                                      const StorageOptions& options = {});

}  // namespace mlvault::vault
