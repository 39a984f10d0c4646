// Retention of a backup plan's backups: which to keep and which to expire, and the rule that
// decided each. A pure function of the rules, the backups and the time: no catalog, no clock.
//
// The rules (any combination; docs/plans.md):
//   keep_last N          the N newest succeeded backups
//   hourly/daily/weekly/monthly/yearly N
//                        "grandfather-father-son": the newest backup of each of the N newest
//                        hours/days/ISO weeks/months/years that have a backup, periods read in
//                        the plan's time zone
//   max_age_days D       a backup older than D days is expired, whatever the keep rules say
// A backup is decided by the first that applies of:
//   1. a legal hold keeps it                      rule "legal-hold"
//   2. a vault lock keeps it                      rule "vault-lock"
//   3. the newest succeeded backup of its workspace is always kept
//                                                 rule "newest-succeeded"
//   4. older than its vault lock's maximum retention: expired
//                                                 rule "vault-lock-max"
//   5. older than max_age_days: expired           rule "max-age"
//   6. kept by keep_last, hourly, ..., yearly (the first of them, in that order)
//   7. no keep rule is set (max age only): kept   rule "max-age"
//   8. otherwise expired                          rule "not-kept"
// Only succeeded backups take part; others are never expired by retention (not returned).
//
// Thread-safe (pure).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/statuses.h"
#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

struct RetentionRules {
  std::optional<int64_t> keep_last;
  std::optional<int64_t> hourly;
  std::optional<int64_t> daily;
  std::optional<int64_t> weekly;
  std::optional<int64_t> monthly;
  std::optional<int64_t> yearly;
  std::optional<int64_t> max_age_days;

  bool empty() const {
    return !keep_last && !hourly && !daily && !weekly && !monthly && !yearly && !max_age_days;
  }
  bool has_keep_rule() const { return keep_last || hourly || daily || weekly || monthly || yearly; }
};

// OK, or kInvalidArgument naming the request field (keepLast, keepHourly, ..., maxAgeDays) of a
// count below 1 or above 100000.
util::Status CheckRetentionRules(const RetentionRules& rules);

struct RetentionCandidate {
  std::string backup_id;
  std::string workspace_id;
  util::TimeMicros created_at = 0;
  catalog::BackupStatus status = catalog::BackupStatus::kSucceeded;  // only succeeded take part
  bool newest_succeeded = false;  // the newest succeeded backup of the workspace (of ANY origin)
  std::optional<std::string> legal_hold;  // the hold's reason, when held
  std::optional<std::string> vault_lock;  // why the vault lock keeps it, when locked
  // The workspace's vault lock's maximum retention (--max-retention-days), when it has one.
  std::optional<int64_t> max_retention_days;
};

struct RetentionDecision {
  std::string backup_id;
  bool keep = true;
  std::string rule;    // "legal-hold", "vault-lock", "newest-succeeded", "vault-lock-max",
                       // "max-age", "keep-last",
                       // "hourly", "daily", "weekly", "monthly", "yearly", "not-kept"
  std::string reason;  // a sentence: "the newest of day 2026-01-05 (daily 7)"
};

// Decides every succeeded candidate, newest first. `time_zone` (IANA; empty = UTC) is where the
// GFS periods begin; an unknown zone is kInvalidArgument (field timeZone).
util::Result<std::vector<RetentionDecision>> ApplyRetention(
    const RetentionRules& rules, const std::vector<RetentionCandidate>& backups,
    util::TimeMicros now, const std::string& time_zone);

}  // namespace mlvault::control
