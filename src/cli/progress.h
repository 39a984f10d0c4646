// The progress bar of a waited verb (--wait): one line on stderr, redrawn at most 10 times a
// second, naming the phase ("prepass", "capturing: reading", ...; never empty), bytes, files,
// rate and ETA; when the verb ends the bar is replaced by one summary line that stays
// ("backup nightly-2 succeeded in 3.1 s: 2.1 GiB scanned, 12 MiB new, workspace paused 0.18 s").
// Drawn only when stderr is a terminal (cli::Application::stderr_is_terminal); otherwise it
// draws nothing and Summary is silent, so scripts see only the JSON answer.
//
// Thread-safe: the workflow's workers report from several threads.
#pragma once

#include <ostream>
#include <string>

#include "util/mutex.h"
#include "util/progress.h"

namespace mlvault::cli {

class ProgressBar : public util::ProgressSink {
 public:
  ProgressBar(std::ostream& err, std::string label, bool enabled);

  void Report(const util::ProgressSnapshot& p) override;
  // Erases the bar (the summary, if any, follows).
  void Finish() override;
  // Erases the bar and prints `line`, which stays.
  void Summary(const std::string& line);
  // Seconds since the bar was made.
  double elapsed() const;
  bool enabled() const { return enabled_; }

  // The line drawn for `p` after `seconds` in its phase with `bytes_in_phase` bytes done in it
  // (exposed for tests).
  static std::string Line(const std::string& label, const util::ProgressSnapshot& p,
                          double seconds, uint64_t bytes_in_phase);

 private:
  std::ostream& err_;
  const std::string label_;
  const bool enabled_;
  const double start_;
  util::Mutex mu_;
  double last_draw_ MLV_GUARDED_BY(mu_) = 0;
  bool drawn_ MLV_GUARDED_BY(mu_) = false;
  std::string phase_ MLV_GUARDED_BY(mu_);            // the phase being timed
  double phase_start_ MLV_GUARDED_BY(mu_) = 0;
  uint64_t phase_bytes0_ MLV_GUARDED_BY(mu_) = 0;    // bytes_done when the phase began
};

// "3.1 s", "2 min 05 s".
std::string HumanSeconds(double seconds);

}  // namespace mlvault::cli
