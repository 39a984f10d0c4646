#include "control/account_bootstrap.h"

#include "control/access_key_secrets.h"
#include "control/credentials_file.h"
#include "control/iam_authorizer.h"
#include "control/iam_store.h"
#include "control/identity.h"
#include "iam/policy.h"
#include "util/files.h"
#include "util/random.h"

namespace mlvault::control {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  region TEXT NOT NULL DEFAULT 'us-west-1',
  created_at TEXT NOT NULL
);
CREATE TABLE iam_users (
  crn TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (account_id, name)
);
CREATE TABLE iam_access_keys (
  access_key_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  user_crn TEXT NOT NULL REFERENCES iam_users(crn),
  secret_verifier TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'deleted')),
  created_at TEXT NOT NULL,
  deleted_at TEXT
);
CREATE INDEX iam_access_keys_user ON iam_access_keys (user_crn);
CREATE TABLE iam_policies (
  crn TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  document TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (account_id, name)
);
CREATE TABLE iam_user_policies (
  user_crn TEXT NOT NULL REFERENCES iam_users(crn),
  policy_crn TEXT NOT NULL REFERENCES iam_policies(crn),
  attached_at TEXT NOT NULL,
  PRIMARY KEY (user_crn, policy_crn)
);
CREATE TABLE iam_entitlements (
  account_id TEXT NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  granted_at TEXT NOT NULL,
  granted_by TEXT NOT NULL,
  PRIMARY KEY (account_id, name)
);
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  account_id TEXT NOT NULL,
  time TEXT NOT NULL,
  time_micros INTEGER NOT NULL,
  principal_crn TEXT NOT NULL,
  principal_name TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'denied')),
  error_code TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL,
  source_ip TEXT NOT NULL
);
CREATE INDEX audit_events_account_time ON audit_events (account_id, time_micros);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be changed'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be deleted'); END;
)sql";

}  // namespace

std::vector<catalog::Migration> IamMigrations() { return {{"0100_iam", kSchema}}; }

util::Result<AccountInit> InitAccount(catalog::Db& db, const std::string& home,
                                      const InitOptions& options, const util::Clock& clock) {
  MLV_TRY(ValidateIamName("account name", options.account_name));
  MLV_TRY(ValidateIamName("user name", options.admin_user_name));
  MLV_TRY(db.Migrate(IamMigrations()));
  MLV_TRY(util::MakeDirs(home, 0700));
  IamStore store(db);
  AccountInit out;
  out.credentials_file = CredentialsPath(home);
  MLV_TRY(db.Transaction([&]() -> util::Status {
    // Decided afresh on every attempt: PostgreSQL re-runs the body after a serialization failure
    // (another first run may have created the account in between).
    out = {};
    out.credentials_file = CredentialsPath(home);
    if (auto existing = MLV_TRY(store.FirstAccount())) {
      out.created = false;
      out.account_id = existing->id;
      out.account_name = existing->name;
      out.region = existing->region;
      auto users = MLV_TRY(store.ListUsers(existing->id));
      for (const auto& u : users) {
        for (const auto& p : MLV_TRY(store.PoliciesOfUser(u.crn))) {
          if (p.name == iam::kAdministratorAccessPolicyName && out.admin_user_crn.empty()) {
            out.admin_user_crn = u.crn;
            out.admin_user_name = u.name;
          }
        }
      }
      return util::Ok();
    }
    if (MLV_TRY(CredentialsFileHasProfile(home, "default")))
      return util::Conflict(
          "the catalog " + db.Describe() + " has no account yet, but " + out.credentials_file +
          " already has a [default] profile (from an earlier catalog?); its key cannot work "
          "here. Move that file away, then run mlvault init again");
    const std::string now = util::FormatTime(clock.Now());
    AccountRow account{util::NewUuid(), options.account_name, std::string(kDefaultRegion), now};
    MLV_TRY(store.InsertAccount(account));
    UserRow admin{IamCrn(account.region, account.id, "user", util::NewUuid()), account.id,
                  options.admin_user_name, now};
    MLV_TRY(store.InsertUser(admin));
    PolicyRow policy{IamCrn(account.region, account.id, "policy", util::NewUuid()),
                     account.id,
                     std::string(iam::kAdministratorAccessPolicyName),
                     "Full access to every action on every resource of the account",
                     std::string(iam::AdministratorAccessDocument()),
                     now,
                     admin.crn};
    MLV_TRY(store.InsertPolicy(policy));
    MLV_TRY(store.Attach(admin.crn, policy.crn, now));
    NewAccessKey key = GenerateAccessKey();
    MLV_TRY(store.InsertAccessKey(
        {key.access_key_id, account.id, admin.crn, key.verifier, "active", now, ""}));
    Caller caller{account.id, admin.crn, admin.name, "127.0.0.1", "cli"};
    MLV_TRY(AppendAuditEvent(
        db,
        MakeAuditEvent(caller, "iam:CreateAccount", AccountCrn(account), util::Ok(),
                       "account '" + account.name + "' with administrator '" + admin.name + "'"),
        clock));
    // Written before the commit: a concurrent first run waits for our transaction, then finds
    // the account and this file together.
    MLV_TRY(SaveProfile(home, "default", key.access_key_id, key.private_key));
    out = {true,      account.id, account.name,      account.region,
           admin.crn, admin.name, key.access_key_id, out.credentials_file};
    return util::Ok();
  }));
  return out;
}

}  // namespace mlvault::control
