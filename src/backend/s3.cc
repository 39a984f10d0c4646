#include "backend/s3.h"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>
#include <vector>

#include "backend/s3_answers.h"
#include "backend/s3_http.h"
#include "backend/s3_xml.h"
#include "backend/sigv4.h"
#include "util/mutex.h"

namespace mlvault::backend {
namespace {

using s3::HttpRequest;
using s3::HttpResponse;
using sigv4::Pairs;

std::string HostOf(const std::string& endpoint) {
  std::string_view s = endpoint;
  size_t scheme = s.find("://");
  if (scheme != std::string_view::npos) s.remove_prefix(scheme + 3);
  return std::string(s.substr(0, s.find('/')));
}

// Thread-safe: the configuration is constant after construction, the HTTP pool locks itself, mu_
// guards the cached versioning answer.
class S3BackendImpl final : public S3Backend {
 public:
  explicit S3BackendImpl(S3Config c)
      : c_(std::move(c)),
        host_(HostOf(c_.endpoint)),
        http_({.max_idle_handles = c_.max_idle_connections,
               .connect_timeout_ms = c_.connect_timeout_ms,
               .stall_timeout_seconds = c_.stall_timeout_seconds}) {
    while (!c_.endpoint.empty() && c_.endpoint.back() == '/') c_.endpoint.pop_back();
    key_prefix_ = c_.prefix.empty() ? "" : c_.prefix + "/";
  }

  Status Put(std::string_view name, ByteView data) override {
    MLV_TRY(ValidateName(name));
    if (data.size() > c_.multipart_threshold) return PutMultipart(name, data);
    MLV_TRY(Call("PUT", Key(name), {}, data, {}, "store " + Where(name)));
    return util::Ok();
  }

  Result<Bytes> Get(std::string_view name, uint64_t offset, uint64_t length) override {
    return Read(name, offset, length, nullptr);
  }

  Status GetInto(std::string_view name, uint64_t offset, uint64_t length, Bytes& out) override {
    out = MLV_TRY(Read(name, offset, length, &out));
    return util::Ok();
  }

  // Get, receiving into `*reuse`'s storage when given.
  Result<Bytes> Read(std::string_view name, uint64_t offset, uint64_t length, Bytes* reuse) {
    MLV_TRY(ValidateName(name));
    const std::string what = "read " + Where(name);
    if (length != 0 && offset > UINT64_MAX - length) {
      auto st = MLV_TRY(Stat(name));
      return TooShort(name, st.size, offset, length);
    }
    Pairs headers;
    if (offset != 0 || length != 0) {
      headers.push_back({"range", "bytes=" + std::to_string(offset) + "-" +
                                      (length != 0 ? std::to_string(offset + length - 1) : "")});
    }
    auto r = MLV_TRY(Call("GET", Key(name), {}, {}, headers, what, /*allow_416=*/true,
                          /*missing_ok=*/false, reuse));
    if (r.status == 416) {
      // The range starts at or past the end: fine only for a zero-length read at the end.
      auto st = MLV_TRY(Stat(name));
      if (offset == st.size && length == 0) return Bytes{};
      return TooShort(name, st.size, offset, length);
    }
    if (r.status == 200 && (offset != 0 || length != 0)) {
      // A server that ignored the Range header sent the whole object.
      if (offset > r.body.size() || (length != 0 && length > r.body.size() - offset)) {
        return TooShort(name, r.body.size(), offset, length);
      }
      const uint64_t end = length != 0 ? offset + length : r.body.size();
      return Bytes(r.body.begin() + static_cast<ptrdiff_t>(offset),
                   r.body.begin() + static_cast<ptrdiff_t>(end));
    } else if (length != 0 && r.body.size() != length) {
      uint64_t total = TotalFromContentRange(r.Header("content-range"));
      return TooShort(name, total, offset, length);
    }
    return std::move(r.body);
  }

  Result<ObjectInfo> Stat(std::string_view name) override {
    MLV_TRY(ValidateName(name));
    auto r = MLV_TRY(Call("HEAD", Key(name), {}, {}, {}, "look up " + Where(name)));
    const std::string len = r.Header("content-length");
    return ObjectInfo{std::string(name), std::strtoull(len.c_str(), nullptr, 10)};
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    MLV_TRY(ValidatePrefix(prefix));
    std::vector<ObjectInfo> out;
    MLV_TRY(ListKeys(key_prefix_ + std::string(prefix), [&](std::string key, uint64_t size) {
      std::string name = key.substr(key_prefix_.size());
      // Skips keys no backend name can produce ("dir/" markers made by other tools).
      if (ValidateName(name)) out.push_back({std::move(name), size});
    }));
    return out;
  }

