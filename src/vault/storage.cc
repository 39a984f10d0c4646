#include "vault/storage.h"

namespace mlvault::vault {

Result<std::unique_ptr<backend::Backend>> OpenStorage(std::string_view location,
                                                      const StorageOptions& options) {
  auto storage = MLV_TRY(backend::OpenBackend(
      location, {.create = options.create, .s3_object_lock = options.s3_object_lock}));
  if (options.fault) return backend::WithFaults(std::move(storage), options.fault);
  return storage;
}

}  // namespace mlvault::vault
