#include "backend/open.h"

#include <string>

namespace mlvault::backend {

Result<std::unique_ptr<Backend>> OpenBackend(std::string_view location,
                                             const OpenOptions& options) {
  if (location.find("://") != std::string_view::npos)
    return util::InvalidArgument("unknown vault location " + std::string(location) +
                                 ": give a local directory");
  auto b = MLV_TRY(OpenLocal(std::string(location), options.create));
  if (options.read_only) b = ReadOnly(std::move(b));
  return b;
}

}  // namespace mlvault::backend
