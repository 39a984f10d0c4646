#include "api/dispatch.h"

#include "api/dispatch_internal.h"
#include "api/operations.h"

namespace mlvault::api {

util::Result<nlohmann::json> Dispatch(ControlContext& c, std::string_view service,
                                      std::string_view operation, const nlohmann::json& body,
                                      const CallOptions& options) {
  auto op = FindOperation(service, operation);
  if (!op)
    return util::InvalidArgument("unknown operation \"" + std::string(service) + "/" +
                                 std::string(operation) +
                                 "\"; the operations are listed in docs/api.md");
  if (op->embedded_only && !c.embedded)
    return util::InvalidArgument("operation \"" + std::string(operation) +
                                 "\" runs only on the machine that holds the catalog (embedded "
                                 "mode)");
  if (service == kIamService) return internal::DispatchIam(c, operation, body, options);
  return internal::DispatchMl(c, operation, body, options);
}

}  // namespace mlvault::api
