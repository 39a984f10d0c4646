// OpenBackend: the one way callers open vault storage from a location string.
// (Minimal form for local directories; the S3 backend extends it with s3://bucket/prefix.)
#pragma once

#include <memory>
#include <string_view>

#include "backend/backend.h"

namespace mlvault::backend {

struct OpenOptions {
  bool create = false;     // make the directory when missing
  bool read_only = false;  // wrap in ReadOnly
};

// `location`: a local directory (as OpenLocal). kInvalidArgument for a location with a scheme
// this build does not support ("s3://..."), naming it; otherwise the errors of OpenLocal.
Result<std::unique_ptr<Backend>> OpenBackend(std::string_view location,
                                             const OpenOptions& options = {});

}  // namespace mlvault::backend
