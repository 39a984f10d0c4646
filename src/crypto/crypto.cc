#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <pthread.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crypto/crypto_testing.h"

namespace mlvault::crypto {
namespace {

// OpenSSL failing on valid inputs (allocation failure, a broken provider) leaves no sane way
// to continue: a half-sealed object must never be stored. Abort loudly instead.
[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "mlvault: fatal OpenSSL failure in %s\n", what);
  std::abort();
}

// Algorithms are fetched once per process: EVP_*_fetch does a provider lookup each time.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* c = [] {
    EVP_CIPHER* x = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (x == nullptr) Die("EVP_CIPHER_fetch(AES-256-GCM)");
    return x;
  }();
  return c;
}
const EVP_MD* Sha256Md() {
  static const EVP_MD* m = [] {
    EVP_MD* x = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (x == nullptr) Die("EVP_MD_fetch(SHA256)");
    return x;
  }();
  return m;
}
EVP_MAC* HmacAlg() {
  static EVP_MAC* m = [] {
    EVP_MAC* x = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (x == nullptr) Die("EVP_MAC_fetch(HMAC)");
    return x;
  }();
  return m;
}

// A per-thread cipher context that remembers which key it holds, so that sealing many chunks
// under one key skips the context allocation and the AES key schedule.
struct GcmCtx {
  EVP_CIPHER_CTX* ctx = nullptr;
  bool has_key = false;
  std::array<uint8_t, kKeySize> key{};

  GcmCtx() {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) Die("EVP_CIPHER_CTX_new");
  }
  ~GcmCtx() {
    OPENSSL_cleanse(key.data(), key.size());
    EVP_CIPHER_CTX_free(ctx);
  }
  GcmCtx(const GcmCtx&) = delete;
  GcmCtx& operator=(const GcmCtx&) = delete;

  // Initializes for one message under `k` with `nonce`; encrypt or decrypt per `enc`.
  void Begin(const Key& k, const uint8_t* nonce, int enc) {
    ByteView kv = k.view();
    if (has_key && CRYPTO_memcmp(key.data(), kv.data(), kKeySize) == 0) {
      if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce, enc, nullptr) != 1) Die("EVP_CipherInit_ex2(iv)");
      return;
    }
    if (EVP_CipherInit_ex2(ctx, Aes256Gcm(), kv.data(), nonce, enc, nullptr) != 1) {
      has_key = false;
      Die("EVP_CipherInit_ex2(key)");
    }
    std::memcpy(key.data(), kv.data(), kKeySize);
    has_key = true;
  }
};

GcmCtx& EncCtx() {
  thread_local GcmCtx c;
  return c;
}
GcmCtx& DecCtx() {
  thread_local GcmCtx c;
  return c;
}

// EVP_*Update take int lengths; feed large buffers in pieces.
constexpr size_t kMaxUpdate = size_t{1} << 30;

void CipherUpdate(EVP_CIPHER_CTX* ctx, uint8_t* out, const uint8_t* in, size_t n, const char* what) {
  while (n > 0) {
    int piece = static_cast<int>(n < kMaxUpdate ? n : kMaxUpdate);
    int outl = 0;
    if (EVP_CipherUpdate(ctx, out, &outl, in, piece) != 1 || outl != piece) Die(what);
    if (out != nullptr) out += piece;
    in += piece;
    n -= static_cast<size_t>(piece);
  }
}

void AadUpdate(EVP_CIPHER_CTX* ctx, ByteView aad) {
  size_t n = aad.size();
  const uint8_t* p = aad.data();
  while (n > 0) {
    int piece = static_cast<int>(n < kMaxUpdate ? n : kMaxUpdate);
    int outl = 0;
    if (EVP_CipherUpdate(ctx, nullptr, &outl, p, piece) != 1) Die("EVP_CipherUpdate(aad)");
    p += piece;
    n -= static_cast<size_t>(piece);
  }
}

