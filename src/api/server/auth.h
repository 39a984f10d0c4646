// Who is calling the server: the verifier of signed requests (docs/api.md, "Authentication")
// and the console's sessions (challenge, login, session cookie + CSRF token).
//
// Every refusal is an AuthFailure carrying the HTTP status (401: not authenticated; 403: a
// session request without its CSRF token) and the one sentence the client sees. Failed
// authentications of a known key are audited (iam:Authenticate, outcome denied).
//
// Where nonces, challenges and sessions live: in this process's memory (the default: one server
// per catalog, as with the embedded SQLite catalog), or, `catalog_wide`, in the catalog
// (catalog/auth_state_store.h) so that every server sharing it sees them: a signed request
// replayed to another server is refused, and a console session works on any server.
//
// Thread-safe: mu_ guards the in-memory challenges and sessions (the nonce cache locks itself);
// each call takes the catalog connection of the calling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/server/request_body.h"
#include "api/server/signing.h"
#include "catalog/db.h"
#include "control/authorizer.h"
#include "util/clock.h"
#include "util/mutex.h"

namespace mlvault::api {

struct AuthFailure {
  int status = 401;
  std::string message;
};

// The parts of an HTTP request authentication looks at.
struct RequestView {
  std::string method;
  std::string path;  // with "?query" if any
  std::string content_type;
  std::string authorization;  // "" if absent
  std::string date;           // X-Mlvault-Date, "" if absent
  std::string nonce;          // X-Mlvault-Nonce, "" if absent
  std::string cookie;         // Cookie header, "" if absent
  std::string csrf_token;     // X-CSRF-Token, "" if absent
  std::string_view body;
  std::string source_ip;
  bool secure = false;  // arrived over TLS
};

struct Authenticated {
  control::Caller caller;     // source "api", source_ip and secure_transport set
  std::string access_key_id;  // the signing key (or the key the session was opened with)
  bool via_session = false;
};

// A console session as the client sees it.
struct SessionInfo {
  std::string session_id;  // the cookie value
  std::string csrf_token;
  control::Caller caller;
  std::string access_key_id;
  util::TimeMicros expires_at = 0;
};

inline constexpr int64_t kSessionSeconds = 8 * 3600;
inline constexpr int64_t kChallengeSeconds = 120;
inline constexpr std::string_view kSessionCookie = "mlvault_session";
inline constexpr std::string_view kConsoleLoginPrefix = "mlvault-console-login\n";

class Authenticator {
 public:
  explicit Authenticator(const util::Clock& clock = util::Clock::System(),
                         bool catalog_wide = false)
      : clock_(clock), catalog_wide_(catalog_wide) {}

  // A signed request (Authorization header present) or a console session (cookie): the caller.
  // Without either: 401 "the request is not signed ...".
  std::expected<Authenticated, AuthFailure> Authenticate(catalog::Db& db, const RequestView& r);

  // Console login, step 1: a one-use challenge (base64 of 32 random bytes) for a key id.
  // 401 for an unknown, deleted or legacy key (which could never log in).
  std::expected<std::pair<std::string, util::TimeMicros>, AuthFailure> Challenge(
      catalog::Db& db, const std::string& access_key_id, const std::string& source_ip);
  // Step 2: the signature of kConsoleLoginPrefix + challenge. A new session.
  std::expected<SessionInfo, AuthFailure> Login(catalog::Db& db, const std::string& access_key_id,
                                                const std::string& challenge,
                                                const std::string& signature_b64,
                                                const std::string& source_ip, bool secure);
  // The session named by the Cookie header (still valid, key still active), or 401.
  std::expected<SessionInfo, AuthFailure> Session(catalog::Db& db,
                                                  const std::string& cookie_header);
  // Ends the session named by the Cookie header (no error if there is none; a catalog error
  // is returned as a 503 failure).
  std::expected<void, AuthFailure> Logout(catalog::Db& db, const std::string& cookie_header);

  NonceCache& nonces() { return nonces_; }

 private:
  std::expected<Authenticated, AuthFailure> VerifySignature(catalog::Db& db, const RequestView& r);

  // Records a verified request's nonce: OK if new; kConflict for a replay; kUnavailable when
  // the cache is full or the catalog is unreachable.
  util::Status RecordNonce(catalog::Db& db, const std::string& id, const std::string& nonce,
                           util::TimeMicros request_date, util::TimeMicros now);
  // Catalog-wide: deletes expired rows now and then (at most once a minute per server).
  void MaybeSweep(catalog::Db& db, util::TimeMicros now);

  const util::Clock& clock_;
  const bool catalog_wide_;
  std::atomic<util::TimeMicros> next_sweep_{0};
  NonceCache nonces_;
  util::Mutex mu_;
  struct PendingChallenge {
    std::string access_key_id;
    util::TimeMicros expires_at;
  };
  std::map<std::string, PendingChallenge> challenges_ MLV_GUARDED_BY(mu_);  // challenge -> key
  std::map<std::string, SessionInfo> sessions_ MLV_GUARDED_BY(mu_);         // session id -> session
};


}  // namespace mlvault::api
