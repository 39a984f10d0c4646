#include "control/access_key_secrets.h"

#include <algorithm>
#include <cstdint>

#include "crypto/crypto.h"
#include "crypto/ed25519.h"
#include "util/bytes.h"
#include "util/random.h"

namespace mlvault::control {

namespace {

constexpr std::string_view kEd25519Prefix = "ed25519$";

std::string RandomFromAlphabet(std::string_view alphabet, size_t n) {
  std::string out;
  // Rejection sampling keeps every character equally likely.
  const unsigned limit = 256 - (256 % alphabet.size());
  while (out.size() < n) {
    util::Bytes b = util::RandomBytes(n);
    for (uint8_t c : b)
      if (c < limit && out.size() < n) out += alphabet[c % alphabet.size()];
  }
  return out;
}

bool VerifyLegacySecret(std::string_view verifier, std::string_view secret) {
  if (!verifier.starts_with("v1$")) return false;
  size_t d = verifier.find('$', 3);
  if (d == std::string_view::npos) return false;
  auto salt = util::FromHex(verifier.substr(3, d - 3));
  if (!salt) return false;
  std::string want(verifier.substr(d + 1));
  std::string got = util::ToHex(crypto::HmacSha256(util::ByteView(*salt), util::AsBytes(secret)));
  return crypto::ConstantTimeEqual(util::AsBytes(want), util::AsBytes(got));
}

}  // namespace

NewAccessKey GenerateAccessKey() {
  NewAccessKey k;
  k.access_key_id = "MLVK" + RandomFromAlphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
  crypto::Ed25519KeyPair pair = crypto::Ed25519Generate();
  k.private_key = crypto::Base64Encode(pair.seed);
  k.public_key = crypto::Base64Encode(pair.public_key);
  k.verifier = std::string(kEd25519Prefix) + k.public_key;
  crypto::Wipe(pair.seed);
  return k;
}

std::string PublicKeyOfVerifier(std::string_view verifier) {
  if (!verifier.starts_with(kEd25519Prefix)) return "";
  auto pub = crypto::Base64Decode(verifier.substr(kEd25519Prefix.size()));
  if (!pub || pub->size() != crypto::kEd25519PublicKeySize) return "";
  return std::string(util::AsString(*pub));
}

bool VerifySecret(std::string_view verifier, std::string_view private_key) {
  if (!verifier.starts_with(kEd25519Prefix)) return VerifyLegacySecret(verifier, private_key);
  std::string want = PublicKeyOfVerifier(verifier);
  auto seed_bytes = crypto::Base64Decode(private_key);
  if (want.empty() || !seed_bytes || seed_bytes->size() != crypto::kEd25519SeedSize) return false;
  crypto::Ed25519Seed seed;
  std::copy(seed_bytes->begin(), seed_bytes->end(), seed.begin());
  crypto::Wipe(*seed_bytes);
  crypto::Ed25519PublicKey got = crypto::Ed25519PublicFromSeed(seed);
  crypto::Wipe(seed);
  return crypto::ConstantTimeEqual(util::AsBytes(want), got);
}

}  // namespace mlvault::control
