// Backup plan schedules: when a plan's slots fall.
//
// Two forms, as AWS Backup and EventBridge write them:
//   cron(Minutes Hours Day-of-month Month Day-of-week Year)
//     Minutes 0-59, Hours 0-23, Day-of-month 1-31, Month 1-12 or JAN-DEC, Day-of-week 1-7 or
//     SUN-SAT (1 = Sunday), Year 1970-2199. Each field takes `*`, a value, a range `a-b`, a list
//     `a,b,c` and steps `a/n`, `*/n`, `a-b/n`. One of Day-of-month and Day-of-week must be `?`
//     (the other decides the day). Day-of-month also takes `L` (the month's last day) and `L-n`
//     (n days before it); Day-of-week takes `nL` (the month's last weekday n, e.g. `6L` = last
//     Friday), `n#k` (the k-th weekday n of the month, e.g. `2#1` = first Monday) and `L` (= 7,
//     Saturday). `W` (nearest weekday) is refused with a message.
//     The fields are read in the plan's IANA time zone (tzdata under /usr/share/zoneinfo, read by
//     CCTZ), so `cron(0 3 * * ? *)` in Europe/Berlin is 03:00 Berlin time in winter and summer.
//   rate(N minute(s)|hour(s)|day(s))
//     every N units of elapsed time from the plan's anchor (its creation): anchor + k * N for
//     k >= 1. The time zone does not matter for a rate.
//
// Daylight-saving changes (cron only):
//   - A local time that does not exist (the hour skipped when clocks go forward, e.g. 02:30 on
//     the last Sunday of March in Europe/Berlin) runs at the instant the gap ends (03:00 local).
//     Several skipped times that map to that one instant are one slot.
//   - A local time that occurs twice (the hour repeated when clocks go back) runs once, at its
//     first occurrence.
// So slots are never lost and never doubled, and the map from local slot to instant is
// monotonic.
//
// A Schedule is an immutable value: thread-safe.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

class Schedule {
 public:
  // Parses `expression` for `time_zone` (an IANA name such as "Europe/Berlin" or "UTC"; empty
  // means UTC). `anchor` is the start of a rate's period (ignored for cron).
  // Errors: kInvalidArgument naming the field ("schedule: cron field 3 (Day-of-month): ...",
  // "timeZone: unknown time zone ...").
  static util::Result<Schedule> Parse(std::string_view expression, std::string_view time_zone,
                                      util::TimeMicros anchor = 0);

  // The first slot strictly after `after`; nullopt when there is none (a cron whose years end).
  std::optional<util::TimeMicros> NextAfter(util::TimeMicros after) const;
  // The last slot at or before `at` (and not before `not_before`); nullopt when there is none.
  std::optional<util::TimeMicros> LatestAtOrBefore(util::TimeMicros at,
                                                   util::TimeMicros not_before) const;

  const std::string& expression() const { return expression_; }
  const std::string& time_zone() const { return time_zone_; }
  bool is_rate() const { return rate_micros_ > 0; }
  // The smallest gap between two slots this schedule can produce, roughly (for checks).
  int64_t rate_micros() const { return rate_micros_; }

 // The parsed fields of a cron expression (used by schedule.cc).
  struct Cron {
    std::bitset<60> minutes;
    std::bitset<24> hours;
    std::bitset<32> dom;           // 1..31
    std::bitset<13> months;        // 1..12
    std::bitset<8> dow;            // 1..7, 1 = Sunday
    std::bitset<230> years;        // 1970..2199
    bool dom_free = false;         // Day-of-month is `?`
    bool dow_free = false;         // Day-of-week is `?`
    std::optional<int> dom_last;   // `L` (0) or `L-n` (n)
    std::vector<int> dow_last;     // `nL`
    std::vector<std::pair<int, int>> dow_nth;  // `n#k`: (weekday, k)
  };

 private:
  Schedule() = default;

  std::string expression_;
  std::string time_zone_;
  int64_t rate_micros_ = 0;
  util::TimeMicros anchor_ = 0;
  Cron cron_;
};

// The time zone named by an IANA name exists in the system's tzdata: OK, or kInvalidArgument
// naming `field`.
util::Status CheckTimeZone(std::string_view time_zone, std::string_view field = "timeZone");

// `t` as local time in `time_zone` ("2026-03-29T03:00:00+02:00"), for messages and listings.
std::string FormatLocal(util::TimeMicros t, std::string_view time_zone);

}  // namespace mlvault::control
