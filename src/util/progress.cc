#include "util/progress.h"

#include <unistd.h>

#include <cstdio>

namespace mlvault::util {

std::string HumanBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

TerminalProgress::TerminalProgress(std::string label)
    : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}

void TerminalProgress::Report(const ProgressSnapshot& p) {
  if (!enabled_) return;
  MutexLock lock(mu_);
  double now = MonotonicSeconds();
  if (drawn_ && now - last_draw_ < 0.1) return;
  last_draw_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  double frac = p.bytes_total ? static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total) : 0;
  if (frac > 1) frac = 1;
  int fill = static_cast<int>(frac * kWidth);
  std::string bar(fill, '#');
  bar.resize(kWidth, '.');
  std::string files = p.files_total ? std::to_string(p.files_done) + "/" + std::to_string(p.files_total)
                                    : std::to_string(p.files_done);
  std::fprintf(stderr, "\r\033[K%s %s [%s] %3.0f%% %s / %s, %s files", label_.c_str(), p.phase.c_str(),
               bar.c_str(), frac * 100, HumanBytes(p.bytes_done).c_str(),
               HumanBytes(p.bytes_total).c_str(), files.c_str());
  std::fflush(stderr);
}

void TerminalProgress::Finish() {
  if (!enabled_) return;
  MutexLock lock(mu_);
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void CancelToken::Cancel(std::string reason) {
  MutexLock lock(mu_);
  if (!cancelled_.exchange(true)) reason_ = std::move(reason);
}

void CancelToken::SetDeadline(TimeMicros deadline, const Clock* clock) {
  clock_ = clock;
  deadline_ = deadline;
}

bool CancelToken::cancelled() const {
  if (cancelled_.load(std::memory_order_relaxed)) return true;
  TimeMicros d = deadline_.load(std::memory_order_relaxed);
  if (d != 0 && clock_->Now() >= d) {
    const_cast<CancelToken*>(this)->Cancel("timed out");
    return true;
  }
  return false;
}

std::string CancelToken::reason() const {
  MutexLock lock(mu_);
  return reason_;
}

void PartsProgress::BeginPart(std::string name) {
  MutexLock lock(mu_);
  part_ = std::move(name);
}

void PartsProgress::EndPart(uint64_t bytes, uint64_t files) {
  MutexLock lock(mu_);
  bytes_ += bytes;
  files_ += files;
}

ProgressSnapshot PartsProgress::Combined(const ProgressSnapshot& p) const {
  MutexLock lock(mu_);
  ProgressSnapshot s = p;
  s.bytes_done += bytes_;
  s.files_done += files_;
  if (p.bytes_total > 0) s.bytes_total += bytes_;
  if (p.files_total > 0) s.files_total += files_;
  if (!part_.empty()) s.phase = p.phase.empty() ? part_ : part_ + ": " + p.phase;
  return s;
}

void PartsProgress::Report(const ProgressSnapshot& p) {
  if (next_) next_->Report(Combined(p));
}

}  // namespace mlvault::util
