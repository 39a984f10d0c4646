#include "control/identity.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <map>

#include "control/iam_authorizer.h"
#include "control/iam_store.h"
#include "control/role_sessions.h"
#include "crypto/ed25519.h"
#include "iam/policy.h"
#include "util/bytes.h"
#include "util/files.h"
#include "util/log.h"
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

using Profiles = std::map<std::string, std::map<std::string, std::string>>;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Reads the INI credentials file; nullopt if it does not exist.
util::Result<std::optional<Profiles>> ReadCredentialsFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<Profiles>();
    return util::ErrnoError("credentials file " + path, errno);
  }
  if (st.st_mode & 077) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return util::PermissionDenied("credentials file " + path + " holds secrets but has mode " +
                                  mode + " (readable or writable by others); run: chmod 600 " +
                                  path);
  }
  std::string text = MLV_TRY(util::ReadFile(path));
  Profiles profiles;
  std::string section;
  size_t line_no = 0, pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = Trim(
        std::string_view(text).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3)
        return util::InvalidArgument("credentials file " + path + " line " +
                                     std::to_string(line_no) +
                                     ": a profile header is written [name]");
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      profiles[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || section.empty())
      return util::InvalidArgument("credentials file " + path + " line " + std::to_string(line_no) +
                                   ": expected `key = value` inside a [profile]");
    profiles[section][Trim(std::string_view(line).substr(0, eq))] =
        Trim(std::string_view(line).substr(eq + 1));
  }
  return std::optional<Profiles>(std::move(profiles));
}

util::Result<Credentials> ProfileCredentials(const Profiles& profiles, const std::string& name,
                                             const std::string& path) {
  auto it = profiles.find(name);
  if (it == profiles.end()) {
    std::string names;
    for (const auto& [n, _] : profiles) names += (names.empty() ? "" : ", ") + n;
    return util::NotFound("profile '" + name + "' is not in " + path +
                          " (profiles there: " + (names.empty() ? "none" : names) + ")");
  }
  auto get = [&](const char* k) {
    auto f = it->second.find(k);
    return f == it->second.end() ? std::string() : f->second;
  };
  std::string id = get("access_key_id");
  // `secret_access_key` is the name used before access keys became key pairs.
  std::string key = get("private_key");
  if (key.empty()) key = get("secret_access_key");
  if (id.empty() || key.empty())
    return util::InvalidArgument("profile '" + name + "' in " + path +
                                 " needs both access_key_id and private_key");
  return Credentials{id, key, get("endpoint"), "profile '" + name + "' in " + path};
}

std::string RenderProfiles(const Profiles& profiles) {
  std::string out;
  for (const auto& [name, keys] : profiles) {
    if (!out.empty()) out += "\n";
    out += "[" + name + "]\n";
    for (const auto& [k, v] : keys) out += k + " = " + v + "\n";
  }
  return out;
}

std::string RandomFromAlphabet(std::string_view alphabet, size_t n) {
  std::string out;
  // Rejection sampling keeps every character equally likely.
  const unsigned limit = 256 - (256 % alphabet.size());
  while (out.size() < n) {
    util::Bytes b = util::RandomBytes(n);
    for (uint8_t c : b)
      if (c < limit && out.size() < n) out += alphabet[c % alphabet.size()];
  }
  return out;
}

std::string Hmac(util::ByteView key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return util::ToHex(util::ByteView(out, len));
}

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

constexpr std::string_view kEd25519Prefix = "ed25519$";

