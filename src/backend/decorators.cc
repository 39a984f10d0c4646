// Decorators: backends that wrap another and add one behaviour (retry, read-only, faults).
#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "backend/backend.h"

namespace mlvault::backend {
namespace {

class RetryBackend final : public Backend {
 public:
  RetryBackend(std::unique_ptr<Backend> inner, RetryPolicy policy)
      : inner_(std::move(inner)), policy_(policy) {
    policy_.attempts = std::max(policy_.attempts, 1);
    policy_.initial_backoff_ms = std::max(policy_.initial_backoff_ms, 0);
  }

  Status Put(std::string_view name, ByteView data) override {
    return Retry([&] { return inner_->Put(name, data); });
  }
  Result<Bytes> Get(std::string_view name, uint64_t offset, uint64_t length) override {
    return Retry([&] { return inner_->Get(name, offset, length); });
  }
  Result<ObjectInfo> Stat(std::string_view name) override {
    return Retry([&] { return inner_->Stat(name); });
  }
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    return Retry([&] { return inner_->List(prefix); });
  }
  Status Remove(std::string_view name) override {
    return Retry([&] { return inner_->Remove(name); });
  }
  Result<bool> SupportsRetention() override {
    return Retry([&] { return inner_->SupportsRetention(); });
  }
  Result<Retention> GetRetention(std::string_view name) override {
    return Retry([&] { return inner_->GetRetention(name); });
  }
  Status Retain(std::string_view name, std::string_view mode, int64_t until_unix) override {
    return Retry([&] { return inner_->Retain(name, mode, until_unix); });
  }
  std::string Describe() const override { return inner_->Describe(); }
  double ListingLagSeconds() const override { return inner_->ListingLagSeconds(); }
  int ConcurrentReads() const override { return inner_->ConcurrentReads(); }

 private:
  static constexpr int kMaxBackoffMs = 10'000;

  static bool Transient(const util::Error& e) {
    return e.code() == util::ErrorCode::kUnavailable || e.code() == util::ErrorCode::kIo;
  }

  template <class Fn>
  auto Retry(Fn fn) -> decltype(fn()) {
    int backoff = policy_.initial_backoff_ms;
    for (int attempt = 1;; ++attempt) {
      auto r = fn();
      if (r || !Transient(r.error())) return r;
      if (attempt >= policy_.attempts) {
        if (attempt == 1) return r;
        return std::unexpected(std::move(r).error().WithContext("gave up after " + std::to_string(attempt) + " attempts"));
      }
      // Jitter: up to half the backoff on top, so clients that failed together do not retry
      // in lockstep against a struggling server.
      thread_local std::mt19937 rng(std::random_device{}());
      const int jitter = std::uniform_int_distribution<int>(0, backoff / 2)(rng);
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff + jitter));
      backoff = std::min(backoff * 2, kMaxBackoffMs);
    }
  }

  std::unique_ptr<Backend> inner_;
  RetryPolicy policy_;
};

class ReadOnlyBackend final : public Backend {
 public:
  explicit ReadOnlyBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

  Status Put(std::string_view name, ByteView) override { return Refuse("store", name); }
  Result<Bytes> Get(std::string_view name, uint64_t offset, uint64_t length) override {
    return inner_->Get(name, offset, length);
  }
  Result<ObjectInfo> Stat(std::string_view name) override { return inner_->Stat(name); }
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override { return inner_->List(prefix); }
  Status Remove(std::string_view name) override { return Refuse("remove", name); }
  Result<bool> SupportsRetention() override { return inner_->SupportsRetention(); }
  Result<Retention> GetRetention(std::string_view name) override {
    return inner_->GetRetention(name);
  }
  Status Retain(std::string_view name, std::string_view, int64_t) override {
    return Refuse("retain", name);
  }
  std::string Describe() const override { return inner_->Describe() + " (read-only)"; }
  double ListingLagSeconds() const override { return inner_->ListingLagSeconds(); }
  int ConcurrentReads() const override { return inner_->ConcurrentReads(); }

 private:
  Status Refuse(std::string_view what, std::string_view name) const {
    MLV_TRY(ValidateName(name));
    return util::PermissionDenied("cannot " + std::string(what) + " " + std::string(name) + ": " +
                                  inner_->Describe() + " is opened read-only");
  }

  std::unique_ptr<Backend> inner_;
};

class FaultBackend final : public Backend {
 public:
  FaultBackend(std::unique_ptr<Backend> inner, FaultFn fault) : inner_(std::move(inner)), fault_(std::move(fault)) {}

  Status Put(std::string_view name, ByteView data) override {
    MLV_TRY(fault_("put", name));
    return inner_->Put(name, data);
  }
  Result<Bytes> Get(std::string_view name, uint64_t offset, uint64_t length) override {
    MLV_TRY(fault_("get", name));
    return inner_->Get(name, offset, length);
  }
  Result<ObjectInfo> Stat(std::string_view name) override {
    MLV_TRY(fault_("stat", name));
    return inner_->Stat(name);
  }
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    MLV_TRY(fault_("list", prefix));
    return inner_->List(prefix);
  }
  Status Remove(std::string_view name) override {
    MLV_TRY(fault_("remove", name));
    return inner_->Remove(name);
  }
  Result<bool> SupportsRetention() override { return inner_->SupportsRetention(); }
  Result<Retention> GetRetention(std::string_view name) override {
    MLV_TRY(fault_("stat", name));
    return inner_->GetRetention(name);
  }
  Status Retain(std::string_view name, std::string_view mode, int64_t until_unix) override {
    MLV_TRY(fault_("retain", name));
    return inner_->Retain(name, mode, until_unix);
  }
  std::string Describe() const override { return inner_->Describe(); }
  double ListingLagSeconds() const override { return inner_->ListingLagSeconds(); }
  int ConcurrentReads() const override { return inner_->ConcurrentReads(); }

 private:
  std::unique_ptr<Backend> inner_;
  FaultFn fault_;
};

}  // namespace

std::unique_ptr<Backend> WithRetry(std::unique_ptr<Backend> inner, RetryPolicy policy) {
  return std::make_unique<RetryBackend>(std::move(inner), policy);
}

std::unique_ptr<Backend> ReadOnly(std::unique_ptr<Backend> inner) {
  return std::make_unique<ReadOnlyBackend>(std::move(inner));
}

std::unique_ptr<Backend> WithFaults(std::unique_ptr<Backend> inner, FaultFn fault) {
  return std::make_unique<FaultBackend>(std::move(inner), std::move(fault));
}

}  // namespace mlvault::backend
