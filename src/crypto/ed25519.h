// Ed25519 signatures (RFC 8032, pure Ed25519) on OpenSSL 3, and standard base64: the access
// keys of mlvault's API are Ed25519 key pairs (docs/api.md).
//
// A private key is its 32-byte seed; the public key is 32 bytes; a signature is 64 bytes.
// Every function is thread-safe (no shared mutable state).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/error.h"

namespace mlvault::crypto {

inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

using Ed25519Seed = std::array<uint8_t, kEd25519SeedSize>;
using Ed25519PublicKey = std::array<uint8_t, kEd25519PublicKeySize>;
using Ed25519Signature = std::array<uint8_t, kEd25519SignatureSize>;

struct Ed25519KeyPair {
  Ed25519Seed seed;  // the private key: keep secret
  Ed25519PublicKey public_key;
};

// A fresh key pair from the OS random generator.
Ed25519KeyPair Ed25519Generate();

// The public key of a seed.
Ed25519PublicKey Ed25519PublicFromSeed(const Ed25519Seed& seed);

// Signs `message` with the private key `seed`.
Ed25519Signature Ed25519Sign(const Ed25519Seed& seed, util::ByteView message);

// True if `signature` is a valid signature of `message` under `public_key`. False for any
// malformed input (wrong sizes, a point not on the curve).
bool Ed25519Verify(util::ByteView public_key, util::ByteView message, util::ByteView signature);

// Standard base64 (RFC 4648 section 4, alphabet A-Z a-z 0-9 + /, '=' padding).
std::string Base64Encode(util::ByteView data);
// Inverse of Base64Encode. kInvalidArgument naming `what` for characters outside the alphabet,
// a length that is not a multiple of 4, or misplaced padding.
util::Result<util::Bytes> Base64Decode(std::string_view text,
                                       std::string_view what = "base64 text");

// Lowercase hex SHA-256 of `data` (the body hash of a signed request).
std::string Sha256Hex(util::ByteView data);

}  // namespace mlvault::crypto
