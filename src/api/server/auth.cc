#include "api/server/auth.h"

#include <cstdlib>

#include "catalog/auth_state_store.h"
#include "control/identity.h"
#include "crypto/crypto.h"
#include "crypto/ed25519.h"
#include "util/bytes.h"
#include "util/random.h"

namespace mlvault::api {
namespace {

std::unexpected<AuthFailure> Refuse(std::string message, int status = 401) {
  return std::unexpected(AuthFailure{status, std::move(message)});
}

std::string Duration(int64_t seconds) {
  seconds = std::llabs(seconds);
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 7200) return std::to_string((seconds + 30) / 60) + " min";
  return std::to_string((seconds + 1800) / 3600) + " h";
}

// Newlines shown as \n, so the canonical request fits in one sentence.
std::string Escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// The key, active and able to sign, or the refusal (audited for known keys).
std::expected<control::KeyOwner, AuthFailure> UsableKey(catalog::Db& db, const std::string& id,
                                                        const std::string& source_ip) {
  auto owner = control::FindKeyOwner(db, id);
  if (!owner)
    return Refuse("the server could not look up access key " + id + ": " + owner.error().message(),
                  503);
  if (!*owner) return Refuse("access key " + id + " is not known to this server");
  control::KeyOwner& k = **owner;
  if (k.status != "active") {
    std::string msg = k.status == "expired"  // assume-role's temporary credentials
                          ? "the temporary credentials " + id + " of " + k.caller.principal_name +
                                " expired at " + k.deleted_at +
                                " (or their role was deleted); assume the role again"
                          : "access key " + id + " of user '" + k.caller.principal_name +
                                "' was deleted at " + k.deleted_at + " and no longer works";
    control::AuditAuthenticationFailure(db, k, msg, "api", source_ip);
    return Refuse(msg);
  }
  if (k.public_key.empty()) {
    std::string msg = "access key " + id + " of user '" + k.caller.principal_name +
                      "' is a secret key from before access keys were key pairs and cannot sign "
                      "requests; create a key pair with mlvault create-access-key (docs/iam.md)";
    control::AuditAuthenticationFailure(db, k, msg, "api", source_ip);
    return Refuse(msg);
  }
  return std::move(k);
}

// What the catalog keeps of a session id or challenge (secrets): its SHA-256.
std::string SecretHash(const std::string& secret) {
  return crypto::Sha256Hex(util::AsBytes(secret));
}

std::unexpected<AuthFailure> CatalogDown(const util::Error& e) {
  return Refuse("the server could not use the catalog, where console logins and sessions are "
                "kept: " + e.message() + "; retry",
                503);
}

}  // namespace

util::Status Authenticator::RecordNonce(catalog::Db& db, const std::string& id,
                                        const std::string& nonce, util::TimeMicros request_date,
                                        util::TimeMicros now) {
  if (!catalog_wide_) return nonces_.Insert(id, nonce, request_date, now);
  MaybeSweep(db, now);
  // As NonceCache: remembered while a request of that date is accepted (plus a second for the
  // rounding of the date to whole seconds).
  const util::TimeMicros expiry = request_date + (kClockWindowSeconds + 1) * 1'000'000;
  auto fresh = catalog::AuthStateStore(db).InsertNonce(id, nonce, expiry, now);
  if (!fresh)
    return util::Unavailable("the server could not record the request's nonce in the catalog: " +
                             fresh.error().message());
  if (!*fresh) return util::Conflict("replayed nonce");
  return util::Ok();
}

void Authenticator::MaybeSweep(catalog::Db& db, util::TimeMicros now) {
  util::TimeMicros due = next_sweep_.load();
  if (now < due || !next_sweep_.compare_exchange_strong(due, now + 60'000'000)) return;
  // Best effort: a failed sweep leaves expired rows that the next one removes.
  (void)catalog::AuthStateStore(db).Sweep(now);
}

std::expected<Authenticated, AuthFailure> Authenticator::Authenticate(catalog::Db& db,
                                                                      const RequestView& r) {
  if (!r.authorization.empty()) return VerifySignature(db, r);
  if (!CookieValue(r.cookie, kSessionCookie).empty()) {
    auto s = Session(db, r.cookie);
    if (!s) return std::unexpected(s.error());
    if (r.method != "GET" && r.method != "HEAD") {
      bool ok =
          crypto::ConstantTimeEqual(util::AsBytes(r.csrf_token), util::AsBytes(s->csrf_token));
      if (!ok)
        return Refuse(std::string(r.csrf_token.empty() ? "the request has no X-CSRF-Token header"
                                                       : "the X-CSRF-Token header is wrong") +
                          ": a console session's requests must carry the csrfToken of its login",
                      403);
    }
    Authenticated a{s->caller, s->access_key_id, true};
    a.caller.source_ip = r.source_ip;
    a.caller.secure_transport = r.secure;
    return a;
  }
  return Refuse(
      "the request is not signed: it has no Authorization header (sign it with an access key as "
      "docs/api.md describes, or log in to the console)");
}

