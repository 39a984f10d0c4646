#include "crypto/crypto.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/crypto_testing.h"

namespace mlvault::crypto {
namespace {

using util::ErrorCode;

Bytes Hex(std::string_view h) {
  auto b = util::FromHex(h);
  EXPECT_TRUE(b.has_value()) << h;
  return b.value_or(Bytes{});
}
std::string HexOf(ByteView b) { return util::ToHex(b); }
Key KeyOf(std::string_view hex) { return *Key::FromBytes(Hex(hex)); }

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13, 14 and 16 (AES-256).
TEST(AesGcm, KnownAnswerEmptyPlaintext) {
  Key k = KeyOf(std::string(64, '0'));
  Bytes out;
  testing::SealAppendWithNonce(k, Hex("000000000000000000000000"), {}, {}, out);
  EXPECT_EQ(HexOf(out), "000000000000000000000000" "530f8afbc74536b9a963b4f1c4cb738b");
}

TEST(AesGcm, KnownAnswerOneBlock) {
  Key k = KeyOf(std::string(64, '0'));
  Bytes out;
  testing::SealAppendWithNonce(k, Hex("000000000000000000000000"), Hex("00000000000000000000000000000000"), {}, out);
  EXPECT_EQ(HexOf(out), "000000000000000000000000"
                        "cea7403d4d606b6e074ec5d3baf39d18"
                        "d0d1c8a799996bf0265b98b5d48ab919");
  auto opened = Open(k, out);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(HexOf(*opened), "00000000000000000000000000000000");
}

TEST(AesGcm, KnownAnswerWithAad) {
  Key k = KeyOf("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  Bytes p = Hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  Bytes aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  Bytes out = {0xAA};  // SealAppend appends after what is there
  testing::SealAppendWithNonce(k, Hex("cafebabefacedbaddecaf888"), p, aad, out);
  EXPECT_EQ(HexOf(out), "aa" "cafebabefacedbaddecaf888"
                        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                        "76fc6ece0f4e1768cddf8853bb2d551b");
  auto opened = Open(k, ByteView(out).subspan(1), aad);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  EXPECT_EQ(*opened, p);
}

TEST(AesGcm, RoundTripSizesAndFreshNonces) {
  Key k = Key::Random();
  for (size_t n : {0, 1, 15, 16, 17, 4096, 1 << 20}) {
    Bytes p(n);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 131 + 7);
    Bytes a = Seal(k, p, util::AsBytes("aad"));
    Bytes b = Seal(k, p, util::AsBytes("aad"));
    ASSERT_EQ(a.size(), n + kSealOverhead);
    EXPECT_NE(a, b) << "two seals of the same plaintext must use different nonces";
    auto o = Open(k, a, util::AsBytes("aad"));
    ASSERT_TRUE(o.has_value()) << n;
    EXPECT_EQ(*o, p);
  }
}

TEST(AesGcm, TamperingIsCorruption) {
  Key k = Key::Random();
  Bytes p(1000, 0x5a);
  Bytes s = Seal(k, p, util::AsBytes("id-1"));
  // Every single flipped bit, in nonce, ciphertext and tag, is detected.
  for (size_t i = 0; i < s.size(); i += 7) {
    Bytes t = s;
    t[i] ^= static_cast<uint8_t>(1u << (i % 8));
    auto o = Open(k, t, util::AsBytes("id-1"));
    ASSERT_FALSE(o.has_value()) << "flip at " << i;
    EXPECT_EQ(o.error().code(), ErrorCode::kCorruption);
  }
  for (size_t cut : {size_t{1}, size_t{16}, s.size() - kSealOverhead + 1, s.size()}) {
    auto o = Open(k, ByteView(s).first(s.size() - cut), util::AsBytes("id-1"));
    ASSERT_FALSE(o.has_value()) << "cut " << cut;
    EXPECT_EQ(o.error().code(), ErrorCode::kCorruption);
  }
  auto wrong_key = Open(Key::Random(), s, util::AsBytes("id-1"));
  ASSERT_FALSE(wrong_key.has_value());
  EXPECT_EQ(wrong_key.error().code(), ErrorCode::kCorruption);
  auto wrong_aad = Open(k, s, util::AsBytes("id-2"));
  ASSERT_FALSE(wrong_aad.has_value());
  EXPECT_EQ(wrong_aad.error().code(), ErrorCode::kCorruption);
  auto no_aad = Open(k, s);
  ASSERT_FALSE(no_aad.has_value());
  // The untouched original still opens: failures leave no state behind in the cached context.
  EXPECT_TRUE(Open(k, s, util::AsBytes("id-1")).has_value());
}

TEST(AesGcm, OpenInPlaceMatchesOpenAndWipesOnFailure) {
  Key k = Key::Random();
  for (size_t n : {0, 1, 17, 4096, 1 << 20}) {
    Bytes p(n);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 131 + 7);
    Bytes s = Seal(k, p, util::AsBytes("aad"));
    auto o = OpenInPlace(k, s, util::AsBytes("aad"));
    ASSERT_TRUE(o.has_value()) << n;
    EXPECT_EQ(Bytes(o->begin(), o->end()), p);
    EXPECT_EQ(o->data(), static_cast<const uint8_t*>(s.data()) + kNonceSize)
        << "the plaintext lies where the ciphertext was";
  }
  Bytes p(1000, 0x5a);
  const Bytes s = Seal(k, p, util::AsBytes("id-1"));
  for (size_t i = 0; i < s.size(); i += 7) {
    Bytes t = s;
    t[i] ^= static_cast<uint8_t>(1u << (i % 8));
    auto o = OpenInPlace(k, t, util::AsBytes("id-1"));
    ASSERT_FALSE(o.has_value()) << "flip at " << i;
    EXPECT_EQ(o.error().code(), ErrorCode::kCorruption);
    // No unauthenticated plaintext is left behind where the ciphertext was.
    EXPECT_EQ(std::count(t.begin() + kNonceSize, t.end() - kTagSize, 0), 1000) << "flip at " << i;
  }
  Bytes t = s;
  auto wrong_aad = OpenInPlace(k, t, util::AsBytes("id-2"));
  ASSERT_FALSE(wrong_aad.has_value());
  Bytes short_one(kSealOverhead - 1, 0);
  EXPECT_EQ(OpenInPlace(k, short_one).error().code(), ErrorCode::kCorruption);
}

TEST(AesGcm, ForkedChildNeverReusesParentNonces) {
  Key k = Key::Random();
  (void)Seal(k, util::AsBytes("prime the nonce buffer"));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Bytes s = Seal(k, util::AsBytes("child"));
    ssize_t w = write(fds[1], s.data(), kNonceSize);
    _exit(w == static_cast<ssize_t>(kNonceSize) ? 0 : 1);
  }
  close(fds[1]);
  Bytes parent = Seal(k, util::AsBytes("parent"));
  uint8_t child_nonce[kNonceSize];
  ASSERT_EQ(read(fds[0], child_nonce, kNonceSize), static_cast<ssize_t>(kNonceSize));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(HexOf(ByteView(child_nonce, kNonceSize)), HexOf(ByteView(parent).first(kNonceSize)));
}

