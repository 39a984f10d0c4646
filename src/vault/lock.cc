#include "vault/lock.h"

#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "util/files.h"
#include "util/log.h"
#include "util/strings.h"

namespace mlvault::vault {
namespace {

using nlohmann::json;

// Field 22 (starttime) of /proc/<pid>/stat; 0 if the process does not exist.
uint64_t ProcessStart(int64_t pid) {
  auto text = util::ReadFile(fmt::format("/proc/{}/stat", pid));
  if (!text) return 0;
  // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
  size_t p = text->rfind(')');
  if (p == std::string::npos) return 0;
  std::string_view rest = std::string_view(*text).substr(p + 1);
  int field = 2;
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ') ++j;
    ++field;
    if (field == 22) return std::strtoull(std::string(rest.substr(i, j - i)).c_str(), nullptr, 10);
    i = j;
  }
  return 0;
}

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string PidNamespace() {
  char buf[128] = {0};
  ssize_t n = ::readlink("/proc/self/ns/pid", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::string DescribeHolder(const LockInfo& l) {
  return fmt::format("{} lock of {} (pid {} on {}, since {})",
                     l.exclusive ? "an exclusive" : "a shared",
                     l.operation.empty() ? "another operation" : l.operation, l.pid, l.hostname,
                     util::FormatTime(l.created));
}

}  // namespace

LockInfo ThisProcess() {
  LockInfo l;
  l.hostname = Hostname();
  l.boot_id = util::Trim(util::ReadFile("/proc/sys/kernel/random/boot_id").value_or(""));
  l.pid_ns = PidNamespace();
  l.pid = ::getpid();
  l.pid_start = ProcessStart(l.pid);
  return l;
}

Bytes SealLock(const crypto::Key& key, const LockInfo& l) {
  json j = {{"version", kLockVersion},
            {"exclusive", l.exclusive},
            {"operation", l.operation},
            {"hostname", l.hostname},
            {"bootId", l.boot_id},
            {"pidNs", l.pid_ns},
            {"pid", l.pid},
            {"pidStart", l.pid_start},
            {"created", l.created},
            {"refreshed", l.refreshed}};
  return crypto::Seal(key, util::AsBytes(j.dump()), LabelAad(kAadLock, l.id));
}

Result<LockInfo> OpenLock(const crypto::Key& key, const ObjectId& id, ByteView sealed) {
  auto plain = crypto::Open(key, sealed, LabelAad(kAadLock, id));
  if (!plain) return util::Corruption("lock " + IdHex(id) + " fails authentication");
  try {
    json j = json::parse(util::AsString(*plain));
    if (j.at("version") != kLockVersion)
      return util::Corruption("lock: unsupported version");
    LockInfo l;
    l.id = id;
    l.exclusive = j.at("exclusive").get<bool>();
    l.operation = j.at("operation").get<std::string>();
    l.hostname = j.at("hostname").get<std::string>();
    l.boot_id = j.at("bootId").get<std::string>();
    l.pid_ns = j.at("pidNs").get<std::string>();
    l.pid = j.at("pid").get<int64_t>();
    l.pid_start = j.at("pidStart").get<uint64_t>();
    l.created = j.at("created").get<int64_t>();
    l.refreshed = j.at("refreshed").get<int64_t>();
    return l;
  } catch (const json::exception& e) {
    return util::Corruption(std::string("lock is malformed: ") + e.what());
  }
}

bool IsStale(const LockInfo& l, util::TimeMicros now, double stale_seconds) {
  if (l.refreshed == 0) return true;
  if (static_cast<double>(now - l.refreshed) > stale_seconds * 1e6) return true;
  static const LockInfo self = ThisProcess();
  if (!l.hostname.empty() && l.hostname == self.hostname && l.boot_id == self.boot_id &&
      l.pid_ns == self.pid_ns && !self.boot_id.empty()) {
    return ProcessStart(l.pid) != l.pid_start;
  }
  return false;
}

Status RemoveRetrying(backend::Backend* backend, const std::string& name) {
  Status st = util::Ok();
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << (attempt - 1)));
    st = backend->Remove(name);
    if (st || st.error().code() == util::ErrorCode::kNotFound) return util::Ok();
    if (st.error().code() == util::ErrorCode::kConflict) return st;  // retained: no use retrying
  }
  return st;
}

Result<std::vector<LockInfo>> ListLocks(backend::Backend* backend, const crypto::Key& key) {
  auto objects = MLV_TRY(backend->List("locks/"));
  std::vector<LockInfo> out;
  for (const auto& o : objects) {
    auto id = IdFromName(o.name, "locks/");
    if (!id) continue;
    auto data = backend->Get(o.name);
    if (!data) {
      if (data.error().code() == util::ErrorCode::kNotFound) continue;  // released meanwhile
      return std::unexpected(data.error());
    }
    auto info = OpenLock(key, *id, *data);
    if (info) {
      out.push_back(*info);
    } else {
      LockInfo bad;
      bad.id = *id;
      out.push_back(bad);
    }
  }
  return out;
}

VaultLock::VaultLock(backend::Backend* backend, const crypto::Key& key, LockInfo info,
                     const Options& options)
    : backend_(backend), key_(key), options_(options), info_(std::move(info)) {}

