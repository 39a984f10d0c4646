// SigV4 against AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite):
// credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1,
// service "service", time 20150830T123600Z, host example.amazonaws.com. Each expected value
// below is the one AWS publishes for the named case (.creq / .sts / .authz files).
#include "backend/sigv4.h"

#include <gtest/gtest.h>

namespace mlvault::backend::sigv4 {
namespace {

constexpr const char* kDate = "20150830T123600Z";
constexpr const char* kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kPrefix =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";

const Credentials kCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
const Scope kScope{"us-east-1", "service"};

Request Vanilla(std::string method, std::string path, Pairs query = {}) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kDate}};
  r.payload_hash = kEmptyHash;
  return r;
}

std::string Sig(const Request& r) { return Authorization(kCreds, kScope, r, kDate); }

TEST(SigV4Suite, GetVanilla) {
  EXPECT_EQ(Sig(Vanilla("GET", "/")),
            std::string(kPrefix) +
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Suite, GetVanillaQueryOrderKeyCase) {
  auto r = Vanilla("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}});
  EXPECT_TRUE(Sig(r).ends_with(
      "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST(SigV4Suite, GetVanillaQueryOrderKey) {
  auto r = Vanilla("GET", "/", {{"Param1", "value2"}, {"Param1", "Value1"}});
  EXPECT_EQ(CanonicalRequest(r, nullptr),
            std::string("GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
                        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n") +
                kEmptyHash);
  EXPECT_EQ(StringToSign(kDate, kScope, CanonicalRequest(r, nullptr)),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89");
  EXPECT_TRUE(Sig(r).ends_with(
      "Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"));
}

TEST(SigV4Suite, GetVanillaUtf8Query) {
  auto r = Vanilla("GET", "/", {{"\xe1\x88\xb4", "bar"}});
  EXPECT_TRUE(Sig(r).ends_with(
      "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"));
}

TEST(SigV4Suite, PostVanillaEmptyQueryValue) {
  auto r = Vanilla("POST", "/", {{"Param1", "value1"}});
  EXPECT_TRUE(Sig(r).ends_with(
      "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"));
}

TEST(SigV4Suite, GetUnreserved) {
  const std::string path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(UriEncode(path, true), path);
  auto r = Vanilla("GET", UriEncode(path, true));
  EXPECT_TRUE(Sig(r).ends_with(
      "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"));
}

TEST(SigV4Suite, PostXWwwFormUrlencoded) {
  Request r = Vanilla("POST", "/");
  r.headers.insert(r.headers.begin(), {"Content-Type", "application/x-www-form-urlencoded"});
  r.payload_hash = Sha256Hex(util::AsBytes("Param1=value1"));
  EXPECT_EQ(r.payload_hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  std::string signed_headers;
  EXPECT_EQ(
      CanonicalRequest(r, &signed_headers),
      "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
      "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
      "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(signed_headers, "content-type;host;x-amz-date");
  EXPECT_EQ(StringToSign(kDate, kScope, CanonicalRequest(r, nullptr)),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(Sig(r),
            std::string(kPrefix) +
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4, HeadersAreLowercasedTrimmedAndMerged) {
  Request r = Vanilla("GET", "/");
  r.headers.push_back({"My-Header1", "  a   b  "});
  r.headers.push_back({"my-header1", "c"});
  std::string names;
  std::string creq = CanonicalRequest(r, &names);
  EXPECT_NE(creq.find("\nmy-header1:a b,c\n"), std::string::npos) << creq;
  EXPECT_EQ(names, "host;my-header1;x-amz-date");
}

TEST(SigV4, EncodingAndDigests) {
  EXPECT_EQ(UriEncode("a b/c+d=e~", false), "a%20b%2Fc%2Bd%3De~");
  EXPECT_EQ(UriEncode("data/ab/x", true), "data/ab/x");
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"prefix", "chunks/"}, {"list-type", "2"}}),
            "list-type=2&prefix=chunks%2F");
  EXPECT_EQ(AmzDate(1440938160), kDate);
  EXPECT_EQ(DateStamp(1440938160), "20150830");
  EXPECT_EQ(Sha256Hex({}), kEmptyHash);
  EXPECT_EQ(Md5Base64({}), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(Md5Base64(util::AsBytes("hello")), "XUFAKrxLKna5cZ2REBfFkg==");
}

TEST(SigV4, SecretNeverAppearsInTheHeader) {
  EXPECT_EQ(Sig(Vanilla("GET", "/")).find(kCreds.secret_key), std::string::npos);
}

}  // namespace
}  // namespace mlvault::backend::sigv4
