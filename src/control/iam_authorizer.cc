#include "control/iam_authorizer.h"

#include <algorithm>

#include "control/iam_store.h"
#include "control/roles.h"
#include "iam/catalog.h"
#include "iam/evaluator.h"
#include "iam/pattern.h"
#include "util/log.h"
#include "util/random.h"

namespace mlvault::control {

namespace {

std::string DescribeStatement(const iam::StatementRef& s) {
  std::string out = "statement " + std::to_string(s.index);
  if (!s.sid.empty()) out += " (Sid \"" + s.sid + "\")";
  return out + " of policy '" + s.policy + "'";
}

class IamAuthorizer : public Authorizer {
 public:
  IamAuthorizer(catalog::Db& db, const util::Clock& clock) : db_(db), clock_(clock) {}

  util::Status Authorize(const Caller& caller, const AuthzRequest& request) override {
    util::Status st = Decide(caller, request);
    if (!st && st.error().code() == util::ErrorCode::kPermissionDenied)
      Audit(caller, request.action, request.resource, st, {});
    return st;
  }

  util::Status Check(const Caller& caller, const AuthzRequest& request) override {
    return Decide(caller, request);
  }

  void Audit(const Caller& caller, std::string_view action, std::string_view resource,
             const util::Status& outcome, std::string_view detail) override {
    util::Status st =
        AppendAuditEvent(db_, MakeAuditEvent(caller, action, resource, outcome, detail), clock_);
    if (!st)
      util::Log(util::LogLevel::kError, "audit log: could not record {} on {} by {}: {}", action,
                resource, caller.principal_crn, st.error().message());
  }

 private:
  util::Status Decide(const Caller& caller, const AuthzRequest& request) {
    IamStore store(db_);
    const std::string who = "user '" + caller.principal_name + "' (" + caller.principal_crn + ")";
    if (request.needs_backup_entitlement) {
      bool held = MLV_TRY(store.HasEntitlement(caller.account_id, kBackupRestoreEntitlement));
      if (!held)
        return util::PermissionDenied(
            "account " + caller.account_id + " does not have the entitlement " +
            std::string(kBackupRestoreEntitlement) + ", which " + request.action +
            " requires; an administrator grants it with: mlvault grant-entitlement "
            "--entitlement-name " +
            std::string(kBackupRestoreEntitlement));
    }
    std::vector<std::string> resources = {request.resource};
    iam::RequestContext context;
    for (const auto& [key, values] : request.context) {
      if (key == kAlsoResourceKey)
        resources.insert(resources.end(), values.begin(), values.end());
      else
        context[key] = values;
    }
    for (const auto& r : resources) {
      std::string account = CrnAccount(r);
      if (r != "*" && account != caller.account_id)
        return util::PermissionDenied(
            who + " is not allowed to perform " + request.action + " on " + r +
            ": the resource belongs to " +
            (account.empty() ? "no account (not a CRN)" : "another account"));
    }
    const util::TimeMicros now = clock_.Now();
    context["mlvault:PrincipalCrn"] = {caller.principal_crn};
    context["mlvault:UserName"] = {caller.principal_name};
    context["mlvault:PrincipalAccount"] = {caller.account_id};
    context["mlvault:SourceIp"] = {caller.source_ip};
    context["mlvault:RequestSource"] = {caller.source};
    context["mlvault:SecureTransport"] = {caller.secure_transport ? "true" : "false"};
    context["mlvault:CurrentTime"] = {util::FormatTime(now)};
    context["mlvault:EpochTime"] = {std::to_string(now / 1'000'000)};

    std::vector<iam::NamedPolicy> policies;
    // A role (a backup plan acting as one: docs/plans.md) has its own attached policies.
    auto rows = IsRoleCrn(caller.principal_crn) ? MLV_TRY(PoliciesOfRole(db_, caller.principal_crn))
                                                : MLV_TRY(store.PoliciesOfUser(caller.principal_crn));
    for (const auto& row : rows) {
      auto parsed = iam::ParsePolicy(row.document);
      if (!parsed)
        return util::Internal("stored policy '" + row.name +
                              "' no longer parses: " + parsed.error().ToString());
      policies.push_back({row.name, std::move(parsed->policy)});
    }
    for (const auto& r : resources) {
      iam::Decision d = iam::Evaluate(policies, iam::Request{request.action, r, context});
      if (d.allowed()) continue;
      std::string why = d.outcome == iam::Outcome::kExplicitDeny
                            ? "explicitly denied by " + DescribeStatement(*d.deciding)
                        : policies.empty() ? "the user has no policies attached (default deny)"
                                           : "no attached policy allows it (default deny)";
      return util::PermissionDenied(who + " is not allowed to perform " + request.action + " on " +
                                    r + ": " + why);
    }
    return util::Ok();
  }

