#include "control/identity.h"

#include <cctype>

#include "control/iam_authorizer.h"
#include "control/iam_store.h"
#include "control/role_sessions.h"
#include "util/clock.h"
#include "util/log.h"

namespace mlvault::control {

namespace {

void AuditAuthFailure(catalog::Db& db, const AccessKeyRow& key, const std::string& user_name,
                      const std::string& message, const std::string& source = "cli",
                      const std::string& source_ip = "127.0.0.1") {
  AuditEvent e;
  e.account_id = key.account_id;
  e.principal_crn = key.user_crn;
  e.principal_name = user_name;
  e.action = "iam:Authenticate";
  e.resource = key.user_crn;
  e.outcome = "denied";
  e.error_code = "permission-denied";
  e.detail = message;
  e.source = source;
  e.source_ip = source_ip;
  if (auto st = AppendAuditEvent(db, e, util::Clock::System()); !st)
    util::Log(util::LogLevel::kWarn, "could not write audit event: {}", st.error().message());
}

}  // namespace

util::Status ValidateIamName(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > 64)
    return util::InvalidArgument(std::string(what) + " must be 1 to 64 characters, got " +
                                 std::to_string(name.size()));
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '=' || c == ',' ||
              c == '.' || c == '@' || c == '_' || c == '-';
    if (!ok)
      return util::InvalidArgument(std::string(what) + " '" + std::string(name) +
                                   "' may contain only letters, digits and + = , . @ _ -");
  }
  return util::Ok();
}

util::Result<Caller> Authenticate(catalog::Db& db, std::string_view access_key_id,
                                  std::string_view secret) {
  IamStore store(db);
  auto key = MLV_TRY(store.FindAccessKey(access_key_id));
  if (!key)  // assume-role's temporary credentials (control/role_sessions.h)
    if (auto session = MLV_TRY(
            AuthenticateRoleSession(db, access_key_id, secret, util::Clock::System().Now())))
      return *session;
  if (!key)
    return util::PermissionDenied(
        "access key " + std::string(access_key_id) + " is not known to the catalog " +
        db.Describe() + " (check --profile, MLVAULT_ACCESS_KEY_ID or the credentials file)");
  auto user = MLV_TRY(store.FindUserByCrn(key->user_crn));
  if (!user)
    return util::Internal("access key " + key->access_key_id + " belongs to a missing user " +
                          key->user_crn);
  if (key->status != "active") {
    std::string msg = "access key " + key->access_key_id + " of user '" + user->name +
                      "' was deleted at " + key->deleted_at +
                      " and no longer works; an administrator can create a new one with: "
                      "mlvault create-access-key --user-name " +
                      user->name;
    AuditAuthFailure(db, *key, user->name, msg);
    return util::PermissionDenied(msg);
  }
  if (!VerifySecret(key->secret_verifier, secret)) {
    std::string msg = "the private key given for access key " + key->access_key_id + " is wrong";
    AuditAuthFailure(db, *key, user->name, msg);
    return util::PermissionDenied(msg);
  }
  Caller c;
  c.account_id = user->account_id;
  c.principal_crn = user->crn;
  c.principal_name = user->name;
  c.source_ip = "127.0.0.1";
  c.source = "cli";
  return c;
}

util::Result<std::optional<KeyOwner>> FindKeyOwner(catalog::Db& db,
                                                   std::string_view access_key_id) {
  IamStore store(db);
  auto key = MLV_TRY(store.FindAccessKey(access_key_id));
  if (!key)  // assume-role's temporary credentials (control/role_sessions.h)
    return FindRoleSessionKeyOwner(db, access_key_id, util::Clock::System().Now());
  auto user = MLV_TRY(store.FindUserByCrn(key->user_crn));
  if (!user)
    return util::Internal("access key " + key->access_key_id + " belongs to a missing user " +
                          key->user_crn);
  KeyOwner k;
  k.access_key_id = key->access_key_id;
  k.status = key->status;
  k.deleted_at = key->deleted_at;
  k.public_key = PublicKeyOfVerifier(key->secret_verifier);
  k.caller.account_id = user->account_id;
  k.caller.principal_crn = user->crn;
  k.caller.principal_name = user->name;
  k.caller.source_ip = "127.0.0.1";
  k.caller.source = "cli";
  return std::optional<KeyOwner>(std::move(k));
}

void AuditAuthenticationFailure(catalog::Db& db, const KeyOwner& key, const std::string& message,
                                const std::string& source, const std::string& source_ip) {
  AccessKeyRow row;
  row.access_key_id = key.access_key_id;
  row.account_id = key.caller.account_id;
  row.user_crn = key.caller.principal_crn;
  AuditAuthFailure(db, row, key.caller.principal_name, message, source, source_ip);
}

util::Result<Caller> ResolveCaller(catalog::Db& db, const std::string& home,
                                   const std::string& profile) {
  MLV_TRY(db.Migrate(IamMigrations()));
  auto creds = MLV_TRY(FindCredentials(home, profile));
  if (!creds) {
    MLV_TRY(InitAccount(db, home, InitOptions{}, util::Clock::System()));
    creds = MLV_TRY(FindCredentials(home, profile));
    if (!creds)
      return util::PermissionDenied("no credentials: the catalog " + db.Describe() +
                                    " already has an account, and neither --profile, "
                                    "MLVAULT_ACCESS_KEY_ID/MLVAULT_PRIVATE_KEY nor a "
                                    "[default] profile in " +
                                    CredentialsPath(home) +
                                    " gives an access key; ask an administrator for one (mlvault "
                                    "create-access-key --user-name NAME)");
  }
  auto caller = Authenticate(db, creds->access_key_id, creds->private_key);
  if (!caller)
    return std::unexpected(caller.error().WithContext("credentials from " + creds->origin));
  return caller;
}

}  // namespace mlvault::control