void SealWithNonce(const Key& key, const uint8_t* nonce, ByteView plaintext, ByteView aad, Bytes& out) {
  GcmCtx& g = EncCtx();
  g.Begin(key, nonce, 1);
  size_t base = out.size();
  out.resize(base + kNonceSize + plaintext.size() + kTagSize);
  uint8_t* p = out.data() + base;
  std::memcpy(p, nonce, kNonceSize);
  AadUpdate(g.ctx, aad);
  CipherUpdate(g.ctx, p + kNonceSize, plaintext.data(), plaintext.size(), "EVP_EncryptUpdate");
  int outl = 0;
  if (EVP_EncryptFinal_ex(g.ctx, p + kNonceSize + plaintext.size(), &outl) != 1 || outl != 0) {
    Die("EVP_EncryptFinal_ex");
  }
  if (EVP_CIPHER_CTX_ctrl(g.ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, p + kNonceSize + plaintext.size()) != 1) {
    Die("EVP_CTRL_GCM_GET_TAG");
  }
}

// Fresh random nonces, drawn from RAND_bytes in batches: one RAND_bytes call costs ~2 us, as
// much as sealing 4 KiB. Buffered output of a CSPRNG is as unpredictable as unbuffered; the only
// hazard is a fork duplicating the buffer (two processes would then reuse nonces under one key),
// so a fork bumps a generation counter and every thread refills on its next nonce.
std::atomic<uint64_t> g_fork_generation{0};

void CountFork() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

void NextNonce(uint8_t* nonce) {
  static const bool registered = [] { return pthread_atfork(nullptr, nullptr, CountFork) == 0; }();
  constexpr size_t kBatch = 128;
  thread_local struct {
    uint8_t buf[kNonceSize * kBatch];
    size_t next = kBatch;
    uint64_t generation = 0;
  } pool;
  const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
  if (!registered || pool.next == kBatch || pool.generation != gen) {
    if (RAND_bytes(pool.buf, sizeof pool.buf) != 1) Die("RAND_bytes");
    pool.next = 0;
    pool.generation = gen;
  }
  uint8_t* src = pool.buf + kNonceSize * pool.next++;
  std::memcpy(nonce, src, kNonceSize);
  std::memset(src, 0, kNonceSize);
}

// HMAC context per thread, keyed once; EVP_MAC_init with a null key re-initializes it with
// the key it already holds (no re-hash of the key pads).
struct HmacCtx {
  EVP_MAC_CTX* ctx = nullptr;
  bool has_key = false;
  std::array<uint8_t, kKeySize> key{};

  HmacCtx() {
    ctx = EVP_MAC_CTX_new(HmacAlg());
    if (ctx == nullptr) Die("EVP_MAC_CTX_new");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) Die("EVP_MAC_CTX_set_params");
  }
  ~HmacCtx() {
    OPENSSL_cleanse(key.data(), key.size());
    EVP_MAC_CTX_free(ctx);
  }
  HmacCtx(const HmacCtx&) = delete;
  HmacCtx& operator=(const HmacCtx&) = delete;
};

Digest HmacRaw(ByteView key, ByteView data) {
  thread_local HmacCtx h;
  bool same = h.has_key && key.size() == kKeySize && CRYPTO_memcmp(h.key.data(), key.data(), kKeySize) == 0;
  if (same) {
    if (EVP_MAC_init(h.ctx, nullptr, 0, nullptr) != 1) Die("EVP_MAC_init");
  } else {
    h.has_key = false;
    if (EVP_MAC_init(h.ctx, key.data(), key.size(), nullptr) != 1) Die("EVP_MAC_init(key)");
    if (key.size() == kKeySize) {
      std::memcpy(h.key.data(), key.data(), kKeySize);
      h.has_key = true;
    }
  }
  if (EVP_MAC_update(h.ctx, data.data(), data.size()) != 1) Die("EVP_MAC_update");
  Digest d;
  size_t outl = 0;
  if (EVP_MAC_final(h.ctx, d.data(), &outl, d.size()) != 1 || outl != d.size()) Die("EVP_MAC_final");
  return d;
}

}  // namespace

Key::~Key() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

Key Key::Random() {
  Key k;
  if (RAND_bytes(k.bytes_.data(), static_cast<int>(k.bytes_.size())) != 1) Die("RAND_bytes");
  return k;
}

