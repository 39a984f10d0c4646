// The server's Prometheus metrics (text exposition format 0.0.4): requests by operation and
// status with latency histograms, measured in the server; workflows by kind and status, and
// backup bytes, durations and quiesce seconds, read from the catalog at scrape time (so every
// server sharing a catalog reports the same workflow and backup figures).
//
// Thread-safe: mu_ guards the request counts, the latency histograms and the rate-limited count.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "catalog/db.h"
#include "util/error.h"
#include "util/mutex.h"

namespace mlvault::api {

class Metrics {
 public:
  // Upper bounds (seconds) of the request latency histogram.
  static constexpr std::array<double, 12> kLatencyBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

  // One finished request. `operation` is "service/operation" for API calls, or the route
  // ("/healthz", "console/login", "static") for the others.
  void Record(const std::string& operation, int status, double seconds);
  // Requests refused by the rate limiter, per access key are not labelled (unbounded ids).
  void RecordRateLimited();

  // The exposition text; catalog figures from `db` (skipped with a comment if it fails).
  std::string Render(catalog::Db& db) const;

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable util::Mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_ MLV_GUARDED_BY(mu_);
  std::map<std::string, Histogram> latency_ MLV_GUARDED_BY(mu_);
  uint64_t rate_limited_ MLV_GUARDED_BY(mu_) = 0;
};

}  // namespace mlvault::api
