// The S3 backend against a real Ceph RADOS Gateway (the `rgw` CTest fixture): the conformance
// suite, directly and through OpenBackend's decorated stack, plus what only S3 has: listing
// pages, multipart uploads, the errors RGW produces, and OpenBackend's settings.
#include <gtest/gtest.h>

#include <cstdlib>

#include "backend/conformance.h"
#include "backend/s3.h"
#include "backend/s3_test_support.h"
#include "util/random.h"

namespace mlvault::backend {
namespace {

using util::ErrorCode;

const bool kRegistered = [] {
  conformance::Register("S3", [] { return testing::TempS3(); });
  conformance::Register("S3WithRetry", [] {
    auto b = testing::TempS3();
    return b ? WithRetry(std::move(b), {.attempts = 3, .initial_backoff_ms = 10}) : nullptr;
  });
  return true;
}();

std::string Str(const Bytes& b) { return std::string(util::AsString(b)); }

S3Config Rgw(std::string prefix = "") {
  S3Config c = *testing::RgwConfig();
  c.bucket = "mlvault-test";
  c.prefix = prefix.empty() ? "e-" + util::RandomHex(6) : prefix;
  return c;
}

TEST(S3, ListingPagesThroughEveryKey) {
  MLV_REQUIRE_RGW();
  S3Config c;
  auto owner = testing::TempS3(&c);
  ASSERT_NE(owner, nullptr);
  c.list_page_size = 7;  // 23 objects: 4 pages
  auto b = S3Backend::Open(c, false);
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  for (int i = 0; i < 23; ++i)
    ASSERT_TRUE((*b)->Put("p/" + std::to_string(i), util::AsBytes("x")).has_value());
  auto all = (*b)->List("p/");
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(all->size(), 23u);
  auto some = (*b)->List("p/1");  // 1, 10..19
  ASSERT_TRUE(some.has_value());
  EXPECT_EQ(some->size(), 11u);
}

TEST(S3, MultipartUploadInParallelParts) {
  MLV_REQUIRE_RGW();
  S3Config c;
  auto owner = testing::TempS3(&c);
  ASSERT_NE(owner, nullptr);
  c.multipart_threshold = 6 << 20;
  c.part_size = 5 << 20;
  c.parallel_parts = 3;
  auto b = S3Backend::Open(c, false);
  ASSERT_TRUE(b.has_value());
  Bytes data = util::RandomBytes((17 << 20) + 11);  // 4 parts, the last one short
  ASSERT_TRUE((*b)->Put("big", data).has_value());
  auto st = (*b)->Stat("big");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->size, data.size());
  auto got = (*b)->Get("big");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got == data);
  auto mid = (*b)->Get("big", (5 << 20) - 3, 10);  // across a part boundary
  ASSERT_TRUE(mid.has_value());
  EXPECT_TRUE(std::equal(mid->begin(), mid->end(), data.begin() + (5 << 20) - 3));
}

TEST(S3, WrongSecretIsPermissionDeniedAndNeverPrinted) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  c.secret_key = "not-the-secret-" + util::RandomHex(4);
  auto b = S3Backend::Open(c, true);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), ErrorCode::kPermissionDenied) << b.error().ToString();
  EXPECT_NE(b.error().message().find("MLVAULT_S3_SECRET_KEY"), std::string::npos)
      << b.error().message();
  EXPECT_EQ(b.error().message().find(c.secret_key), std::string::npos);
  EXPECT_EQ(b.error().message().find(testing::RgwConfig()->secret_key), std::string::npos);
}

TEST(S3, UnknownAccessKeyIsPermissionDenied) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  c.access_key = "nobody" + util::RandomHex(4);
  auto b = S3Backend::Open(c, false);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), ErrorCode::kPermissionDenied) << b.error().ToString();
  EXPECT_NE(b.error().message().find("MLVAULT_S3_ACCESS_KEY"), std::string::npos)
      << b.error().message();
}

TEST(S3, MissingBucketIsNotFoundUnlessCreated) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  c.bucket = "mlvault-missing-" + util::RandomHex(4);
  auto b = S3Backend::Open(c, false);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), ErrorCode::kNotFound) << b.error().ToString();
  EXPECT_NE(b.error().message().find("bucket " + c.bucket + " does not exist"), std::string::npos)
      << b.error().message();
  auto made = S3Backend::Open(c, true);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  EXPECT_TRUE((*made)->Put("x", util::AsBytes("1")).has_value());
  EXPECT_TRUE((*made)->RemoveAll().has_value());
}

