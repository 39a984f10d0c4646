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

std::optional<VaultFaults> VaultFaultRate() {
  const char* v = Get("MLVAULT_TEST_VAULT_FAULTS");
  if (!v) return std::nullopt;
  char* end = nullptr;
  VaultFaults f;
  f.percent = std::strtod(v, &end);
  if (end && *end == ':') f.seed = std::strtoull(end + 1, &end, 10);
  if (end && *end == ':') f.slow_ms = std::strtol(end + 1, &end, 10);
  if (end && *end == '\0' && f.percent >= 0 && f.percent <= 100 && f.slow_ms >= 0 &&
      f.slow_ms <= 60'000)
    return f;
  Log(LogLevel::kWarn, "ignoring MLVAULT_TEST_VAULT_FAULTS={} (want PERCENT[:SEED[:MS]])", v);
  return std::nullopt;
}

unsigned long long BtrfsSplitInodes(unsigned long long fallback) {
  const char* v = Get("MLVAULT_TEST_BTRFS_SPLIT_INODES");
  if (!v) return fallback;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 10);
  if (end && *end == '\0') return n;
  Log(LogLevel::kWarn, "ignoring MLVAULT_TEST_BTRFS_SPLIT_INODES={} (want a count)", v);
  return fallback;
}

}  // namespace mlvault::util::test_hooks
