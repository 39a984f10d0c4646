// Test helpers for backends: a local backend over a fresh temporary directory that deletes the
// directory when destroyed. Test-only (linked into mlvault_backend_conformance).
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace mlvault::backend::testing {

// A local backend over a new temporary directory; `root` (optional) receives its path. The
// directory and everything in it are removed when the backend is destroyed. Aborts the test
// binary if the directory cannot be made (a broken test machine, not a test outcome).
std::unique_ptr<Backend> TempLocal(std::string* root = nullptr);

// Wraps `inner` so that `dir` is removed (rm -rf) after `inner` is destroyed.
std::unique_ptr<Backend> RemovingDirOnDestroy(std::unique_ptr<Backend> inner, std::string dir);

}  // namespace mlvault::backend::testing
