#include "util/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "util/clock.h"
#include "util/mutex.h"

namespace mlvault::util {

static LogLevel ConfiguredLevel() {
  static const LogLevel level = [] {
    const char* v = std::getenv("MLVAULT_LOG");
    if (!v) return LogLevel::kWarn;
    if (!std::strcmp(v, "debug")) return LogLevel::kDebug;
    if (!std::strcmp(v, "info")) return LogLevel::kInfo;
    if (!std::strcmp(v, "error")) return LogLevel::kError;
    return LogLevel::kWarn;
  }();
  return level;
}

bool LogEnabled(LogLevel level) { return level >= ConfiguredLevel(); }

void LogLine(LogLevel level, std::string_view message) {
  static Mutex mu;  // one line at a time on stderr (it guards no data of ours)
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  MutexLock lock(mu);
  std::fprintf(stderr, "%s %s: %.*s\n", FormatTime(Clock::System().Now()).c_str(),
               kNames[static_cast<int>(level)], static_cast<int>(message.size()), message.data());
}

}  // namespace mlvault::util
