#include "control/iam_ops.h"

#include "control/identity.h"
#include "control/resource_authz.h"
#include "iam/catalog.h"
#include "iam/evaluator.h"
#include "iam/policy.h"
#include "util/random.h"

namespace mlvault::control {

namespace {

constexpr std::string_view kAdmin = iam::kAdministratorAccessPolicyName;

util::Status StatusOf(const util::Error* error) {
  if (!error) return util::Ok();
  return std::unexpected(*error);
}

std::unexpected<util::Error> NoPolicy(std::string_view name) {
  return util::NotFound("no policy named '" + std::string(name) + "' (see mlvault list-policies)");
}

// The policy `name` of the caller's account, once `action` on it is allowed: authorised first
// (on "*" when there is no such policy), so that a caller who may not see the policy does not
// learn whether it exists; then kNotFound for a missing one.
util::Result<PolicyRow> AuthorizeOnPolicy(Authorizer& authz, IamStore& store, const Caller& caller,
                                          std::string_view action, std::string_view name) {
  auto p = MLV_TRY(store.FindPolicyByName(caller.account_id, name));
  MLV_TRY(authz.Authorize(caller, {std::string(action), p ? p->crn : "*"}));
  if (!p) return NoPolicy(name);
  return *p;
}

// The policy `name` of `account_id`; kNotFound when there is none.
util::Result<PolicyRow> PolicyNamed(IamStore& store, std::string_view account_id,
                                    std::string_view name) {
  auto p = MLV_TRY(store.FindPolicyByName(account_id, name));
  if (!p) return NoPolicy(name);
  return *p;
}

// The names of the users `policy_crn` is attached to.
util::Result<std::vector<std::string>> AttachedUserNames(IamStore& store,
                                                         const std::string& policy_crn) {
  std::vector<std::string> out;
  for (const auto& u : MLV_TRY(store.UsersOfPolicy(policy_crn)))
    if (auto user = MLV_TRY(store.FindUserByCrn(u))) out.push_back(user->name);
  return out;
}

AccessKeyInfo KeyInfo(const AccessKeyRow& k, const UserRow& u) {
  AccessKeyInfo info;
  info.access_key_id = k.access_key_id;
  info.user_name = u.name;
  info.user_crn = u.crn;
  info.status = k.status;
  info.created_at = k.created_at;
  info.deleted_at = k.deleted_at;
  return info;
}

StatementInfo ToInfo(const iam::StatementRef& s) {
  return {s.policy, s.index, s.sid, std::string(iam::EffectName(s.effect))};
}

std::string Describe(const StatementInfo& s) {
  std::string out = "statement " + std::to_string(s.statement_index);
  if (!s.sid.empty()) out += " (Sid \"" + s.sid + "\")";
  return out + " of policy '" + s.policy_name + "'";
}

}  // namespace

template <class T>
util::Result<T> IamOperations::Audited(const Caller& caller, std::string_view action,
                                       std::string_view resource, util::Result<T> result) {
  authz_.Audit(caller, action, resource, StatusOf(result ? nullptr : &result.error()));
  return result;
}

util::Result<AccountRow> IamOperations::Account(const Caller& caller) {
  IamStore store(db_);
  auto account = MLV_TRY(store.GetAccount(caller.account_id));
  if (!account)
    return util::Internal("the caller's account " + caller.account_id + " is not in the catalog");
  return *account;
}

util::Result<UserRow> IamOperations::AuthorizeOnUser(const Caller& caller, const UserRef& ref,
                                                     std::string_view action) {
  IamStore store(db_);
  if (!ref.crn.empty() && !ref.name.empty())
    return util::InvalidArgument("give either --user-name or --user-crn, not both");
  std::optional<UserRow> u;
  std::string missing;
  if (!ref.crn.empty()) {
    u = MLV_TRY(store.FindUserByCrn(ref.crn));
    if (u && u->account_id != caller.account_id) u.reset();
    missing = "no user " + ref.crn + " in this account";
  } else if (!ref.name.empty()) {
    u = MLV_TRY(store.FindUserByName(caller.account_id, ref.name));
    missing = "no user named '" + ref.name + "' in this account (see mlvault list-users)";
  } else {
    u = MLV_TRY(store.FindUserByCrn(caller.principal_crn));
    missing = "the calling user " + caller.principal_crn + " no longer exists";
  }
  // Authorised first: whoever may not act on the user does not learn whether it exists.
  MLV_TRY(authz_.Authorize(caller, {std::string(action), u ? u->crn : "*"}));
  if (!u) return util::NotFound(missing);
  return *u;
}

util::Result<UserInfo> IamOperations::Info(const UserRow& user) {
  IamStore store(db_);
  UserInfo info{user.name, user.crn, user.created_at, {}, 0};
  for (const auto& p : MLV_TRY(store.PoliciesOfUser(user.crn)))
    info.attached_policies.push_back(p.name);
  for (const auto& k : MLV_TRY(store.ListAccessKeys(user.crn)))
    info.active_access_keys += k.status == "active";
  return info;
}

util::Result<UserInfo> IamOperations::CreateUser(const Caller& caller, std::string_view name) {
  MLV_TRY(authz_.Authorize(caller, {"iam:CreateUser", "*"}));
  std::string crn;
  auto result = [&]() -> util::Result<UserInfo> {
    MLV_TRY(ValidateIamName("user name", name));
    AccountRow account = MLV_TRY(Account(caller));
    IamStore store(db_);
    UserRow user{IamCrn(account.region, account.id, "user", util::NewUuid()), account.id,
                 std::string(name), util::FormatTime(clock_.Now())};
    MLV_TRY(db_.Transaction([&]() -> util::Status {
      if (MLV_TRY(store.FindUserByName(account.id, name)))
        return util::Conflict("a user named '" + std::string(name) + "' already exists");
      return store.InsertUser(user);
    }));
    crn = user.crn;
    return Info(user);
  }();
  return Audited(caller, "iam:CreateUser", crn.empty() ? "*" : crn, std::move(result));
}

util::Result<std::vector<UserInfo>> IamOperations::ListUsers(const Caller& caller) {
  // Only the users the caller may list, when it may not list "*" (docs/iam.md).
  ListFilter visible = MLV_TRY(ListFilter::Begin(authz_, caller, {"iam:ListUsers", "*"}));
  IamStore store(db_);
  std::vector<UserInfo> out;
  for (const auto& u : MLV_TRY(store.ListUsers(caller.account_id))) {
    AuthzRequest one = visible.On(u.crn);
    if (MLV_TRY(visible.Sees(one))) out.push_back(MLV_TRY(Info(u)));
  }
  MLV_TRY(visible.Finish());
  return out;
}

util::Result<AccessKeyInfo> IamOperations::CreateAccessKey(const Caller& caller,
                                                           const UserRef& ref) {
  UserRow user = MLV_TRY(AuthorizeOnUser(caller, ref, "iam:CreateAccessKey"));
  auto result = [&]() -> util::Result<AccessKeyInfo> {
    IamStore store(db_);
    NewAccessKey key = GenerateAccessKey();
    AccessKeyRow row{key.access_key_id,
                     user.account_id,
                     user.crn,
                     key.verifier,
                     "active",
                     util::FormatTime(clock_.Now()),
                     ""};
    MLV_TRY(store.InsertAccessKey(row));
    AccessKeyInfo info = KeyInfo(row, user);
    info.private_key = key.private_key;
    return info;
  }();
  authz_.Audit(caller, "iam:CreateAccessKey", user.crn,
               StatusOf(result ? nullptr : &result.error()),
               result ? "access key " + result->access_key_id : "");
  return result;
}

util::Result<std::vector<AccessKeyInfo>> IamOperations::ListAccessKeys(const Caller& caller,
                                                                       const UserRef& ref) {
  UserRow user = MLV_TRY(AuthorizeOnUser(caller, ref, "iam:ListAccessKeys"));
  IamStore store(db_);
  std::vector<AccessKeyInfo> out;
  for (const auto& k : MLV_TRY(store.ListAccessKeys(user.crn))) out.push_back(KeyInfo(k, user));
  return out;
}

util::Result<AccessKeyInfo> IamOperations::DeleteAccessKey(const Caller& caller,
                                                           std::string_view access_key_id) {
  IamStore store(db_);
  auto key = MLV_TRY(store.FindAccessKey(access_key_id));
  if (key && key->account_id != caller.account_id) key.reset();
  std::optional<UserRow> user;
  if (key) user = MLV_TRY(store.FindUserByCrn(key->user_crn));
  // Authorised first: whoever may not delete the key does not learn whether it exists.
  MLV_TRY(authz_.Authorize(caller, {"iam:DeleteAccessKey", user ? user->crn : "*"}));
  if (!key)
    return util::NotFound("no access key " + std::string(access_key_id) + " in this account");
  if (!user)
    return util::Internal("access key " + key->access_key_id + " belongs to a missing user");
  auto result = [&]() -> util::Result<AccessKeyInfo> {
    MLV_TRY(db_.Transaction([&]() -> util::Status {
      bool admin = false;
      for (const auto& p : MLV_TRY(store.PoliciesOfUser(user->crn)))
        admin = admin || p.name == kAdmin;
      if (admin &&
          MLV_TRY(store.CountAdministratorKeys(caller.account_id, key->access_key_id, "")) == 0)
        return util::Conflict("access key " + key->access_key_id +
                              " is the last active key of a user with " + std::string(kAdmin) +
                              "; deleting it would lock the account out. Create another "
                              "administrator key first");
      if (!MLV_TRY(store.DeleteAccessKey(key->access_key_id, util::FormatTime(clock_.Now()))))
        return util::NotFound("access key " + key->access_key_id + " was already deleted");
      return util::Ok();
    }));
    auto after = MLV_TRY(store.FindAccessKey(key->access_key_id));
    return KeyInfo(*after, *user);
  }();
  authz_.Audit(caller, "iam:DeleteAccessKey", user->crn,
               StatusOf(result ? nullptr : &result.error()),
               result ? "access key " + key->access_key_id : "");
  return result;
}

util::Result<PolicyInfo> IamOperations::CreatePolicy(const Caller& caller, std::string_view name,
                                                     std::string_view document,
                                                     std::string_view description) {
  MLV_TRY(authz_.Authorize(caller, {"iam:CreatePolicy", "*"}));
  std::string crn;
  auto result = [&]() -> util::Result<PolicyInfo> {
    MLV_TRY(ValidateIamName("policy name", name));
    if (description.size() > 1000)
      return util::InvalidArgument("the description is longer than 1000 characters");
    auto parsed = iam::ParsePolicy(document);
    if (!parsed)
      return util::InvalidArgument("malformed policy document, nothing was stored: " +
                                   parsed.error().ToString());
    AccountRow account = MLV_TRY(Account(caller));
    IamStore store(db_);
    PolicyRow row{IamCrn(account.region, account.id, "policy", util::NewUuid()),
                  account.id,
                  std::string(name),
                  std::string(description),
                  std::string(document),
                  util::FormatTime(clock_.Now()),
                  caller.principal_crn};
    MLV_TRY(db_.Transaction([&]() -> util::Status {
      if (MLV_TRY(store.FindPolicyByName(account.id, name)))
        return util::Conflict("a policy named '" + std::string(name) + "' already exists");
      return store.InsertPolicy(row);
    }));
    crn = row.crn;
    PolicyInfo info{row.name, row.crn, row.description, row.created_at, row.created_by,
                    {},       "",      parsed->warnings};
    return info;
  }();
  return Audited(caller, "iam:CreatePolicy", crn.empty() ? "*" : crn, std::move(result));
}

util::Result<std::vector<PolicyInfo>> IamOperations::ListPolicies(const Caller& caller) {
  // Only the policies the caller may list, when it may not list "*" (docs/iam.md).
  ListFilter visible = MLV_TRY(ListFilter::Begin(authz_, caller, {"iam:ListPolicies", "*"}));
  IamStore store(db_);
  std::vector<PolicyInfo> out;
  for (const auto& p : MLV_TRY(store.ListPolicies(caller.account_id))) {
    if (!MLV_TRY(visible.Sees(visible.On(p.crn)))) continue;
    PolicyInfo info{p.name, p.crn, p.description, p.created_at, p.created_by, {}, "", {}};
    info.attached_to = MLV_TRY(AttachedUserNames(store, p.crn));
    out.push_back(std::move(info));
  }
  MLV_TRY(visible.Finish());
  return out;
}

util::Result<PolicyInfo> IamOperations::GetPolicy(const Caller& caller, std::string_view name) {
  IamStore store(db_);
  auto p = MLV_TRY(AuthorizeOnPolicy(authz_, store, caller, "iam:GetPolicy", name));
  PolicyInfo info{p.name, p.crn, p.description, p.created_at, p.created_by, {}, p.document, {}};
  info.attached_to = MLV_TRY(AttachedUserNames(store, p.crn));
  return info;
}

util::Result<PolicyInfo> IamOperations::DeletePolicy(const Caller& caller, std::string_view name) {
  IamStore store(db_);
  auto p = MLV_TRY(AuthorizeOnPolicy(authz_, store, caller, "iam:DeletePolicy", name));
  auto result = [&]() -> util::Result<PolicyInfo> {
    if (p.name == kAdmin)
      return util::Conflict(std::string(kAdmin) +
                            " is the administrators' policy and cannot be deleted");
    MLV_TRY(db_.Transaction([&]() -> util::Status {
      // Attached to users or roles: refused, quoting the detach command for the first one.
      auto users = MLV_TRY(store.UsersOfPolicy(p.crn));
      auto roles = MLV_TRY(db_.Query(
          "SELECT r.name FROM iam_role_policies a JOIN iam_roles r ON r.crn = a.role_crn "
          "WHERE a.policy_crn = ? ORDER BY r.name",
          {p.crn}));
      if (!users.empty() || !roles.empty()) {
        std::string first;
        if (!users.empty()) {
          auto u = MLV_TRY(store.FindUserByCrn(users[0]));
          first = "mlvault detach-policy --user-name " + (u ? u->name : users[0]) +
                  " --policy-name " + p.name;
        } else {
          first = "mlvault detach-role-policy --role-name " + roles[0].Text(0) +
                  " --policy-name " + p.name;
        }
        return util::Conflict("policy '" + p.name + "' is attached to " +
                              std::to_string(users.size()) + " user(s) and " +
                              std::to_string(roles.size()) +
                              " role(s); detach it from each first, e.g.: " + first);
      }
      MLV_TRY(store.DeletePolicy(p.crn));
      return util::Ok();
    }));
    return PolicyInfo{p.name, p.crn, p.description, p.created_at, p.created_by, {}, "", {}};
  }();
  return Audited(caller, "iam:DeletePolicy", p.crn, std::move(result));
}

util::Result<UserInfo> IamOperations::AttachPolicy(const Caller& caller, const UserRef& ref,
                                                   std::string_view policy_name) {
  UserRow user = MLV_TRY(AuthorizeOnUser(caller, ref, "iam:AttachUserPolicy"));
  IamStore store(db_);
  auto p = MLV_TRY(PolicyNamed(store, caller.account_id, policy_name));
  auto result = [&]() -> util::Result<UserInfo> {
    MLV_TRY(store.Attach(user.crn, p.crn, util::FormatTime(clock_.Now())));
    return Info(user);
  }();
  authz_.Audit(caller, "iam:AttachUserPolicy", user.crn,
               StatusOf(result ? nullptr : &result.error()),
               result ? "policy '" + p.name + "'" : "");
  return result;
}

util::Result<UserInfo> IamOperations::DetachPolicy(const Caller& caller, const UserRef& ref,
                                                   std::string_view policy_name) {
  UserRow user = MLV_TRY(AuthorizeOnUser(caller, ref, "iam:DetachUserPolicy"));
  IamStore store(db_);
  auto p = MLV_TRY(PolicyNamed(store, caller.account_id, policy_name));
  auto result = [&]() -> util::Result<UserInfo> {
    MLV_TRY(db_.Transaction([&]() -> util::Status {
      if (p.name == kAdmin &&
          MLV_TRY(store.CountAdministratorKeys(caller.account_id, "", user.crn)) == 0)
        return util::Conflict(
            "detaching " + std::string(kAdmin) + " from '" + user.name +
            "' would leave no administrator with an active access key; attach it to another "
            "user with a key first");
      if (!MLV_TRY(store.Detach(user.crn, p.crn)))
        return util::NotFound("policy '" + p.name + "' is not attached to user '" + user.name +
                              "'");
      return util::Ok();
    }));
    return Info(user);
  }();
  authz_.Audit(caller, "iam:DetachUserPolicy", user.crn,
               StatusOf(result ? nullptr : &result.error()),
               result ? "policy '" + p.name + "'" : "");
  return result;
}

util::Result<Simulation> IamOperations::SimulatePolicy(const Caller& caller,
                                                       const SimulateRequest& req) {
  IamStore store(db_);
  Simulation sim;
  std::vector<iam::NamedPolicy> policies;
  std::optional<UserRow> user;
  if (!req.policy_documents.empty()) {
    if (!req.principal.name.empty() || !req.principal.crn.empty())
      return util::InvalidArgument("give either a user or policy documents to simulate, not both");
    MLV_TRY(authz_.Authorize(caller, {"iam:SimulateCustomPolicy", "*"}));
    for (size_t i = 0; i < req.policy_documents.size(); ++i) {
      auto parsed = iam::ParsePolicy(req.policy_documents[i]);
      if (!parsed)
        return util::InvalidArgument("malformed policy document " + std::to_string(i + 1) + ": " +
                                     parsed.error().ToString());
      policies.push_back({"document" + std::to_string(i + 1), std::move(parsed->policy)});
    }
  } else {
    user = MLV_TRY(AuthorizeOnUser(caller, req.principal, "iam:SimulatePrincipalPolicy"));
    for (const auto& row : MLV_TRY(store.PoliciesOfUser(user->crn))) {
      auto parsed = iam::ParsePolicy(row.document);
      if (!parsed) return util::Internal("stored policy '" + row.name + "' no longer parses");
      policies.push_back({row.name, std::move(parsed->policy)});
    }
    sim.principal_crn = user->crn;
    sim.principal_name = user->name;
  }
  for (const auto& p : policies) sim.evaluated_policies.push_back(p.name);
  if (req.actions.empty())
    return util::InvalidArgument("give at least one --action-name to simulate");
  const std::string& resource = req.resource.empty() ? std::string("*") : req.resource;
  if (resource != "*" && CrnAccount(resource).empty())
    return util::InvalidArgument("--resource-crn '" + resource +
                                 "' is not a CRN (crn:mlvault:...) or \"*\"");

  iam::RequestContext context;
  const util::TimeMicros now = clock_.Now();
  if (user) {
    context["mlvault:PrincipalCrn"] = {user->crn};
    context["mlvault:UserName"] = {user->name};
  }
  context["mlvault:PrincipalAccount"] = {caller.account_id};
  context["mlvault:SourceIp"] = {req.source_ip.empty() ? caller.source_ip : req.source_ip};
  context["mlvault:RequestSource"] = {caller.source};
  context["mlvault:SecureTransport"] = {caller.secure_transport ? "true" : "false"};
  context["mlvault:CurrentTime"] = {util::FormatTime(now)};
  context["mlvault:EpochTime"] = {std::to_string(now / 1'000'000)};
  for (const auto& [k, v] : req.context) {
    if (k.find(':') == std::string::npos || k.front() == ':')
      return util::InvalidArgument("context key '" + k +
                                   "' needs a service prefix (e.g. ml:EnvironmentName)");
    context[k] = v;
  }
  bool entitled = MLV_TRY(store.HasEntitlement(caller.account_id, kBackupRestoreEntitlement));
  for (const auto& action : req.actions) {
    size_t colon = action.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == action.size())
      return util::InvalidArgument("action '" + action +
                                   "' must be written service:Name, e.g. ml:BackupWorkspace");
    iam::Decision d = iam::Evaluate(policies, iam::Request{action, resource, context});
    SimulationResult r;
    r.action = action;
    r.resource = resource;
    r.decision = iam::OutcomeName(d.outcome);
    if (d.deciding) r.deciding_statement = ToInfo(*d.deciding);
    for (const auto& m : d.matched) r.matched_statements.push_back(ToInfo(m));
    auto known = iam::FindAction(action);
    if (known && known->needs_backup_entitlement) {
      r.required_entitlement = kBackupRestoreEntitlement;
      r.entitlement_held = entitled;
    }
    // The authorizer refuses other accounts' resources whatever the policies say.
    const bool foreign = resource != "*" && CrnAccount(resource) != caller.account_id;
    r.allowed = d.allowed() && r.entitlement_held && !foreign;
    if (d.outcome == iam::Outcome::kAllowed)
      r.explanation = "allowed by " + Describe(*r.deciding_statement);
    else if (d.outcome == iam::Outcome::kExplicitDeny)
      r.explanation = "explicitly denied by " + Describe(*r.deciding_statement);
    else
      r.explanation = policies.empty() ? "denied: no policies to evaluate (default deny)"
                                       : "denied: no statement allows it (default deny)";
    if (!r.entitlement_held)
      r.explanation += "; the account also lacks the entitlement " + r.required_entitlement +
                       " (mlvault grant-entitlement --entitlement-name " + r.required_entitlement +
                       ")";
    if (foreign)
      r.explanation += "; but the resource belongs to another account, which is always denied";
    if (!known) r.explanation += "; note: " + action + " is not an action mlvault knows";
    sim.results.push_back(std::move(r));
  }
  return sim;
}

