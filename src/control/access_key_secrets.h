// Access-key secrets: making a fresh key and checking a private key against what the catalog
// stores for it. Access keys are Ed25519 key pairs: the private key (the base64 32-byte seed) is
// shown once and the catalog keeps only the public key, as the verifier
// "ed25519$<base64 public key>". Keys created before key pairs hold
// "v1$<salt hex>$<HMAC-SHA-256(salt, secret) hex>" of a 40-character secret; they keep working
// in embedded mode, and a server refuses them (they cannot sign). See docs/iam.md.
//
// Thread-safety: the functions share no state. Cryptography is src/crypto/'s.
#pragma once

#include <string>
#include <string_view>

namespace mlvault::control {

// A fresh access key: id "MLVK" + 16 base-32 characters and an Ed25519 key pair.
struct NewAccessKey {
  std::string access_key_id;
  std::string private_key;  // base64 (standard, padded) of the 32-byte seed: shown once
  std::string public_key;   // base64 of the 32-byte public key
  std::string verifier;     // what the catalog stores
};
NewAccessKey GenerateAccessKey();

// True if `private_key` proves `verifier`: for "ed25519$..." the seed's public key is the
// stored one; for a legacy "v1$..." the secret's HMAC matches (constant-time comparisons).
// False for anything else, including a malformed verifier or private key.
bool VerifySecret(std::string_view verifier, std::string_view private_key);

// The 32 raw public-key bytes of an "ed25519$..." verifier; "" for anything else.
std::string PublicKeyOfVerifier(std::string_view verifier);

}  // namespace mlvault::control
