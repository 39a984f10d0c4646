// HTTP transport for the S3 backend: a pool of libcurl easy handles, each keeping its
// connection alive between requests, so many threads issue requests in parallel and every
// request after the first on a handle reuses its TCP connection.
//
// Thread-safe: Perform may be called from any number of threads; each call borrows a handle
// from the pool (making a new one when all are busy) and returns it afterwards. mu_ guards the
// idle handles.
#pragma once

#include <curl/curl.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/error.h"
#include "util/mutex.h"

namespace mlvault::backend::s3 {

struct HttpRequest {
  std::string method;                // GET, HEAD, PUT, POST, DELETE
  std::string url;                   // complete, already encoded
  std::vector<std::string> headers;  // "Name: value"
  util::ByteView body;               // sent for PUT and POST
  // When set, the response body is received into this buffer's storage (moved into
  // HttpResponse::body, so its capacity is reused and no new memory is touched).
  util::Bytes* receive_into = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  // Received straight into the buffer the caller keeps (a GET's data is returned without a
  // copy); reserved from Content-Length so a large object is not re-allocated as it arrives.
  util::Bytes body;

  std::string_view Text() const {
    return {reinterpret_cast<const char*>(body.data()), body.size()};
  }

  std::string Header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpLimits {
  size_t max_idle_handles = 16;
  long connect_timeout_ms = 10'000;
  // A request fails when less than 1 byte/s moves for this long (a stalled server or network).
  long stall_timeout_seconds = 60;
};

class HttpPool {
 public:
  explicit HttpPool(HttpLimits limits);
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  // Any HTTP status is a successful Perform. kUnavailable when no answer came: connection
  // refused or reset, DNS failure, timeout (the message names curl's reason and `what`).
  util::Result<HttpResponse> Perform(const HttpRequest& request, const std::string& what);

 private:
  CURL* Borrow() MLV_EXCLUDES(mu_);
  void Return(CURL* handle) MLV_EXCLUDES(mu_);

  const HttpLimits limits_;
  util::Mutex mu_;
  std::vector<CURL*> idle_ MLV_GUARDED_BY(mu_);
};

}  // namespace mlvault::backend::s3
