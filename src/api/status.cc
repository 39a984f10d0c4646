#include "api/status.h"

namespace mlvault::api {

int HttpStatusFor(util::ErrorCode code) {
  switch (code) {
    case util::ErrorCode::kInvalidArgument: return 400;
    case util::ErrorCode::kNotFound: return 404;
    case util::ErrorCode::kConflict: return 409;
    case util::ErrorCode::kPermissionDenied: return 403;
    case util::ErrorCode::kUnavailable: return 503;
    case util::ErrorCode::kCancelled: return 409;
    case util::ErrorCode::kCorruption:
    case util::ErrorCode::kIo:
    case util::ErrorCode::kInternal: return 500;
  }
  return 500;
}

}  // namespace mlvault::api