  Status Remove(std::string_view name) override {
    MLV_TRY(ValidateName(name));
    if (!MLV_TRY(Versioned())) {
      MLV_TRY(Call("DELETE", Key(name), {}, {}, {}, "remove " + Where(name), false,
                   /*missing_ok=*/true));
      return util::Ok();
    }
    // A plain DELETE in a versioned bucket only adds a delete marker: the data stays (and is
    // paid for). Every version goes instead, newest first; a retained one stops the removal
    // with the object still visible (its newest version is the one retained longest).
    for (const s3::ObjectVersion& v : MLV_TRY(VersionsOf(Key(name)))) {
      auto r = Call("DELETE", Key(name), {{"versionId", v.version_id}}, {}, {},
                    "remove " + Where(name) + " (version " + v.version_id + ")", false,
                    /*missing_ok=*/true);
      if (r) continue;
      if (r.error().code() != util::ErrorCode::kPermissionDenied || v.delete_marker)
        return std::unexpected(r.error());
      auto held = GetRetention(name);
      if (held && !held->mode.empty() && held->until_unix > std::time(nullptr)) {
        return util::Conflict("cannot remove " + Where(name) + ": S3 Object Lock retains it (" +
                              held->mode + ") until " + s3::FormatIsoTime(held->until_unix));
      }
      return std::unexpected(r.error());
    }
    return util::Ok();
  }

  Result<bool> SupportsRetention() override {
    auto r = MLV_TRY(Call("GET", "", {{"object-lock", ""}}, {}, {},
                          "read the Object Lock configuration of " + Describe(), false,
                          /*missing_ok=*/true));
    if (r.status == 404) return false;  // ObjectLockConfigurationNotFoundError
    auto enabled = s3::ParseObjectLockEnabled(r.Text());
    if (!enabled) return Garbled(enabled.error(), "Object Lock configuration");
    return *enabled;
  }

  Result<Retention> GetRetention(std::string_view name) override {
    MLV_TRY(ValidateName(name));
    auto r = Call("GET", Key(name), {{"retention", ""}}, {}, {},
                  "read the retention of " + Where(name), false, /*missing_ok=*/true);
    if (!r) {
      // A bucket without Object Lock refuses the question (400 InvalidRequest): no retention.
      if (r.error().code() != util::ErrorCode::kIo) return std::unexpected(r.error());
      MLV_TRY(Stat(name));
      return Retention{};
    }
    if (r->status == 404) {
      if (s3::ParseErrorAnswer(r->Text()).code == "NoSuchKey")
        return util::NotFound("cannot read the retention of " + Where(name) + ": no such object");
      MLV_TRY(Stat(name));  // NoSuchObjectLockConfiguration: the object has none
      return Retention{};
    }
    auto held = s3::ParseRetention(r->Text());
    if (!held) return Garbled(held.error(), "object retention");
    return Retention{held->mode, held->until_unix};
  }

  Status Retain(std::string_view name, std::string_view mode, int64_t until_unix) override {
    MLV_TRY(ValidateName(name));
    if (mode != "COMPLIANCE" && mode != "GOVERNANCE") {
      return util::InvalidArgument("object lock mode must be COMPLIANCE or GOVERNANCE, not " +
                                   std::string(mode));
    }
    Retention now = MLV_TRY(GetRetention(name));
    // Compliance is never weakened to governance, and a retention is never shortened.
    std::string put_mode = now.mode == "COMPLIANCE" ? "COMPLIANCE" : std::string(mode);
    int64_t until = std::max(now.until_unix, until_unix);
    if (now.mode == put_mode && now.until_unix >= until_unix) return util::Ok();
    const std::string body = "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>" +
                             put_mode + "</Mode><RetainUntilDate>" + s3::FormatIsoTime(until) +
                             "</RetainUntilDate></Retention>";
    auto bytes = util::AsBytes(body);
    MLV_TRY(Call("PUT", Key(name), {{"retention", ""}}, bytes,
                 {{"content-md5", sigv4::Md5Base64(bytes)}, {"content-type", "application/xml"}},
                 "retain " + Where(name) + " until " + s3::FormatIsoTime(until)));
    return util::Ok();
  }

