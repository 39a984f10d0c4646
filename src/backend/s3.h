// The S3 backend: objects of a vault are keys under a prefix of one bucket of an
// S3-compatible server (AWS S3, Ceph RADOS Gateway, ...), addressed path-style.
//
// Requests are signed with SigV4 (sigv4.h) over a pool of kept-alive libcurl handles
// (s3_http.h). Put sends x-amz-content-sha256 (the server checks the body against it); objects
// above `multipart_threshold` go as a multipart upload whose parts are sent in parallel and
// which is completed only when every part is stored (S3 makes it visible atomically) or aborted.
// Get uses ranged GETs; List pages through ListObjectsV2.
//
// Errors: kNotFound for a missing object or bucket; kPermissionDenied for refused
// credentials, a wrong secret, or a clock too far from the server's; kInvalidArgument for a
// wrong region or endpoint; kUnavailable for 5xx answers, timeouts and broken connections
// (retried by WithRetry, see OpenBackend). Messages name the bucket, prefix and endpoint and
// never a credential. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"

namespace mlvault::backend {

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:7480" or "https://s3.eu-west-1.amazonaws.com"
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string bucket;
  std::string prefix;  // "" or a valid name prefix without a trailing '/'
  size_t max_idle_connections = 16;
  uint64_t multipart_threshold = 16 << 20;  // larger objects go as multipart uploads
  uint64_t part_size = 8 << 20;             // >= 5 MiB, the S3 minimum for all but the last part
  int parallel_parts = 4;
  int list_page_size = 1000;  // keys per ListObjectsV2 page (1000 is the S3 maximum)
  long connect_timeout_ms = 10'000;
  long stall_timeout_seconds = 60;
  int64_t clock_offset_seconds = 0;
  // Upper bound on how long a new or removed key may take to show in listings. 0 for AWS S3
  // and RGW (both list-after-write consistent); set it for stores whose listings lag.
  double listing_lag_seconds = 0;  // added to this machine's clock when signing (tests)
};

// "s3://bucket" or "s3://bucket/some/prefix" → bucket and prefix of `config`.
// kInvalidArgument naming what is wrong.
Status ParseS3Location(std::string_view location, S3Config& config);

class S3Backend : public Backend {
 public:
  // Checks that the bucket exists and the credentials are accepted (one listing request);
  // with `create_bucket`, makes a missing bucket first (with Object Lock when `object_lock`).
  static Result<std::unique_ptr<S3Backend>> Open(S3Config config, bool create_bucket,
                                                 bool object_lock = false);

  // Removes every object under the prefix (multi-object delete, with Content-MD5). For tests
  // and for dropping a whole vault.
  virtual Status RemoveAll() = 0;

  // Object Lock primitives (for a later vault-lock feature): creates the bucket with Object
  // Lock enabled, and stores an object with a COMPLIANCE or GOVERNANCE retention until
  // `retain_until_unix` (sent with Content-MD5, which S3 requires for locked puts).
  virtual Status CreateBucket(bool object_lock) = 0;
  virtual Status PutRetained(std::string_view name, ByteView data, std::string_view mode,
                             int64_t retain_until_unix) = 0;
};

}  // namespace mlvault::backend
