// Time: an injectable clock, and the timestamp format of the product (RFC 3339 with
// microseconds and an explicit UTC offset, e.g. "2026-01-26T03:22:10.925000+00:00").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mlvault::util {

// Microseconds since the Unix epoch, UTC.
using TimeMicros = int64_t;

// Source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMicros Now() const = 0;
  // The process-wide real clock.
  static const Clock& System();
};

// A clock that only moves when told; for tests of leases, timeouts and expiry.
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimeMicros start = 1'700'000'000'000'000) : now_(start) {}
  TimeMicros Now() const override { return now_.load(); }
  void Advance(std::chrono::microseconds d) { now_ += d.count(); }
  void Set(TimeMicros t) { now_ = t; }

 private:
  std::atomic<TimeMicros> now_;
};

// Monotonic seconds, for measuring durations.
double MonotonicSeconds();

// "2026-01-26T03:22:10.925000+00:00"
std::string FormatTime(TimeMicros t);
// Parses RFC 3339 ("...Z", "...+hh:mm", with or without fractional seconds); nullopt if malformed.
std::optional<TimeMicros> ParseTime(std::string_view s);

}  // namespace mlvault::util
