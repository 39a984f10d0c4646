// assume-role and the authentication of role session keys (control/role_sessions.h).
#include "control/role_sessions.h"

#include "control/iam_ops.h"
#include "control/roles.h"
#include "sqlite/mapping.h"

namespace mlvault::control {

namespace {

constexpr int64_t kMinSessionSeconds = 900;
constexpr int64_t kMaxSessionSeconds = 43200;
constexpr int64_t kDefaultSessionSeconds = 3600;

struct SessionRow {
  std::string access_key_id;
  std::string account_id;
  std::string role_crn;
  std::string role_name;
  std::string session_name;
  std::string assumed_by_crn;
  std::string assumed_by_name;
  std::string verifier;
  util::TimeMicros created_at = 0;
  util::TimeMicros expires_at = 0;
};

using sqlite::Col;
const sqlite::Table<SessionRow> kSessions(
    "iam_role_sessions",
    {Col("access_key_id", &SessionRow::access_key_id), Col("account_id", &SessionRow::account_id),
     Col("role_crn", &SessionRow::role_crn), Col("role_name", &SessionRow::role_name),
     Col("session_name", &SessionRow::session_name),
     Col("assumed_by_crn", &SessionRow::assumed_by_crn),
     Col("assumed_by_name", &SessionRow::assumed_by_name), Col("verifier", &SessionRow::verifier),
     Col("created_at", &SessionRow::created_at), Col("expires_at", &SessionRow::expires_at)});

util::Result<std::optional<SessionRow>> FindSession(catalog::Db& db, std::string_view id) {
  if (!IsRoleSessionKeyId(id)) return std::optional<SessionRow>();
  auto rows =
      MLV_TRY(db.Query(kSessions.SelectSql() + "WHERE access_key_id = ?", {std::string(id)}));
  if (rows.empty()) return std::optional<SessionRow>();
  return std::optional<SessionRow>(kSessions.FromRow(rows[0]));
}

Caller CallerOf(const SessionRow& s) {
  Caller c;
  c.account_id = s.account_id;
  c.principal_crn = s.role_crn;
  c.principal_name = s.role_name + "/" + s.session_name + " (assumed by " + s.assumed_by_name + ")";
  c.source_ip = "127.0.0.1";
  c.source = "cli";
  return c;
}

// Why a session no longer works ("" while it does).
util::Result<std::string> Lapsed(catalog::Db& db, const SessionRow& s, util::TimeMicros now) {
  if (now >= s.expires_at)
    return "the temporary credentials " + s.access_key_id + " of role '" + s.role_name +
           "' (session '" + s.session_name + "') expired at " + util::FormatTime(s.expires_at) +
           "; assume the role again with: mlvault assume-role --role-name " + s.role_name +
           " --session-name " + s.session_name;
  if (!MLV_TRY(FindRoleByCrn(db, s.role_crn)))
    return "the temporary credentials " + s.access_key_id + " were for role '" + s.role_name +
           "', which was deleted";
  return std::string();
}

std::string CheckSessionName(std::string_view n) {
  if (n.size() < 2 || n.size() > 64) return "must be 2 to 64 characters";
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '=' || c == ',' || c == '.' ||
          c == '@' || c == '_' || c == '-'))
      return "may contain only letters, digits and = , . @ _ -";
  return "";
}

}  // namespace

bool IsRoleSessionKeyId(std::string_view id) {
  return id.size() == kRoleSessionKeyPrefix.size() + 16 && id.starts_with(kRoleSessionKeyPrefix);
}

util::Result<std::optional<Caller>> AuthenticateRoleSession(catalog::Db& db,
                                                            std::string_view access_key_id,
                                                            std::string_view private_key,
                                                            util::TimeMicros now) {
  auto s = MLV_TRY(FindSession(db, access_key_id));
  if (!s) return std::optional<Caller>();
  std::string why = MLV_TRY(Lapsed(db, *s, now));
  if (why.empty() && !VerifySecret(s->verifier, private_key))
    why = "the private key given for the temporary credentials " + s->access_key_id + " is wrong";
  if (!why.empty()) return util::PermissionDenied(why);
  return std::optional<Caller>(CallerOf(*s));
}

