// Vault locks (docs/vault-format.md section 8): shared and exclusive lock objects under
// locks/, refreshed by a heartbeat thread, with stale-lock detection.
//
// A VaultLock is held from Acquire until destruction (which stops the heartbeat and removes the
// lock object). Thread-safe: Check may be called from any thread while the heartbeat runs; mu_
// guards the lock's refreshed record, the heartbeat's failure and its stop flag.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "util/mutex.h"
#include "util/progress.h"
#include "vault/format.h"
#include "vault/vault.h"

namespace mlvault::vault {

struct LockInfo {
  ObjectId id{};
  bool exclusive = false;
  std::string operation;
  std::string hostname;
  std::string boot_id;
  std::string pid_ns;
  int64_t pid = 0;
  uint64_t pid_start = 0;
  util::TimeMicros created = 0;
  util::TimeMicros refreshed = 0;
};

// Who this process is, as a lock records it.
LockInfo ThisProcess();

// Serializes a lock record (sealed) and reads one back. kCorruption if it does not authenticate
// or parse.
Bytes SealLock(const crypto::Key& key, const LockInfo& info);
Result<LockInfo> OpenLock(const crypto::Key& key, const ObjectId& id, ByteView sealed);

// True if `info` no longer protects anything: not refreshed for `stale_seconds`, or recorded
// by a process on this machine (same host, boot and pid namespace) that is gone.
bool IsStale(const LockInfo& info, util::TimeMicros now, double stale_seconds);

class VaultLock {
 public:
  // Takes a lock. Waits (polling with random backoff) while a conflicting live lock exists, up
  // to options.lock_wait_seconds, then kConflict naming the holder. Stale locks found on the
  // way are removed. kCancelled if `cancel` fires while waiting.
  static Result<std::unique_ptr<VaultLock>> Acquire(backend::Backend* backend,
                                                    const crypto::Key& key, bool exclusive,
                                                    std::string operation, const Options& options,
                                                    const util::CancelToken* cancel);
  ~VaultLock();
  VaultLock(const VaultLock&) = delete;
  VaultLock& operator=(const VaultLock&) = delete;

  // OK while the lock is known to be held: its last refresh succeeded less than half the stale
  // timeout ago. Otherwise kConflict: the operation must not commit.
  Status Check() const;
  // Not checked: info_.id is set at construction and never written again (only the refresh
  // time changes, under mu_).
  const ObjectId& id() const MLV_NO_THREAD_SAFETY_ANALYSIS { return info_.id; }

 private:
  VaultLock(backend::Backend* backend, const crypto::Key& key, LockInfo info,
            const Options& options);
  void Heartbeat() MLV_EXCLUDES(mu_);

  backend::Backend* const backend_;
  const crypto::Key key_;
  const Options options_;

  mutable util::Mutex mu_;
  util::CondVar cv_;  // waited on with mu_: stop_ set
  bool stop_ MLV_GUARDED_BY(mu_) = false;
  LockInfo info_ MLV_GUARDED_BY(mu_);        // refreshed by the heartbeat
  std::string failure_ MLV_GUARDED_BY(mu_);  // set when a refresh failed
  std::atomic<util::TimeMicros> last_ok_{0};
  std::thread thread_;
};

// Removes object `name`, retrying a failed removal a few times (about 1.5 s in all) because a
// transient EIO, ENOSPC or network error must not leave behind what completes an operation (a
// lock, a deleted recovery point's manifest). Not found counts as removed. The last error if
// every attempt failed.
Status RemoveRetrying(backend::Backend* backend, const std::string& name);

// Every lock object in the vault (undecodable ones are returned with an empty hostname and
// refreshed = 0, so they count as stale).
Result<std::vector<LockInfo>> ListLocks(backend::Backend* backend, const crypto::Key& key);

}  // namespace mlvault::vault
