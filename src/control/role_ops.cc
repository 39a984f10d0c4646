// Roles (control/roles.h) and their operations on IamOperations: createRole, listRoles,
// deleteRole, attachRolePolicy, detachRolePolicy. docs/plans.md describes them.
#include <nlohmann/json.hpp>

#include "catalog/plan_stores.h"
#include "control/iam_ops.h"
#include "control/resource_authz.h"
#include "control/roles.h"
#include "util/random.h"

namespace mlvault::control {

using nlohmann::json;

namespace {

util::Error TrustError(const std::string& where, const std::string& what) {
  return util::Error(util::ErrorCode::kInvalidArgument,
                     "trustPolicyDocument: " + (where.empty() ? "" : where + ": ") + what,
                     "trustPolicyDocument");
}

// A string or an array of strings at `where`.
util::Result<std::vector<std::string>> Strings(const json& v, const std::string& where) {
  std::vector<std::string> out;
  if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
  if (!v.is_array() || v.empty())
    return std::unexpected(TrustError(where, "must be a string or a non-empty array of strings"));
  for (const auto& x : v) {
    if (!x.is_string()) return std::unexpected(TrustError(where, "must hold strings only"));
    out.push_back(x.get<std::string>());
  }
  return out;
}

bool Matches(const TrustStatement& s, std::string_view service, std::string_view user_name,
             std::string_view user_crn) {
  for (const auto& x : s.services)
    if (!service.empty() && x == service) return true;
  for (const auto& x : s.users)
    if ((!user_name.empty() && x == user_name) || (!user_crn.empty() && x == user_crn))
      return true;
  return false;
}

bool Trusts(const TrustPolicy& p, std::string_view service, std::string_view name,
            std::string_view crn) {
  bool allowed = false;
  for (const auto& s : p.statements) {
    if (!Matches(s, service, name, crn)) continue;
    if (!s.allow) return false;
    allowed = true;
  }
  return allowed;
}

std::string CheckRoleName(std::string_view n) {
  if (n.empty() || n.size() > 64) return "must be 1 to 64 characters";
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '=' || c == ',' ||
          c == '.' || c == '@' || c == '_' || c == '-'))
      return "may contain only letters, digits and + = , . @ _ -";
  return "";
}

RoleRow RowOf(const catalog::Row& r) {
  return {r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Int(6)};
}
constexpr char kRoleCols[] =
    "crn, account_id, name, description, trust_policy, created_by, created_at";

util::Status StatusOf(const util::Error* e) {
  if (e) return std::unexpected(*e);
  return util::Ok();
}

}  // namespace

// ------------------------------------------------------------------------------ roles.h

util::Result<TrustPolicy> ParseTrustPolicy(std::string_view document) {
  json j;
  try {
    j = json::parse(document);
  } catch (const json::parse_error& e) {
    return std::unexpected(TrustError("", std::string("not valid JSON: ") + e.what()));
  }
  if (!j.is_object()) return std::unexpected(TrustError("", "must be a JSON object"));
  TrustPolicy out;
  for (const auto& [k, v] : j.items()) {
    if (k == "Version") {
      if (v != "2012-10-17")
        return std::unexpected(TrustError("Version", "must be \"2012-10-17\""));
    } else if (k != "Statement") {
      return std::unexpected(TrustError(k, "unknown element (allowed: Version, Statement)"));
    }
  }
  if (!j.contains("Statement")) return std::unexpected(TrustError("Statement", "is required"));
  json statements = j["Statement"].is_object() ? json::array({j["Statement"]}) : j["Statement"];
  if (!statements.is_array() || statements.empty())
    return std::unexpected(TrustError("Statement", "must be an object or a non-empty array"));
  for (size_t i = 0; i < statements.size(); ++i) {
    const json& s = statements[i];
    std::string at = "Statement[" + std::to_string(i) + "]";
    if (!s.is_object()) return std::unexpected(TrustError(at, "must be an object"));
    TrustStatement t;
    bool assume = false;
    for (const auto& [k, v] : s.items()) {
      if (k == "Effect") {
        if (v != "Allow" && v != "Deny")
          return std::unexpected(TrustError(at + ".Effect", "must be Allow or Deny"));
        t.allow = v == "Allow";
      } else if (k == "Action") {
        for (const auto& a : MLV_TRY(Strings(v, at + ".Action")))
          if (a == "sts:AssumeRole") assume = true;
      } else if (k == "Principal") {
        if (!v.is_object())
          return std::unexpected(TrustError(at + ".Principal", "must be an object"));
        for (const auto& [pk, pv] : v.items()) {
          if (pk == "Service") t.services = MLV_TRY(Strings(pv, at + ".Principal.Service"));
          else if (pk == "User") t.users = MLV_TRY(Strings(pv, at + ".Principal.User"));
          else
            return std::unexpected(
                TrustError(at + ".Principal." + pk, "unknown principal kind (Service, User)"));
        }
      } else if (k != "Sid") {
        return std::unexpected(
            TrustError(at + "." + k, "unknown element (Sid, Effect, Principal, Action)"));
      }
    }
    if (!s.contains("Effect")) return std::unexpected(TrustError(at + ".Effect", "is required"));
    if (!assume)
      return std::unexpected(TrustError(at + ".Action", "must be (or contain) sts:AssumeRole"));
    if (t.services.empty() && t.users.empty())
      return std::unexpected(TrustError(at + ".Principal", "must name a Service or a User"));
    for (const auto& svc : t.services)
      if (svc != kBackupServicePrincipal)
        return std::unexpected(TrustError(at + ".Principal.Service",
                                          "unknown service \"" + svc + "\" (known: " +
                                              std::string(kBackupServicePrincipal) + ")"));
    out.statements.push_back(std::move(t));
  }
  return out;
}