Result<Key> Key::FromBytes(ByteView b) {
  if (b.size() != kKeySize) {
    return util::InvalidArgument("a key must be " + std::to_string(kKeySize) + " bytes, got " +
                                 std::to_string(b.size()));
  }
  Key k;
  std::memcpy(k.bytes_.data(), b.data(), kKeySize);
  return k;
}

bool Key::operator==(const Key& o) const {
  return CRYPTO_memcmp(bytes_.data(), o.bytes_.data(), kKeySize) == 0;
}

void SealAppend(const Key& key, ByteView plaintext, ByteView aad, Bytes& out) {
  uint8_t nonce[kNonceSize];
  NextNonce(nonce);
  SealWithNonce(key, nonce, plaintext, aad, out);
}

Bytes Seal(const Key& key, ByteView plaintext, ByteView aad) {
  Bytes out;
  out.reserve(plaintext.size() + kSealOverhead);
  SealAppend(key, plaintext, aad, out);
  return out;
}

Result<Bytes> Open(const Key& key, ByteView sealed, ByteView aad) {
  if (sealed.size() < kSealOverhead) {
    return util::Corruption("authentication failed: sealed data of " + std::to_string(sealed.size()) +
                            " bytes is shorter than nonce and tag");
  }
  const size_t n = sealed.size() - kSealOverhead;
  const uint8_t* ct = sealed.data() + kNonceSize;
  uint8_t tag[kTagSize];
  std::memcpy(tag, ct + n, kTagSize);

  GcmCtx& g = DecCtx();
  g.Begin(key, sealed.data(), 0);
  Bytes out(n);
  AadUpdate(g.ctx, aad);
  CipherUpdate(g.ctx, out.data(), ct, n, "EVP_DecryptUpdate");
  if (EVP_CIPHER_CTX_ctrl(g.ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) Die("EVP_CTRL_GCM_SET_TAG");
  int outl = 0;
  if (EVP_DecryptFinal_ex(g.ctx, out.data() + n, &outl) != 1) {
    // Never hand out unauthenticated plaintext, not even in a buffer about to be freed.
    OPENSSL_cleanse(out.data(), out.size());
    return util::Corruption("authentication failed (wrong key or damaged data)");
  }
  return out;
}

Result<ByteView> OpenInPlace(const Key& key, std::span<uint8_t> sealed, ByteView aad) {
  if (sealed.size() < kSealOverhead) {
    return util::Corruption("authentication failed: sealed data of " + std::to_string(sealed.size()) +
                            " bytes is shorter than nonce and tag");
  }
  const size_t n = sealed.size() - kSealOverhead;
  uint8_t* text = sealed.data() + kNonceSize;
  uint8_t tag[kTagSize];
  std::memcpy(tag, text + n, kTagSize);

  GcmCtx& g = DecCtx();
  g.Begin(key, sealed.data(), 0);
  AadUpdate(g.ctx, aad);
  CipherUpdate(g.ctx, text, text, n, "EVP_DecryptUpdate");  // GCM allows in == out
  if (EVP_CIPHER_CTX_ctrl(g.ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) Die("EVP_CTRL_GCM_SET_TAG");
  int outl = 0;
  if (EVP_DecryptFinal_ex(g.ctx, text + n, &outl) != 1) {
    OPENSSL_cleanse(text, n);
    return util::Corruption("authentication failed (wrong key or damaged data)");
  }
  return ByteView(text, n);
}

Digest Sha256(ByteView data) {
  Digest d;
  unsigned int outl = 0;
  if (EVP_Digest(data.data(), data.size(), d.data(), &outl, Sha256Md(), nullptr) != 1 || outl != d.size()) {
    Die("EVP_Digest");
  }
  return d;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1)
    Die("EVP_DigestInit_ex");
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

void Sha256Stream::Update(ByteView data) {
  if (data.empty()) return;
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) Die("EVP_DigestUpdate");
}

Digest Sha256Stream::Final() {
  Digest d;
  unsigned int outl = 0;
  if (EVP_DigestFinal_ex(ctx_, d.data(), &outl) != 1 || outl != d.size()) Die("EVP_DigestFinal_ex");
  if (EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1) Die("EVP_DigestInit_ex");
  return d;
}

Digest HmacSha256(const Key& key, ByteView data) { return HmacRaw(key.view(), data); }

Digest HmacSha256(ByteView key, ByteView data) {
  // EVP_MAC_init takes an empty key as "keep the previous key": pass the equivalent zero byte.
  static constexpr uint8_t kZero[1] = {0};
  return HmacRaw(key.empty() ? ByteView(kZero) : key, data);
}

Key DeriveSubkey(const Key& master, std::string_view label) {
  Bytes b = testing::Hkdf(master.view(), {}, util::AsBytes(label), kKeySize);
  Key k = *Key::FromBytes(b);
  OPENSSL_cleanse(b.data(), b.size());
  return k;
}

static util::Status CheckScrypt(const ScryptParams& p) {
  if (p.n < 2 || (p.n & (p.n - 1)) != 0) {
    return util::InvalidArgument("scrypt N must be a power of two >= 2, got " + std::to_string(p.n));
  }
  if (p.r == 0 || p.p == 0) return util::InvalidArgument("scrypt r and p must be positive");
  // RFC 7914: p <= (2^32 - 1) * 32 / (128 * r); keep well inside that and inside 1 GiB.
  if (uint64_t{p.r} * p.p >= (uint64_t{1} << 30)) return util::InvalidArgument("scrypt r * p too large");
  const uint64_t mem = 128 * uint64_t{p.r} * p.n;
  if (p.n > (uint64_t{1} << 40) || mem > (uint64_t{1} << 30)) {
    return util::InvalidArgument("scrypt parameters need more than 1 GiB of memory");
  }
  return util::Ok();
}

Result<Key> DeriveFromPassphrase(std::string_view passphrase, ByteView salt, const ScryptParams& params) {
  if (passphrase.empty()) return util::InvalidArgument("the passphrase is empty");
  Bytes b = MLV_TRY(testing::Scrypt(passphrase, salt, params, kKeySize));
  Key k = *Key::FromBytes(b);
  OPENSSL_cleanse(b.data(), b.size());
  return k;
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Wipe(std::span<uint8_t> secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
}

namespace testing {

void SealAppendWithNonce(const Key& key, ByteView nonce, ByteView plaintext, ByteView aad, Bytes& out) {
  if (nonce.size() != kNonceSize) Die("SealAppendWithNonce: nonce size");
  SealWithNonce(key, nonce.data(), plaintext, aad, out);
}

Bytes Hkdf(ByteView ikm, ByteView salt, ByteView info, size_t length) {
  static EVP_KDF* alg = [] {
    EVP_KDF* x = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (x == nullptr) Die("EVP_KDF_fetch(HKDF)");
    return x;
  }();
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(alg);
  if (ctx == nullptr) Die("EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  int i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size());
  // No salt parameter means HashLen zero bytes, exactly RFC 5869's default.
  if (!salt.empty()) {
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size());
  }
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size());
  params[i] = OSSL_PARAM_construct_end();
  Bytes out(length);
  if (EVP_KDF_derive(ctx, out.data(), out.size(), params) != 1) Die("EVP_KDF_derive(HKDF)");
  EVP_KDF_CTX_free(ctx);
  return out;
}

Result<Bytes> Scrypt(std::string_view passphrase, ByteView salt, const ScryptParams& params, size_t length) {
  MLV_TRY(CheckScrypt(params));
  Bytes out(length);
  // maxmem must cover V (128*r*N) plus B (128*r*p) and some slack; CheckScrypt bounded both.
  const uint64_t maxmem = 128 * uint64_t{params.r} * (params.n + params.p + 2) + (uint64_t{1} << 20);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt.data(), salt.size(), params.n, params.r,
                     params.p, maxmem, out.data(), out.size()) != 1) {
    return util::Internal("scrypt failed (N=" + std::to_string(params.n) + ", r=" + std::to_string(params.r) +
                          ", p=" + std::to_string(params.p) + ")");
  }
  return out;
}

}  // namespace testing
}  // namespace mlvault::crypto
