// Test seams of the crypto layer: the same primitives with every input exposed, so published
// known-answer vectors (which fix the nonce, the salt or the output length) can be checked.
// Not for production code: a fixed nonce under one key twice breaks AES-GCM.
#pragma once

#include <string_view>

#include "crypto/crypto.h"

namespace mlvault::crypto::testing {

// SealAppend with a caller-chosen nonce (kNonceSize bytes). Appends nonce || ciphertext || tag.
void SealAppendWithNonce(const Key& key, ByteView nonce, ByteView plaintext, ByteView aad, Bytes& out);

// HKDF-SHA-256 (RFC 5869) with explicit salt (empty: no salt) and output length (<= 255*32).
Bytes Hkdf(ByteView ikm, ByteView salt, ByteView info, size_t length);

// scrypt with an explicit output length (RFC 7914 vectors use 64 bytes).
Result<Bytes> Scrypt(std::string_view passphrase, ByteView salt, const ScryptParams& params,
                     size_t length);

}  // namespace mlvault::crypto::testing
