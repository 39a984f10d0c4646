#include "backend/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <algorithm>
#include <map>

namespace mlvault::backend::sigv4 {
namespace {

using util::ByteView;

std::string Hmac(ByteView key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims and collapses runs of spaces and tabs into one space (SigV4 "Trimall").
std::string TrimAll(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string FormatTime(std::time_t t, const char* fmt) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string CanonicalQuery(const Pairs& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string CanonicalRequest(const Request& r, std::string* signed_headers) {
  std::map<std::string, std::string> headers;  // sorted by lowercase name
  for (const auto& [name, value] : r.headers) {
    std::string& slot = headers[Lower(name)];
    if (!slot.empty()) slot += ',';
    slot += TrimAll(value);
  }
  std::string canonical_headers, names;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!names.empty()) names += ';';
    names += name;
  }
  if (signed_headers != nullptr) *signed_headers = names;
  return r.method + "\n" + (r.path.empty() ? "/" : r.path) + "\n" + CanonicalQuery(r.query) + "\n" +
         canonical_headers + "\n" + names + "\n" + r.payload_hash;
}

std::string AmzDate(std::time_t t) { return FormatTime(t, "%Y%m%dT%H%M%SZ"); }
std::string DateStamp(std::time_t t) { return FormatTime(t, "%Y%m%d"); }

std::string StringToSign(std::string_view amz_date, const Scope& scope,
                         std::string_view canonical_request) {
  std::string date(amz_date.substr(0, 8));
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + date + "/" + scope.region + "/" +
         scope.service + "/aws4_request\n" + Sha256Hex(util::AsBytes(canonical_request));
}

std::string Authorization(const Credentials& c, const Scope& scope, const Request& request,
                          std::string_view amz_date) {
  std::string signed_headers;
  const std::string creq = CanonicalRequest(request, &signed_headers);
  const std::string sts = StringToSign(amz_date, scope, creq);
  const std::string date(amz_date.substr(0, 8));
  std::string key = Hmac(util::AsBytes("AWS4" + c.secret_key), date);
  key = Hmac(util::AsBytes(key), scope.region);
  key = Hmac(util::AsBytes(key), scope.service);
  key = Hmac(util::AsBytes(key), "aws4_request");
  const std::string sig = Hmac(util::AsBytes(key), sts);
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + date + "/" + scope.region + "/" +
         scope.service + "/aws4_request, SignedHeaders=" + signed_headers +
         ", Signature=" + util::ToHex(util::AsBytes(sig));
}

std::string Sha256Hex(ByteView data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(data.data(), data.size(), out);
  return util::ToHex(ByteView(out, sizeof out));
}

std::string Md5Base64(ByteView data) {
  unsigned char md[16];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  unsigned char b64[32];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(b64), static_cast<size_t>(n));
}

}  // namespace mlvault::backend::sigv4
