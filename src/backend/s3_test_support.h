// Test helpers for the S3 backend: the RGW that scripts/start-rgw.sh started (found through
// $MLVAULT_TEST_RGW_ENV, the s3.env it writes; ctest sets it via the `rgw` fixture) and
// backends over fresh prefixes of a test bucket that are emptied when destroyed.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backend/s3.h"

namespace mlvault::backend::testing {

// The RGW's endpoint and keys (bucket and prefix empty), or nullopt when
// $MLVAULT_TEST_RGW_ENV is unset. Aborts when it is set but unreadable (a broken fixture).
std::optional<S3Config> RgwConfig();

// Calls GTEST_SKIP when no RGW is configured; use as `if (SkipWithoutRgw()) return;`... in
// void test bodies via the macro below.
bool RgwAvailable();
#define MLV_REQUIRE_RGW()                                                                      \
  if (!::mlvault::backend::testing::RgwAvailable())                                            \
  GTEST_SKIP() << "no RGW: run `scripts/start-rgw.sh start DIR` and set MLVAULT_TEST_RGW_ENV=" \
                  "DIR/s3.env (ctest does this through the rgw fixture)"

// An S3 backend over bucket "mlvault-test" (created when missing) and a new random prefix,
// whose objects are all removed when it is destroyed. Null (and the test skipped) without RGW.
std::unique_ptr<Backend> TempS3(S3Config* config_out = nullptr);

}  // namespace mlvault::backend::testing
