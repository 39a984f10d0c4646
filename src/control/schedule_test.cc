#include "control/schedule.h"

#include <gtest/gtest.h>

namespace mlvault::control {
namespace {

util::TimeMicros T(const char* rfc3339) {
  auto t = util::ParseTime(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(0);
}

std::string Next(const Schedule& s, const char* after) {
  auto n = s.NextAfter(T(after));
  return n ? util::FormatTime(*n) : "none";
}

Schedule P(const char* expr, const char* tz = "UTC", util::TimeMicros anchor = 0) {
  auto s = Schedule::Parse(expr, tz, anchor);
  EXPECT_TRUE(s.has_value()) << expr << ": " << (s ? "" : s.error().message());
  return s ? *s : *Schedule::Parse("rate(1 day)", "UTC");
}

std::string ParseError(const char* expr, const char* tz = "UTC") {
  auto s = Schedule::Parse(expr, tz);
  return s ? "parsed" : s.error().message();
}

TEST(ScheduleTest, DailyUtc) {
  Schedule s = P("cron(0 3 * * ? *)");
  EXPECT_EQ(Next(s, "2026-01-10T02:59:59Z"), "2026-01-10T03:00:00.000000+00:00");
  EXPECT_EQ(Next(s, "2026-01-10T03:00:00Z"), "2026-01-11T03:00:00.000000+00:00");
  EXPECT_EQ(Next(s, "2026-12-31T04:00:00Z"), "2027-01-01T03:00:00.000000+00:00");
}

TEST(ScheduleTest, TimeZoneFollowsDaylightSaving) {
  Schedule s = P("cron(0 3 * * ? *)", "Europe/Berlin");
  // Winter: CET = UTC+1; summer: CEST = UTC+2.
  EXPECT_EQ(Next(s, "2026-01-10T00:00:00Z"), "2026-01-10T02:00:00.000000+00:00");
  EXPECT_EQ(Next(s, "2026-07-10T00:00:00Z"), "2026-07-10T01:00:00.000000+00:00");
  Schedule ny = P("cron(0 9 ? * MON-FRI *)", "America/New_York");
  // 2026-03-06 is a Friday (EST, UTC-5); clocks go forward on Sunday 2026-03-08.
  EXPECT_EQ(Next(ny, "2026-03-06T15:00:00Z"), "2026-03-09T13:00:00.000000+00:00");
  EXPECT_EQ(Next(ny, "2026-03-05T15:00:00Z"), "2026-03-06T14:00:00.000000+00:00");
}

TEST(ScheduleTest, SkippedLocalTimeRunsWhenTheGapEnds) {
  // Europe/Berlin goes from 02:00 CET to 03:00 CEST on 2026-03-29: 02:30 does not exist.
  Schedule s = P("cron(30 2 * * ? *)", "Europe/Berlin");
  EXPECT_EQ(Next(s, "2026-03-28T00:00:00Z"), "2026-03-28T01:30:00.000000+00:00");  // 02:30 CET
  EXPECT_EQ(Next(s, "2026-03-28T01:30:00Z"), "2026-03-29T01:00:00.000000+00:00");  // 03:00 CEST
  EXPECT_EQ(Next(s, "2026-03-29T01:00:00Z"), "2026-03-30T00:30:00.000000+00:00");  // 02:30 CEST
  // Every 15 minutes in the skipped hour: one slot at the end of the gap, then 03:00 is the same
  // instant (one slot, not two).
  Schedule q = P("cron(*/15 2-3 * * ? *)", "Europe/Berlin");
  EXPECT_EQ(Next(q, "2026-03-29T00:50:00Z"), "2026-03-29T01:00:00.000000+00:00");
  EXPECT_EQ(Next(q, "2026-03-29T01:00:00Z"), "2026-03-29T01:15:00.000000+00:00");
}

TEST(ScheduleTest, RepeatedLocalTimeRunsOnce) {
  // Europe/Berlin goes from 03:00 CEST back to 02:00 CET on 2026-10-25: 02:30 happens twice.
  Schedule s = P("cron(30 2 * * ? *)", "Europe/Berlin");
  EXPECT_EQ(Next(s, "2026-10-24T12:00:00Z"), "2026-10-25T00:30:00.000000+00:00");  // first
  EXPECT_EQ(Next(s, "2026-10-25T00:30:00Z"), "2026-10-26T01:30:00.000000+00:00");  // next day
  // Hourly: 02:00 runs at its first occurrence only.
  Schedule h = P("cron(0 * * * ? *)", "Europe/Berlin");
  EXPECT_EQ(Next(h, "2026-10-24T23:30:00Z"), "2026-10-25T00:00:00.000000+00:00");  // 02:00 CEST
  EXPECT_EQ(Next(h, "2026-10-25T00:00:00Z"), "2026-10-25T02:00:00.000000+00:00");  // 03:00 CET
  // The latest slot at 02:45 CET (second pass) is 02:30 CEST (the first).
  auto l = s.LatestAtOrBefore(T("2026-10-25T01:45:00Z"), 0);
  ASSERT_TRUE(l);
  EXPECT_EQ(util::FormatTime(*l), "2026-10-25T00:30:00.000000+00:00");
}

TEST(ScheduleTest, MonthEndsAndLeapYears) {
  Schedule last = P("cron(0 0 L * ? *)");
  EXPECT_EQ(Next(last, "2026-02-01T00:00:00Z"), "2026-02-28T00:00:00.000000+00:00");
  EXPECT_EQ(Next(last, "2028-02-01T00:00:00Z"), "2028-02-29T00:00:00.000000+00:00");
  EXPECT_EQ(Next(last, "2026-04-01T00:00:00Z"), "2026-04-30T00:00:00.000000+00:00");
  Schedule before_last = P("cron(0 0 L-2 * ? *)");
  EXPECT_EQ(Next(before_last, "2026-02-01T00:00:00Z"), "2026-02-26T00:00:00.000000+00:00");
  Schedule d31 = P("cron(0 0 31 * ? *)");
  EXPECT_EQ(Next(d31, "2026-04-01T00:00:00Z"), "2026-05-31T00:00:00.000000+00:00");
  Schedule leap = P("cron(0 12 29 FEB ? *)");
  EXPECT_EQ(Next(leap, "2024-03-01T00:00:00Z"), "2028-02-29T12:00:00.000000+00:00");
  EXPECT_EQ(Next(leap, "2096-03-01T00:00:00Z"), "2104-02-29T12:00:00.000000+00:00");  // 2100 is not
}

TEST(ScheduleTest, WeekdayForms) {
  Schedule last_friday = P("cron(0 18 ? * 6L *)");
  EXPECT_EQ(Next(last_friday, "2026-01-01T00:00:00Z"), "2026-01-30T18:00:00.000000+00:00");
  Schedule first_monday = P("cron(0 8 ? * 2#1 *)");
  EXPECT_EQ(Next(first_monday, "2026-01-06T00:00:00Z"), "2026-02-02T08:00:00.000000+00:00");
  Schedule saturday = P("cron(0 8 ? * L *)");
  EXPECT_EQ(Next(saturday, "2026-01-01T00:00:00Z"), "2026-01-03T08:00:00.000000+00:00");
  Schedule weekend = P("cron(0 8 ? * SAT,SUN *)");
  EXPECT_EQ(Next(weekend, "2026-01-03T08:00:00Z"), "2026-01-04T08:00:00.000000+00:00");
}

TEST(ScheduleTest, StepsListsAndYears) {
  Schedule q = P("cron(*/15 * * * ? *)");
  EXPECT_EQ(Next(q, "2026-01-01T00:14:00Z"), "2026-01-01T00:15:00.000000+00:00");
  Schedule s = P("cron(5/20 1,13 * JAN-MAR ? *)");
  EXPECT_EQ(Next(s, "2026-01-01T01:25:00Z"), "2026-01-01T01:45:00.000000+00:00");
  EXPECT_EQ(Next(s, "2026-01-01T01:45:00Z"), "2026-01-01T13:05:00.000000+00:00");
  EXPECT_EQ(Next(s, "2026-03-31T13:45:00Z"), "2027-01-01T01:05:00.000000+00:00");
  Schedule once = P("cron(0 0 1 1 ? 2030)");
  EXPECT_EQ(Next(once, "2026-06-01T00:00:00Z"), "2030-01-01T00:00:00.000000+00:00");
  EXPECT_EQ(Next(once, "2030-01-01T00:00:00Z"), "none");
}

TEST(ScheduleTest, Rate) {
  util::TimeMicros anchor = T("2026-01-01T10:07:00Z");
  Schedule r = P("rate(6 hours)", "Europe/Berlin", anchor);
  EXPECT_EQ(Next(r, "2026-01-01T10:07:00Z"), "2026-01-01T16:07:00.000000+00:00");
  EXPECT_EQ(Next(r, "2026-01-02T04:07:00Z"), "2026-01-02T10:07:00.000000+00:00");
  EXPECT_EQ(Next(r, "2025-01-01T00:00:00Z"), "2026-01-01T16:07:00.000000+00:00");
  auto l = r.LatestAtOrBefore(T("2026-01-03T00:00:00Z"), 0);
  ASSERT_TRUE(l);
  EXPECT_EQ(util::FormatTime(*l), "2026-01-02T22:07:00.000000+00:00");
  EXPECT_FALSE(r.LatestAtOrBefore(T("2026-01-01T12:00:00Z"), 0));
  EXPECT_EQ(P("rate(1 day)", "UTC", anchor).rate_micros(), 86'400'000'000);
  EXPECT_EQ(P("rate(90 minutes)", "UTC", anchor).rate_micros(), 5'400'000'000);
}

TEST(ScheduleTest, LatestAgreesWithNext) {
  // Over a year of Berlin time, including both DST changes: the latest slot at or before each
  // slot is itself, and just before it is the previous slot.
  for (const char* expr : {"cron(30 2 * * ? *)", "cron(0 */5 * * ? *)", "cron(0 0 L * ? *)"}) {
    Schedule s = P(expr, "Europe/Berlin");
    util::TimeMicros prev = 0;
    auto t = s.NextAfter(T("2026-01-01T00:00:00Z"));
    for (int i = 0; i < 400 && t && *t < T("2027-01-01T00:00:00Z"); ++i) {
      EXPECT_EQ(s.LatestAtOrBefore(*t, 0), t) << expr << " " << util::FormatTime(*t);
      if (prev) EXPECT_EQ(s.LatestAtOrBefore(*t - 1, 0), prev) << expr;
      prev = *t;
      t = s.NextAfter(*t);
    }
  }
  // not_before bounds the answer.
  Schedule d = P("cron(0 3 * * ? *)");
  EXPECT_FALSE(d.LatestAtOrBefore(T("2026-01-10T04:00:00Z"), T("2026-01-10T03:30:00Z")));
}

TEST(ScheduleTest, Errors) {
  EXPECT_EQ(ParseError("cron(0 3 * * *)"),
            "schedule: cron(...) takes 6 fields (Minutes Hours Day-of-month Month Day-of-week "
            "Year), got 5; e.g. cron(0 3 * * ? *) is every day at 03:00");
  EXPECT_EQ(ParseError("cron(0 24 * * ? *)"), "schedule: cron field 2 (Hours): 24 is outside 0-23");
  EXPECT_EQ(ParseError("cron(0 3 * * * *)"),
            "schedule: one of Day-of-month and Day-of-week must be ? (e.g. cron(0 3 * * ? *) or "
            "cron(0 3 ? * MON-FRI *))");
  EXPECT_EQ(ParseError("cron(0 3 ? * ? *)"),
            "schedule: Day-of-month and Day-of-week cannot both be ?: give one of them");
  EXPECT_EQ(ParseError("cron(0 3 15W * ? *)"),
            "schedule: cron field 3 (Day-of-month): W (nearest weekday) is not supported");
  EXPECT_EQ(ParseError("cron(0 3 ? FOO * *)"),
            "schedule: cron field 4 (Month): \"FOO\" is not a number or a name");
  EXPECT_EQ(ParseError("cron(50-10 3 * * ? *)"),
            "schedule: cron field 1 (Minutes): range \"50-10\" starts after it ends (write it as "
            "two ranges)");
  EXPECT_EQ(ParseError("cron(*/0 3 * * ? *)"),
            "schedule: cron field 1 (Minutes): step \"0\" must be a positive number");
  EXPECT_EQ(ParseError("rate(6 weeks)"), "schedule: rate unit \"weeks\" is not minutes, hours or days");
  EXPECT_EQ(ParseError("rate(0 hours)"),
            "schedule: rate(...) takes a positive number and a unit, e.g. rate(6 hours); got "
            "\"rate(0 hours)\"");
  EXPECT_EQ(ParseError("daily"),
            "schedule: \"daily\" is neither cron(...) nor rate(...); e.g. cron(0 3 * * ? *) or "
            "rate(6 hours)");
  std::string tz = ParseError("cron(0 3 * * ? *)", "Mars/Olympus_Mons");
  EXPECT_EQ(tz.rfind("timeZone: unknown time zone \"Mars/Olympus_Mons\"", 0), 0u) << tz;
  EXPECT_NE(ParseError("cron(0 3 * * ? *)", "../../etc/passwd"), "parsed");
  auto e = Schedule::Parse("cron(0 99 * * ? *)", "UTC");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().field(), "schedule");
  EXPECT_EQ(e.error().code(), util::ErrorCode::kInvalidArgument);
}

TEST(ScheduleTest, FormatLocal) {
  EXPECT_EQ(FormatLocal(T("2026-07-01T01:00:00Z"), "Europe/Berlin"), "2026-07-01T03:00:00+02:00");
  EXPECT_EQ(FormatLocal(T("2026-01-01T01:00:00Z"), "UTC"), "2026-01-01T01:00:00+00:00");
}

}  // namespace
}  // namespace mlvault::control
