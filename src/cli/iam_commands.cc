// The identity and access verbs: parsing flags and printing results only. The work, including
// every authorisation and audit record, is in control/iam_ops and control/identity.
#include <cstdlib>
#include <memory>

#include "catalog/db.h"
#include "cli/common.h"
#include "control/embedded.h"
#include "control/iam_authorizer.h"
#include "control/iam_ops.h"
#include "control/identity.h"
#include "util/files.h"

namespace mlvault::cli {

namespace {

using nlohmann::json;
using util::Result;

// An embedded session: the catalog under $MLVAULT_HOME and the caller found there.
struct Session {
  std::string home;
  std::unique_ptr<catalog::Db> db;
  std::unique_ptr<control::Authorizer> authz;
  std::unique_ptr<control::IamOperations> ops;
  control::Caller caller;
};

// The catalog with every area's migrations (the same as the other verbs open).
Result<std::unique_ptr<catalog::Db>> OpenCatalog(const std::string& home) {
  if (!GlobalFlags().endpoint.empty())
    return util::Unavailable(
        "--endpoint " + GlobalFlags().endpoint +
        ": talking to an mlvault server is not available in this build; run without "
        "--endpoint (embedded mode)");
  return control::OpenCatalog(home);
}

Result<std::unique_ptr<Session>> OpenSession() {
  auto s = std::make_unique<Session>();
  s->home = control::MlvaultHomeFromEnv();
  s->db = MLV_TRY(OpenCatalog(s->home));
  s->caller = MLV_TRY(control::ResolveCaller(*s->db, s->home, GlobalFlags().profile));
  s->authz = control::MakeIamAuthorizer(*s->db, util::Clock::System());
  s->ops = std::make_unique<control::IamOperations>(*s->db, *s->authz, util::Clock::System());
  return s;
}

json UserJson(const control::UserInfo& u) {
  return {{"userName", u.user_name},
          {"userCrn", u.user_crn},
          {"createdAt", u.created_at},
          {"attachedPolicies", u.attached_policies},
          {"activeAccessKeys", u.active_access_keys}};
}

json KeyJson(const control::AccessKeyInfo& k) {
  json j = {{"accessKeyId", k.access_key_id},
            {"userName", k.user_name},
            {"userCrn", k.user_crn},
            {"status", k.status},
            {"createdAt", k.created_at}};
  if (!k.private_key.empty()) j["privateKey"] = k.private_key;
  if (!k.deleted_at.empty()) j["deletedAt"] = k.deleted_at;
  return j;
}

json PolicyJson(const control::PolicyInfo& p) {
  json j = {{"policyName", p.policy_name},  {"policyCrn", p.policy_crn},
            {"description", p.description}, {"createdAt", p.created_at},
            {"createdBy", p.created_by},    {"attachedTo", p.attached_to}};
  if (!p.document.empty()) {
    json doc = json::parse(p.document, nullptr, false);
    j["policyDocument"] = doc.is_discarded() ? json(p.document) : doc;
  }
  return j;
}

json EntitlementJson(const control::EntitlementInfo& e) {
  json j = {{"entitlementName", e.name}, {"description", e.description}, {"granted", e.granted}};
  if (e.granted) {
    j["grantedAt"] = e.granted_at;
    j["grantedBy"] = e.granted_by;
  }
  return j;
}

json StatementJson(const control::StatementInfo& s) {
  return {{"policyName", s.policy_name},
          {"statementIndex", s.statement_index},
          {"sid", s.sid},
          {"effect", s.effect}};
}

json AuditJson(const control::AuditEvent& e) {
  json j = {{"eventId", e.event_id},
            {"time", util::FormatTime(e.time)},
            {"principalCrn", e.principal_crn},
            {"principalName", e.principal_name},
            {"action", e.action},
            {"resource", e.resource},
            {"outcome", e.outcome},
            {"source", e.source},
            {"sourceIp", e.source_ip}};
  if (!e.error_code.empty()) j["errorCode"] = e.error_code;
  if (!e.detail.empty()) j["detail"] = e.detail;
  return j;
}

// --policy-document: file://PATH, or the JSON text itself.
Result<std::string> ReadDocument(const std::string& arg) {
  if (arg.starts_with("file://")) {
    std::string path = arg.substr(7);
    auto text = util::ReadFile(path);
    if (!text) return std::unexpected(text.error().WithContext("--policy-document"));
    return *text;
  }
  size_t first = arg.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && arg[first] == '{') return arg;
  return util::InvalidArgument(
      "--policy-document takes file://PATH or the JSON document itself, got '" + arg + "'");
}

// "30m", "2h", "7d", or an RFC 3339 time / a date.
Result<util::TimeMicros> ParseSince(const std::string& s) {
  if (s.size() >= 2 && std::isdigit(static_cast<unsigned char>(s[0]))) {
    char unit = s.back();
    std::string num = s.substr(0, s.size() - 1);
    bool digits =
        !num.empty() && num.size() < 10 && num.find_first_not_of("0123456789") == std::string::npos;
    int64_t per = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
    if (digits && per) return util::Clock::System().Now() - std::stoll(num) * per * 1'000'000;
  }
  if (auto t = util::ParseTime(s)) return *t;
  if (s.size() == 10)
    if (auto t = util::ParseTime(s + "T00:00:00Z")) return *t;
  return util::InvalidArgument("--since '" + s +
                               "' is not a time (2026-01-26T03:22:10Z, 2026-01-26) or an age "
                               "(30m, 2h, 7d)");
}

// Runs `body` and prints its result the one way.
void Run(const std::function<Result<json>()>& body) { Emit(body()); }

struct UserFlags {
  std::string name;
  std::string crn;
  control::UserRef ref() const { return {name, crn}; }
};

// Global flags (--output, --profile) are accepted after the verb too, as with the other verbs.
CLI::App* Verb(CLI::App& app, const std::string& name, const std::string& description,
               const std::string& example) {
  CLI::App* v = AddVerb(app, name, description, example);
  v->fallthrough();
  return v;
}

void AddUserFlags(CLI::App* verb, UserFlags& f, const std::string& what) {
  auto* n = verb->add_option("--user-name", f.name, "Name of the user " + what);
  auto* c = verb->add_option("--user-crn", f.crn, "CRN of the user " + what);
  n->excludes(c);
}

}  // namespace

