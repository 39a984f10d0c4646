// AWS Signature Version 4 (SigV4) request signing, for the S3 backend.
//
// Pure functions over a request description: no I/O, no clock (the caller passes the time), so
// they are tested offline against AWS's published SigV4 test-suite vectors (sigv4_test.cc).
// Thread-safe (no shared state). Secrets are only ever used as HMAC keys; nothing here
// formats a secret into a string that could reach a message.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/bytes.h"

namespace mlvault::backend::sigv4 {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key;
  std::string secret_key;
};

struct Scope {
  std::string region = "us-east-1";
  std::string service = "s3";
};

struct Request {
  std::string method;        // "GET", "PUT", ...
  std::string path;          // the path as sent, already URI-encoded ("/bucket/a%20b")
  Pairs query;               // decoded names and values, any order; encoded when canonicalised
  Pairs headers;             // every header to sign (must include host and x-amz-date)
  std::string payload_hash;  // lowercase hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved A-Z a-z 0-9 - . _ ~ kept, every other
// byte as %XX (uppercase); '/' kept only when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);

// "a=1&b=" from decoded pairs: each name and value encoded, sorted by encoded name then value.
std::string CanonicalQuery(const Pairs& query);

// The canonical request (task 1 of the signing process); `signed_headers` receives the
// ';'-joined lowercase names. Header names are lowercased, values trimmed with inner runs of
// spaces collapsed, and repeated names joined by ',' in the order given.
std::string CanonicalRequest(const Request& request, std::string* signed_headers);

// "20150830T123600Z" and "20150830" for a UTC time.
std::string AmzDate(std::time_t t);
std::string DateStamp(std::time_t t);

// The string to sign (task 2) for `canonical_request` made at `amz_date`.
std::string StringToSign(std::string_view amz_date, const Scope& scope,
                         std::string_view canonical_request);

// The value of the Authorization header for `request` signed at `amz_date` (which must equal
// the request's x-amz-date header).
std::string Authorization(const Credentials& credentials, const Scope& scope,
                          const Request& request, std::string_view amz_date);

// Lowercase hex SHA-256 of `data`; base64 MD5 (for Content-MD5).
std::string Sha256Hex(util::ByteView data);
std::string Md5Base64(util::ByteView data);

}  // namespace mlvault::backend::sigv4
