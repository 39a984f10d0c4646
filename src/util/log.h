// Minimal leveled logging to stderr. The level comes from MLVAULT_LOG (debug, info, warn, error;
// default warn) so that normal CLI output stays clean. Thread-safe.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace mlvault::util {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

template <class... Args>
void Log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (LogEnabled(level)) LogLine(level, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace mlvault::util