TEST(AesGcm, NoncesDoNotRepeat) {
  Key k = Key::Random();
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(HexOf(ByteView(Seal(k, {})).first(kNonceSize)));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(AesGcm, ManyThreadsManyKeys) {
  std::vector<std::thread> ts;
  std::vector<int> bad(8, 0);
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([t, &bad] {
      Key k1 = Key::Random(), k2 = Key::Random();
      for (int i = 0; i < 200; ++i) {
        const Key& k = (i % 3 == 0) ? k1 : k2;  // alternate keys through the cached context
        Bytes p(static_cast<size_t>(i * 13 + t));
        Bytes s = Seal(k, p);
        auto o = Open(k, s);
        if (!o || *o != p) ++bad[t];
        if (Open(&k == &k1 ? k2 : k1, s).has_value()) ++bad[t];
      }
    });
  }
  for (auto& th : ts) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(bad[t], 0) << t;
}

TEST(Sha256, KnownAnswer) {
  EXPECT_EQ(HexOf(Sha256(util::AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexOf(Sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// FIPS 180-2 appendix B: the one-block and two-block messages and one million 'a's, fed in
// pieces of sizes that straddle the 64-byte block.
TEST(Sha256Stream, Fips180Vectors) {
  Sha256Stream h;
  EXPECT_EQ(HexOf(h.Final()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  h.Update(util::AsBytes("a"));
  h.Update(util::AsBytes(""));
  h.Update(util::AsBytes("bc"));
  EXPECT_EQ(HexOf(h.Final()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Final started a new stream.
  std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (char c : two) h.Update(util::AsBytes(std::string_view(&c, 1)));
  EXPECT_EQ(HexOf(h.Final()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string a(1000000, 'a');
  size_t sizes[] = {1, 63, 64, 65, 1000, 4096, 77777};
  size_t at = 0;
  for (size_t i = 0; at < a.size(); ++i) {
    size_t n = std::min(sizes[i % std::size(sizes)], a.size() - at);
    h.Update(util::AsBytes(std::string_view(a).substr(at, n)));
    at += n;
  }
  Digest million = h.Final();
  EXPECT_EQ(HexOf(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(million, Sha256(util::AsBytes(a)));
}

// RFC 4231. HMAC zero-pads keys shorter than the 64-byte block, so a short RFC key padded with
// zeros to 32 bytes gives the published MAC.
std::string Repeat(std::string_view s, int n) {
  std::string r;
  for (int i = 0; i < n; ++i) r += s;
  return r;
}
std::string Pad32(std::string hex) {
  hex.resize(64, '0');
  return hex;
}

TEST(HmacSha256, Rfc4231) {
  EXPECT_EQ(HexOf(HmacSha256(KeyOf(Pad32(Repeat("0b", 20))), util::AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexOf(HmacSha256(KeyOf(Pad32("4a656665")), util::AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexOf(HmacSha256(KeyOf(Pad32(std::string(40, 'a'))), Bytes(50, 0xdd))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(HexOf(HmacSha256(KeyOf(Pad32("0102030405060708090a0b0c0d0e0f10111213141516171819")), Bytes(50, 0xcd))),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

TEST(HmacSha256, KeyedAndRepeatable) {
  Key a = Key::Random(), b = Key::Random();
  Bytes d(100000, 7);
  Digest x = HmacSha256(a, d);
  EXPECT_EQ(HmacSha256(b, d) == x, false);
  EXPECT_EQ(HmacSha256(a, d), x);  // cached context re-initialised correctly
  EXPECT_NE(HmacSha256(a, ByteView(d).first(99999)), x);
  EXPECT_NE(x, Sha256(d));
}

TEST(HmacSha256, AnyKeyLengthRfc4231) {
  // RFC 4231 test cases 1 (20-byte key) and 6 (131-byte key, longer than the block).
  EXPECT_EQ(HexOf(HmacSha256(ByteView(Bytes(20, 0x0b)), util::AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexOf(HmacSha256(ByteView(Bytes(131, 0xaa)),
                             util::AsBytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // A 16-byte salt as legacy access-key verifiers use (value from Python's hmac module).
  EXPECT_EQ(HexOf(HmacSha256(ByteView(Hex("00112233445566778899aabbccddeeff")),
                             util::AsBytes("legacy-secret"))),
            "e17d6846a4c82db6af65f2fb1c8ac941e2bc58723cd4c85326590264276383f8");
}

TEST(HmacSha256, EmptyKeyIsNotThePreviousKey) {
  // After a keyed call on this thread, an empty key must still mean the empty key.
  Bytes key(32, 0x42);
  Digest keyed = HmacSha256(ByteView(key), util::AsBytes("abc"));
  Digest empty = HmacSha256(ByteView(), util::AsBytes("abc"));
  EXPECT_NE(empty, keyed);
  EXPECT_EQ(HexOf(empty), "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
}

TEST(Wipe, ZeroesTheBuffer) {
  Bytes secret(40, 0x5a);
  Wipe(secret);
  EXPECT_EQ(secret, Bytes(40, 0));
  std::array<uint8_t, 32> seed;
  seed.fill(0xff);
  Wipe(seed);
  for (uint8_t b : seed) EXPECT_EQ(b, 0);
  Wipe({});  // an empty span is allowed
}

// RFC 5869 test cases 1 and 3.
TEST(Hkdf, Rfc5869) {
  Bytes ikm(22, 0x0b);
  EXPECT_EQ(HexOf(testing::Hkdf(ikm, Hex("000102030405060708090a0b0c"), Hex("f0f1f2f3f4f5f6f7f8f9"), 42)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  EXPECT_EQ(HexOf(testing::Hkdf(ikm, {}, {}, 42)),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hkdf, DeriveSubkeyIsHkdfWithLabelAsInfo) {
  Key m = Key::Random();
  Key enc = DeriveSubkey(m, "encryption");
  EXPECT_EQ(HexOf(enc.view()), HexOf(testing::Hkdf(m.view(), {}, util::AsBytes("encryption"), 32)));
  EXPECT_FALSE(enc == DeriveSubkey(m, "chunk-id"));
  EXPECT_TRUE(enc == DeriveSubkey(m, "encryption"));
  EXPECT_FALSE(enc == m);
}

// RFC 7914 section 12.
TEST(Scrypt, Rfc7914) {
  auto v1 = testing::Scrypt("", {}, {.n = 16, .r = 1, .p = 1}, 64);
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(HexOf(*v1),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  auto v2 = testing::Scrypt("password", util::AsBytes("NaCl"), {.n = 1024, .r = 8, .p = 16}, 64);
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(HexOf(*v2),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
  // The key API returns the first 32 bytes (PBKDF2 blocks do not depend on the output length).
  auto k = DeriveFromPassphrase("pleaseletmein", util::AsBytes("SodiumChloride"), {.n = 16384, .r = 8, .p = 1});
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(HexOf(k->view()), "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2");
}

TEST(Scrypt, DefaultParamsWork) {
  auto k = DeriveFromPassphrase("correct horse", util::AsBytes("0123456789abcdef"), ScryptParams{});
  ASSERT_TRUE(k.has_value()) << k.error().ToString();
  auto k2 = DeriveFromPassphrase("correct horsf", util::AsBytes("0123456789abcdef"), ScryptParams{});
  ASSERT_TRUE(k2.has_value());
  EXPECT_FALSE(*k == *k2);
}

TEST(Scrypt, BadInputRefused) {
  Bytes salt(16, 1);
  auto expect_invalid = [&](std::string_view pass, ScryptParams p) {
    auto r = DeriveFromPassphrase(pass, salt, p);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().ToString();
  };
  expect_invalid("", {});
  expect_invalid("x", {.n = 1000, .r = 8, .p = 1});
  expect_invalid("x", {.n = 1, .r = 8, .p = 1});
  expect_invalid("x", {.n = 0, .r = 8, .p = 1});
  expect_invalid("x", {.n = 1024, .r = 0, .p = 1});
  expect_invalid("x", {.n = 1024, .r = 8, .p = 0});
  expect_invalid("x", {.n = uint64_t{1} << 30, .r = 8, .p = 1});  // 1 TiB of memory
}

TEST(Key, FromBytesAndCompare) {
  EXPECT_FALSE(Key::FromBytes(Bytes(31)).has_value());
  EXPECT_EQ(Key::FromBytes(Bytes(33)).error().code(), ErrorCode::kInvalidArgument);
  Key a = *Key::FromBytes(Bytes(32, 1));
  Key b = *Key::FromBytes(Bytes(32, 1));
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == Key::Random());
  EXPECT_FALSE(Key::Random() == Key::Random());
  EXPECT_TRUE(ConstantTimeEqual(util::AsBytes("abc"), util::AsBytes("abc")));
  EXPECT_FALSE(ConstantTimeEqual(util::AsBytes("abc"), util::AsBytes("abd")));
  EXPECT_FALSE(ConstantTimeEqual(util::AsBytes("abc"), util::AsBytes("ab")));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
}

}  // namespace
}  // namespace mlvault::crypto