void RegisterIamCommands(CLI::App& app) {
  // init
  {
    static control::InitOptions opts;
    auto* v = Verb(app, "init",
                   "Create the account and its administrator (with an access key in "
                   "$MLVAULT_HOME/credentials) "
                   "if they do not exist; otherwise show them",
                   "mlvault init --account-name research");
    v->add_option("--account-name", opts.account_name, "Name of a new account")
        ->capture_default_str();
    v->add_option("--admin-user-name", opts.admin_user_name, "Name of its administrator")
        ->capture_default_str();
    v->callback([] {
      Run([]() -> Result<json> {
        std::string home = control::MlvaultHomeFromEnv();
        auto db = MLV_TRY(OpenCatalog(home));
        auto init = MLV_TRY(control::InitAccount(*db, home, opts, util::Clock::System()));
        json out = {{"created", init.created},
                    {"account",
                     {{"accountId", init.account_id},
                      {"accountName", init.account_name},
                      {"region", init.region}}},
                    {"administrator",
                     {{"userName", init.admin_user_name}, {"userCrn", init.admin_user_crn}}},
                    {"credentialsFile", init.credentials_file}};
        if (init.created) {
          out["accessKeyId"] = init.access_key_id;
          out["nextSteps"] = {
              "mlvault grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE"};
        } else {
          auto caller = MLV_TRY(control::ResolveCaller(*db, home, GlobalFlags().profile));
          out["caller"] = {{"userName", caller.principal_name}, {"userCrn", caller.principal_crn}};
        }
        return out;
      });
    });
  }
  // get-caller-identity
  {
    auto* v = Verb(app, "get-caller-identity", "Show the account and user the CLI runs as",
                   "mlvault --profile ops get-caller-identity");
    v->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        return json{{"accountId", s->caller.account_id},
                    {"userName", s->caller.principal_name},
                    {"userCrn", s->caller.principal_crn}};
      });
    });
  }
  // create-user / list-users
  {
    static std::string name;
    auto* v = Verb(app, "create-user", "Create a user (with no policies and no access key yet)",
                   "mlvault create-user --user-name ops");
    v->add_option("--user-name", name, "Name of the new user")->required();
    v->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        return json{{"user", UserJson(MLV_TRY(s->ops->CreateUser(s->caller, name)))}};
      });
    });
    auto* l = Verb(app, "list-users", "List the account's users", "mlvault list-users");
    l->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        json users = json::array();
        for (const auto& u : MLV_TRY(s->ops->ListUsers(s->caller))) users.push_back(UserJson(u));
        return json{{"users", users}};
      });
    });
  }
  // create-access-key / list-access-keys / delete-access-key
  {
    static UserFlags user;
    static std::string save_profile;
    auto* v = Verb(
        app, "create-access-key",
        "Create an access key (an Ed25519 key pair) for a user (default: yourself); the private key is shown only this once",
        "mlvault create-access-key --user-name ops --save-profile ops");
    AddUserFlags(v, user, "the key is for");
    v->add_option("--save-profile", save_profile,
                  "Also write the key to this profile of $MLVAULT_HOME/credentials (mode 0600)");
    v->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        auto key = MLV_TRY(s->ops->CreateAccessKey(s->caller, user.ref()));
        json out = {{"accessKey", KeyJson(key)}};
        if (!save_profile.empty()) {
          MLV_TRY(control::SaveProfile(s->home, save_profile, key.access_key_id,
                                       key.private_key));
          out["savedToProfile"] = save_profile;
          out["credentialsFile"] = control::CredentialsPath(s->home);
        }
        return out;
      });
    });
    static UserFlags list_user;
    auto* l = Verb(app, "list-access-keys", "List a user's access keys (never their private keys)",
                   "mlvault list-access-keys --user-name ops");
    AddUserFlags(l, list_user, "whose keys to list (default: yourself)");
    l->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        json keys = json::array();
        for (const auto& k : MLV_TRY(s->ops->ListAccessKeys(s->caller, list_user.ref())))
          keys.push_back(KeyJson(k));
        return json{{"accessKeys", keys}};
      });
    });
    static std::string key_id;
    auto* d =
        Verb(app, "delete-access-key", "Delete (revoke) an access key; it stops working at once",
             "mlvault delete-access-key --access-key-id MLVKABCDEFGHIJKLMNOP");
    d->add_option("--access-key-id", key_id, "The key to delete")->required();
    d->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        return json{{"accessKey", KeyJson(MLV_TRY(s->ops->DeleteAccessKey(s->caller, key_id)))}};
      });
    });
  }
  // create-policy / list-policies / get-policy / delete-policy
  {
    static std::string name, document, description;
    auto* v = Verb(
        app, "create-policy",
        "Create a policy from a document in the cloud IAM grammar; a malformed document is refused "
        "whole, naming its line, column and field",
        "mlvault create-policy --policy-name operator --policy-document file://operator.json");
    v->add_option("--policy-name", name, "Name of the policy")->required();
    v->add_option("--policy-document", document, "file://PATH, or the JSON document itself")
        ->required();
    v->add_option("--description", description, "What the policy is for");
    v->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        std::string text = MLV_TRY(ReadDocument(document));
        auto p = s->ops->CreatePolicy(s->caller, name, text, description);
        if (!p && document.starts_with("file://"))
          return std::unexpected(p.error().WithContext(document.substr(7)));
        if (!p) return std::unexpected(p.error());
        return json{{"policy", PolicyJson(*p)}, {"warnings", p->warnings}};
      });
    });
    auto* l =
        Verb(app, "list-policies", "List the account's policies and whom they are attached to",
             "mlvault list-policies");
    l->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        json out = json::array();
        for (const auto& p : MLV_TRY(s->ops->ListPolicies(s->caller))) out.push_back(PolicyJson(p));
        return json{{"policies", out}};
      });
    });
    static std::string get_name;
    auto* g = Verb(app, "get-policy", "Show a policy with its document",
                   "mlvault get-policy --policy-name operator");
    g->add_option("--policy-name", get_name, "Name of the policy")->required();
    g->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        return json{{"policy", PolicyJson(MLV_TRY(s->ops->GetPolicy(s->caller, get_name)))}};
      });
    });
    static std::string del_name;
    auto* d = Verb(app, "delete-policy", "Delete a policy that is attached to no one",
                   "mlvault delete-policy --policy-name operator");
    d->add_option("--policy-name", del_name, "Name of the policy")->required();
    d->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        return json{{"policy", PolicyJson(MLV_TRY(s->ops->DeletePolicy(s->caller, del_name)))}};
      });
    });
  }
  // attach-policy / detach-policy
  for (bool attach : {true, false}) {
    struct Flags {
      UserFlags user;
      std::string policy;
    };
    auto* f = new Flags();  // lives as long as the CLI app (the process)
    auto* v = Verb(app, attach ? "attach-policy" : "detach-policy",
                   attach ? "Attach a policy to a user" : "Detach a policy from a user",
                   std::string("mlvault ") + (attach ? "attach" : "detach") +
                       "-policy --user-name ops --policy-name operator");
    AddUserFlags(v, f->user, attach ? "to attach to" : "to detach from");
    v->add_option("--policy-name", f->policy, "Name of the policy")->required();
    v->callback([f, attach] {
      Run([&]() -> Result<json> {
        if (f->user.name.empty() && f->user.crn.empty())
          return util::InvalidArgument("give --user-name or --user-crn");
        auto s = MLV_TRY(OpenSession());
        auto u = attach ? s->ops->AttachPolicy(s->caller, f->user.ref(), f->policy)
                        : s->ops->DetachPolicy(s->caller, f->user.ref(), f->policy);
        return json{{"user", UserJson(MLV_TRY(std::move(u)))}};
      });
    });
  }
  // simulate-policy
  {
    static UserFlags user;
    static std::vector<std::string> documents, actions, contexts;
    static std::string resource = "*", source_ip;
    auto* v = Verb(
        app, "simulate-policy",
        "Explain whether a user's policies (or given documents) allow actions on a resource, and "
        "which statement decided",
        "mlvault simulate-policy --user-name ops --action-name ml:BackupWorkspace --resource-crn "
        "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid> --context ml:EnvironmentName=prod");
    AddUserFlags(v, user, "whose attached policies to evaluate (default: yourself)");
    v->add_option("--policy-document", documents,
                  "Evaluate this document instead (file://PATH or JSON; repeatable)");
    v->add_option("--action-name", actions,
                  "Action to evaluate, e.g. ml:BackupWorkspace (repeatable)")
        ->required();
    v->add_option("--resource-crn", resource, "Resource CRN, or * for account-wide verbs")
        ->capture_default_str();
    v->add_option("--context", contexts,
                  "Condition key and values: KEY=VALUE[,VALUE...] (repeatable)");
    v->add_option("--source-ip", source_ip, "mlvault:SourceIp to assume (default: this CLI's)");
    v->callback([] {
      Run([]() -> Result<json> {
        control::SimulateRequest req;
        req.principal = user.ref();
        for (const auto& d : documents) req.policy_documents.push_back(MLV_TRY(ReadDocument(d)));
        req.actions = actions;
        req.resource = resource;
        req.source_ip = source_ip;
        for (const auto& c : contexts) {
          size_t eq = c.find('=');
          if (eq == std::string::npos || eq == 0)
            return util::InvalidArgument("--context '" + c + "' must be KEY=VALUE[,VALUE...]");
          std::vector<std::string> values;
          std::string rest = c.substr(eq + 1);
          for (size_t pos = 0;;) {
            size_t comma = rest.find(',', pos);
            values.push_back(
                rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
            if (comma == std::string::npos) break;
            pos = comma + 1;
          }
          req.context.emplace_back(c.substr(0, eq), values);
        }
        auto s = MLV_TRY(OpenSession());
        auto sim = MLV_TRY(s->ops->SimulatePolicy(s->caller, req));
        json results = json::array();
        for (const auto& r : sim.results) {
          json j = {{"actionName", r.action},
                    {"resourceCrn", r.resource},
                    {"decision", r.decision},
                    {"allowed", r.allowed},
                    {"explanation", r.explanation}};
          j["decidingStatement"] =
              r.deciding_statement ? StatementJson(*r.deciding_statement) : json(nullptr);
          json matched = json::array();
          for (const auto& m : r.matched_statements) matched.push_back(StatementJson(m));
          j["matchedStatements"] = matched;
          if (!r.required_entitlement.empty()) {
            j["requiredEntitlement"] = r.required_entitlement;
            j["entitlementHeld"] = r.entitlement_held;
          }
          results.push_back(j);
        }
        json out = {{"evaluatedPolicies", sim.evaluated_policies}, {"evaluationResults", results}};
        if (!sim.principal_crn.empty()) {
          out["principalCrn"] = sim.principal_crn;
          out["principalName"] = sim.principal_name;
        }
        return out;
      });
    });
  }
  // grant-entitlement / revoke-entitlement / list-entitlements
  for (bool grant : {true, false}) {
    auto* name = new std::string();  // lives as long as the CLI app (the process)
    auto* v =
        Verb(app, grant ? "grant-entitlement" : "revoke-entitlement",
             grant ? "Grant the account an entitlement (ML_ENABLE_BACKUP_RESTORE enables backups)"
                   : "Revoke an entitlement from the account",
             std::string("mlvault ") + (grant ? "grant" : "revoke") +
                 "-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE");
    v->add_option("--entitlement-name,--entitlement", *name, "The entitlement")->required();
    v->callback([name, grant] {
      Run([&]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        auto e = grant ? s->ops->GrantEntitlement(s->caller, *name)
                       : s->ops->RevokeEntitlement(s->caller, *name);
        return json{{"entitlement", EntitlementJson(MLV_TRY(std::move(e)))}};
      });
    });
  }
  {
    auto* v =
        Verb(app, "list-entitlements", "List the entitlements and whether the account holds them",
             "mlvault list-entitlements");
    v->callback([] {
      Run([]() -> Result<json> {
        auto s = MLV_TRY(OpenSession());
        json out = json::array();
        for (const auto& e : MLV_TRY(s->ops->ListEntitlements(s->caller)))
          out.push_back(EntitlementJson(e));
        return json{{"entitlements", out}};
      });
    });
  }
  // list-audit-events
  {
    static std::string principal, action, since, outcome;
    static int64_t max_items = 1000;
    auto* v = Verb(app, "list-audit-events",
                   "List the audit log: every mutating call and every denied call, oldest first",
                   "mlvault list-audit-events --outcome denied --since 1h");
    v->add_option("--principal", principal, "User name or CRN");
    v->add_option("--action", action,
                  "Action, e.g. ml:BackupWorkspace or iam:* (case-insensitive)");
    v->add_option("--since", since, "Time (2026-01-26T03:00:00Z) or age (30m, 2h, 7d)");
    v->add_option("--outcome", outcome, "succeeded, failed or denied");
    v->add_option("--max-items", max_items, "At most this many (the newest)")
        ->capture_default_str();
    v->callback([] {
      Run([]() -> Result<json> {
        control::AuditFilter f;
        f.principal = principal;
        f.action = action;
        f.outcome = outcome;
        f.limit = max_items;
        if (!since.empty()) f.since = MLV_TRY(ParseSince(since));
        auto s = MLV_TRY(OpenSession());
        json out = json::array();
        for (const auto& e : MLV_TRY(s->ops->ListAuditEvents(s->caller, f)))
          out.push_back(AuditJson(e));
        return json{{"auditEvents", out}};
      });
    });
  }
}

}  // namespace mlvault::cli