std::expected<Authenticated, AuthFailure> Authenticator::VerifySignature(catalog::Db& db,
                                                                         const RequestView& r) {
  auto header = ParseAuthorization(r.authorization);
  if (!header) return Refuse(header.error().message());
  const std::string& id = header->access_key_id;
  if (r.date.empty())
    return Refuse("the request has no X-Mlvault-Date header (UTC, YYYYMMDDTHHMMSSZ)");
  auto date = ParseSigningDate(r.date);
  if (!date)
    return Refuse("the X-Mlvault-Date header '" + r.date.substr(0, 40) +
                  "' is malformed: expected the UTC time as YYYYMMDDTHHMMSSZ");
  const util::TimeMicros now = clock_.Now();
  const int64_t skew = (*date - now) / 1'000'000;
  if (skew > kClockWindowSeconds || skew < -kClockWindowSeconds)
    return Refuse("the request date " + r.date + " is " + Duration(skew) +
                  (skew > 0 ? " ahead of" : " behind") + " the server's clock (" +
                  FormatSigningDate(now) +
                  "); requests are accepted within 5 minutes: check the client's clock");
  if (r.nonce.empty()) return Refuse("the request has no X-Mlvault-Nonce header");
  if (!ValidNonce(r.nonce))
    return Refuse(
        "the X-Mlvault-Nonce header is malformed: a nonce is 16 to 128 characters of "
        "A-Z a-z 0-9 _ -");
  auto sig = crypto::Base64Decode(header->signature_b64, "the signature");
  if (!sig || sig->size() != crypto::kEd25519SignatureSize)
    return Refuse(
        "the Signature in the Authorization header is malformed: expected standard "
        "base64 of a 64-byte Ed25519 signature");
  auto key = UsableKey(db, id, r.source_ip);
  if (!key) return std::unexpected(key.error());
  SignedParts parts{r.method, r.path,  r.content_type,
                    r.date,   r.nonce, crypto::Sha256Hex(util::AsBytes(r.body))};
  const std::string canonical = CanonicalRequest(parts);
  if (!crypto::Ed25519Verify(util::AsBytes(key->public_key), util::AsBytes(canonical), *sig)) {
    std::string msg =
        "the signature does not match: it must be the Ed25519 signature, by the "
        "private key of access key " +
        id + ", of the canonical request \"" + Escaped(canonical) + "\" (docs/api.md)";
    control::AuditAuthenticationFailure(db, *key, "the signature does not match", "api",
                                        r.source_ip);
    return Refuse(msg);
  }
  // Only a verified request consumes its nonce: a forger cannot burn nonces of real clients.
  if (auto st = RecordNonce(db, id, r.nonce, *date, now); !st) {
    if (st.error().code() == util::ErrorCode::kUnavailable)
      return Refuse(st.error().message(), 503);
    std::string msg = "the nonce " + r.nonce + " of access key " + id +
                      " was already used within the last 5 minutes: a replayed request is "
                      "refused; sign every request with a fresh nonce";
    control::AuditAuthenticationFailure(db, *key, msg, "api", r.source_ip);
    return Refuse(msg);
  }
  Authenticated a{key->caller, id, false};
  a.caller.source = "api";
  a.caller.source_ip = r.source_ip;
  a.caller.secure_transport = r.secure;
  return a;
}

