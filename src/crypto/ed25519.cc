#include "crypto/ed25519.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "crypto/crypto.h"

namespace mlvault::crypto {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "mlvault: fatal OpenSSL failure in %s\n", what);
  std::abort();
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

Pkey PrivateKey(const Ed25519Seed& seed) {
  Pkey k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!k) Die("EVP_PKEY_new_raw_private_key(ED25519)");
  return k;
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Ed25519KeyPair Ed25519Generate() {
  Ed25519KeyPair kp;
  if (RAND_bytes(kp.seed.data(), static_cast<int>(kp.seed.size())) != 1) Die("RAND_bytes");
  kp.public_key = Ed25519PublicFromSeed(kp.seed);
  return kp;
}

Ed25519PublicKey Ed25519PublicFromSeed(const Ed25519Seed& seed) {
  Pkey k = PrivateKey(seed);
  Ed25519PublicKey pub;
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1 || len != pub.size())
    Die("EVP_PKEY_get_raw_public_key");
  return pub;
}

Ed25519Signature Ed25519Sign(const Ed25519Seed& seed, util::ByteView message) {
  Pkey k = PrivateKey(seed);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) Die("EVP_MD_CTX_new");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, k.get(), nullptr) != 1)
    Die("EVP_DigestSignInit_ex");
  Ed25519Signature sig;
  size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
      len != sig.size())
    Die("EVP_DigestSign");
  return sig;
}

bool Ed25519Verify(util::ByteView public_key, util::ByteView message, util::ByteView signature) {
  if (public_key.size() != kEd25519PublicKeySize || signature.size() != kEd25519SignatureSize)
    return false;
  Pkey k(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!k) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) Die("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, k.get(), nullptr) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                          message.size()) == 1;
}

std::string Base64Encode(util::ByteView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = data[i] << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

util::Result<util::Bytes> Base64Decode(std::string_view text, std::string_view what) {
  if (text.size() % 4 != 0)
    return util::InvalidArgument(std::string(what) + " is not standard base64: its length " +
                                 std::to_string(text.size()) + " is not a multiple of 4");
  util::Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    if (last) pad = (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=');
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      int s = j >= 4 - static_cast<size_t>(pad) ? 0 : Sextet(text[i + j]);
      if (s < 0)
        return util::InvalidArgument(std::string(what) + " is not standard base64: character '" +
                                     std::string(1, text[i + j]) + "' at offset " +
                                     std::to_string(i + j));
      v = (v << 6) | static_cast<uint32_t>(s);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

std::string Sha256Hex(util::ByteView data) { return util::ToHex(Sha256(data)); }

}  // namespace mlvault::crypto
