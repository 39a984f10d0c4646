// A client of a workspace runtime's own REST API (/api/v1, docs/workspace-api.md), with the
// workspace's API key: how the control plane writes items into a running workspace (restore of
// single items) through the runtime, so that its database stays consistent while it serves.
//
// Answers 503 (the workspace is quiesced for a backup, or busy) are retried, honouring
// Retry-After, for up to `busy_wait_seconds`; other failures are not retried.
// Errors: the runtime's 400 is kInvalidArgument, 404 kNotFound, 409 kConflict, 401/403
// kPermissionDenied, with the runtime's sentence; no answer, 5xx and a 503 that lasts are
// kUnavailable. Thread-compatible (one per thread).
#pragma once

#include <string>

#include "util/bytes.h"
#include "util/error.h"

namespace mlvault::workspace {

class WorkspaceApiClient {
 public:
  WorkspaceApiClient(std::string endpoint, std::string api_key, double timeout_seconds = 120,
                     double busy_wait_seconds = 120);

  // `method` GET, POST, PUT or DELETE on `path` ("/api/v1/projects") with a JSON body (may be
  // empty); returns the answer's body (JSON text) for a 2xx status.
  util::Result<std::string> Call(const std::string& method, const std::string& path,
                                 const std::string& json_body = "") const;
  // PUT of raw bytes (a project file); `path` already URL-encoded (EncodePath).
  util::Result<std::string> PutBytes(const std::string& path, util::ByteView data) const;

  // A file path relative to a project, percent-encoded component by component ('/' kept).
  static std::string EncodePath(const std::string& path);

 private:
  util::Result<std::string> Send(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& content_type) const;
  std::string endpoint_, api_key_;
  double timeout_seconds_, busy_wait_seconds_;
};

}  // namespace mlvault::workspace
