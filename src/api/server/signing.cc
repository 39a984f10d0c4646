#include "api/server/signing.h"

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/random.h"
#include "util/utc_time.h"

namespace mlvault::api {

std::string CanonicalRequest(const SignedParts& p) {
  std::string s;
  s.reserve(128 + p.path.size() + p.content_type.size());
  s += kAuthScheme;
  s += '\n';
  s += p.method;
  s += '\n';
  s += p.path;
  s += '\n';
  s += p.content_type;
  s += '\n';
  s += p.date;
  s += '\n';
  s += p.nonce;
  s += '\n';
  s += p.body_sha256;
  return s;
}

namespace {
constexpr std::string_view kSigningDate = "YYYYMMDDThhmmssZ";
}  // namespace

std::string FormatSigningDate(util::TimeMicros t) {
  return util::FormatUtcSeconds(t / 1'000'000, kSigningDate);
}

std::optional<util::TimeMicros> ParseSigningDate(std::string_view s) {
  // A request signed before 1970 is no request (and its date would not print back the same).
  auto secs = util::ParseUtcSeconds(s, kSigningDate);
  if (!secs) return std::nullopt;
  return static_cast<util::TimeMicros>(*secs) * 1'000'000;
}

std::string NewNonce() { return util::ToHex(util::RandomBytes(16)); }

bool ValidNonce(std::string_view n) {
  if (n.size() < 16 || n.size() > 128) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

bool ValidAccessKeyId(std::string_view id) {
  // MLVK: an access key; MLVS: assume-role's temporary credentials (control/role_sessions.h).
  if (id.size() != 20 || !(id.starts_with("MLVK") || id.starts_with("MLVS"))) return false;
  for (char c : id.substr(4))
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) return false;
  return true;
}

util::Result<SignatureHeaders> SignRequest(std::string_view access_key_id,
                                           std::string_view private_key_b64,
                                           std::string_view origin, std::string_view method,
                                           std::string_view path, std::string_view content_type,
                                           std::string_view body, util::TimeMicros now) {
  auto seed_bytes = crypto::Base64Decode(private_key_b64, "the private key");
  if (!seed_bytes || seed_bytes->size() != crypto::kEd25519SeedSize)
    return util::PermissionDenied(
        "the private key of access key " + std::string(access_key_id) + " (" + std::string(origin) +
        ") is not base64 of a 32-byte Ed25519 key; keys made before key pairs cannot sign "
        "requests to a server: create one with mlvault create-access-key");
  crypto::Ed25519Seed seed;
  std::copy(seed_bytes->begin(), seed_bytes->end(), seed.begin());
  crypto::Wipe(*seed_bytes);
  SignatureHeaders h;
  h.date = FormatSigningDate(now);
  h.nonce = NewNonce();
  SignedParts parts{std::string(method),
                    std::string(path),
                    std::string(content_type),
                    h.date,
                    h.nonce,
                    crypto::Sha256Hex(util::AsBytes(body))};
  crypto::Ed25519Signature sig = crypto::Ed25519Sign(seed, util::AsBytes(CanonicalRequest(parts)));
  crypto::Wipe(seed);
  h.authorization = std::string(kAuthScheme) + " Credential=" + std::string(access_key_id) +
                    ", Signature=" + crypto::Base64Encode(sig);
  return h;
}

util::Result<AuthorizationHeader> ParseAuthorization(std::string_view h) {
  const std::string expected =
      "expected 'MLVAULT-ED25519 Credential=<access key id>, Signature=<base64 signature>'";
  if (!h.starts_with(kAuthScheme) || h.size() <= kAuthScheme.size() || h[kAuthScheme.size()] != ' ')
    return util::InvalidArgument(
        "the Authorization header does not use the MLVAULT-ED25519 "
        "scheme: " +
        expected);
  std::string_view rest = h.substr(kAuthScheme.size() + 1);
  AuthorizationHeader out;
  bool has_cred = false, has_sig = false;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return util::InvalidArgument("the Authorization header is malformed ('" + std::string(item) +
                                   "' is not name=value): " + expected);
    std::string_view name = item.substr(0, eq), value = item.substr(eq + 1);
    // Blanks around the '=' are the client's layout, not part of the name or the value.
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "Credential" && !has_cred) {
      out.access_key_id = value;
      has_cred = true;
    } else if (name == "Signature" && !has_sig) {
      out.signature_b64 = value;
      has_sig = true;
    } else {
      return util::InvalidArgument(
          "the Authorization header is malformed (unexpected or repeated '" + std::string(name) +
          "'): " + expected);
    }
  }
  if (!has_cred || !has_sig)
    return util::InvalidArgument(std::string("the Authorization header has no ") +
                                 (has_cred ? "Signature" : "Credential") + ": " + expected);
  if (!ValidAccessKeyId(out.access_key_id))
    return util::InvalidArgument("the access key id '" + out.access_key_id.substr(0, 40) +
                                 "' in the Authorization header is malformed: an access key id "
                                 "is MLVK (MLVS: assume-role's) followed by 16 characters A-Z and 2-7");
  return out;
}

void NonceCache::Expire(util::TimeMicros now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now) {
    seen_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

util::Status NonceCache::Insert(const std::string& access_key_id, const std::string& nonce,
                                util::TimeMicros request_date, util::TimeMicros now) {
  // A request dated d is accepted while now <= d + window: remember it until then (plus a second
  // for the rounding of the date to whole seconds).
  const util::TimeMicros expiry = request_date + (kClockWindowSeconds + 1) * 1'000'000;
  std::string key = access_key_id + "\n" + nonce;
  util::MutexLock lock(mu_);
  Expire(now);
  if (seen_.contains(key)) return util::Conflict("replayed nonce");
  if (seen_.size() >= max_entries_)
    return util::Unavailable("the server's replay cache is full; retry in a few seconds");
  seen_.emplace(key, expiry);
  by_expiry_.emplace(expiry, std::move(key));
  return util::Ok();
}

size_t NonceCache::size() const {
  util::MutexLock lock(mu_);
  return seen_.size();
}

}  // namespace mlvault::api
