// Internal to api/dispatch*.cc: the per-service dispatch tables.
#pragma once

#include "api/dispatch.h"
#include "api/json_mapping.h"

namespace mlvault::api::internal {

util::Result<json> DispatchMl(ControlContext& c, std::string_view operation, const json& body,
                              const CallOptions& options);
util::Result<json> DispatchIam(ControlContext& c, std::string_view operation, const json& body,
                               const CallOptions& options);

// Decodes Req from `body`, runs `f(request)` and encodes its typed result.
template <class Req, class F>
util::Result<json> Typed(const json& body, F&& f) {
  Req request = MLV_TRY(Decode<Req>(body));
  auto response = MLV_TRY(f(request));
  return Encode(response);
}

}  // namespace mlvault::api::internal
