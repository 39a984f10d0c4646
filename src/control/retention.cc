#include "control/retention.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "control/schedule.h"

namespace mlvault::control {
namespace {

constexpr int64_t kMaxCount = 100000;
constexpr int64_t kMicrosPerDay = 86'400'000'000;

struct Period {
  const char* rule;
  std::optional<int64_t> RetentionRules::*count;
};
constexpr Period kPeriods[] = {
    {"hourly", &RetentionRules::hourly},   {"daily", &RetentionRules::daily},
    {"weekly", &RetentionRules::weekly},   {"monthly", &RetentionRules::monthly},
    {"yearly", &RetentionRules::yearly},
};

std::string Two(int64_t v) {
  char b[8];
  std::snprintf(b, sizeof b, "%02d", static_cast<int>(v));
  return b;
}

// The period of `t` of the given kind, as a label: "2026-01-05T03h", "2026-01-05",
// "week of 2026-01-05", "2026-01", "2026".
std::string PeriodOf(const char* rule, const cctz::civil_second& c) {
  std::string rule_s = rule;
  std::string day = std::to_string(c.year()) + "-" + Two(c.month()) + "-" + Two(c.day());
  if (rule_s == "hourly") return day + " " + Two(c.hour()) + ":00";
  if (rule_s == "daily") return day;
  if (rule_s == "weekly") {
    cctz::civil_day d(c);
    // ISO weeks begin on Monday.
    cctz::civil_day monday = cctz::get_weekday(d) == cctz::weekday::monday
                                 ? d
                                 : cctz::prev_weekday(d, cctz::weekday::monday);
    return "week of " + std::to_string(monday.year()) + "-" + Two(monday.month()) + "-" +
           Two(monday.day());
  }
  if (rule_s == "monthly") return std::to_string(c.year()) + "-" + Two(c.month());
  return std::to_string(c.year());
}

// "keep-last 3, daily 7": the keep rules that are set.
std::string KeepRules(const RetentionRules& r) {
  std::string out;
  auto add = [&](const char* name, const std::optional<int64_t>& v) {
    if (!v) return;
    if (!out.empty()) out += ", ";
    out += std::string(name) + " " + std::to_string(*v);
  };
  add("keep-last", r.keep_last);
  for (const auto& p : kPeriods) add(p.rule, r.*(p.count));
  return out;
}

}  // namespace

util::Status CheckRetentionRules(const RetentionRules& r) {
  auto check = [](const std::optional<int64_t>& v, const char* field) -> util::Status {
    if (v && (*v < 1 || *v > kMaxCount))
      return util::InvalidField(field,
                                "must be between 1 and " + std::to_string(kMaxCount) + ", got " +
                                    std::to_string(*v));
    return util::Ok();
  };
  MLV_TRY(check(r.keep_last, "keepLast"));
  MLV_TRY(check(r.hourly, "keepHourly"));
  MLV_TRY(check(r.daily, "keepDaily"));
  MLV_TRY(check(r.weekly, "keepWeekly"));
  MLV_TRY(check(r.monthly, "keepMonthly"));
  MLV_TRY(check(r.yearly, "keepYearly"));
  MLV_TRY(check(r.max_age_days, "maxAgeDays"));
  return util::Ok();
}

util::Result<std::vector<RetentionDecision>> ApplyRetention(
    const RetentionRules& rules, const std::vector<RetentionCandidate>& backups,
    util::TimeMicros now, const std::string& time_zone) {
  MLV_TRY(CheckRetentionRules(rules));
  MLV_TRY(CheckTimeZone(time_zone));
  cctz::time_zone tz = cctz::utc_time_zone();
  if (!time_zone.empty() && time_zone != "UTC") cctz::load_time_zone(time_zone, &tz);

  std::vector<const RetentionCandidate*> ok;
  for (const auto& b : backups)
    if (b.status == catalog::BackupStatus::kSucceeded) ok.push_back(&b);
  std::stable_sort(ok.begin(), ok.end(), [](const auto* a, const auto* b) {
    return a->created_at > b->created_at;  // newest first
  });

  // The keep rules, per workspace: backup id -> (rule, reason) of the first rule keeping it.
  std::map<std::string, std::pair<std::string, std::string>> kept;
  std::map<std::string, std::vector<const RetentionCandidate*>> by_ws;
  for (const auto* b : ok) by_ws[b->workspace_id].push_back(b);
  for (const auto& [ws, list] : by_ws) {
    (void)ws;
    if (rules.keep_last)
      for (size_t i = 0; i < list.size() && static_cast<int64_t>(i) < *rules.keep_last; ++i)
        kept.try_emplace(list[i]->backup_id, "keep-last",
                         "one of the " + std::to_string(*rules.keep_last) +
                             " newest (keep-last " + std::to_string(*rules.keep_last) + ")");
    for (const auto& p : kPeriods) {
      const auto& n = rules.*(p.count);
      if (!n) continue;
      std::set<std::string> periods;
      for (const auto* b : list) {
        if (static_cast<int64_t>(periods.size()) >= *n) break;
        auto secs = cctz::time_point<cctz::seconds>(cctz::seconds(b->created_at / 1'000'000));
        std::string period = PeriodOf(p.rule, cctz::convert(secs, tz));
        if (!periods.insert(period).second) continue;  // a newer backup holds this period
        kept.try_emplace(b->backup_id, p.rule,
                         "the newest of " + period + " (" + p.rule + " " + std::to_string(*n) +
                             ")");
      }
    }
  }

  std::vector<RetentionDecision> out;
  for (const auto* b : ok) {
    RetentionDecision d;
    d.backup_id = b->backup_id;
    int64_t age_days = (now - b->created_at) / kMicrosPerDay;
    if (b->legal_hold) {
      d = {b->backup_id, true, "legal-hold", "under legal hold: " + *b->legal_hold};
    } else if (b->vault_lock) {
      d = {b->backup_id, true, "vault-lock", *b->vault_lock};
    } else if (b->newest_succeeded) {
      d = {b->backup_id, true, "newest-succeeded",
           "the newest succeeded backup of its workspace is always kept"};
    } else if (b->max_retention_days &&
               now - b->created_at > *b->max_retention_days * kMicrosPerDay) {
      d = {b->backup_id, false, "vault-lock-max",
           "older than the vault lock's maximum retention of " +
               std::to_string(*b->max_retention_days) + " days (" + std::to_string(age_days) +
               " days old)"};
    } else if (rules.max_age_days && now - b->created_at > *rules.max_age_days * kMicrosPerDay) {
      d = {b->backup_id, false, "max-age",
           "older than " + std::to_string(*rules.max_age_days) + " days (" +
               std::to_string(age_days) + " days old)"};
    } else if (auto it = kept.find(b->backup_id); it != kept.end()) {
      d = {b->backup_id, true, it->second.first, it->second.second};
    } else if (!rules.has_keep_rule()) {
      d = {b->backup_id, true, "max-age",
           rules.max_age_days
               ? "younger than " + std::to_string(*rules.max_age_days) + " days"
               : std::string("the plan has no retention rules: every backup is kept")};
    } else {
      d = {b->backup_id, false, "not-kept", "not kept by " + KeepRules(rules)};
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace mlvault::control
