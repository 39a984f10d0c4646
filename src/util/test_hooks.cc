#include "util/test_hooks.h"

#include <cstdlib>

#include "util/log.h"

namespace mlvault::util::test_hooks {
namespace {

const char* Get(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

std::string HoldFile() {
  const char* v = Get("MLVAULT_TEST_HOLD_FILE");
  return v ? v : "";
}

std::optional<long long> KillAfterWrites() {
  const char* v = Get("MLVAULT_TEST_KILL_AFTER_WRITES");
  if (!v) return std::nullopt;
  return std::strtoll(v, nullptr, 10);
}

double LeaseSeconds(double fallback) {
  const char* v = Get("MLVAULT_WORKFLOW_LEASE_SECONDS");
  if (!v) return fallback;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (end && *end == '\0' && d >= 1 && d <= 3600) return d;
  Log(LogLevel::kWarn, "ignoring MLVAULT_WORKFLOW_LEASE_SECONDS={} (want 1..3600)", v);
  return fallback;
}

}  // namespace mlvault::util::test_hooks
