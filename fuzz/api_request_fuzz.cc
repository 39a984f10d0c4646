// Fuzzes what `mlvault server` reads from a client's request before it knows who is calling
// (src/api/server: signing.h, auth.h, request_body.h): the Authorization header, the date and
// nonce headers, the session cookie, the Content-Type check, the JSON body, and an Ed25519
// verification of the canonical request they make (with a fixed key: a forgery must fail).
// Input: fields separated by '\n':
//   authorization \n date \n nonce \n cookie \n content type \n path \n body (the rest)
// Checks: a parsed Authorization header's parts hold no ',' and no surrounding blanks; a date
// that parses prints back to itself (or is a leap second); a body that parses is an object.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/server/request_body.h"
#include "api/server/signing.h"
#include "crypto/ed25519.h"

namespace {
std::vector<std::string_view> Fields(std::string_view in, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  out.push_back(in);
  out.resize(n);
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault;
  using namespace mlvault::api;
  auto f = Fields(std::string_view(reinterpret_cast<const char*>(data), size), 7);
  static const crypto::Ed25519KeyPair kKey = crypto::Ed25519Generate();

  auto header = ParseAuthorization(f[0]);
  if (header) {
    for (const std::string* part : {&header->access_key_id, &header->signature_b64}) {
      if (part->find(',') != std::string::npos) __builtin_trap();
      if (!part->empty() && (part->front() == ' ' || part->back() == ' ')) __builtin_trap();
    }
    (void)ValidAccessKeyId(header->access_key_id);
  }
  if (auto date = ParseSigningDate(f[1])) {
    if (FormatSigningDate(*date) != f[1] && f[1].substr(13, 2) != "60") __builtin_trap();
  }
  (void)ValidNonce(f[2]);
  (void)CookieValue(f[3], "mlvault_session");
  (void)IsJsonContentType(f[4]);
  auto body = ParseBody(f[6]);
  if (body && !body->is_object()) __builtin_trap();

  if (header) {
    auto sig = crypto::Base64Decode(header->signature_b64, "the signature");
    if (sig) {
      SignedParts p{"POST",           std::string(f[5]),
                    std::string(f[4]), std::string(f[1]),
                    std::string(f[2]), crypto::Sha256Hex(util::AsBytes(f[6]))};
      std::string canonical = CanonicalRequest(p);
      if (crypto::Ed25519Verify(kKey.public_key, util::AsBytes(canonical), *sig))
        __builtin_trap();  // a signature made without the key verified
    }
  }
  return 0;
}
