// The request signing scheme of the mlvault API (docs/api.md, "Authentication"): the one
// definition of the canonical request, the headers and their formats, shared by the server's
// verifier and the RemoteClient's signer.
//
//   canonical request = "MLVAULT-ED25519\n" METHOD "\n" PATH "\n" CONTENT-TYPE "\n"
//                       DATE "\n" NONCE "\n" hex(SHA-256(body))
//   Authorization: MLVAULT-ED25519 Credential=<access key id>, Signature=<base64 Ed25519 sig>
//   X-Mlvault-Date: YYYYMMDDTHHMMSSZ (UTC)      X-Mlvault-Nonce: 16..128 of [A-Za-z0-9_-]
//
// Pure functions plus NonceCache; all thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/mutex.h"

namespace mlvault::api {

inline constexpr std::string_view kAuthScheme = "MLVAULT-ED25519";
inline constexpr std::string_view kDateHeader = "X-Mlvault-Date";
inline constexpr std::string_view kNonceHeader = "X-Mlvault-Nonce";
inline constexpr std::string_view kRequestIdHeader = "X-Request-Id";
// Requests dated more than this before or after the server's clock are refused.
inline constexpr int64_t kClockWindowSeconds = 300;

struct SignedParts {
  std::string method;        // "POST"
  std::string path;          // "/api/v1/ml/listWorkspaces" (with "?query" if any)
  std::string content_type;  // the Content-Type header as sent ("" if none)
  std::string date;          // X-Mlvault-Date
  std::string nonce;         // X-Mlvault-Nonce
  std::string body_sha256;   // lowercase hex SHA-256 of the body bytes
};

std::string CanonicalRequest(const SignedParts& parts);

// "YYYYMMDDTHHMMSSZ" of a time in microseconds since 1970 (UTC).
std::string FormatSigningDate(util::TimeMicros t);
// Inverse; nullopt unless exactly that format and a real date.
std::optional<util::TimeMicros> ParseSigningDate(std::string_view s);

// A fresh nonce: 32 lowercase hex characters (16 random bytes).
std::string NewNonce();
// True if `nonce` is 16 to 128 characters of A-Z a-z 0-9 _ -.
bool ValidNonce(std::string_view nonce);
// True if `id` looks like an access key id: "MLVK" (or "MLVS", assume-role's temporary
// credentials) + 16 of A-Z 2-7.
bool ValidAccessKeyId(std::string_view id);

// The headers a client adds to sign a request.
struct SignatureHeaders {
  std::string authorization;
  std::string date;
  std::string nonce;
};
// Signs a request: `now` is the client's clock. `private_key_b64` is the base64 seed;
// kInvalidArgument if it is not base64 of 32 bytes (naming `origin`, where it came from).
util::Result<SignatureHeaders> SignRequest(std::string_view access_key_id,
                                           std::string_view private_key_b64,
                                           std::string_view origin, std::string_view method,
                                           std::string_view path, std::string_view content_type,
                                           std::string_view body, util::TimeMicros now);

// The parsed Authorization header.
struct AuthorizationHeader {
  std::string access_key_id;
  std::string signature_b64;
};
// kInvalidArgument with the sentence the server answers (401) when the header is malformed.
util::Result<AuthorizationHeader> ParseAuthorization(std::string_view header);

// Remembers (access key, nonce) pairs until their request date leaves the clock window, so a
// replayed request inside the window is refused. Bounded: at `max_entries` the oldest entries
// are dropped first only if they already expired; otherwise Insert refuses (kUnavailable) so a
// flood cannot evict live nonces. Thread-safe: mu_ guards the remembered nonces.
class NonceCache {
 public:
  explicit NonceCache(size_t max_entries = 1'000'000) : max_entries_(max_entries) {}
  // OK and remembered if new; kConflict if seen before (a replay); kUnavailable if full.
  util::Status Insert(const std::string& access_key_id, const std::string& nonce,
                      util::TimeMicros request_date, util::TimeMicros now);
  size_t size() const;

 private:
  void Expire(util::TimeMicros now) MLV_REQUIRES(mu_);
  mutable util::Mutex mu_;
  const size_t max_entries_;
  // key + "\n" + nonce -> expiry
  std::map<std::string, util::TimeMicros> seen_ MLV_GUARDED_BY(mu_);
  // expiry -> key
  std::multimap<util::TimeMicros, std::string> by_expiry_ MLV_GUARDED_BY(mu_);
};

}  // namespace mlvault::api