TEST(S3, ClockSkewIsNamed) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  c.clock_offset_seconds = 3600;  // this "machine" runs an hour ahead
  auto b = S3Backend::Open(c, true);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), ErrorCode::kPermissionDenied) << b.error().ToString();
  EXPECT_NE(b.error().message().find("clock"), std::string::npos) << b.error().message();
}

TEST(S3, UnreachableServerIsUnavailableAndRetried) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  c.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  c.connect_timeout_ms = 2000;
  auto b = S3Backend::Open(c, false);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), ErrorCode::kUnavailable) << b.error().ToString();
  EXPECT_NE(b.error().message().find("127.0.0.1:1"), std::string::npos);
}

TEST(S3, RetryRidesOutTransientFaults) {
  MLV_REQUIRE_RGW();
  auto s3 = testing::TempS3();
  ASSERT_NE(s3, nullptr);
  int failures_left = 2;
  int calls = 0;
  auto flaky =
      WithFaults(std::move(s3), [&](std::string_view op, std::string_view) -> util::Status {
        ++calls;
        if (op == "put" && failures_left > 0) {
          --failures_left;
          return util::Unavailable("injected: connection reset by peer");
        }
        return util::Ok();
      });
  auto b = WithRetry(std::move(flaky), {.attempts = 4, .initial_backoff_ms = 5});
  ASSERT_TRUE(b->Put("after-faults", util::AsBytes("ok")).has_value());
  EXPECT_EQ(calls, 3);
  auto got = b->Get("after-faults");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Str(*got), "ok");
  ASSERT_TRUE(b->Remove("after-faults").has_value());
}

TEST(S3, ObjectLockRetention) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  c.bucket = "mlvault-lock-" + util::RandomHex(4);
  auto b = S3Backend::Open(c, /*create_bucket=*/true, /*object_lock=*/true);
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  Bytes data = util::RandomBytes(1000);
  auto st = (*b)->PutRetained("held", data, "COMPLIANCE", std::time(nullptr) + 86400);
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  auto got = (*b)->Get("held");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got == data);
  EXPECT_EQ((*b)->PutRetained("x", data, "FOREVER", 0).error().code(), ErrorCode::kInvalidArgument);
}

// Object Lock as the vault uses it (docs/vault-format.md section 10.1): detection, retaining an
// object that exists, never shortening, and removal in a versioned bucket (every version goes;
// a retained one is refused with kConflict naming the date and stays readable).
TEST(S3, RetainAndRemoveInAnObjectLockBucket) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  c.bucket = "mlvault-lock-" + util::RandomHex(4);
  auto opened = S3Backend::Open(c, /*create_bucket=*/true, /*object_lock=*/true);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  auto b = WithRetry(std::move(*opened), {.attempts = 2, .initial_backoff_ms = 10});
  auto supported = b->SupportsRetention();
  ASSERT_TRUE(supported.has_value()) << supported.error().ToString();
  EXPECT_TRUE(*supported);

  ASSERT_TRUE(b->Put("free", util::AsBytes("v1")).has_value());
  ASSERT_TRUE(b->Put("free", util::AsBytes("v2")).has_value());  // a second version
  auto none = b->GetRetention("free");
  ASSERT_TRUE(none.has_value()) << none.error().ToString();
  EXPECT_EQ(none->mode, "");
  ASSERT_TRUE(b->Remove("free").has_value());
  EXPECT_EQ(b->Get("free").error().code(), ErrorCode::kNotFound);  // no older version reappears
  EXPECT_EQ(b->Retain("missing", "GOVERNANCE", 1).error().code(), ErrorCode::kNotFound);

  const int64_t until = std::time(nullptr) + 3600;
  ASSERT_TRUE(b->Put("held", util::AsBytes("keep")).has_value());
  auto st = b->Retain("held", "GOVERNANCE", until);
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  ASSERT_TRUE(b->Retain("held", "GOVERNANCE", until - 600).has_value());  // never shortens
  auto held = b->GetRetention("held");
  ASSERT_TRUE(held.has_value()) << held.error().ToString();
  EXPECT_EQ(held->mode, "GOVERNANCE");
  EXPECT_EQ(held->until_unix, until);
  auto removed = b->Remove("held");
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code(), ErrorCode::kConflict);
  EXPECT_NE(removed.error().message().find("S3 Object Lock retains it (GOVERNANCE) until"),
            std::string::npos)
      << removed.error().message();
  auto still = b->Get("held");
  ASSERT_TRUE(still.has_value()) << still.error().ToString();
  EXPECT_EQ(Str(*still), "keep");
}