util::Result<std::optional<KeyOwner>> FindRoleSessionKeyOwner(catalog::Db& db,
                                                              std::string_view access_key_id,
                                                              util::TimeMicros now) {
  auto s = MLV_TRY(FindSession(db, access_key_id));
  if (!s) return std::optional<KeyOwner>();
  KeyOwner k;
  k.access_key_id = s->access_key_id;
  std::string why = MLV_TRY(Lapsed(db, *s, now));
  k.status = why.empty() ? "active" : "expired";
  if (!why.empty()) k.deleted_at = util::FormatTime(std::min(now, s->expires_at));
  k.public_key = PublicKeyOfVerifier(s->verifier);
  k.caller = CallerOf(*s);
  return std::optional<KeyOwner>(std::move(k));
}

util::Result<api::AssumeRoleResponse> IamOperations::AssumeRole(const Caller& caller,
                                                                const api::AssumeRoleRequest& r) {
  if (std::string why = CheckSessionName(r.session_name); !why.empty())
    return util::InvalidField("sessionName", why);
  int64_t seconds = r.duration_seconds.value_or(kDefaultSessionSeconds);
  if (seconds < kMinSessionSeconds || seconds > kMaxSessionSeconds)
    return util::InvalidField("durationSeconds",
                              "must be between 900 (15 minutes) and 43200 (12 "
                              "hours), got " +
                                  std::to_string(seconds));
  auto role = MLV_TRY(FindRoleByName(db_, caller.account_id, r.role_name));
  auto result = [&]() -> util::Result<api::AssumeRoleResponse> {
    if (!role) return util::NotFound("no role named '" + r.role_name + "' (see list-roles)");
    if (IsRoleCrn(caller.principal_crn))
      return util::PermissionDenied(
          "a role session (" + caller.principal_name +
          ") cannot assume a role; use the credentials of a user the role's trust policy names");
    TrustPolicy trust = MLV_TRY(ParseTrustPolicy(role->trust_policy));
    if (!TrustsUser(trust, caller.principal_name, caller.principal_crn))
      return util::PermissionDenied(
          "the trust policy of role '" + role->name + "' does not allow user '" +
          caller.principal_name + "' (" + caller.principal_crn +
          ") to assume it: its Principal.User must name the user, and no Deny statement may; "
          "see the role's trustPolicy in mlvault list-roles");
    NewAccessKey key = GenerateAccessKey();
    util::TimeMicros now = clock_.Now();
    SessionRow s{std::string(kRoleSessionKeyPrefix) + key.access_key_id.substr(4),
                 role->account_id,
                 role->crn,
                 role->name,
                 r.session_name,
                 caller.principal_crn,
                 caller.principal_name,
                 key.verifier,
                 now,
                 now + seconds * 1'000'000};
    MLV_TRY(db_.Exec(kSessions.InsertSql(), kSessions.Values(s)));
    api::AssumeRoleResponse out;
    out.access_key_id = s.access_key_id;
    out.private_key = key.private_key;
    out.expiration = util::FormatTime(s.expires_at);
    out.role_crn = role->crn;
    out.role_name = role->name;
    out.session_name = s.session_name;
    out.assumed_role_name = CallerOf(s).principal_name;
    return out;
  }();
  authz_.Audit(caller, "iam:AssumeRole", role ? role->crn : "*",
               result ? util::Ok() : util::Status(std::unexpected(result.error())),
               "role '" + r.role_name + "' as session '" + r.session_name +
                   (result ? "', temporary credentials " + result->access_key_id + " until " +
                                 result->expiration
                           : std::string("'")));
  return result;
}

}  // namespace mlvault::control
