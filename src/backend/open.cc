// OpenBackend: from a location string to the decorated backend stack.
#include <cstdlib>

#include "backend/backend.h"
#include "backend/s3.h"

namespace mlvault::backend {
namespace {

std::string OrEnv(const std::string& value, const char* var) {
  if (!value.empty()) return value;
  const char* env = std::getenv(var);
  return env != nullptr ? env : "";
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenBackend(std::string_view location,
                                             const OpenOptions& options) {
  std::unique_ptr<Backend> b;
  if (location.starts_with("s3://")) {
    S3Config c;
    MLV_TRY(ParseS3Location(location, c));
    c.endpoint = OrEnv(options.s3_endpoint, "MLVAULT_S3_ENDPOINT");
    c.access_key = OrEnv(options.s3_access_key, "MLVAULT_S3_ACCESS_KEY");
    c.secret_key = OrEnv(options.s3_secret_key, "MLVAULT_S3_SECRET_KEY");
    c.region = OrEnv(options.s3_region, "MLVAULT_S3_REGION");
    c.listing_lag_seconds = options.s3_listing_lag_seconds;
    if (c.listing_lag_seconds < 0) {
      const std::string lag = OrEnv("", "MLVAULT_S3_LISTING_LAG_SECONDS");
      char* end = nullptr;
      c.listing_lag_seconds = lag.empty() ? 0 : std::strtod(lag.c_str(), &end);
      if (!lag.empty() && (end == nullptr || *end != '\0' || c.listing_lag_seconds < 0 ||
                           c.listing_lag_seconds > 600)) {
        return util::InvalidArgument(
            "MLVAULT_S3_LISTING_LAG_SECONDS must be a number of seconds in 0..600, not " + lag);
      }
    }
    auto s3 = MLV_TRY_CTX(S3Backend::Open(std::move(c), options.create, options.s3_object_lock),
                          "cannot open vault " + std::string(location));
    b = WithRetry(std::move(s3), options.retry);
  } else if (location.find("://") != std::string_view::npos) {
    return util::InvalidArgument("unknown vault location " + std::string(location) +
                                 ": give a local directory or s3://bucket/prefix");
  } else {
    b = MLV_TRY(OpenLocal(std::string(location), options.create));
  }
  if (options.read_only) b = ReadOnly(std::move(b));
  return b;
}

}  // namespace mlvault::backend
