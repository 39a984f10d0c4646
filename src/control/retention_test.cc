#include "control/retention.h"

#include <gtest/gtest.h>

#include <map>

namespace mlvault::control {
namespace {

util::TimeMicros T(const std::string& rfc3339) {
  auto t = util::ParseTime(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(0);
}

RetentionCandidate B(std::string id, const std::string& at, std::string ws = "w1",
                     std::string status = "succeeded") {
  RetentionCandidate c;
  c.backup_id = std::move(id);
  c.workspace_id = std::move(ws);
  c.created_at = T(at);
  c.status = catalog::ParseBackupStatus(status).value();
  return c;
}

// id -> "keep <rule>" / "expire <rule>", for compact table assertions.
std::map<std::string, std::string> Decide(const RetentionRules& rules,
                                          const std::vector<RetentionCandidate>& backups,
                                          const std::string& now, const std::string& tz = "UTC") {
  auto r = ApplyRetention(rules, backups, T(now), tz);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  std::map<std::string, std::string> out;
  if (r)
    for (const auto& d : *r) out[d.backup_id] = (d.keep ? "keep " : "expire ") + d.rule;
  return out;
}

using Table = std::map<std::string, std::string>;

TEST(RetentionTest, KeepLast) {
  std::vector<RetentionCandidate> b;
  for (int i = 1; i <= 6; ++i) b.push_back(B("b" + std::to_string(i), "2026-01-0" + std::to_string(i) + "T03:00:00Z"));
  b[5].newest_succeeded = true;
  RetentionRules r;
  r.keep_last = 3;
  EXPECT_EQ(Decide(r, b, "2026-01-07T00:00:00Z"),
            (Table{{"b6", "keep newest-succeeded"}, {"b5", "keep keep-last"}, {"b4", "keep keep-last"},
                   {"b3", "expire not-kept"}, {"b2", "expire not-kept"}, {"b1", "expire not-kept"}}));
}

TEST(RetentionTest, DailyKeepsTheNewestOfEachDay) {
  std::vector<RetentionCandidate> b = {
      B("mon-a", "2026-01-05T01:00:00Z"), B("mon-b", "2026-01-05T13:00:00Z"),
      B("tue-a", "2026-01-06T01:00:00Z"), B("tue-b", "2026-01-06T13:00:00Z"),
      B("wed-a", "2026-01-07T01:00:00Z"), B("wed-b", "2026-01-07T13:00:00Z"),
  };
  RetentionRules r;
  r.daily = 2;
  EXPECT_EQ(Decide(r, b, "2026-01-08T00:00:00Z"),
            (Table{{"wed-b", "keep daily"}, {"wed-a", "expire not-kept"}, {"tue-b", "keep daily"},
                   {"tue-a", "expire not-kept"}, {"mon-b", "expire not-kept"},
                   {"mon-a", "expire not-kept"}}));
}

TEST(RetentionTest, GrandfatherFatherSon) {
  // One backup a day at 03:00 UTC from 2025-11-01 to 2026-01-20 (81 days).
  std::vector<RetentionCandidate> b;
  util::TimeMicros t = T("2025-11-01T03:00:00Z");
  for (int i = 0; i < 81; ++i, t += 86'400'000'000) {
    RetentionCandidate c;
    c.backup_id = util::FormatTime(t).substr(0, 10);
    c.workspace_id = "w1";
    c.created_at = t;
    c.status = catalog::BackupStatus::kSucceeded;
    b.push_back(c);
  }
  b.back().newest_succeeded = true;
  RetentionRules r;
  r.daily = 3;
  r.weekly = 3;
  r.monthly = 3;
  r.yearly = 2;
  auto d = Decide(r, b, "2026-01-21T00:00:00Z");
  Table kept;
  for (const auto& [id, what] : d)
    if (what.starts_with("keep")) kept[id] = what;
  // 2026-01-20 is a Tuesday: weeks of 01-19 and 01-12 are held by 01-20 and 01-18 already, the
  // third week (of 01-05) by Sunday 01-11.
  EXPECT_EQ(kept, (Table{{"2026-01-20", "keep newest-succeeded"},
                         {"2026-01-19", "keep daily"},
                         {"2026-01-18", "keep daily"},
                         {"2026-01-11", "keep weekly"},
                         {"2025-12-31", "keep monthly"},
                         {"2025-11-30", "keep monthly"}}));
  // 2026-01-20 also holds day, week, month and year 2026; 2025-12-31 is the year 2025's newest.
  EXPECT_EQ(d.size(), 81u);
  EXPECT_EQ(d["2026-01-10"], "expire not-kept");
  auto full = ApplyRetention(r, b, T("2026-01-21T00:00:00Z"), "UTC");
  ASSERT_TRUE(full);
  for (const auto& x : *full)
    if (x.backup_id == "2025-11-30") EXPECT_EQ(x.reason, "the newest of 2025-11 (monthly 3)");
    else if (x.backup_id == "2026-01-10")
      EXPECT_EQ(x.reason, "not kept by daily 3, weekly 3, monthly 3, yearly 2");
}

TEST(RetentionTest, PeriodsAreReadInThePlansTimeZone) {
  // 23:30 UTC and 00:30 UTC the next day are the same day in Berlin (00:30 and 01:30 CET).
  std::vector<RetentionCandidate> b = {B("late", "2026-01-05T23:30:00Z"),
                                       B("early", "2026-01-06T00:30:00Z")};
  RetentionRules r;
  r.daily = 5;
  EXPECT_EQ(Decide(r, b, "2026-01-07T00:00:00Z", "UTC"),
            (Table{{"late", "keep daily"}, {"early", "keep daily"}}));
  EXPECT_EQ(Decide(r, b, "2026-01-07T00:00:00Z", "Europe/Berlin"),
            (Table{{"late", "expire not-kept"}, {"early", "keep daily"}}));
}

TEST(RetentionTest, MaxAgeAndTheNewestSucceeded) {
  std::vector<RetentionCandidate> b = {B("old", "2025-01-01T00:00:00Z"),
                                       B("older", "2024-12-01T00:00:00Z"),
                                       B("failed", "2025-12-01T00:00:00Z", "w1", "failed")};
  b[0].newest_succeeded = true;  // the newest succeeded of w1, even though it is old
  RetentionRules r;
  r.max_age_days = 30;
  r.keep_last = 5;
  EXPECT_EQ(Decide(r, b, "2026-01-01T00:00:00Z"),
            (Table{{"old", "keep newest-succeeded"}, {"older", "expire max-age"}}));
  // Max age alone keeps the young ones.
  RetentionRules age;
  age.max_age_days = 390;  // "older" is 396 days old
  EXPECT_EQ(Decide(age, b, "2026-01-01T00:00:00Z"),
            (Table{{"old", "keep newest-succeeded"}, {"older", "expire max-age"}}));
  age.max_age_days = 800;
  EXPECT_EQ(Decide(age, b, "2026-01-01T00:00:00Z"),
            (Table{{"old", "keep newest-succeeded"}, {"older", "keep max-age"}}));
}

TEST(RetentionTest, HeldAndLockedBackupsAreKept) {
  std::vector<RetentionCandidate> b = {B("new", "2026-01-05T00:00:00Z"),
                                       B("held", "2025-01-01T00:00:00Z"),
                                       B("locked", "2025-01-02T00:00:00Z"),
                                       B("plain", "2025-01-03T00:00:00Z")};
  b[0].newest_succeeded = true;
  b[1].legal_hold = "litigation 42";
  b[2].vault_lock = "vault lock (compliance) keeps it until 2026-06-01";
  RetentionRules r;
  r.keep_last = 1;
  r.max_age_days = 7;
  EXPECT_EQ(Decide(r, b, "2026-01-06T00:00:00Z"),
            (Table{{"new", "keep newest-succeeded"}, {"held", "keep legal-hold"},
                   {"locked", "keep vault-lock"}, {"plain", "expire max-age"}}));
}

// A vault lock's --max-retention-days expires what the keep rules would keep longer; a legal
// hold and the newest succeeded backup still win.
TEST(RetentionTest, TheVaultLocksMaximumRetentionExpiresOlderBackups) {
  std::vector<RetentionCandidate> b = {
      B("new", "2026-01-05T00:00:00Z"), B("young", "2025-12-01T00:00:00Z"),
      B("old", "2025-06-01T00:00:00Z"), B("old-held", "2025-05-01T00:00:00Z")};
  for (auto& c : b) c.max_retention_days = 100;
  b[0].newest_succeeded = true;
  b[3].legal_hold = "case 7";
  RetentionRules r;
  r.monthly = 24;  // would keep each of them for two years
  EXPECT_EQ(Decide(r, b, "2026-01-06T00:00:00Z"),
            (Table{{"new", "keep newest-succeeded"}, {"young", "keep monthly"},
                   {"old", "expire vault-lock-max"}, {"old-held", "keep legal-hold"}}));
  auto d = ApplyRetention(r, b, T("2026-01-06T00:00:00Z"), "UTC");
  ASSERT_TRUE(d);
  for (const auto& x : *d)
    if (x.backup_id == "old")
      EXPECT_EQ(x.reason, "older than the vault lock's maximum retention of 100 days (219 days old)");
}

TEST(RetentionTest, WorkspacesAreDecidedSeparately) {
  std::vector<RetentionCandidate> b = {
      B("a1", "2026-01-01T00:00:00Z", "wa"), B("a2", "2026-01-02T00:00:00Z", "wa"),
      B("b1", "2026-01-01T00:00:00Z", "wb"), B("b2", "2026-01-02T00:00:00Z", "wb")};
  RetentionRules r;
  r.keep_last = 1;
  EXPECT_EQ(Decide(r, b, "2026-01-03T00:00:00Z"),
            (Table{{"a2", "keep keep-last"}, {"a1", "expire not-kept"}, {"b2", "keep keep-last"},
                   {"b1", "expire not-kept"}}));
}

TEST(RetentionTest, NoRulesKeepEverything) {
  std::vector<RetentionCandidate> b = {B("x", "2020-01-01T00:00:00Z")};
  EXPECT_EQ(Decide(RetentionRules{}, b, "2026-01-01T00:00:00Z"), (Table{{"x", "keep max-age"}}));
}

TEST(RetentionTest, InvalidRules) {
  RetentionRules r;
  r.daily = 0;
  auto e = ApplyRetention(r, {}, 0, "UTC");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().field(), "keepDaily");
  EXPECT_EQ(e.error().message(), "keepDaily: must be between 1 and 100000, got 0");
  EXPECT_FALSE(ApplyRetention(RetentionRules{}, {}, 0, "Nowhere/Special"));
}

}  // namespace
}  // namespace mlvault::control
