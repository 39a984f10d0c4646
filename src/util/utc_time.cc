#include "util/utc_time.h"

#include <ctime>

namespace mlvault::util {

std::optional<int64_t> ParseUtcSeconds(std::string_view text, std::string_view layout) {
  if (text.size() != layout.size()) return std::nullopt;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  for (size_t i = 0; i < layout.size(); ++i) {
    int* field = nullptr;
    switch (layout[i]) {
      case 'Y':
        field = &year;
        break;
      case 'M':
        field = &month;
        break;
      case 'D':
        field = &day;
        break;
      case 'h':
        field = &hour;
        break;
      case 'm':
        field = &minute;
        break;
      case 's':
        field = &second;
        break;
      default:
        if (text[i] != layout[i]) return std::nullopt;
        continue;
    }
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    *field = *field * 10 + (text[i] - '0');
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60)
    return std::nullopt;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] || (month == 2 && day == 29 && !leap)) return std::nullopt;
  return UnixSecondsOf(year, month, day, hour, minute, second);
}

int64_t UnixSecondsOf(int year, int month, int day, int hour, int minute, int second) {
  struct tm tm = {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

std::string FormatUtcSeconds(int64_t unix_seconds, std::string_view layout) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm = {};
  gmtime_r(&t, &tm);
  const int fields[] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour,        tm.tm_min,     tm.tm_sec};
  std::string out(layout);
  // Each field's digits are filled from its last one backwards.
  static constexpr std::string_view kLetters = "YMDhms";
  int left[6];
  for (int f = 0; f < 6; ++f) left[f] = fields[f];
  for (size_t i = out.size(); i-- > 0;) {
    size_t f = kLetters.find(out[i]);
    if (f == std::string_view::npos) continue;
    out[i] = static_cast<char>('0' + left[f] % 10);
    left[f] /= 10;
  }
  return out;
}

}  // namespace mlvault::util