bool TrustsService(const TrustPolicy& p, std::string_view service) {
  return Trusts(p, service, {}, {});
}
bool TrustsUser(const TrustPolicy& p, std::string_view name, std::string_view crn) {
  return Trusts(p, {}, name, crn);
}

util::Result<std::optional<RoleRow>> FindRoleByName(catalog::Db& db, std::string_view account_id,
                                                    std::string_view name) {
  auto rows = MLV_TRY(db.Query(std::string("SELECT ") + kRoleCols +
                                   " FROM iam_roles WHERE account_id = ? AND name = ?",
                               {std::string(account_id), std::string(name)}));
  if (rows.empty()) return std::optional<RoleRow>();
  return std::optional(RowOf(rows[0]));
}

util::Result<std::optional<RoleRow>> FindRoleByCrn(catalog::Db& db, std::string_view crn) {
  auto rows = MLV_TRY(db.Query(std::string("SELECT ") + kRoleCols + " FROM iam_roles WHERE crn = ?",
                               {std::string(crn)}));
  if (rows.empty()) return std::optional<RoleRow>();
  return std::optional(RowOf(rows[0]));
}

util::Result<std::vector<PolicyRow>> PoliciesOfRole(catalog::Db& db, std::string_view role_crn) {
  auto rows = MLV_TRY(db.Query("SELECT policy_crn FROM iam_role_policies WHERE role_crn = ?",
                               {std::string(role_crn)}));
  std::vector<PolicyRow> out;
  IamStore store(db);
  for (const auto& r : rows)
    if (auto p = MLV_TRY(store.FindPolicyByCrn(r.Text(0)))) out.push_back(std::move(*p));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

bool IsRoleCrn(std::string_view crn) {
  return crn.starts_with("crn:mlvault:iam:") && crn.find(":role:") != std::string_view::npos;
}

// ------------------------------------------------------------------------------ operations

namespace {

util::Result<api::Role> RoleOf(catalog::Db& db, const RoleRow& r) {
  api::Role out;
  out.role_crn = r.crn;
  out.role_name = r.name;
  out.description = r.description;
  out.trust_policy.text = r.trust_policy;
  if (auto t = ParseTrustPolicy(r.trust_policy))
    out.trusts_backup_service = TrustsService(*t, kBackupServicePrincipal);
  for (const auto& p : MLV_TRY(PoliciesOfRole(db, r.crn))) out.attached_policies.push_back(p.name);
  out.created_at = util::FormatTime(r.created_at);
  return out;
}

// The role and the policy an attach/detach-role-policy request names: authorised on the role
// first (on "*" when there is no such role, so that existence is not revealed), then both must
// exist.
struct RoleAndPolicy {
  RoleRow role;
  PolicyRow policy;
};
util::Result<RoleAndPolicy> FindRoleAndPolicy(catalog::Db& db, Authorizer& authz,
                                              const Caller& caller, std::string_view action,
                                              const api::RolePolicyRequest& r) {
  auto role = MLV_TRY(FindRoleByName(db, caller.account_id, r.role_name));
  MLV_TRY(authz.Authorize(caller, {std::string(action), role ? role->crn : "*", {}, false}));
  if (!role)
    return util::NotFound("no role named '" + r.role_name + "' (see list-roles)");
  auto p = MLV_TRY(IamStore(db).FindPolicyByName(caller.account_id, r.policy_name));
  if (!p)
    return util::NotFound("no policy named '" + r.policy_name + "' (see mlvault list-policies)");
  return RoleAndPolicy{std::move(*role), std::move(*p)};
}

}  // namespace

util::Result<api::Role> IamOperations::CreateRole(const Caller& caller,
                                                  const api::CreateRoleRequest& r) {
  if (std::string why = CheckRoleName(r.role_name); !why.empty())
    return util::InvalidField("roleName", why);
  MLV_TRY(ParseTrustPolicy(r.trust_policy_document));
  MLV_TRY(authz_.Authorize(caller, {"iam:CreateRole", "*", {}, false}));
  AccountRow account = MLV_TRY(Account(caller));
  RoleRow row{IamCrn(account.region, account.id, "role", util::NewUuid()),
              account.id,
              r.role_name,
              r.description,
              r.trust_policy_document,
              caller.principal_crn,
              clock_.Now()};
  auto result = [&]() -> util::Result<api::Role> {
    auto st = db_.Exec("INSERT INTO iam_roles (" + std::string(kRoleCols) +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?)",
                       {row.crn, row.account_id, row.name, row.description, row.trust_policy,
                        row.created_by, row.created_at});
    if (!st && st.error().code() == util::ErrorCode::kConflict)
      return util::Conflict("a role named '" + r.role_name + "' exists already");
    MLV_TRY(st);
    return RoleOf(db_, row);
  }();
  authz_.Audit(caller, "iam:CreateRole", result ? row.crn : "*",
               StatusOf(result ? nullptr : &result.error()), "role '" + r.role_name + "'");
  return result;
}

