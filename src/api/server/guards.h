// Protections of the HTTP server's workers against clients that misbehave:
//   SlowClientGuard  a watchdog that cuts connections which take too long to send a request's
//                    headers (or its body), so a slow client cannot hold a worker thread;
//   RateLimiter      a token bucket per access key (429 + Retry-After when empty).
// Both are thread-safe: each one's mu_ guards its tables (the guard's connections by descriptor
// and by peer, and its stop flag; the limiter's buckets).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "util/mutex.h"

namespace mlvault::api {

// Watches the server's accepted sockets (the process's sockets bound to `port`). A connection
// must deliver each request's headers within `header_seconds` of being accepted or of its
// previous answer, and the body within `body_seconds` of its headers; otherwise the watchdog
// shuts the socket down (shutdown(2), never close: the server closes its own descriptor).
// A connection with unread bytes is waiting for a worker, not slow itself: it is left alone.
// The server reports each connection's progress by peer address ("ip:port").
class SlowClientGuard {
 public:
  SlowClientGuard(int port, double header_seconds, double body_seconds);
  ~SlowClientGuard();
  SlowClientGuard(const SlowClientGuard&) = delete;
  SlowClientGuard& operator=(const SlowClientGuard&) = delete;

  void HeadersReceived(const std::string& peer);
  void BodyReceived(const std::string& peer);  // the handler runs: no deadline while it does
  void Answered(const std::string& peer);
  // Connections cut so far.
  uint64_t cut() const { return cut_.load(); }

 private:
  enum class Phase { kWaitingHeaders, kReadingBody, kHandling };
  struct Conn {
    std::string peer;
    Phase phase = Phase::kWaitingHeaders;
    std::chrono::steady_clock::time_point since;
  };
  void Loop() MLV_EXCLUDES(mu_);
  void Scan() MLV_EXCLUDES(mu_);
  void Set(const std::string& peer, Phase phase) MLV_EXCLUDES(mu_);

  const int port_;
  const std::chrono::milliseconds header_, body_;
  util::Mutex mu_;
  util::CondVar cv_;  // waited on with mu_: stop_ set
  bool stop_ MLV_GUARDED_BY(mu_) = false;
  std::map<int, Conn> by_fd_ MLV_GUARDED_BY(mu_);
  // Reported phases, matched to fds on each scan.
  std::map<std::string, Conn> by_peer_ MLV_GUARDED_BY(mu_);
  std::atomic<uint64_t> cut_{0};
  std::thread thread_;
};

class RateLimiter {
 public:
  // `per_second` tokens per second, at most `burst` saved; per_second <= 0 disables it.
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}
  // 0 if the request may go ahead (a token was taken); otherwise the seconds to wait (>= 1).
  int Take(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  const double rate_, burst_;
  util::Mutex mu_;
  std::map<std::string, Bucket> buckets_ MLV_GUARDED_BY(mu_);
};

}  // namespace mlvault::api
