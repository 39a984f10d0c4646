// Cryptographic primitives of the vault, all on OpenSSL 3:
//   - AES-256-GCM authenticated encryption (Seal/Open),
//   - keyed content ids (HMAC-SHA-256), plain SHA-256,
//   - HKDF-SHA-256 subkeys, scrypt passphrase KDF.
// Every function is thread-safe (no shared mutable state). Failures to authenticate are
// ErrorCode::kCorruption ("authentication failed"), never garbage output.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "util/bytes.h"
#include "util/error.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace mlvault::crypto {

using util::Bytes;
using util::ByteView;
using util::Result;

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
// Bytes Seal adds to a plaintext: nonce before, tag after.
inline constexpr size_t kSealOverhead = kNonceSize + kTagSize;

using Digest = std::array<uint8_t, 32>;

// A 256-bit secret. The bytes are wiped when the key is destroyed.
class Key {
 public:
  Key() { bytes_.fill(0); }
  ~Key();
  Key(const Key&) = default;
  Key& operator=(const Key&) = default;

  static Key Random();
  // kInvalidArgument unless exactly kKeySize bytes.
  static Result<Key> FromBytes(ByteView b);
  ByteView view() const { return bytes_; }
  bool operator==(const Key& o) const;

 private:
  std::array<uint8_t, kKeySize> bytes_;
};

// AES-256-GCM with a fresh random 96-bit nonce. Appends nonce || ciphertext || tag to `out`
// (so callers can build a pack without copies). `aad` is authenticated, not stored.
void SealAppend(const Key& key, ByteView plaintext, ByteView aad, Bytes& out);
Bytes Seal(const Key& key, ByteView plaintext, ByteView aad = {});

// Inverse of Seal. kCorruption if `sealed` is shorter than kSealOverhead or does not
// authenticate under `key` and `aad` (a wrong key, a flipped bit, a truncation).
Result<Bytes> Open(const Key& key, ByteView sealed, ByteView aad = {});

// Open without a copy: decrypts `sealed` where it lies (the plaintext replaces the ciphertext,
// kNonceSize bytes in) and returns a view of the plaintext inside `sealed`. For a reader that
// owns the buffer it received (a restore's range read): no new memory per blob. On failure,
// kCorruption as Open, and the bytes the plaintext would occupy are wiped, so no
// unauthenticated plaintext is left in the caller's buffer.
Result<ByteView> OpenInPlace(const Key& key, std::span<uint8_t> sealed, ByteView aad = {});

Digest Sha256(ByteView data);

// SHA-256 of data given in pieces (a file read block by block): the same digest as Sha256 of
// the pieces concatenated. One object per stream and thread (not thread-safe); not copyable.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(ByteView data);
  // The digest of everything given to Update since construction or the last Final; the stream
  // then starts again empty.
  Digest Final();

 private:
  evp_md_ctx_st* ctx_;
};

// HMAC-SHA-256 of data under key: the keyed id of a chunk.
Digest HmacSha256(const Key& key, ByteView data);
// HMAC-SHA-256 (RFC 2104) under a key of any length, e.g. a stored salt (an empty key is
// allowed and is the same as one zero byte, as RFC 2104 pads keys with zeros).
Digest HmacSha256(ByteView key, ByteView data);

// HKDF-SHA-256 (RFC 5869) of `master` with an empty salt and `label` as info: independent
// subkeys (encryption, chunk ids, chunker seed) from one master key.
Key DeriveSubkey(const Key& master, std::string_view label);

struct ScryptParams {
  uint64_t n = 1u << 15;  // CPU/memory cost; 2^15 * r * 128 = 32 MiB of memory
  uint32_t r = 8;
  uint32_t p = 1;
};

// scrypt(passphrase, salt). kInvalidArgument for an empty passphrase or bad parameters.
Result<Key> DeriveFromPassphrase(std::string_view passphrase, ByteView salt, const ScryptParams& params);

// Constant-time comparison.
bool ConstantTimeEqual(ByteView a, ByteView b);

// Overwrites `secret` with zeros in a way the compiler cannot drop (for seeds and keys held in
// plain buffers once they are no longer needed).
void Wipe(std::span<uint8_t> secret);

}  // namespace mlvault::crypto