util::Result<EntitlementInfo> IamOperations::GrantEntitlement(const Caller& caller,
                                                              std::string_view name) {
  AccountRow account = MLV_TRY(Account(caller));
  const std::string resource = AccountCrn(account);
  MLV_TRY(authz_.Authorize(caller, {"iam:GrantEntitlement", resource}));
  auto result = [&]() -> util::Result<EntitlementInfo> {
    auto known = iam::FindEntitlement(name);
    if (!known) {
      std::string names;
      for (const auto& e : iam::KnownEntitlements())
        names += (names.empty() ? "" : ", ") + std::string(e.name);
      return util::InvalidArgument("unknown entitlement '" + std::string(name) +
                                   "' (known: " + names + ")");
    }
    IamStore store(db_);
    MLV_TRY(store.Grant(
        {account.id, std::string(name), util::FormatTime(clock_.Now()), caller.principal_crn}));
    auto row = MLV_TRY(store.GetEntitlement(account.id, name));
    return EntitlementInfo{std::string(name), std::string(known->meaning), true, row->granted_at,
                           row->granted_by};
  }();
  authz_.Audit(caller, "iam:GrantEntitlement", resource,
               StatusOf(result ? nullptr : &result.error()), result ? std::string(name) : "");
  return result;
}

util::Result<EntitlementInfo> IamOperations::RevokeEntitlement(const Caller& caller,
                                                               std::string_view name) {
  AccountRow account = MLV_TRY(Account(caller));
  const std::string resource = AccountCrn(account);
  MLV_TRY(authz_.Authorize(caller, {"iam:RevokeEntitlement", resource}));
  auto result = [&]() -> util::Result<EntitlementInfo> {
    auto known = iam::FindEntitlement(name);
    if (!known) return util::InvalidArgument("unknown entitlement '" + std::string(name) + "'");
    IamStore store(db_);
    if (!MLV_TRY(store.Revoke(account.id, name)))
      return util::NotFound("the account does not hold the entitlement " + std::string(name));
    return EntitlementInfo{std::string(name), std::string(known->meaning), false, "", ""};
  }();
  authz_.Audit(caller, "iam:RevokeEntitlement", resource,
               StatusOf(result ? nullptr : &result.error()), result ? std::string(name) : "");
  return result;
}

util::Result<std::vector<EntitlementInfo>> IamOperations::ListEntitlements(const Caller& caller) {
  AccountRow account = MLV_TRY(Account(caller));
  MLV_TRY(authz_.Authorize(caller, {"iam:ListEntitlements", AccountCrn(account)}));
  IamStore store(db_);
  std::vector<EntitlementInfo> out;
  for (const auto& e : iam::KnownEntitlements()) {
    auto row = MLV_TRY(store.GetEntitlement(account.id, e.name));
    out.push_back({std::string(e.name), std::string(e.meaning), row.has_value(),
                   row ? row->granted_at : "", row ? row->granted_by : ""});
  }
  return out;
}

util::Result<std::vector<AuditEvent>> IamOperations::ListAuditEvents(const Caller& caller,
                                                                     AuditFilter filter) {
  AccountRow account = MLV_TRY(Account(caller));
  MLV_TRY(authz_.Authorize(caller, {"iam:ListAuditEvents", AccountCrn(account)}));
  filter.account_id = account.id;
  return control::ListAuditEvents(db_, filter);
}

}  // namespace mlvault::control
