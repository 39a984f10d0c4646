#include "control/schedule.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <array>
#include <cctype>
#include <charconv>

#include <span>

#include "util/strings.h"

namespace mlvault::control {
namespace {

constexpr int kMinYear = 1970, kMaxYear = 2199;
constexpr int64_t kMicrosPerMinute = 60'000'000;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

std::optional<int> Int(std::string_view s) {
  int v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

struct FieldSpec {
  const char* name;
  int lo, hi;
  std::span<const std::string_view> names;  // names[i] is value lo + i
};

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

const FieldSpec kFields[6] = {
    {"Minutes", 0, 59, {}},       {"Hours", 0, 23, {}},
    {"Day-of-month", 1, 31, {}},  {"Month", 1, 12, kMonthNames},
    {"Day-of-week", 1, 7, kDayNames}, {"Year", kMinYear, kMaxYear, {}},
};

util::Error FieldError(int index, const std::string& what) {
  return util::Error(util::ErrorCode::kInvalidArgument,
                     "schedule: cron field " + std::to_string(index + 1) + " (" +
                         kFields[index].name + "): " + what,
                     "schedule");
}

util::Result<int> Value(int index, std::string_view text) {
  const FieldSpec& f = kFields[index];
  std::string up = Upper(text);
  for (size_t i = 0; i < f.names.size(); ++i)
    if (up == f.names[i]) return f.lo + static_cast<int>(i);
  auto v = Int(text);
  if (!v)
    return std::unexpected(FieldError(index, "\"" + std::string(text) + "\" is not a number" +
                                                 (f.names.empty() ? "" : " or a name")));
  if (*v < f.lo || *v > f.hi)
    return std::unexpected(FieldError(index, std::to_string(*v) + " is outside " +
                                                 std::to_string(f.lo) + "-" + std::to_string(f.hi)));
  return *v;
}

// Sets bits [value - offset] of every value `text` (one list item) names.
template <size_t N>
util::Status Item(int index, std::string_view text, std::bitset<N>* bits, int offset) {
  const FieldSpec& f = kFields[index];
  std::string_view base = text;
  int step = 1;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    base = text.substr(0, slash);
    auto s = Int(text.substr(slash + 1));
    if (!s || *s < 1)
      return std::unexpected(FieldError(index, "step \"" + std::string(text.substr(slash + 1)) +
                                                   "\" must be a positive number"));
    step = *s;
  }
  int lo, hi;
  if (base == "*") {
    lo = f.lo;
    hi = f.hi;
  } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
    lo = MLV_TRY(Value(index, base.substr(0, dash)));
    hi = MLV_TRY(Value(index, base.substr(dash + 1)));
    if (lo > hi)
      return std::unexpected(FieldError(
          index, "range \"" + std::string(base) + "\" starts after it ends (write it as two ranges)"));
  } else {
    lo = MLV_TRY(Value(index, base));
    hi = step > 1 ? f.hi : lo;  // "5/15": from 5 on, every 15
  }
  for (int v = lo; v <= hi; v += step) bits->set(static_cast<size_t>(v - offset));
  return util::Ok();
}

template <size_t N>
util::Status Field(int index, std::string_view text, std::bitset<N>* bits, int offset) {
  for (const auto& item : Split(text, ','))
    MLV_TRY(Item(index, item, bits, offset));
  return util::Ok();
}

// AWS numbering of a day: 1 = Sunday ... 7 = Saturday.
int AwsWeekday(const cctz::civil_day& d) {
  switch (cctz::get_weekday(d)) {
    case cctz::weekday::sunday: return 1;
    case cctz::weekday::monday: return 2;
    case cctz::weekday::tuesday: return 3;
    case cctz::weekday::wednesday: return 4;
    case cctz::weekday::thursday: return 5;
    case cctz::weekday::friday: return 6;
    case cctz::weekday::saturday: return 7;
  }
  return 0;
}

int LastDayOfMonth(const cctz::civil_day& d) {
  return static_cast<int>((cctz::civil_day(cctz::civil_month(d) + 1) - 1).day());
}

bool DayMatches(const Schedule::Cron& c, const cctz::civil_day& d) {
  if (!c.months[static_cast<size_t>(d.month())]) return false;
  if (c.dow_free) {
    if (c.dom[static_cast<size_t>(d.day())]) return true;
    return c.dom_last && d.day() == LastDayOfMonth(d) - *c.dom_last;
  }
  int wd = AwsWeekday(d);
  if (c.dow[static_cast<size_t>(wd)]) return true;
  for (int n : c.dow_last)
    if (n == wd && d.day() + 7 > LastDayOfMonth(d)) return true;
  for (auto [n, k] : c.dow_nth)
    if (n == wd && (d.day() - 1) / 7 + 1 == k) return true;
  return false;
}

bool YearOk(const Schedule::Cron& c, int64_t y) {
  return y >= kMinYear && y <= kMaxYear && c.years[static_cast<size_t>(y - kMinYear)];
}

util::TimeMicros Micros(const cctz::time_point<cctz::seconds>& tp) {
  return static_cast<util::TimeMicros>(tp.time_since_epoch().count()) * 1'000'000;
}

// The instant of local minute `m` in `tz`: a skipped local time is the end of its gap, a
// repeated one its first occurrence (schedule.h).
util::TimeMicros Instant(const cctz::time_zone& tz, const cctz::civil_minute& m) {
  auto l = tz.lookup(cctz::civil_second(m));
  switch (l.kind) {
    case cctz::time_zone::civil_lookup::SKIPPED: return Micros(l.trans);
    case cctz::time_zone::civil_lookup::REPEATED:
    case cctz::time_zone::civil_lookup::UNIQUE: return Micros(l.pre);
  }
  return Micros(l.pre);
}

cctz::civil_minute LocalMinute(const cctz::time_zone& tz, util::TimeMicros t) {
  int64_t secs = t >= 0 ? t / 1'000'000 : -((-t + 999'999) / 1'000'000);
  auto tp = cctz::time_point<cctz::seconds>(cctz::seconds(secs));
  return cctz::civil_minute(cctz::convert(tp, tz));
}

bool ValidZoneName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos)
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' &&
        c != '+')
      return false;
  return true;
}

