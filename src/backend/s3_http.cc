#include "backend/s3_http.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace mlvault::backend::s3 {
namespace {

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

// The most a Content-Length makes us reserve ahead (a larger body still arrives, growing).
constexpr uint64_t kMaxReserve = 256ull << 20;
// curl's receive buffer: fewer, larger reads from the socket (its default is 16 KiB).
constexpr long kReceiveBuffer = 512L << 10;
// curl's send buffer for bodies larger than this (a pack): curl copies the body through it, one
// send(2) per buffer, so 64 KiB (its default) made 128 sends per 8 MiB pack. 2 MiB is curl's
// largest; the buffer is allocated per request that uploads a large body.
constexpr long kSendBuffer = 2L << 20;
constexpr size_t kLargeBody = 256u << 10;

// What the callbacks fill: the response, and whether a body is coming (not for HEAD).
struct Sink {
  HttpResponse* response;
  bool body_expected;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto& body = static_cast<Sink*>(user)->response->body;
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  body.insert(body.end(), p, p + size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  HttpResponse* r = sink->response;
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    r->headers.clear();  // a new response (after 100 Continue or a redirect)
    r->body.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  if (name == "content-length" && sink->body_expected) {
    const uint64_t len = std::strtoull(std::string(value).c_str(), nullptr, 10);
    if (len > r->body.capacity()) r->body.reserve(std::min(len, kMaxReserve));
  }
  r->headers[name] = std::string(value);
  return size * n;
}

}  // namespace

HttpPool::HttpPool(HttpLimits limits) : limits_(limits) { static GlobalInit init; }

HttpPool::~HttpPool() {
  for (CURL* h : idle_) curl_easy_cleanup(h);
}

CURL* HttpPool::Borrow() {
  {
    util::MutexLock lk(mu_);
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void HttpPool::Return(CURL* h) {
  util::MutexLock lk(mu_);
  if (idle_.size() < limits_.max_idle_handles) {
    idle_.push_back(h);
  } else {
    curl_easy_cleanup(h);
  }
}

util::Result<HttpResponse> HttpPool::Perform(const HttpRequest& req, const std::string& what) {
  CURL* h = Borrow();
  if (h == nullptr) return util::Unavailable("cannot create an HTTP handle for " + what);
  curl_easy_reset(h);  // keeps the live connection and caches
  HttpResponse resp;
  if (req.receive_into != nullptr) {
    resp.body = std::move(*req.receive_into);
    resp.body.clear();
  }
  curl_slist* headers = nullptr;
  for (const std::string& line : req.headers) headers = curl_slist_append(headers, line.c_str());
  // No "Expect: 100-continue" round trip, and no default form content type on bodies.
  headers = curl_slist_append(headers, "Expect:");
  if (req.method == "PUT" || req.method == "POST") {
    bool has_type = std::any_of(req.headers.begin(), req.headers.end(), [](const std::string& l) {
      return strncasecmp(l.c_str(), "content-type:", 13) == 0;
    });
    if (!has_type) headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  }
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, limits_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, limits_.stall_timeout_seconds);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  Sink sink{&resp, req.method != "HEAD"};
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method == "PUT" || req.method == "POST") {
      // POSTFIELDS sends the buffer as is, without copying; empty bodies need a non-null pointer.
      static const char kEmpty[1] = {0};
      const void* data = req.body.empty() ? static_cast<const void*>(kEmpty) : req.body.data();
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      if (req.body.size() > kLargeBody) curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, kSendBuffer);
    }
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    curl_easy_cleanup(h);  // the connection state is unknown: do not reuse it
    return util::Unavailable("no answer from the S3 server for " + what + ": " + why);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  Return(h);
  return resp;
}

}  // namespace mlvault::backend::s3
