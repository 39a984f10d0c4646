// The identity and access verbs: flags to request JSON, the response printed. The work,
// including every authorisation and audit record, is the iam service's operations.
#include "api/credentials.h"
#include "cli/app.h"

namespace mlvault::cli {
namespace {

constexpr std::string_view iam = "iam";

void UserFlags(Verb& v, const std::string& what) {
  v.String("--user-name", "Name of the user " + what).String("--user-crn", "CRN of the user " + what);
  v.cli()->get_option("--user-name")->excludes(v.cli()->get_option("--user-crn"));
}

// "KEY=VALUE[,VALUE...]" flags as {"KEY": [VALUE, ...]}.
util::Result<json> ContextOf(const std::vector<std::string>& flags) {
  json out = json::object();
  for (const auto& c : flags) {
    size_t eq = c.find('=');
    if (eq == std::string::npos || eq == 0)
      return util::InvalidArgument("--context '" + c + "' must be KEY=VALUE[,VALUE...]");
    json values = json::array();
    std::string rest = c.substr(eq + 1);
    for (size_t pos = 0;;) {
      size_t comma = rest.find(',', pos);
      values.push_back(rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    out[c.substr(0, eq)] = values;
  }
  return out;
}

}  // namespace

void RegisterIamVerbs(Application& app, CLI::App& root) {
  {
    Verb& v = app.AddVerb(root, iam, "init", "init",
                          "Create the account and its administrator (with an access key in "
                          "$MLVAULT_HOME/credentials) if they do not exist; otherwise show them",
                          "mlvault init --account-name research");
    v.String("--account-name", "Name of a new account (default: default)")
        .String("--admin-user-name", "Name of its administrator (default: admin)");
  }
  app.AddVerb(root, iam, "getCallerIdentity", "get-caller-identity",
              "Show the account and user the CLI runs as", "mlvault --profile ops get-caller-identity");

  app.AddVerb(root, iam, "createUser", "create-user",
              "Create a user (with no policies and no access key yet)",
              "mlvault create-user --user-name ops")
      .String("--user-name", "Name of the new user", true);
  app.AddVerb(root, iam, "listUsers", "list-users", "List the account's users", "mlvault list-users");

  {
    Verb& v = app.AddVerb(
        root, iam, "createAccessKey", "create-access-key",
        "Create an access key (an Ed25519 key pair) for a user (default: yourself); the private key is shown only this once",
        "mlvault create-access-key --user-name ops --save-profile ops");
    UserFlags(v, "the key is for");
    auto save = std::make_shared<std::string>();
    v.cli()->add_option("--save-profile", *save,
                        "Also write the key to this profile of $MLVAULT_HOME/credentials (mode "
                        "0600)");
    v.OnRun([&app, save](Verb& v) {
      app.Emit(
          [&]() -> util::Result<json> {
            json out = MLV_TRY(v.Call(v.Request()));
            if (!save->empty()) {
              const json& key = out["accessKey"];
              out["credentialsFile"] = MLV_TRY(api::SaveCredentialsProfile(
                  *save, key["accessKeyId"].get<std::string>(),
                  key["privateKey"].get<std::string>()));
              out["savedToProfile"] = *save;
            }
            return out;
          }(),
          &v);
    });
  }
  {
    Verb& v = app.AddVerb(root, iam, "listAccessKeys", "list-access-keys",
                          "List a user's access keys (never their private keys)",
                          "mlvault list-access-keys --user-name ops");
    UserFlags(v, "whose keys to list (default: yourself)");
  }
  app.AddVerb(root, iam, "deleteAccessKey", "delete-access-key",
              "Delete (revoke) an access key; it stops working at once",
              "mlvault delete-access-key --access-key-id MLVKABCDEFGHIJKLMNOP")
      .String("--access-key-id", "The key to delete", true);

  {
    Verb& v = app.AddVerb(
        root, iam, "createPolicy", "create-policy",
        "Create a policy from a document in the cloud IAM grammar; a malformed document is refused "
        "whole, naming its line, column and field",
        "mlvault create-policy --policy-name operator --policy-document file://operator.json");
    v.String("--policy-name", "Name of the policy", true)
        .String("--policy-document", "file://PATH, or the JSON document itself", true)
        .String("--description", "What the policy is for");
    v.OnRun([&app](Verb& v) {
      app.Emit(
          [&]() -> util::Result<json> {
            std::string arg = v.Value("--policy-document");
            json request = v.Request();
            request["policyDocument"] = MLV_TRY(app.ReadInput("--policy-document", arg, true));
            auto r = v.Call(request);
            if (!r && arg.starts_with("file://"))
              return std::unexpected(r.error().WithContext(arg.substr(7)));
            return r;
          }(),
          &v);
    });
  }
  app.AddVerb(root, iam, "listPolicies", "list-policies",
              "List the account's policies and whom they are attached to", "mlvault list-policies");
  app.AddVerb(root, iam, "getPolicy", "get-policy", "Show a policy with its document",
              "mlvault get-policy --policy-name operator")
      .String("--policy-name", "Name of the policy", true);
  app.AddVerb(root, iam, "deletePolicy", "delete-policy",
              "Delete a policy that is attached to no one",
              "mlvault delete-policy --policy-name operator")
      .String("--policy-name", "Name of the policy", true);

  for (bool attach : {true, false}) {
    Verb& v = app.AddVerb(root, iam, attach ? "attachPolicy" : "detachPolicy",
                          attach ? "attach-policy" : "detach-policy",
                          attach ? "Attach a policy to a user" : "Detach a policy from a user",
                          std::string("mlvault ") + (attach ? "attach" : "detach") +
                              "-policy --user-name ops --policy-name operator");
    UserFlags(v, attach ? "to attach to" : "to detach from");
    v.String("--policy-name", "Name of the policy", true);
    v.OnRun([&app](Verb& v) {
      if (!v.Given("--user-name") && !v.Given("--user-crn"))
        return app.Emit(util::InvalidArgument("give --user-name or --user-crn"));
      app.Emit(v.Call(v.Request()), &v);
    });
  }

  {
    Verb& v = app.AddVerb(
        root, iam, "simulatePolicy", "simulate-policy",
        "Explain whether a user's policies (or given documents) allow actions on a resource, and "
        "which statement decided",
        "mlvault simulate-policy --user-name ops --action-name ml:BackupWorkspace --resource-crn "
        "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid> --context ml:EnvironmentName=prod");
    UserFlags(v, "whose attached policies to evaluate (default: yourself)");
    v.Strings("--policy-document", "Evaluate this document instead (file://PATH or JSON; repeatable)")
        .Strings("--action-name", "Action to evaluate, e.g. ml:BackupWorkspace (repeatable)", true)
        .String("--resource-crn", "Resource CRN, or * for account-wide verbs (default: *)")
        .Strings("--context", "Condition key and values: KEY=VALUE[,VALUE...] (repeatable)")
        .String("--source-ip", "mlvault:SourceIp to assume (default: this CLI's)");
    v.OnRun([&app](Verb& v) {
      app.Emit(
          [&]() -> util::Result<json> {
            json request = v.Request();
            request.erase("policyDocument");
            request.erase("actionName");
            request.erase("context");
            json docs = json::array();
            for (const auto& d : v.Values("--policy-document"))
              docs.push_back(MLV_TRY(app.ReadInput("--policy-document", d, true)));
            if (!docs.empty()) request["policyDocuments"] = docs;
            request["actionNames"] = v.Values("--action-name");
            if (v.Given("--context")) request["context"] = MLV_TRY(ContextOf(v.Values("--context")));
            return v.Call(request);
          }(),
          &v);
    });
  }

  for (bool grant : {true, false}) {
    app.AddVerb(root, iam, grant ? "grantEntitlement" : "revokeEntitlement",
                grant ? "grant-entitlement" : "revoke-entitlement",
                grant ? "Grant the account an entitlement (ML_ENABLE_BACKUP_RESTORE enables backups)"
                      : "Revoke an entitlement from the account",
                std::string("mlvault ") + (grant ? "grant" : "revoke") +
                    "-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE")
        .String("--entitlement-name,--entitlement", "The entitlement", true);
  }
  app.AddVerb(root, iam, "listEntitlements", "list-entitlements",
              "List the entitlements and whether the account holds them",
              "mlvault list-entitlements");
  app.AddVerb(root, iam, "listAuditEvents", "list-audit-events",
              "List the audit log: every mutating call and every denied call, oldest first",
              "mlvault list-audit-events --outcome denied --since 1h")
      .String("--principal", "User name or CRN")
      .String("--action", "Action, e.g. ml:BackupWorkspace or iam:* (case-insensitive)")
      .String("--since", "Time (2026-01-26T03:00:00Z) or age (30m, 2h, 7d)")
      .String("--outcome", "succeeded, failed or denied")
      .Int("--max-items", "At most this many (the newest; default 1000)");
}

}  // namespace mlvault::cli