TEST(S3, BucketWithoutObjectLockSaysSo) {
  MLV_REQUIRE_RGW();
  auto b = testing::TempS3();
  ASSERT_NE(b, nullptr);
  auto supported = b->SupportsRetention();
  ASSERT_TRUE(supported.has_value()) << supported.error().ToString();
  EXPECT_FALSE(*supported);
  ASSERT_TRUE(b->Put("o", util::AsBytes("x")).has_value());
  auto none = b->GetRetention("o");
  ASSERT_TRUE(none.has_value()) << none.error().ToString();
  EXPECT_EQ(none->mode, "");
}

TEST(OpenBackend, S3FromTheEnvironment) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  ::setenv("MLVAULT_S3_ENDPOINT", c.endpoint.c_str(), 1);
  ::setenv("MLVAULT_S3_ACCESS_KEY", c.access_key.c_str(), 1);
  ::setenv("MLVAULT_S3_SECRET_KEY", c.secret_key.c_str(), 1);
  ::unsetenv("MLVAULT_S3_REGION");
  auto b = OpenBackend("s3://mlvault-test/" + c.prefix, {.create = true});
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  EXPECT_EQ((*b)->Describe(), "s3://mlvault-test/" + c.prefix);
  ASSERT_TRUE((*b)->Put("k", util::AsBytes("v")).has_value());
  ASSERT_TRUE((*b)->Remove("k").has_value());
  ::unsetenv("MLVAULT_S3_SECRET_KEY");
  auto missing = OpenBackend("s3://mlvault-test/x");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message().find("MLVAULT_S3_SECRET_KEY"), std::string::npos);
  ::unsetenv("MLVAULT_S3_ENDPOINT");
  ::unsetenv("MLVAULT_S3_ACCESS_KEY");
}

TEST(OpenBackend, LocationsAreChecked) {
  for (const char* bad : {"s3://", "s3://ab", "s3://Upper/x", "s3://bucket/a//b",
                          "s3://bucket/../x", "ftp://host/x"}) {
    auto b = OpenBackend(
        bad, {.s3_endpoint = "http://127.0.0.1:1", .s3_access_key = "a", .s3_secret_key = "s"});
    ASSERT_FALSE(b.has_value()) << bad;
    EXPECT_EQ(b.error().code(), ErrorCode::kInvalidArgument) << bad << ": " << b.error().ToString();
  }
  S3Config c;
  ASSERT_TRUE(ParseS3Location("s3://my-bucket/vaults/ws1/", c).has_value());
  EXPECT_EQ(c.bucket, "my-bucket");
  EXPECT_EQ(c.prefix, "vaults/ws1");
  ASSERT_TRUE(ParseS3Location("s3://my-bucket", c).has_value());
  EXPECT_EQ(c.prefix, "");
}

}  // namespace
}  // namespace mlvault::backend

namespace mlvault::backend {
namespace {

// RGW signs with any region in the scope of an existing bucket (it checks only the signature),
// but refuses to create a bucket in a region it does not serve: that is the wrong-region error
// it can produce. The message names the region and the setting to change.
TEST(S3, WrongRegionIsNamed) {
  MLV_REQUIRE_RGW();
  S3Config c = Rgw();
  c.bucket = "mlvault-region-" + util::RandomHex(4);
  c.region = "eu-central-7";
  auto b = S3Backend::Open(c, true);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), ErrorCode::kInvalidArgument) << b.error().ToString();
  EXPECT_NE(b.error().message().find("eu-central-7"), std::string::npos) << b.error().message();
  EXPECT_NE(b.error().message().find("MLVAULT_S3_REGION"), std::string::npos)
      << b.error().message();
}

}  // namespace
}  // namespace mlvault::backend
