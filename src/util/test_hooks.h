// Test hooks: the one place production code reads settings that exist only so tests can stop
// or slow it at a known point. Each is an environment variable, read here and nowhere else;
// unset (the normal case) means no effect. Thread-safe (reads the environment each call).
//
//   MLVAULT_TEST_HOLD_FILE=PATH         while PATH exists, a backup waits at the start of its
//                                       first pass (tests/control/recovery_test.sh kills its
//                                       worker there)
//   MLVAULT_TEST_KILL_AFTER_WRITES=N    `mlvault vault ...` kills itself with SIGKILL just before
//                                       its (N+1)-th write or removal in the vault
//                                       (tests/vault/vault_crash_test.cc)
//   MLVAULT_WORKFLOW_LEASE_SECONDS=S    workflow lease length, 1..3600 s (tests shorten it to
//                                       see a dead worker's lease lapse quickly)
//   MLVAULT_TEST_VAULT_FAULTS=P[:SEED[:MS]]  each write or removal in a workspace vault fails
//                                       with probability P percent (0..100), as EIO or ENOSPC,
//                                       and first waits MS milliseconds (a slow disk)
//                                       (tests/soak/chaos.sh); SEED makes the sequence repeatable
//   MLVAULT_TEST_BTRFS_SPLIT_INODES=N   btrfs change detection splits its search in two ranges of
//                                       inode numbers searched at once above N inode numbers
//                                       instead of 50,000 (tests/vault/btrfs_changes_test.sh
//                                       splits a small tree)
#pragma once

#include <optional>
#include <string>

namespace mlvault::util::test_hooks {

// MLVAULT_TEST_HOLD_FILE, or "".
std::string HoldFile();
// MLVAULT_TEST_KILL_AFTER_WRITES as a count, or nullopt.
std::optional<long long> KillAfterWrites();
// MLVAULT_WORKFLOW_LEASE_SECONDS if set to a number in 1..3600, else `fallback` (a value out of
// range is logged and ignored).
double LeaseSeconds(double fallback);

// MLVAULT_TEST_VAULT_FAULTS parsed, or nullopt (unset, or malformed: logged and ignored).
struct VaultFaults {
  double percent = 0;  // 0..100
  unsigned long long seed = 0;  // 0: a random sequence
  long slow_ms = 0;             // delay before each write or removal
};
std::optional<VaultFaults> VaultFaultRate();

// MLVAULT_TEST_BTRFS_SPLIT_INODES as a count, else `fallback`.
unsigned long long BtrfsSplitInodes(unsigned long long fallback);

}  // namespace mlvault::util::test_hooks