bool VerifyLegacySecret(std::string_view verifier, std::string_view secret) {
  if (!verifier.starts_with("v1$")) return false;
  size_t d = verifier.find('$', 3);
  if (d == std::string_view::npos) return false;
  auto salt = util::FromHex(verifier.substr(3, d - 3));
  if (!salt) return false;
  std::string want(verifier.substr(d + 1));
  std::string got = Hmac(*salt, secret);
  return want.size() == got.size() && CRYPTO_memcmp(want.data(), got.data(), got.size()) == 0;
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

std::vector<catalog::Migration> IamMigrations() { return {{"0100_iam", kSchema}}; }

std::string MlvaultHomeFromEnv() {
  const char* h = std::getenv("MLVAULT_HOME");
  if (h && *h) return h;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.mlvault";
}

std::string CredentialsPath(const std::string& home) { return home + "/credentials"; }

NewAccessKey GenerateAccessKey() {
  NewAccessKey k;
  k.access_key_id = "MLVK" + RandomFromAlphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
  crypto::Ed25519KeyPair pair = crypto::Ed25519Generate();
  k.private_key = crypto::Base64Encode(pair.seed);
  k.public_key = crypto::Base64Encode(pair.public_key);
  k.verifier = std::string(kEd25519Prefix) + k.public_key;
  OPENSSL_cleanse(pair.seed.data(), pair.seed.size());
  return k;
}

std::string PublicKeyOfVerifier(std::string_view verifier) {
  if (!verifier.starts_with(kEd25519Prefix)) return "";
  auto pub = crypto::Base64Decode(verifier.substr(kEd25519Prefix.size()));
  if (!pub || pub->size() != crypto::kEd25519PublicKeySize) return "";
  return std::string(util::AsString(*pub));
}

bool VerifySecret(std::string_view verifier, std::string_view private_key) {
  if (!verifier.starts_with(kEd25519Prefix)) return VerifyLegacySecret(verifier, private_key);
  std::string want = PublicKeyOfVerifier(verifier);
  auto seed_bytes = crypto::Base64Decode(private_key);
  if (want.empty() || !seed_bytes || seed_bytes->size() != crypto::kEd25519SeedSize) return false;
  crypto::Ed25519Seed seed;
  std::copy(seed_bytes->begin(), seed_bytes->end(), seed.begin());
  OPENSSL_cleanse(seed_bytes->data(), seed_bytes->size());
  crypto::Ed25519PublicKey got = crypto::Ed25519PublicFromSeed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  return CRYPTO_memcmp(want.data(), got.data(), got.size()) == 0;
}

util::Result<std::optional<Credentials>> FindCredentials(const std::string& home,
                                                         const std::string& profile) {
  const std::string path = CredentialsPath(home);
  if (!profile.empty()) {
    auto profiles = MLV_TRY(ReadCredentialsFile(path));
    if (!profiles)
      return util::NotFound("--profile " + profile + " was given but the credentials file " + path +
                            " does not exist");
    return std::optional<Credentials>(MLV_TRY(ProfileCredentials(*profiles, profile, path)));
  }
  const char* env_id = std::getenv("MLVAULT_ACCESS_KEY_ID");
  const char* env_secret = std::getenv("MLVAULT_PRIVATE_KEY");
  bool has_id = env_id && *env_id, has_secret = env_secret && *env_secret;
  if (has_id != has_secret)
    return util::InvalidArgument(
        std::string(has_id ? "MLVAULT_ACCESS_KEY_ID" : "MLVAULT_PRIVATE_KEY") + " is set but " +
        (has_id ? "MLVAULT_PRIVATE_KEY" : "MLVAULT_ACCESS_KEY_ID") +
        " is not; set both, or neither to use " + path);
  if (has_id)
    return std::optional<Credentials>(Credentials{
        env_id, env_secret, /*endpoint=*/"", "environment variables MLVAULT_ACCESS_KEY_ID/MLVAULT_PRIVATE_KEY"});
  auto profiles = MLV_TRY(ReadCredentialsFile(path));
  if (!profiles || !profiles->contains("default")) return std::optional<Credentials>();
  return std::optional<Credentials>(MLV_TRY(ProfileCredentials(*profiles, "default", path)));
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
    auto profiles = MLV_TRY(ReadCredentialsFile(out.credentials_file));
    if (profiles && profiles->contains("default"))
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

util::Status SaveProfile(const std::string& home, const std::string& profile,
                         const std::string& access_key_id, const std::string& private_key) {
  if (profile.empty() || profile.find_first_of("[]\n\r=") != std::string::npos)
    return util::InvalidArgument("profile name '" + profile +
                                 "' must be non-empty without [ ] = or line breaks");
  MLV_TRY(util::MakeDirs(home, 0700));
  const std::string path = CredentialsPath(home);
  auto profiles = MLV_TRY(ReadCredentialsFile(path));
  Profiles p = profiles ? std::move(*profiles) : Profiles{};
  auto& entry = p[profile];
  entry.erase("secret_access_key");
  entry["access_key_id"] = access_key_id;
  entry["private_key"] = private_key;
  return util::WriteFileAtomic(path, RenderProfiles(p), true, 0600);
}

}  // namespace mlvault::control
