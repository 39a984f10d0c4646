// The one mapping from an error category to an HTTP status, for every HTTP front end of the
// control plane (the server and its clients read statuses back with it).
// (The reference workspace runtime, src/runtime, keeps its own: it models a third-party ML
// platform and by the layer rule uses util only, so it cannot link api/.)
#pragma once

#include "util/error.h"

namespace mlvault::api {

// 400 invalid argument, 404 not found, 409 conflict or cancelled, 403 permission denied,
// 503 unavailable, 500 corruption, I/O and internal errors.
int HttpStatusFor(util::ErrorCode code);

}  // namespace mlvault::api