util::Result<std::vector<api::Role>> IamOperations::ListRoles(const Caller& caller) {
  // Only the roles the caller may list, when it may not list "*" (docs/iam.md).
  ListFilter visible =
      MLV_TRY(ListFilter::Begin(authz_, caller, {"iam:ListRoles", "*", {}, false}));
  auto rows = MLV_TRY(db_.Query(std::string("SELECT ") + kRoleCols +
                                    " FROM iam_roles WHERE account_id = ? ORDER BY name",
                                {caller.account_id}));
  std::vector<api::Role> out;
  for (const auto& r : rows) {
    RoleRow row = RowOf(r);
    if (MLV_TRY(visible.Sees(visible.On(row.crn)))) out.push_back(MLV_TRY(RoleOf(db_, row)));
  }
  MLV_TRY(visible.Finish());
  return out;
}

util::Result<api::DeleteRoleResponse> IamOperations::DeleteRole(const Caller& caller,
                                                                std::string_view name) {
  auto role = MLV_TRY(FindRoleByName(db_, caller.account_id, name));
  MLV_TRY(authz_.Authorize(caller, {"iam:DeleteRole", role ? role->crn : "*", {}, false}));
  if (!role) return util::NotFound("no role named '" + std::string(name) + "' (see list-roles)");
  util::Status st = db_.Transaction([&]() -> util::Status {
    auto plans = MLV_TRY(db_.Query("SELECT name FROM backup_plans WHERE role_crn = ?", {role->crn}));
    if (!plans.empty())
      return util::Conflict("role '" + role->name + "' is used by backup plan '" +
                            plans[0].Text(0) +
                            "'; give the plan another role (update-backup-plan --iam-role-name) "
                            "or delete it first");
    MLV_TRY(db_.Exec("DELETE FROM iam_role_policies WHERE role_crn = ?", {role->crn}));
    MLV_TRY(db_.Exec("DELETE FROM iam_roles WHERE crn = ?", {role->crn}));
    return util::Ok();
  });
  authz_.Audit(caller, "iam:DeleteRole", role->crn, st, "role '" + role->name + "'");
  MLV_TRY(st);
  return api::DeleteRoleResponse{role->crn, role->name, true};
}

util::Result<api::Role> IamOperations::AttachRolePolicy(const Caller& caller,
                                                        const api::RolePolicyRequest& r) {
  auto found = MLV_TRY(FindRoleAndPolicy(db_, authz_, caller, "iam:AttachRolePolicy", r));
  const RoleRow& role = found.role;
  const PolicyRow& p = found.policy;
  auto result = [&]() -> util::Result<api::Role> {
    MLV_TRY(db_.Transaction([&]() -> util::Status {
      auto has = MLV_TRY(db_.Query(
          "SELECT 1 FROM iam_role_policies WHERE role_crn = ? AND policy_crn = ?", {role.crn, p.crn}));
      if (has.empty())
        MLV_TRY(db_.Exec("INSERT INTO iam_role_policies (role_crn, policy_crn, attached_at) "
                         "VALUES (?, ?, ?)",
                         {role.crn, p.crn, clock_.Now()}));
      return util::Ok();
    }));
    return RoleOf(db_, role);
  }();
  authz_.Audit(caller, "iam:AttachRolePolicy", role.crn,
               StatusOf(result ? nullptr : &result.error()), "policy '" + p.name + "'");
  return result;
}

util::Result<api::Role> IamOperations::DetachRolePolicy(const Caller& caller,
                                                        const api::RolePolicyRequest& r) {
  auto found = MLV_TRY(FindRoleAndPolicy(db_, authz_, caller, "iam:DetachRolePolicy", r));
  const RoleRow& role = found.role;
  const PolicyRow& p = found.policy;
  auto result = [&]() -> util::Result<api::Role> {
    auto n = MLV_TRY(db_.Exec("DELETE FROM iam_role_policies WHERE role_crn = ? AND policy_crn = ?",
                              {role.crn, p.crn}));
    if (n == 0)
      return util::NotFound("policy '" + p.name + "' is not attached to role '" + role.name +
                            "'");
    return RoleOf(db_, role);
  }();
  authz_.Audit(caller, "iam:DetachRolePolicy", role.crn,
               StatusOf(result ? nullptr : &result.error()), "policy '" + p.name + "'");
  return result;
}

}  // namespace mlvault::control