Result<std::unique_ptr<VaultLock>> VaultLock::Acquire(backend::Backend* backend,
                                                      const crypto::Key& key, bool exclusive,
                                                      std::string operation, const Options& options,
                                                      const util::CancelToken* cancel) {
  LockInfo me = ThisProcess();
  me.id = NewObjectId();
  me.exclusive = exclusive;
  me.operation = std::move(operation);
  me.created = options.clock->Now();
  const std::string name = LockName(me.id);
  const double start = util::MonotonicSeconds();
  std::mt19937_64 rng(std::random_device{}());
  int attempt = 0;
  // Listing lag of the store: a lock written less than `lag` ago may be missing from a
  // listing, so a clean listing counts only once it was taken `lag` after our own write.
  const double lag = backend->ListingLagSeconds();
  auto sleep_seconds = [](double s) {
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(s * 1e6)));
  };
  // The first live lock that conflicts with ours; stale ones are removed on the way.
  auto scan = [&]() -> Result<std::optional<LockInfo>> {
    auto locks = backend->List("locks/");
    if (!locks) return std::unexpected(locks.error().WithContext("cannot list locks"));
    const util::TimeMicros now = options.clock->Now();
    for (const auto& o : *locks) {
      auto id = IdFromName(o.name, "locks/");
      if (!id || *id == me.id) continue;
      auto data = backend->Get(o.name);
      if (!data) continue;  // released meanwhile, or unreadable: not a live holder we can name
      auto info = OpenLock(key, *id, *data);
      if (!info || IsStale(*info, now, options.lock_stale_seconds)) {
        util::Log(util::LogLevel::kInfo, "removing stale lock {}", o.name);
        (void)backend->Remove(o.name);
        continue;
      }
      if (exclusive || info->exclusive) return std::optional<LockInfo>(*info);
    }
    return std::optional<LockInfo>();
  };
  while (true) {
    me.refreshed = options.clock->Now();
    MLV_TRY_CTX(backend->Put(name, SealLock(key, me)), "cannot write lock");
    auto conflict = scan();
    if (conflict && !*conflict && lag > 0) {
      sleep_seconds(lag);
      conflict = scan();
    }
    if (!conflict) {
      (void)RemoveRetrying(backend, name);
      return std::unexpected(conflict.error());
    }
    if (!*conflict) {
      // An exclusive holder (GC) also waits out the lag before it lists anything else, so its
      // listings show every object written by operations that released their locks before.
      if (exclusive && lag > 0) sleep_seconds(lag);
      std::unique_ptr<VaultLock> lock(new VaultLock(backend, key, me, options));
      lock->last_ok_ = me.refreshed;
      lock->thread_ = std::thread([l = lock.get()] { l->Heartbeat(); });
      return lock;
    }
    const LockInfo holder = **conflict;
    (void)RemoveRetrying(backend, name);
    if (cancel != nullptr && cancel->cancelled()) return util::Cancelled(cancel->reason());
    if (util::MonotonicSeconds() - start >= options.lock_wait_seconds) {
      return util::Conflict("the vault is locked: " + DescribeHolder(holder));
    }
    ++attempt;
    int max_ms = std::min(50 * (1 << std::min(attempt, 4)), 500);
    std::uniform_int_distribution<int> dist(max_ms / 4, max_ms);
    double remaining = options.lock_wait_seconds - (util::MonotonicSeconds() - start);
    int ms = std::min<int>(dist(rng), static_cast<int>(remaining * 1000) + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

void VaultLock::Heartbeat() {
  const auto interval =
      std::chrono::duration<double>(std::max(0.05, options_.lock_stale_seconds / 6));
  for (;;) {
    LockInfo info;
    {
      util::MutexLock lk(mu_);
      if (stop_) return;
      const auto deadline =
          std::chrono::steady_clock::now() +
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval);
      while (!stop_ && cv_.WaitUntil(mu_, deadline)) {
      }
      if (stop_) return;
      info = info_;
      const double since_ok = static_cast<double>(options_.clock->Now() - last_ok_.load()) / 1e6;
      if (since_ok > options_.lock_stale_seconds) {
        // Paused or cut off for longer than the stale timeout: another process may have removed
        // our lock and gone ahead; rewriting it now would hide that. Give up the lock.
        failure_ = fmt::format(
            "the lock was not refreshed for {:.0f} s and may have been taken over", since_ok);
        return;
      }
    }
    // Without mu_: Check must not wait for the backend.
    const std::string name = LockName(info.id);
    // A lock that vanished was judged stale by someone else: we are no longer protected.
    auto st = backend_->Stat(name);
    Status put = util::Ok();
    if (st) {
      info.refreshed = options_.clock->Now();
      put = backend_->Put(name, SealLock(key_, info));
    }
    util::MutexLock lk(mu_);
    if (!st) {
      failure_ = st.error().code() == util::ErrorCode::kNotFound
                     ? "the lock was removed by another process"
                     : "cannot refresh the lock: " + st.error().message();
    } else if (!put) {
      failure_ = "cannot refresh the lock: " + put.error().message();
    } else {
      info_.refreshed = info.refreshed;
      last_ok_ = info.refreshed;
    }
    if (!failure_.empty()) return;
  }
}

Status VaultLock::Check() const {
  {
    util::MutexLock lk(mu_);
    if (!failure_.empty()) return util::Conflict("vault lock lost: " + failure_);
  }
  const double age = static_cast<double>(options_.clock->Now() - last_ok_.load()) / 1e6;
  if (age > options_.lock_stale_seconds / 2) {
    return util::Conflict(
        fmt::format("vault lock not refreshed for {:.0f} s; refusing to commit", age));
  }
  return util::Ok();
}

VaultLock::~VaultLock() {
  {
    util::MutexLock lk(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
  // A lock left behind by a live process would block GC until it goes stale: retry. If it
  // still cannot be removed, it is stale as soon as this process ends (docs/vault-format.md 8).
  if (auto st = RemoveRetrying(backend_, LockName(info_.id)); !st)
    util::Log(util::LogLevel::kWarn, "cannot remove vault lock {}: {}", LockName(info_.id),
              st.error().message());
}

}  // namespace mlvault::vault
