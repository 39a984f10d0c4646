// The one conformance suite every Backend must pass (local, S3, decorators over them).
//
// Usage, in a GoogleTest binary linked with mlvault_backend_conformance:
//
//   static const bool kRegistered = [] {
//     conformance::Register("S3", [] { return MakeFreshS3Backend(); });
//     return true;
//   }();
//
// A factory may call GTEST_SKIP() (from a void helper) and return null when its storage is not
// available (e.g. no S3 server configured); the case is then reported as skipped.
// Each case calls the factory once and must get a backend over fresh, empty storage that it
// owns alone (the backend's destructor may delete that storage). Cases are registered as
// "<suite>.<Case>", so ctest and --gtest_filter see each one.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.h"

namespace mlvault::backend::conformance {

using BackendFactory = std::function<std::unique_ptr<Backend>()>;

enum class Mode {
  kReadWrite,  // the full contract on an empty store
  kReadOnly,   // the factory's backend holds exactly ReadOnlyFixture() and refuses writes
};

// The objects (name, content) a kReadOnly factory must have stored before wrapping its backend.
const std::vector<std::pair<std::string, std::string>>& ReadOnlyFixture();

// Registers the conformance cases for one backend. Call before RUN_ALL_TESTS (e.g. from a
// static initializer); `suite` must be unique in the binary.
void Register(const std::string& suite, BackendFactory factory, Mode mode = Mode::kReadWrite);

}  // namespace mlvault::backend::conformance