std::expected<std::pair<std::string, util::TimeMicros>, AuthFailure> Authenticator::Challenge(
    catalog::Db& db, const std::string& id, const std::string& source_ip) {
  if (!ValidAccessKeyId(id))
    return Refuse("the accessKeyId '" + id.substr(0, 40) +
                  "' is malformed: an access key id is MLVK followed by 16 characters A-Z and 2-7");
  auto key = UsableKey(db, id, source_ip);
  if (!key) return std::unexpected(key.error());
  const util::TimeMicros now = clock_.Now();
  std::string challenge = crypto::Base64Encode(util::RandomBytes(32));
  util::TimeMicros expires = now + kChallengeSeconds * 1'000'000;
  if (catalog_wide_) {
    MaybeSweep(db, now);
    catalog::AuthStateStore store(db);
    auto pending = store.CountChallenges(now);
    if (!pending) return CatalogDown(pending.error());
    if (*pending >= 100'000) return Refuse("too many pending console logins; retry later", 503);
    if (auto st = store.PutChallenge(SecretHash(challenge), id, expires); !st)
      return CatalogDown(st.error());
    return std::make_pair(challenge, expires);
  }
  util::MutexLock lock(mu_);
  for (auto it = challenges_.begin(); it != challenges_.end();)
    it = it->second.expires_at < now ? challenges_.erase(it) : std::next(it);
  if (challenges_.size() >= 100'000)
    return Refuse("too many pending console logins; retry later", 503);
  challenges_[challenge] = {id, expires};
  return std::make_pair(challenge, expires);
}

std::expected<SessionInfo, AuthFailure> Authenticator::Login(catalog::Db& db, const std::string& id,
                                                             const std::string& challenge,
                                                             const std::string& signature_b64,
                                                             const std::string& source_ip,
                                                             bool secure) {
  const util::TimeMicros now = clock_.Now();
  auto unknown = [] {
    return Refuse(
        "the challenge is unknown, expired or was issued for another access key: "
        "ask for a new one (POST /api/v1/console/challenge)");
  };
  if (catalog_wide_) {
    // One use, whatever the outcome, on whichever server.
    auto issued_for = catalog::AuthStateStore(db).TakeChallenge(SecretHash(challenge), now);
    if (!issued_for) return CatalogDown(issued_for.error());
    if (!*issued_for || **issued_for != id) return unknown();
  } else {
    util::MutexLock lock(mu_);
    auto it = challenges_.find(challenge);
    if (it == challenges_.end() || it->second.expires_at < now || it->second.access_key_id != id)
      return unknown();
    challenges_.erase(it);  // one use, whatever the outcome
  }
  auto key = UsableKey(db, id, source_ip);
  if (!key) return std::unexpected(key.error());
  auto sig = crypto::Base64Decode(signature_b64, "the signature");
  const std::string message = std::string(kConsoleLoginPrefix) + challenge;
  if (!sig ||
      !crypto::Ed25519Verify(util::AsBytes(key->public_key), util::AsBytes(message), *sig)) {
    control::AuditAuthenticationFailure(db, *key, "console login: the signature does not match",
                                        "api", source_ip);
    return Refuse(
        "the signature does not match: sign the UTF-8 bytes of "
        "\"mlvault-console-login\\n\" followed by the challenge with the private key of "
        "access key " +
        id);
  }
  SessionInfo s;
  s.session_id = util::RandomHex(32);
  s.csrf_token = util::RandomHex(32);
  s.caller = key->caller;
  s.caller.source = "api";
  s.caller.source_ip = source_ip;
  s.caller.secure_transport = secure;
  s.access_key_id = id;
  s.expires_at = now + kSessionSeconds * 1'000'000;
  if (catalog_wide_) {
    catalog::StoredSession stored{id, s.csrf_token, source_ip, secure, s.expires_at};
    if (auto st = catalog::AuthStateStore(db).PutSession(SecretHash(s.session_id), stored); !st)
      return CatalogDown(st.error());
    return s;
  }
  util::MutexLock lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = it->second.expires_at < now ? sessions_.erase(it) : std::next(it);
  sessions_[s.session_id] = s;
  return s;
}

std::expected<SessionInfo, AuthFailure> Authenticator::Session(catalog::Db& db,
                                                               const std::string& cookie_header) {
  std::string id = CookieValue(cookie_header, kSessionCookie);
  if (id.empty()) return Refuse("no console session: log in first");
  SessionInfo s;
  const std::string ended =
      "the console session has ended (expired, logged out, or the server restarted): log in "
      "again";
  if (catalog_wide_) {
    auto stored = catalog::AuthStateStore(db).GetSession(SecretHash(id), clock_.Now());
    if (!stored) return CatalogDown(stored.error());
    if (!*stored) return Refuse(ended);
    s.session_id = id;
    s.csrf_token = (*stored)->csrf_token;
    s.access_key_id = (*stored)->access_key_id;
    s.expires_at = (*stored)->expires_at;
    s.caller.source_ip = (*stored)->source_ip;
    s.caller.secure_transport = (*stored)->secure;
  } else {
    util::MutexLock lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.expires_at < clock_.Now()) {
      if (it != sessions_.end()) sessions_.erase(it);
      return Refuse(ended);
    }
    s = it->second;
  }
  // A key deleted since the login ends its sessions.
  auto key = UsableKey(db, s.access_key_id, s.caller.source_ip);
  if (!key) {
    (void)Logout(db, cookie_header);
    return std::unexpected(key.error());
  }
  if (catalog_wide_) {
    // The caller as the key is now (the catalog keeps only the key id).
    const std::string ip = s.caller.source_ip;
    const bool secure = s.caller.secure_transport;
    s.caller = key->caller;
    s.caller.source = "api";
    s.caller.source_ip = ip;
    s.caller.secure_transport = secure;
  }
  return s;
}

std::expected<void, AuthFailure> Authenticator::Logout(catalog::Db& db,
                                                       const std::string& cookie_header) {
  std::string id = CookieValue(cookie_header, kSessionCookie);
  if (catalog_wide_) {
    if (id.empty()) return {};
    if (auto st = catalog::AuthStateStore(db).DeleteSession(SecretHash(id)); !st)
      return CatalogDown(st.error());
    return {};
  }
  util::MutexLock lock(mu_);
  sessions_.erase(id);
  return {};
}

}  // namespace mlvault::api