  double ListingLagSeconds() const override { return c_.listing_lag_seconds; }
  int ConcurrentReads() const override {
    return static_cast<int>(std::max<size_t>(1, c_.max_idle_connections));
  }

  std::string Describe() const override {
    return "s3://" + c_.bucket + (c_.prefix.empty() ? "" : "/" + c_.prefix);
  }

  Status RemoveAll() override {
    std::vector<std::string> keys;
    MLV_TRY(
        ListKeys(key_prefix_, [&](std::string key, uint64_t) { keys.push_back(std::move(key)); }));
    for (size_t i = 0; i < keys.size(); i += 1000) {
      std::string body = "<Delete><Quiet>true</Quiet>";
      for (size_t j = i; j < std::min(keys.size(), i + 1000); ++j)
        body += "<Object><Key>" + keys[j] + "</Key></Object>";
      body += "</Delete>";
      auto bytes = util::AsBytes(body);
      auto r = MLV_TRY(Call("POST", "", {{"delete", ""}}, bytes,
                            {{"content-md5", sigv4::Md5Base64(bytes)}},
                            "remove the objects of " + Describe()));
      auto doc = MLV_TRY(xml::Parse(r.Text()));
      if (const xml::Element* e = doc.Child("Error")) {
        return util::Unavailable("cannot remove " + e->ChildText("Key") + " in " + Describe() +
                                 ": " + e->ChildText("Code") + " " + e->ChildText("Message"));
      }
    }
    return util::Ok();
  }

  Status CreateBucket(bool object_lock) override {
    Pairs headers;
    if (object_lock) headers.push_back({"x-amz-bucket-object-lock-enabled", "true"});
    std::string body;
    if (c_.region != "us-east-1") {
      body = "<CreateBucketConfiguration><LocationConstraint>" + c_.region +
             "</LocationConstraint></CreateBucketConfiguration>";
    }
    auto r = Call("PUT", "", {}, util::AsBytes(body), headers, "create bucket " + c_.bucket);
    if (!r && r.error().message().find("BucketAlreadyOwnedByYou") == std::string::npos) {
      return std::unexpected(r.error());
    }
    return util::Ok();
  }

  Status PutRetained(std::string_view name, ByteView data, std::string_view mode,
                     int64_t retain_until_unix) override {
    MLV_TRY(ValidateName(name));
    if (mode != "COMPLIANCE" && mode != "GOVERNANCE") {
      return util::InvalidArgument("object lock mode must be COMPLIANCE or GOVERNANCE, not " +
                                   std::string(mode));
    }
    const std::string until = s3::FormatIsoTime(retain_until_unix);
    MLV_TRY(Call("PUT", Key(name), {}, data,
                 {{"content-md5", sigv4::Md5Base64(data)},
                  {"x-amz-object-lock-mode", std::string(mode)},
                  {"x-amz-object-lock-retain-until-date", until}},
                 "store retained " + Where(name)));
    return util::Ok();
  }