util::Result<cctz::time_zone> LoadZone(std::string_view name, std::string_view field) {
  cctz::time_zone tz;
  if (name.empty() || name == "UTC") return cctz::utc_time_zone();
  if (!ValidZoneName(name) || !cctz::load_time_zone(std::string(name), &tz))
    return util::InvalidField(std::string(field),
                              "unknown time zone \"" + std::string(name) +
                                  "\": give an IANA name such as Europe/Berlin, America/New_York "
                                  "or UTC (the tzdata package provides them)");
  return tz;
}

util::Result<Schedule::Cron> ParseCronBody(std::string_view body) {
  std::vector<std::string> parts;
  for (auto& p : Split(util::Trim(body), ' '))
    if (!p.empty()) parts.push_back(p);
  if (parts.size() != 6)
    return util::InvalidField(
        "schedule", "cron(...) takes 6 fields (Minutes Hours Day-of-month Month Day-of-week "
                    "Year), got " + std::to_string(parts.size()) +
                        "; e.g. cron(0 3 * * ? *) is every day at 03:00");
  Schedule::Cron c;
  MLV_TRY(Field(0, parts[0], &c.minutes, 0));
  MLV_TRY(Field(1, parts[1], &c.hours, 0));
  MLV_TRY(Field(3, parts[3], &c.months, 0));
  MLV_TRY(Field(5, parts[5], &c.years, kMinYear));
  c.dom_free = parts[2] == "?";
  c.dow_free = parts[4] == "?";
  if (c.dom_free == c.dow_free)
    return util::InvalidField(
        "schedule", c.dom_free ? "Day-of-month and Day-of-week cannot both be ?: give one of them"
                               : "one of Day-of-month and Day-of-week must be ? (e.g. cron(0 3 * "
                                 "* ? *) or cron(0 3 ? * MON-FRI *))");
  if (!c.dom_free) {
    for (const auto& item : Split(parts[2], ',')) {
      std::string up = Upper(item);
      if (up.find('W') != std::string::npos)
        return std::unexpected(FieldError(2, "W (nearest weekday) is not supported"));
      if (up == "L") {
        c.dom_last = 0;
      } else if (up.starts_with("L-")) {
        auto n = Int(up.substr(2));
        if (!n || *n < 0 || *n > 30)
          return std::unexpected(FieldError(2, "\"" + item + "\": L-n needs n in 0-30"));
        c.dom_last = *n;
      } else {
        MLV_TRY(Item(2, item, &c.dom, 0));
      }
    }
  }
  if (!c.dow_free) {
    for (const auto& item : Split(parts[4], ',')) {
      std::string up = Upper(item);
      if (up == "L") {
        c.dow.set(7);
      } else if (up.size() > 1 && up.back() == 'L') {
        c.dow_last.push_back(MLV_TRY(Value(4, std::string_view(item).substr(0, item.size() - 1))));
      } else if (auto h = up.find('#'); h != std::string::npos) {
        int wd = MLV_TRY(Value(4, std::string_view(item).substr(0, h)));
        auto k = Int(up.substr(h + 1));
        if (!k || *k < 1 || *k > 5)
          return std::unexpected(FieldError(4, "\"" + item + "\": n#k needs k in 1-5"));
        c.dow_nth.emplace_back(wd, *k);
      } else {
        MLV_TRY(Item(4, item, &c.dow, 0));
      }
    }
  }
  return c;
}

}  // namespace

util::Status CheckTimeZone(std::string_view time_zone, std::string_view field) {
  MLV_TRY(LoadZone(time_zone, field));
  return util::Ok();
}

std::string FormatLocal(util::TimeMicros t, std::string_view time_zone) {
  auto tz = LoadZone(time_zone, "timeZone");
  if (!tz) return util::FormatTime(t);
  int64_t secs = t / 1'000'000;
  return cctz::format("%Y-%m-%dT%H:%M:%S%Ez",
                      cctz::time_point<cctz::seconds>(cctz::seconds(secs)), *tz);
}

