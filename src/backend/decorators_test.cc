#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>

#include "backend/backend.h"
#include "backend/test_support.h"

namespace mlvault::backend {
namespace {

using util::ErrorCode;

TEST(WithRetry, TransientFailuresAreRetried) {
  std::atomic<int> calls{0};
  auto b = WithRetry(WithFaults(testing::TempLocal(),
                                [&](std::string_view op, std::string_view) -> Status {
                                  if (op == "put" && ++calls <= 2) return util::Unavailable("storage busy");
                                  return util::Ok();
                                }),
                     {.attempts = 5, .initial_backoff_ms = 1});
  auto st = b->Put("x", util::AsBytes("v"));
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(calls.load(), 3);
  auto got = b->Get("x");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(util::AsString(*got), "v");
}

TEST(WithRetry, GivesUpAfterAttemptsWithTheCause) {
  std::atomic<int> calls{0};
  auto b = WithRetry(WithFaults(testing::TempLocal(),
                                [&](std::string_view, std::string_view) -> Status {
                                  ++calls;
                                  return util::IoError("disk on fire");
                                }),
                     {.attempts = 4, .initial_backoff_ms = 1});
  auto t0 = std::chrono::steady_clock::now();
  auto r = b->Get("x");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
  EXPECT_NE(r.error().message().find("disk on fire"), std::string::npos);
  EXPECT_NE(r.error().message().find("4 attempts"), std::string::npos) << r.error().message();
  EXPECT_EQ(calls.load(), 4);
  EXPECT_GE(ms, 1 + 2 + 4);  // exponential backoff between the attempts
}

TEST(WithRetry, PermanentErrorsPassAtOnce) {
  std::atomic<int> calls{0};
  auto b = WithRetry(WithFaults(testing::TempLocal(),
                                [&](std::string_view, std::string_view) -> Status {
                                  ++calls;
                                  return util::Ok();
                                }),
                     {.attempts = 5, .initial_backoff_ms = 1000});
  for (auto code : {ErrorCode::kNotFound, ErrorCode::kInvalidArgument, ErrorCode::kCorruption}) {
    calls = 0;
    Result<Bytes> r = code == ErrorCode::kNotFound          ? b->Get("missing")
                      : code == ErrorCode::kInvalidArgument ? b->Get("../x")
                      : [&] {
                          EXPECT_TRUE(b->Put("s", util::AsBytes("ab")));
                          return b->Get("s", 1, 5);
                        }();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), code);
    EXPECT_EQ(calls.load(), code == ErrorCode::kCorruption ? 2 : 1);  // no retries, no 1 s backoff
  }
}

TEST(ReadOnly, RefusesWritesPassesReads) {
  std::string root;
  auto owner = testing::TempLocal(&root);
  ASSERT_TRUE(owner->Put("k", util::AsBytes("v")).has_value());
  auto ro = ReadOnly(std::move(*OpenLocal(root, false)));
  EXPECT_EQ(ro->Put("k", util::AsBytes("w")).error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ro->Remove("k").error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(ro->Remove("k").error().message().find("read-only"), std::string::npos);
  EXPECT_EQ(util::AsString(*ro->Get("k")), "v");
  EXPECT_EQ(ro->Stat("k")->size, 1u);
  EXPECT_EQ(ro->List("")->size(), 1u);
  EXPECT_NE(ro->Describe().find("read-only"), std::string::npos);
}

TEST(WithFaults, InjectsPerOperationAndName) {
  std::mutex mu;
  std::vector<std::string> seen;
  auto b = WithFaults(testing::TempLocal(), [&](std::string_view op, std::string_view name) -> Status {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(std::string(op) + ":" + std::string(name));
    if (op == "get" && name == "bad") return util::Corruption("injected");
    if (op == "put" && name.starts_with("full/")) return util::IoError("injected: no space left on device");
    return util::Ok();
  });
  ASSERT_TRUE(b->Put("bad", util::AsBytes("1")).has_value());
  ASSERT_TRUE(b->Put("good", util::AsBytes("2")).has_value());
  EXPECT_EQ(b->Get("bad").error().code(), ErrorCode::kCorruption);
  EXPECT_TRUE(b->Get("good").has_value());
  EXPECT_EQ(b->Put("full/x", util::AsBytes("3")).error().code(), ErrorCode::kIo);
  EXPECT_EQ(b->Stat("full/x").error().code(), ErrorCode::kNotFound);  // the fault hid the put entirely
  EXPECT_TRUE(b->List("g").has_value());
  EXPECT_TRUE(b->Remove("good").has_value());
  std::vector<std::string> want = {"put:bad",    "put:good",    "get:bad", "get:good",
                                   "put:full/x", "stat:full/x", "list:g",  "remove:good"};
  EXPECT_EQ(seen, want);
}

}  // namespace
}  // namespace mlvault::backend
