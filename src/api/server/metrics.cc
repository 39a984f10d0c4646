#include "api/server/metrics.h"

#include <fmt/core.h>

#include <cstdio>
#include <vector>

namespace mlvault::api {
namespace {

std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// A histogram of `values` with the given bucket bounds, as exposition lines.
void RenderHistogram(std::string& out, const std::string& name, const std::string& labels,
                     const std::vector<double>& bounds, const std::vector<double>& values) {
  std::vector<uint64_t> counts(bounds.size(), 0);
  double sum = 0;
  for (double v : values) {
    sum += v;
    for (size_t i = 0; i < bounds.size(); ++i)
      if (v <= bounds[i]) ++counts[i];
  }
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < bounds.size(); ++i)
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, Num(bounds[i]),
                       counts[i]);
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(values.size()) + "\n";
  out += name + "_sum" + (labels.empty() ? "" : "{" + labels + "}") + " " + Num(sum) + "\n";
  out += name + "_count" + (labels.empty() ? "" : "{" + labels + "}") + " " +
         std::to_string(values.size()) + "\n";
}

}  // namespace

void Metrics::Record(const std::string& operation, int status, double seconds) {
  util::MutexLock lock(mu_);
  ++requests_[{operation, status}];
  Histogram& h = latency_[operation];
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i)
    if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::RecordRateLimited() {
  util::MutexLock lock(mu_);
  ++rate_limited_;
}

std::string Metrics::Render(catalog::Db& db) const {
  std::string out;
  {
    util::MutexLock lock(mu_);
    out += "# HELP mlvault_http_requests_total HTTP requests answered, by operation and status.\n";
    out += "# TYPE mlvault_http_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out += "mlvault_http_requests_total{operation=\"" + Label(key.first) + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
    out +=
        "# HELP mlvault_http_request_duration_seconds Time from the request's headers to its "
        "answer, by operation.\n";
    out += "# TYPE mlvault_http_request_duration_seconds histogram\n";
    for (const auto& [op, h] : latency_) {
      std::string l = "operation=\"" + Label(op) + "\"";
      for (size_t i = 0; i < kLatencyBuckets.size(); ++i)
        out += "mlvault_http_request_duration_seconds_bucket{" + l + ",le=\"" +
               Num(kLatencyBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
      out += "mlvault_http_request_duration_seconds_bucket{" + l + ",le=\"+Inf\"} " +
             std::to_string(h.count) + "\n";
      out += "mlvault_http_request_duration_seconds_sum{" + l + "} " + Num(h.sum) + "\n";
      out += "mlvault_http_request_duration_seconds_count{" + l + "} " + std::to_string(h.count) +
             "\n";
    }
    out += "# HELP mlvault_http_rate_limited_total Requests refused with 429.\n";
    out += "# TYPE mlvault_http_rate_limited_total counter\n";
    out += "mlvault_http_rate_limited_total " + std::to_string(rate_limited_) + "\n";
  }

  auto wf = db.Query("SELECT kind, status, COUNT(*) FROM workflows GROUP BY kind, status");
  if (!wf) {
    out += "# catalog figures unavailable: " + Label(wf.error().message()) + "\n";
    return out;
  }
  out += "# HELP mlvault_workflows Workflows in the catalog, by kind and status.\n";
  out += "# TYPE mlvault_workflows gauge\n";
  for (const auto& r : *wf)
    out += "mlvault_workflows{kind=\"" + Label(r.Text(0)) + "\",status=\"" + Label(r.Text(1)) +
           "\"} " + std::to_string(r.Int(2)) + "\n";

  auto bytes = db.Query(
      "SELECT COALESCE(SUM(bytes_total), 0), COALESCE(SUM(bytes_stored), 0), COUNT(*) FROM "
      "backups WHERE status = 'succeeded'");
  if (bytes && !bytes->empty()) {
    out +=
        "# HELP mlvault_backup_bytes_scanned Bytes of the workspaces' volumes in succeeded "
        "backups.\n# TYPE mlvault_backup_bytes_scanned gauge\n";
    out += "mlvault_backup_bytes_scanned " + std::to_string((*bytes)[0].Int(0)) + "\n";
    out +=
        "# HELP mlvault_backup_bytes_stored Bytes the succeeded backups added to their vaults.\n"
        "# TYPE mlvault_backup_bytes_stored gauge\n";
    out += "mlvault_backup_bytes_stored " + std::to_string((*bytes)[0].Int(1)) + "\n";
  }
  auto times = db.Query(
      "SELECT finished_at - started_at, COALESCE(quiesced_micros, 0) FROM backups WHERE status = "
      "'succeeded' AND started_at IS NOT NULL AND finished_at IS NOT NULL");
  if (times) {
    std::vector<double> durations, quiesce;
    for (const auto& r : *times) {
      durations.push_back(static_cast<double>(r.Int(0)) / 1e6);
      quiesce.push_back(static_cast<double>(r.Int(1)) / 1e6);
    }
    out +=
        "# HELP mlvault_backup_duration_seconds Duration of succeeded backups.\n"
        "# TYPE mlvault_backup_duration_seconds histogram\n";
    RenderHistogram(out, "mlvault_backup_duration_seconds", "",
                    {0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}, durations);
    out +=
        "# HELP mlvault_backup_quiesce_seconds How long succeeded backups held their "
        "workspace quiesced.\n# TYPE mlvault_backup_quiesce_seconds histogram\n";
    RenderHistogram(out, "mlvault_backup_quiesce_seconds", "",
                    {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60}, quiesce);
  }
  return out;
}

}  // namespace mlvault::api