util::Result<Schedule> Schedule::Parse(std::string_view expression, std::string_view time_zone,
                                       util::TimeMicros anchor) {
  Schedule s;
  s.expression_ = util::Trim(expression);
  s.time_zone_ = time_zone.empty() ? "UTC" : std::string(time_zone);
  s.anchor_ = anchor;
  MLV_TRY(LoadZone(s.time_zone_, "timeZone"));
  std::string_view e = s.expression_;
  auto inside = [&](std::string_view head) -> std::optional<std::string_view> {
    if (!e.starts_with(head) || !e.ends_with(")")) return std::nullopt;
    return e.substr(head.size(), e.size() - head.size() - 1);
  };
  if (auto body = inside("cron(")) {
    s.cron_ = MLV_TRY(ParseCronBody(*body));
    return s;
  }
  if (auto body = inside("rate(")) {
    std::vector<std::string> parts;
    for (auto& p : Split(util::Trim(*body), ' '))
      if (!p.empty()) parts.push_back(p);
    auto n = parts.size() == 2 ? Int(parts[0]) : std::nullopt;
    if (!n || *n < 1)
      return util::InvalidField("schedule", "rate(...) takes a positive number and a unit, e.g. "
                                            "rate(6 hours); got \"" + std::string(e) + "\"");
    std::string unit = parts[1];
    int64_t per;
    if (unit == "minute" || unit == "minutes") per = kMicrosPerMinute;
    else if (unit == "hour" || unit == "hours") per = 60 * kMicrosPerMinute;
    else if (unit == "day" || unit == "days") per = 24 * 60 * kMicrosPerMinute;
    else
      return util::InvalidField("schedule", "rate unit \"" + unit +
                                                "\" is not minutes, hours or days");
    s.rate_micros_ = *n * per;
    return s;
  }
  return util::InvalidField("schedule", "\"" + std::string(e) +
                                            "\" is neither cron(...) nor rate(...); e.g. "
                                            "cron(0 3 * * ? *) or rate(6 hours)");
}

std::optional<util::TimeMicros> Schedule::NextAfter(util::TimeMicros after) const {
  if (rate_micros_ > 0) {
    if (after < anchor_) return anchor_ + rate_micros_;
    int64_t k = (after - anchor_) / rate_micros_ + 1;
    return anchor_ + k * rate_micros_;
  }
  auto tz = LoadZone(time_zone_, "timeZone");
  if (!tz) return std::nullopt;
  // Local minutes before LocalMinute(after) map to instants at or before `after` (the map is
  // monotonic, schedule.h), so the scan starts there.
  cctz::civil_minute c = LocalMinute(*tz, after);
  const Cron& k = cron_;
  while (c.year() <= kMaxYear) {
    if (!YearOk(k, c.year())) {
      c = cctz::civil_minute(cctz::civil_year(c.year() + 1));
    } else if (!DayMatches(k, cctz::civil_day(c))) {
      c = cctz::civil_minute(cctz::civil_day(c) + 1);
    } else if (!k.hours[static_cast<size_t>(c.hour())]) {
      c = cctz::civil_minute(cctz::civil_hour(c) + 1);
    } else if (!k.minutes[static_cast<size_t>(c.minute())]) {
      c += 1;
    } else {
      util::TimeMicros t = Instant(*tz, c);
      if (t > after) return t;
      c += 1;
    }
  }
  return std::nullopt;
}

std::optional<util::TimeMicros> Schedule::LatestAtOrBefore(util::TimeMicros at,
                                                           util::TimeMicros not_before) const {
  if (rate_micros_ > 0) {
    if (at < anchor_ + rate_micros_) return std::nullopt;
    util::TimeMicros t = anchor_ + (at - anchor_) / rate_micros_ * rate_micros_;
    return t >= not_before ? std::optional(t) : std::nullopt;
  }
  auto tz = LoadZone(time_zone_, "timeZone");
  if (!tz) return std::nullopt;
  // A local minute up to a few hours after LocalMinute(at) can still be at or before `at` (the
  // first occurrence of a repeated hour); start the scan beyond that.
  cctz::civil_minute c = LocalMinute(*tz, at) + 3 * 60;
  cctz::civil_minute floor = LocalMinute(*tz, not_before) - 3 * 60;
  const Cron& k = cron_;
  while (c.year() >= kMinYear && c >= floor) {
    if (!YearOk(k, c.year())) {
      c = cctz::civil_minute(cctz::civil_year(c.year())) - 1;
    } else if (!DayMatches(k, cctz::civil_day(c))) {
      c = cctz::civil_minute(cctz::civil_day(c)) - 1;
    } else if (!k.hours[static_cast<size_t>(c.hour())]) {
      c = cctz::civil_minute(cctz::civil_hour(c)) - 1;
    } else if (!k.minutes[static_cast<size_t>(c.minute())]) {
      c -= 1;
    } else {
      util::TimeMicros t = Instant(*tz, c);
      if (t <= at) return t >= not_before ? std::optional(t) : std::nullopt;
      c -= 1;
    }
  }
  return std::nullopt;
}

}  // namespace mlvault::control
