// Ed25519 against the test vectors of RFC 8032 section 7.1, and base64 against RFC 4648.
#include "crypto/ed25519.h"

#include <gtest/gtest.h>

namespace mlvault::crypto {
namespace {

util::Bytes Hex(std::string_view h) { return *util::FromHex(h); }

struct Vector {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1, TEST 2, TEST 3.
const Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
     "b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f1"
     "1d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984d"
     "c6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519, Rfc8032Vectors) {
  for (const auto& v : kVectors) {
    util::Bytes secret = Hex(v.secret);
    Ed25519Seed seed;
    std::copy(secret.begin(), secret.end(), seed.begin());
    Ed25519PublicKey pub = Ed25519PublicFromSeed(seed);
    EXPECT_EQ(util::ToHex(pub), v.public_key);
    util::Bytes msg = Hex(v.message);
    Ed25519Signature sig = Ed25519Sign(seed, msg);
    EXPECT_EQ(util::ToHex(sig), v.signature);
    EXPECT_TRUE(Ed25519Verify(pub, msg, sig));
  }
}

TEST(Ed25519, RejectsTamperingAndMalformedInput) {
  Ed25519KeyPair kp = Ed25519Generate();
  util::Bytes msg = {1, 2, 3};
  Ed25519Signature sig = Ed25519Sign(kp.seed, msg);
  EXPECT_TRUE(Ed25519Verify(kp.public_key, msg, sig));
  util::Bytes other = {1, 2, 4};
  EXPECT_FALSE(Ed25519Verify(kp.public_key, other, sig));
  Ed25519Signature flipped = sig;
  flipped[10] ^= 1;
  EXPECT_FALSE(Ed25519Verify(kp.public_key, msg, flipped));
  Ed25519KeyPair kp2 = Ed25519Generate();
  EXPECT_NE(kp.seed, kp2.seed);
  EXPECT_FALSE(Ed25519Verify(kp2.public_key, msg, sig));
  EXPECT_FALSE(Ed25519Verify(util::ByteView(kp.public_key).first(31), msg, sig));
  EXPECT_FALSE(Ed25519Verify(kp.public_key, msg, util::ByteView(sig).first(63)));
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},
                                                       {"f", "Zg=="},
                                                       {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},
                                                       {"foob", "Zm9vYg=="},
                                                       {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(util::AsBytes(plain)), encoded);
    auto d = Base64Decode(encoded);
    ASSERT_TRUE(d) << encoded;
    EXPECT_EQ(util::AsString(*d), plain);
  }
  util::Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
}

TEST(Base64, RefusesMalformedText) {
  EXPECT_FALSE(Base64Decode("Zm9"));
  EXPECT_FALSE(Base64Decode("Zm9v!A=="));
  EXPECT_FALSE(Base64Decode("Zg==Zm9v"));
  EXPECT_FALSE(Base64Decode("Z==="));
  auto e = Base64Decode("ab-_", "private_key");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("private_key"), std::string::npos);
}

TEST(Sha256Hex, KnownAnswer) {
  EXPECT_EQ(Sha256Hex(util::AsBytes("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace mlvault::crypto