  catalog::Db& db_;
  const util::Clock& clock_;
};

}  // namespace

std::unique_ptr<Authorizer> MakeIamAuthorizer(catalog::Db& db, const util::Clock& clock) {
  return std::make_unique<IamAuthorizer>(db, clock);
}

AuditEvent MakeAuditEvent(const Caller& caller, std::string_view action, std::string_view resource,
                          const util::Status& outcome, std::string_view detail) {
  AuditEvent e;
  e.account_id = caller.account_id;
  e.principal_crn = caller.principal_crn;
  e.principal_name = caller.principal_name;
  e.action = action;
  e.resource = resource;
  e.source = caller.source == "api" && caller.secure_transport ? "api+tls" : caller.source;
  e.source_ip = caller.source_ip;
  if (outcome) {
    e.outcome = "succeeded";
  } else {
    e.outcome = outcome.error().code() == util::ErrorCode::kPermissionDenied ? "denied" : "failed";
    e.error_code = util::CodeName(outcome.error().code());
    e.detail = outcome.error().message();
  }
  if (!detail.empty()) e.detail = detail;
  return e;
}

util::Status AppendAuditEvent(catalog::Db& db, AuditEvent e, const util::Clock& clock) {
  if (e.event_id.empty()) e.event_id = util::NewUuid();
  if (e.time == 0) e.time = clock.Now();
  if (e.outcome != "succeeded" && e.outcome != "failed" && e.outcome != "denied")
    return util::Internal("audit event outcome must be succeeded, failed or denied, not '" +
                          e.outcome + "'");
  MLV_TRY(
      db.Exec("INSERT INTO audit_events (event_id, account_id, time, time_micros, principal_crn, "
              "principal_name, action, "
              "resource, outcome, error_code, detail, source, source_ip) VALUES (?, ?, ?, ?, ?, ?, "
              "?, ?, ?, ?, ?, ?, ?)",
              {e.event_id, e.account_id, util::FormatTime(e.time), e.time, e.principal_crn,
               e.principal_name, e.action, e.resource, e.outcome, e.error_code, e.detail, e.source,
               e.source_ip}));
  return util::Ok();
}

util::Result<std::vector<AuditEvent>> ListAuditEvents(catalog::Db& db, const AuditFilter& f) {
  if (f.account_id.empty())
    return util::InvalidArgument("audit events are listed per account; none given");
  if (!f.outcome.empty() && f.outcome != "succeeded" && f.outcome != "failed" &&
      f.outcome != "denied")
    return util::InvalidArgument("--outcome must be succeeded, failed or denied, not '" +
                                 f.outcome + "'");
  if (f.limit <= 0) return util::InvalidArgument("the limit must be positive");
  std::string sql =
      "SELECT event_id, time_micros, account_id, principal_crn, principal_name, action, resource, "
      "outcome, error_code, "
      "detail, source, source_ip FROM audit_events WHERE account_id = ?";
  std::vector<catalog::Value> params;
  params.emplace_back(std::in_place_type<std::string>, f.account_id);
  if (!f.principal.empty()) {
    sql += " AND (principal_crn = ? OR principal_name = ?)";
    params.emplace_back(std::in_place_type<std::string>, f.principal);
    params.emplace_back(std::in_place_type<std::string>, f.principal);
  }
  if (f.since) {
    sql += " AND time_micros >= ?";
    params.emplace_back(std::in_place_type<int64_t>, *f.since);
  }
  if (!f.outcome.empty()) {
    sql += " AND outcome = ?";
    params.emplace_back(std::in_place_type<std::string>, f.outcome);
  }
  const bool pattern = f.action.find_first_of("*?") != std::string::npos;
  if (!f.action.empty() && !pattern) {
    sql += " AND lower(action) = ?";
    params.emplace_back(std::in_place_type<std::string>, iam::AsciiLower(f.action));
  }
  sql += " ORDER BY seq DESC";
  if (!pattern) {
    sql += " LIMIT ?";
    params.emplace_back(std::in_place_type<int64_t>, f.limit);
  }
  auto rows = MLV_TRY(db.Query(sql, params));
  std::vector<AuditEvent> out;
  for (const auto& r : rows) {
    if (static_cast<int64_t>(out.size()) >= f.limit) break;
    AuditEvent e{r.Text(0), r.Int(1),  r.Text(2), r.Text(3), r.Text(4),  r.Text(5),
                 r.Text(6), r.Text(7), r.Text(8), r.Text(9), r.Text(10), r.Text(11)};
    if (pattern && !iam::WildcardMatch(f.action, e.action, true)) continue;
    out.push_back(std::move(e));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace mlvault::control