  // One listing request: proves the bucket exists and the credentials work.
  Status Probe() {
    MLV_TRY(Call("GET", "", {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", key_prefix_}}, {},
                 {}, "open " + Describe()));
    return util::Ok();
  }

 private:
  std::string Key(std::string_view name) const { return key_prefix_ + std::string(name); }
  std::string Where(std::string_view name) const { return std::string(name) + " in " + Describe(); }

  static uint64_t TotalFromContentRange(const std::string& v) {
    size_t slash = v.rfind('/');
    if (slash == std::string::npos || slash + 1 >= v.size() || v[slash + 1] == '*') return 0;
    return std::strtoull(v.c_str() + slash + 1, nullptr, 10);
  }

  std::unexpected<util::Error> TooShort(std::string_view name, uint64_t size, uint64_t offset,
                                        uint64_t length) const {
    return util::Corruption(Where(name) + " has " + std::to_string(size) + " bytes; cannot read " +
                            std::to_string(length) + " at offset " + std::to_string(offset));
  }

  // Calls `fn(key, size)` for every key under `key_prefix`, page by page.
  template <class Fn>
  Status ListKeys(const std::string& key_prefix, Fn fn) {
    std::string token;
    for (;;) {
      Pairs q = {{"list-type", "2"},
                 {"prefix", key_prefix},
                 {"max-keys", std::to_string(c_.list_page_size)}};
      if (!token.empty()) q.push_back({"continuation-token", token});
      auto r = MLV_TRY(Call("GET", "", q, {}, {}, "list " + Describe() + "/"));
      auto page = s3::ParseListPage(r.Text());
      if (!page) return Garbled(page.error(), "listing");
      for (s3::ListedObject& o : page->objects) {
        if (!o.key.starts_with(key_prefix))
          return util::Corruption("listing of " + Describe() + " returned key outside the prefix");
        fn(std::move(o.key), o.size);
      }
      if (!page->truncated) return util::Ok();
      token = page->next_token;
    }
  }

  // Every version and delete marker of exactly `key`, newest first (S3's order).
  Result<std::vector<s3::ObjectVersion>> VersionsOf(const std::string& key) {
    std::vector<s3::ObjectVersion> out;
    std::string key_marker, version_marker;
    for (;;) {
      Pairs q = {{"versions", ""}, {"prefix", key}};
      if (!key_marker.empty()) q.push_back({"key-marker", key_marker});
      if (!version_marker.empty()) q.push_back({"version-id-marker", version_marker});
      auto r = MLV_TRY(Call("GET", "", q, {}, {}, "list the versions of " + key + " in " +
                                                      Describe()));
      auto page = s3::ParseVersionsPage(r.Text());
      if (!page) return Garbled(page.error(), "version listing");
      for (s3::ObjectVersion& v : page->versions)
        if (v.key == key) out.push_back(std::move(v));
      if (!page->truncated || page->next_key_marker > key) return out;
      key_marker = page->next_key_marker;
      version_marker = page->next_version_id_marker;
    }
  }

  // Whether the bucket keeps versions (enabled or suspended: old versions may exist). Asked
  // once per backend.
  Result<bool> Versioned() {
    {
      util::MutexLock lk(mu_);
      if (versioned_) return *versioned_;
    }
    auto r = MLV_TRY(
        Call("GET", "", {{"versioning", ""}}, {}, {}, "read the versioning of " + Describe()));
    auto status = s3::ParseVersioningStatus(r.Text());
    if (!status) return Garbled(status.error(), "versioning status");
    util::MutexLock lk(mu_);
    versioned_ = !status->empty();
    return *versioned_;
  }

  std::unexpected<util::Error> Garbled(const util::Error& e, std::string_view what) const {
    return util::Corruption("unexpected " + std::string(what) + " answer from " + c_.endpoint +
                            " for " + Describe() + ": " + e.message());
  }

  Status PutMultipart(std::string_view name, ByteView data) {
    const std::string key = Key(name), what = "store " + Where(name);
    auto start = MLV_TRY(Call("POST", key, {{"uploads", ""}}, {}, {}, what));
    auto started = s3::ParseUploadId(start.Text());
    if (!started) return Garbled(started.error(), "multipart upload of " + Where(name));
    const std::string upload = *started;
    const uint64_t part = std::max<uint64_t>(c_.part_size, 5 << 20);
    const size_t parts = static_cast<size_t>((data.size() + part - 1) / part);
    std::vector<std::string> etags(parts);
    std::atomic<size_t> next{0};
    util::Mutex mu;  // guards failure and etags while the workers run
    std::optional<util::Error> failure;
    auto worker = [&] {
      for (size_t i; (i = next.fetch_add(1)) < parts;) {
        {
          util::MutexLock lk(mu);
          if (failure) return;
        }
        ByteView slice = data.subspan(i * part, std::min<uint64_t>(part, data.size() - i * part));
        auto r = Call("PUT", key, {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload}},
                      slice, {}, what + " (part " + std::to_string(i + 1) + ")");
        util::MutexLock lk(mu);
        if (!r) {
          if (!failure) failure = r.error();
          return;
        }
        etags[i] = r->Header("etag");
      }
    };
    std::vector<std::thread> threads;
    const int n = std::clamp<int>(c_.parallel_parts, 1, static_cast<int>(parts));
    for (int t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    Status done = util::Ok();
    if (failure) {
      done = std::unexpected(*failure);
    } else {
      std::string body = "<CompleteMultipartUpload>";
      for (size_t i = 0; i < parts; ++i) {
        body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
                "</ETag></Part>";
      }
      body += "</CompleteMultipartUpload>";
      auto r = Call("POST", key, {{"uploadId", upload}}, util::AsBytes(body),
                    {{"content-type", "application/xml"}}, what);
      if (!r) {
        done = std::unexpected(r.error());
      } else {
        // S3 may answer 200 and still report an error in the body.
        auto answer = xml::Parse(r->Text());
        if (!answer) {
          done = std::unexpected(answer.error());
        } else if (answer->name == "Error") {
          s3::ErrorAnswer e = s3::ParseErrorAnswer(r->Text());
          done = util::Unavailable("cannot " + what + ": " + e.code + " " + e.message);
        }
      }
    }
    if (!done)
      (void)Call("DELETE", key, {{"uploadId", upload}}, {}, {},
                 "abort the upload of " + Where(name), false, true);
    return done;
  }

  // Signs and sends one request. `key` empty: a bucket-level request. Statuses 2xx are
  // answers; 404 with `missing_ok` too; 416 with `allow_416`; everything else an error.
  Result<HttpResponse> Call(const std::string& method, const std::string& key, const Pairs& query,
                            ByteView body, const Pairs& extra_headers, const std::string& what,
                            bool allow_416 = false, bool missing_ok = false,
                            Bytes* receive_into = nullptr) {
    const std::string path = "/" + sigv4::UriEncode(c_.bucket, false) +
                             (key.empty() ? "" : "/" + sigv4::UriEncode(key, true));
    const std::string qs = sigv4::CanonicalQuery(query);
    const std::time_t now = std::time(nullptr) + c_.clock_offset_seconds;
    const std::string amz_date = sigv4::AmzDate(now);
    sigv4::Request sr;
    sr.method = method;
    sr.path = path;
    sr.query = query;
    sr.payload_hash = sigv4::Sha256Hex(body);
    sr.headers = {
        {"host", host_}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", sr.payload_hash}};
    for (const auto& h : extra_headers) sr.headers.push_back(h);
    HttpRequest req;
    req.method = method;
    req.url = c_.endpoint + path + (qs.empty() ? "" : "?" + qs);
    req.body = body;
    req.receive_into = receive_into;
    for (const auto& [k, v] : sr.headers) req.headers.push_back(fmt::format("{}: {}", k, v));
    req.headers.push_back("Authorization: " + sigv4::Authorization({c_.access_key, c_.secret_key},
                                                                   {c_.region, "s3"}, sr,
                                                                   amz_date));
    auto r = MLV_TRY(http_.Perform(req, what + " at " + c_.endpoint));
    if (r.status >= 200 && r.status < 300) return r;
    if (r.status == 416 && allow_416) return r;
    return ErrorFor(r, what, missing_ok ? std::optional<HttpResponse>(r) : std::nullopt);
  }

  Result<HttpResponse> ErrorFor(const HttpResponse& r, const std::string& what,
                                std::optional<HttpResponse> missing_ok) const {
    s3::ErrorAnswer answer = s3::ParseErrorAnswer(r.Text());
    const std::string& code = answer.code;
    const std::string& message = answer.message;
    std::string region = answer.region;
    if (region.empty()) region = r.Header("x-amz-bucket-region");
    const std::string at = " at " + c_.endpoint;
    const std::string detail = " (HTTP " + std::to_string(r.status) +
                               (code.empty() ? "" : " " + code) +
                               (message.empty() ? "" : ": " + message) + ")";
    const std::string head = "cannot " + what + at;
    if (code == "NoSuchBucket" || (r.status == 404 && code.empty() && what.starts_with("open "))) {
      return util::NotFound(head + ": bucket " + c_.bucket + " does not exist; create it first" +
                            detail);
    }
    if (r.status == 404 && missing_ok) return *missing_ok;
    if (r.status == 404) return util::NotFound(head + ": no such object" + detail);
    if (code == "RequestTimeTooSkewed") {
      return util::PermissionDenied(
          head +
          ": the server refused the request because this machine's clock differs "
          "from the server's by more than it allows (15 minutes); fix the clock (NTP)" +
          (r.Header("date").empty() ? "" : "; server time: " + r.Header("date")) + detail);
    }
    if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" ||
        code == "IllegalLocationConstraintException" || code == "InvalidLocationConstraint" ||
        r.status == 301) {
      return util::InvalidArgument(head + ": wrong region or endpoint for bucket " + c_.bucket +
                                   " (signed for region " + c_.region +
                                   (region.empty() ? "" : "; the bucket is in " + region) +
                                   "); set MLVAULT_S3_REGION / MLVAULT_S3_ENDPOINT" + detail);
    }
    if (code == "InvalidAccessKeyId") {
      return util::PermissionDenied(
          head + ": the access key is not known to the server; check MLVAULT_S3_ACCESS_KEY" +
          detail);
    }
    if (code == "SignatureDoesNotMatch") {
      return util::PermissionDenied(
          head + ": the request signature does not match; check MLVAULT_S3_SECRET_KEY" + " (HTTP " +
          std::to_string(r.status) + " SignatureDoesNotMatch)");
    }
    if (r.status == 403) {
      return util::PermissionDenied(head +
                                    ": access denied; the credentials lack permission for bucket " +
                                    c_.bucket + detail);
    }
    if (code == "XAmzContentSHA256Mismatch" || code == "BadDigest") {
      return util::MakeError(util::ErrorCode::kIo,
                             head + ": the body was damaged on the way" + detail);
    }
    if (r.status >= 500 || r.status == 429 || code == "SlowDown" || code == "RequestTimeout") {
      return util::Unavailable(head + ": the server is unavailable" + detail);
    }
    return util::MakeError(util::ErrorCode::kIo, head + ": unexpected answer" + detail);
  }

  S3Config c_;
  const std::string host_;
  std::string key_prefix_;
  s3::HttpPool http_;
  util::Mutex mu_;
  std::optional<bool> versioned_ MLV_GUARDED_BY(mu_);
};

}  // namespace

Status ParseS3Location(std::string_view location, S3Config& config) {
  if (!location.starts_with("s3://"))
    return util::InvalidArgument("an S3 location starts with s3://, not " + std::string(location));
  std::string_view rest = location.substr(5);
  size_t slash = rest.find('/');
  std::string bucket(rest.substr(0, slash));
  std::string prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (bucket.size() < 3 || bucket.size() > 63) {
    return util::InvalidArgument("invalid S3 location " + std::string(location) +
                                 ": a bucket name has 3 to 63 characters");
  }
  for (char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return util::InvalidArgument("invalid S3 location " + std::string(location) +
                                   ": a bucket name holds only a-z 0-9 . and -");
    }
  }
  if (!prefix.empty()) {
    if (auto st = ValidateName(prefix); !st) {
      return util::InvalidArgument("invalid S3 location " + std::string(location) +
                                   ": the prefix is not a valid name: " + st.error().message());
    }
  }
  config.bucket = std::move(bucket);
  config.prefix = std::move(prefix);
  return util::Ok();
}

Result<std::unique_ptr<S3Backend>> S3Backend::Open(S3Config config, bool create_bucket,
                                                   bool object_lock) {
  if (config.endpoint.empty())
    return util::InvalidArgument(
        "no S3 endpoint: set MLVAULT_S3_ENDPOINT (e.g. https://s3.amazonaws.com)");
  if (!config.endpoint.starts_with("http://") && !config.endpoint.starts_with("https://")) {
    return util::InvalidArgument("the S3 endpoint must start with http:// or https://: " +
                                 config.endpoint);
  }
  if (config.access_key.empty() || config.secret_key.empty()) {
    return util::InvalidArgument(
        "no S3 credentials: set MLVAULT_S3_ACCESS_KEY and MLVAULT_S3_SECRET_KEY");
  }
  if (config.region.empty()) config.region = "us-east-1";
  if (config.bucket.empty()) return util::InvalidArgument("no S3 bucket given");
  auto b = std::make_unique<S3BackendImpl>(std::move(config));
  auto probe = b->Probe();
  if (!probe && create_bucket && probe.error().code() == util::ErrorCode::kNotFound) {
    MLV_TRY(b->CreateBucket(object_lock));
    probe = b->Probe();
  }
  MLV_TRY(probe);
  return std::unique_ptr<S3Backend>(std::move(b));
}

}  // namespace mlvault::backend
