// The dispatcher: one operation call, from request JSON to response JSON, for ONE caller.
// Decodes the typed request (api/json_mapping.h; 400-class kInvalidArgument naming the field,
// the unknown field or the unknown operation), calls the typed control operation, and encodes
// its typed response. Both the embedded client and the server call it.
//
// Thread-safety: Dispatch is reentrant; a ControlContext (one catalog connection) is used by
// one thread at a time, so a multi-threaded server gives each request its own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/client.h"
#include "catalog/db.h"
#include "control/authorizer.h"
#include "control/iam_ops.h"
#include "control/operations.h"
#include "util/clock.h"

namespace mlvault::api {

struct ControlContext {
  control::Operations* ops = nullptr;   // bound to `caller`
  control::IamOperations* iam = nullptr;
  control::Caller caller;
  // For the embedded-only operation `init` (creates the account; no caller yet).
  bool embedded = true;  // false on a server: embedded-only operations are refused
  catalog::Db* db = nullptr;
  std::string home;
  std::string profile;
  const util::Clock* clock = &util::Clock::System();
};

util::Result<nlohmann::json> Dispatch(ControlContext& context, std::string_view service,
                                      std::string_view operation, const nlohmann::json& body,
                                      const CallOptions& options);

}  // namespace mlvault::api
