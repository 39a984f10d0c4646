#include "cli/progress.h"

#include <cstdio>

#include "util/clock.h"

namespace mlvault::cli {

std::string HumanSeconds(double s) {
  char buf[48];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60,
                  static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600,
                  static_cast<int>(s) / 60 % 60);
  return buf;
}

ProgressBar::ProgressBar(std::ostream& err, std::string label, bool enabled)
    : err_(err), label_(std::move(label)), enabled_(enabled), start_(util::MonotonicSeconds()) {}

double ProgressBar::elapsed() const { return util::MonotonicSeconds() - start_; }

std::string ProgressBar::Line(const std::string& label, const util::ProgressSnapshot& p,
                              double seconds, uint64_t bytes_in_phase) {
  constexpr int kWidth = 24;
  std::string phase = p.phase.empty() ? "starting" : p.phase;
  std::string line = label + ": " + phase;
  if (p.bytes_total > 0) {
    double frac = static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total);
    if (frac > 1) frac = 1;
    std::string bar(static_cast<size_t>(frac * kWidth), '#');
    bar.resize(kWidth, '.');
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3.0f%%", frac * 100);
    line += " [" + bar + "] " + pct + "  " + util::HumanBytes(p.bytes_done) + " / " +
            util::HumanBytes(p.bytes_total);
  } else if (p.bytes_done > 0) {
    line += "  " + util::HumanBytes(p.bytes_done);
  }
  if (p.files_done > 0 || p.files_total > 0)
    line += "  " + std::to_string(p.files_done) +
            (p.files_total > 0 ? "/" + std::to_string(p.files_total) : "") + " files";
  if (seconds >= 0.5 && bytes_in_phase > 0) {
    double rate = static_cast<double>(bytes_in_phase) / seconds;
    line += "  " + util::HumanBytes(static_cast<uint64_t>(rate)) + "/s";
    if (p.bytes_total > p.bytes_done && rate > 0)
      line += "  ETA " + HumanSeconds(static_cast<double>(p.bytes_total - p.bytes_done) / rate);
  }
  return line;
}

void ProgressBar::Report(const util::ProgressSnapshot& p) {
  if (!enabled_) return;
  util::MutexLock lock(mu_);
  double now = util::MonotonicSeconds();
  // A new phase (or a counter that starts again, the next volume) restarts the rate.
  if (p.phase != phase_ || p.bytes_done < phase_bytes0_) {
    phase_ = p.phase;
    phase_start_ = now;
    phase_bytes0_ = p.bytes_done;
  } else if (drawn_ && now - last_draw_ < 0.1) {
    return;
  }
  last_draw_ = now;
  drawn_ = true;
  err_ << "\r\033[K" << Line(label_, p, now - phase_start_, p.bytes_done - phase_bytes0_)
       << std::flush;
}

void ProgressBar::Finish() {
  if (!enabled_) return;
  util::MutexLock lock(mu_);
  if (drawn_) err_ << "\r\033[K" << std::flush;
  drawn_ = false;
}

void ProgressBar::Summary(const std::string& line) {
  if (!enabled_) return;
  Finish();
  util::MutexLock lock(mu_);
  err_ << line << "\n" << std::flush;
}

}  // namespace mlvault::cli
