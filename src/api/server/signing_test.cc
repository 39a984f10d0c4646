// The signing scheme's pieces: canonical request, dates, nonces, the Authorization header and
// the replay cache.
#include "api/server/signing.h"

#include <gtest/gtest.h>

namespace mlvault::api {
namespace {

TEST(Signing, CanonicalRequestIsTheDocumentedLines) {
  SignedParts p{"POST",
                "/api/v1/ml/listWorkspaces",
                "application/json",
                "20260126T032210Z",
                "0123456789abcdef0123456789abcdef",
                "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"};
  EXPECT_EQ(CanonicalRequest(p),
            "MLVAULT-ED25519\nPOST\n/api/v1/ml/listWorkspaces\napplication/json\n20260126T032210Z\n"
            "0123456789abcdef0123456789abcdef\n"
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}

TEST(Signing, DatesRoundTripAndRefuseNonsense) {
  const util::TimeMicros t = 1'769'397'730'000'000;  // 2026-01-26T03:22:10Z
  EXPECT_EQ(FormatSigningDate(t), "20260126T032210Z");
  EXPECT_EQ(ParseSigningDate("20260126T032210Z"), t);
  for (const char* bad : {"", "2026-01-26T03:22:10Z", "20260126T032210", "20260231T000000Z",
                          "20261301T000000Z", "20260126T250000Z", "2026012xT032210Z"})
    EXPECT_FALSE(ParseSigningDate(bad)) << bad;
}

TEST(Signing, NoncesAndKeyIds) {
  std::string n = NewNonce();
  EXPECT_EQ(n.size(), 32u);
  EXPECT_TRUE(ValidNonce(n));
  EXPECT_NE(n, NewNonce());
  EXPECT_FALSE(ValidNonce("short"));
  EXPECT_FALSE(ValidNonce("0123456789abcdef0123 with space"));
  EXPECT_TRUE(ValidAccessKeyId("MLVKABCDEFGHIJ234567"));
  EXPECT_TRUE(ValidAccessKeyId("MLVSABCDEFGHIJ234567"));  // assume-role's
  EXPECT_FALSE(ValidAccessKeyId("MLVKabcdefghij234567"));
  EXPECT_FALSE(ValidAccessKeyId("AKIAABCDEFGHIJ234567"));
  EXPECT_FALSE(ValidAccessKeyId("MLVKABC"));
}

TEST(Signing, SignedHeadersParseAndVerify) {
  crypto::Ed25519KeyPair kp = crypto::Ed25519Generate();
  const util::TimeMicros now = 1'769'397'730'000'000;
  auto h = SignRequest("MLVKABCDEFGHIJ234567", crypto::Base64Encode(kp.seed), "test", "POST",
                       "/api/v1/iam/listUsers", "application/json", "{}", now);
  ASSERT_TRUE(h) << h.error().ToString();
  EXPECT_EQ(h->date, "20260126T032210Z");
  auto parsed = ParseAuthorization(h->authorization);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->access_key_id, "MLVKABCDEFGHIJ234567");
  auto sig = crypto::Base64Decode(parsed->signature_b64);
  ASSERT_TRUE(sig);
  SignedParts p{"POST",
                "/api/v1/iam/listUsers",
                "application/json",
                h->date,
                h->nonce,
                crypto::Sha256Hex(util::AsBytes("{}"))};
  EXPECT_TRUE(crypto::Ed25519Verify(kp.public_key, util::AsBytes(CanonicalRequest(p)), *sig));
  p.path = "/api/v1/iam/createUser";
  EXPECT_FALSE(crypto::Ed25519Verify(kp.public_key, util::AsBytes(CanonicalRequest(p)), *sig));

  auto legacy = SignRequest("MLVKABCDEFGHIJ234567", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn",
                            "profile 'old'", "POST", "/", "", "", now);
  ASSERT_FALSE(legacy);
  EXPECT_NE(legacy.error().message().find("profile 'old'"), std::string::npos);
}

TEST(Signing, MalformedAuthorizationHeadersAreNamed) {
  auto e1 = ParseAuthorization("Bearer abc");
  ASSERT_FALSE(e1);
  EXPECT_NE(e1.error().message().find("MLVAULT-ED25519 scheme"), std::string::npos);
  auto e2 = ParseAuthorization("MLVAULT-ED25519 Credential=MLVKABCDEFGHIJ234567");
  ASSERT_FALSE(e2);
  EXPECT_NE(e2.error().message().find("has no Signature"), std::string::npos);
  auto e3 = ParseAuthorization("MLVAULT-ED25519 Credential=nope, Signature=AAAA");
  ASSERT_FALSE(e3);
  EXPECT_NE(e3.error().message().find("access key id 'nope'"), std::string::npos);
  auto e4 = ParseAuthorization("MLVAULT-ED25519 Credential=MLVKABCDEFGHIJ234567, Signature=A, X=1");
  ASSERT_FALSE(e4);
  EXPECT_NE(e4.error().message().find("'X'"), std::string::npos);
}

TEST(Signing, BlanksAroundTheEqualsSignAreNotPartOfTheValue) {
  // A fuzz finding: "Signature= abc" kept the blank in the signature.
  auto h = ParseAuthorization("MLVAULT-ED25519 Credential = MLVKABCDEFGHIJ234567, Signature= QUJD");
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->access_key_id, "MLVKABCDEFGHIJ234567");
  EXPECT_EQ(h->signature_b64, "QUJD");
}

TEST(NonceCache, RefusesReplaysUntilTheWindowPasses) {
  NonceCache cache(3);
  const util::TimeMicros t = 1'769'397'730'000'000;
  EXPECT_TRUE(cache.Insert("K", "n1", t, t));
  auto replay = cache.Insert("K", "n1", t, t + 1'000'000);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code(), util::ErrorCode::kConflict);
  EXPECT_TRUE(cache.Insert("L", "n1", t, t));  // another key's nonce space
  EXPECT_TRUE(cache.Insert("K", "n2", t, t));
  auto full = cache.Insert("K", "n3", t, t);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), util::ErrorCode::kUnavailable);
  // After the window, the entries expire (a replay then fails the date check instead).
  const util::TimeMicros later = t + (kClockWindowSeconds + 2) * 1'000'000;
  EXPECT_TRUE(cache.Insert("K", "n3", later, later));
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace mlvault::api
