// Identity: account bootstrap, the credentials file, access keys and authentication.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <thread>

#include "control/iam_store.h"
#include "control/iam_test_util.h"

namespace mlvault::control {
namespace {

using testing::IamFixture;
using IdentityTest = IamFixture;

TEST_F(IdentityTest, FirstUseCreatesAccountAdministratorAndCredentials) {
  auto caller = ResolveCaller(*db_, home_, "");
  ASSERT_TRUE(caller) << caller.error().ToString();
  EXPECT_EQ(caller->principal_name, "admin");
  EXPECT_TRUE(caller->principal_crn.starts_with("crn:mlvault:iam:us-west-1:" + caller->account_id +
                                                ":user:"));
  EXPECT_EQ(caller->source, "cli");
  EXPECT_EQ(caller->source_ip, "127.0.0.1");
  EXPECT_EQ(Mode(CredentialsPath(home_)), 0600);
  auto text = util::ReadFile(CredentialsPath(home_));
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("[default]"), std::string::npos);
  EXPECT_NE(text->find("access_key_id = MLVK"), std::string::npos);

  // The administrator's power is the attached AdministratorAccess policy, not a bypass.
  IamStore store(*db_);
  auto policies = store.PoliciesOfUser(caller->principal_crn);
  ASSERT_TRUE(policies);
  ASSERT_EQ(policies->size(), 1u);
  EXPECT_EQ((*policies)[0].name, "AdministratorAccess");
  // The catalog keeps only the public key.
  auto keys = db_->Query("SELECT secret_verifier FROM iam_access_keys");
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  ASSERT_NE(text->find("private_key = "), std::string::npos);
  std::string secret = text->substr(text->find("private_key = ") + 14, 44);
  EXPECT_TRUE((*keys)[0].Text(0).starts_with("ed25519$"));
  EXPECT_EQ(PublicKeyOfVerifier((*keys)[0].Text(0)).size(), 32u);
  EXPECT_EQ((*keys)[0].Text(0).find(secret), std::string::npos);
  EXPECT_TRUE(VerifySecret((*keys)[0].Text(0), secret));
  EXPECT_FALSE(VerifySecret((*keys)[0].Text(0), secret + "x"));

  // Second use: the same caller, nothing new created.
  auto again = ResolveCaller(*db_, home_, "");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->principal_crn, caller->principal_crn);
  auto accounts = db_->Query("SELECT COUNT(*) FROM accounts");
  EXPECT_EQ((*accounts)[0].Int(0), 1);
  // The account creation is in the audit log.
  auto audit = db_->Query("SELECT action, outcome, principal_crn FROM audit_events");
  ASSERT_TRUE(audit);
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].Text(0), "iam:CreateAccount");
  EXPECT_EQ((*audit)[0].Text(2), caller->principal_crn);
}

TEST_F(IdentityTest, InitIsIdempotentAndHonoursNames) {
  auto first = InitAccount(*db_, home_, InitOptions{"research", "root"}, clock_);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->account_name, "research");
  EXPECT_EQ(first->admin_user_name, "root");
  EXPECT_EQ(first->region, "us-west-1");
  auto second = InitAccount(*db_, home_, InitOptions{"other", "x"}, clock_);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->account_id, first->account_id);
  EXPECT_EQ(second->admin_user_name, "root");
  EXPECT_FALSE(InitAccount(*db_, home_, InitOptions{"bad name", "x"}, clock_));
}

TEST_F(IdentityTest, ConcurrentFirstRunsCreateOneAccount) {
  std::vector<std::thread> threads;
  std::vector<std::string> principals(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto db = catalog::OpenSqlite(home_ + "/catalog.db");
      ASSERT_TRUE(db);
      auto c = ResolveCaller(**db, home_, "");
      ASSERT_TRUE(c) << c.error().ToString();
      principals[i] = c->principal_crn;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& p : principals) EXPECT_EQ(p, principals[0]);
  EXPECT_EQ((*db_->Query("SELECT COUNT(*) FROM accounts"))[0].Int(0), 1);
  EXPECT_EQ((*db_->Query("SELECT COUNT(*) FROM iam_users"))[0].Int(0), 1);
}

TEST_F(IdentityTest, ProfilesAndEnvironmentVariables) {
  Caller admin = Admin();
  Caller ops = UserWith(admin, "ops");
  auto key = ops_->CreateAccessKey(admin, UserRef{"ops", ""});
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_EQ(key->private_key.size(), 44u);
  ASSERT_TRUE(SaveProfile(home_, "ops", key->access_key_id, key->private_key));
  EXPECT_EQ(Mode(CredentialsPath(home_)), 0600);

  auto by_profile = ResolveCaller(*db_, home_, "ops");
  ASSERT_TRUE(by_profile) << by_profile.error().ToString();
  EXPECT_EQ(by_profile->principal_crn, ops.principal_crn);
  // The default profile is still the administrator.
  EXPECT_EQ(ResolveCaller(*db_, home_, "")->principal_crn, admin.principal_crn);

  setenv("MLVAULT_ACCESS_KEY_ID", key->access_key_id.c_str(), 1);
  setenv("MLVAULT_PRIVATE_KEY", key->private_key.c_str(), 1);
  EXPECT_EQ(ResolveCaller(*db_, home_, "")->principal_crn, ops.principal_crn);
  // An explicit --profile wins over the environment.
  EXPECT_EQ(ResolveCaller(*db_, home_, "default")->principal_crn, admin.principal_crn);

  unsetenv("MLVAULT_PRIVATE_KEY");
  auto half = ResolveCaller(*db_, home_, "");
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(half.error().message().find("MLVAULT_PRIVATE_KEY is not"), std::string::npos);

  auto missing = ResolveCaller(*db_, home_, "nobody");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), util::ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("profiles there: default, ops"), std::string::npos)
      << missing.error().message();
}

TEST_F(IdentityTest, WrongUnknownAndDeletedKeysAreDenied) {
  Caller admin = Admin();
  UserWith(admin, "ops");
  auto key = ops_->CreateAccessKey(admin, UserRef{"ops", ""});
  ASSERT_TRUE(key);

  auto wrong = Authenticate(*db_, key->access_key_id, "not-the-secret");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(wrong.error().message().find("private key given for access key"), std::string::npos);

  auto unknown = Authenticate(*db_, "MLVKAAAAAAAAAAAAAAAA", "x");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(unknown.error().message().find("not known"), std::string::npos);

  ASSERT_TRUE(Authenticate(*db_, key->access_key_id, key->private_key));
  auto deleted = ops_->DeleteAccessKey(admin, key->access_key_id);
  ASSERT_TRUE(deleted) << deleted.error().ToString();
  EXPECT_EQ(deleted->status, "deleted");
  auto revoked = Authenticate(*db_, key->access_key_id, key->private_key);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(revoked.error().message().find("was deleted"), std::string::npos);
  EXPECT_NE(revoked.error().message().find("mlvault create-access-key --user-name ops"),
            std::string::npos);
  // Both failed authentications of a known key were audited as denied.
  auto denied = db_->Query(
      "SELECT COUNT(*) FROM audit_events WHERE action = 'iam:Authenticate' AND outcome = 'denied'");
  EXPECT_EQ((*denied)[0].Int(0), 2);
}

TEST_F(IdentityTest, CredentialsFileMustBePrivate) {
  Admin();
  ASSERT_EQ(chmod(CredentialsPath(home_).c_str(), 0644), 0);
  auto c = ResolveCaller(*db_, home_, "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(c.error().message().find("chmod 600"), std::string::npos);
}

TEST_F(IdentityTest, NoCredentialsForAnExistingAccount) {
  Admin();
  ASSERT_TRUE(util::RemoveAll(CredentialsPath(home_)));
  auto c = ResolveCaller(*db_, home_, "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(c.error().message().find("no credentials"), std::string::npos);
  // Nothing was created behind the user's back.
  EXPECT_EQ((*db_->Query("SELECT COUNT(*) FROM accounts"))[0].Int(0), 1);
}

TEST_F(IdentityTest, StaleCredentialsWithAFreshCatalog) {
  Admin();
  db_.reset();
  ASSERT_TRUE(util::RemoveAll(home_ + "/catalog.db"));
  ASSERT_TRUE(util::RemoveAll(home_ + "/catalog.db-wal"));
  ASSERT_TRUE(util::RemoveAll(home_ + "/catalog.db-shm"));
  auto db = catalog::OpenSqlite(home_ + "/catalog.db");
  ASSERT_TRUE(db);
  db_ = std::move(*db);
  auto c = ResolveCaller(*db_, home_, "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), util::ErrorCode::kPermissionDenied);
  auto init = InitAccount(*db_, home_, InitOptions{}, clock_);
  ASSERT_FALSE(init);
  EXPECT_EQ(init.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(init.error().message().find("Move that file away"), std::string::npos);
  authz_ = MakeIamAuthorizer(*db_, clock_);
  ops_ = std::make_unique<IamOperations>(*db_, *authz_, clock_);
}

TEST_F(IdentityTest, MalformedCredentialsFile) {
  ASSERT_TRUE(util::WriteFileAtomic(CredentialsPath(home_), "access_key_id = x\n", true, 0600));
  auto c = FindCredentials(home_, "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find("line 1"), std::string::npos);
  ASSERT_TRUE(util::WriteFileAtomic(CredentialsPath(home_),
                                    "# mine\n[default]\naccess_key_id = MLVKX\n", true, 0600));
  auto d = FindCredentials(home_, "");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("needs both"), std::string::npos);
}

TEST_F(IdentityTest, SaveProfileKeepsOtherProfiles) {
  ASSERT_TRUE(SaveProfile(home_, "a", "MLVKA", "sa"));
  ASSERT_TRUE(SaveProfile(home_, "b", "MLVKB", "sb"));
  ASSERT_TRUE(SaveProfile(home_, "a", "MLVKA2", "sa2"));
  auto a = FindCredentials(home_, "a");
  auto b = FindCredentials(home_, "b");
  ASSERT_TRUE(a && *a && b && *b);
  EXPECT_EQ((*a)->access_key_id, "MLVKA2");
  EXPECT_EQ((*b)->private_key, "sb");
  EXPECT_FALSE(SaveProfile(home_, "x]y", "k", "s"));
}

TEST_F(IdentityTest, GeneratedKeysAreDistinctKeyPairs) {
  NewAccessKey a = GenerateAccessKey(), b = GenerateAccessKey();
  EXPECT_NE(a.access_key_id, b.access_key_id);
  EXPECT_NE(a.private_key, b.private_key);
  EXPECT_EQ(a.access_key_id.size(), 20u);
  EXPECT_EQ(a.private_key.size(), 44u);
  EXPECT_EQ(a.verifier, "ed25519$" + a.public_key);
  EXPECT_EQ(a.verifier.find(a.private_key), std::string::npos);
  EXPECT_TRUE(VerifySecret(a.verifier, a.private_key));
  EXPECT_FALSE(VerifySecret(a.verifier, b.private_key));
  EXPECT_FALSE(VerifySecret(a.verifier, "not base64!"));
  EXPECT_FALSE(VerifySecret("garbage", a.private_key));
}

TEST_F(IdentityTest, ProfilesKeepTheirEndpointAndReadTheOldSecretName) {
  ASSERT_TRUE(util::WriteFileAtomic(
      CredentialsPath(home_),
      "[old]\naccess_key_id = MLVKOLD\nsecret_access_key = s3cr3t\nendpoint = http://h:1\n", true,
      0600));
  auto old = FindCredentials(home_, "old");
  ASSERT_TRUE(old && *old) << (old ? "" : old.error().ToString());
  EXPECT_EQ((*old)->private_key, "s3cr3t");
  EXPECT_EQ((*old)->endpoint, "http://h:1");
  ASSERT_TRUE(SaveProfile(home_, "old", "MLVKNEW", "bmV3"));
  auto text = util::ReadFile(CredentialsPath(home_));
  ASSERT_TRUE(text);
  EXPECT_EQ(text->find("secret_access_key"), std::string::npos);
  EXPECT_NE(text->find("endpoint = http://h:1"), std::string::npos);
  EXPECT_NE(text->find("private_key = bmV3"), std::string::npos);
}

TEST_F(IdentityTest, LegacySecretKeysStillWorkEmbedded) {
  Caller admin = Admin();
  Caller ops = UserWith(admin, "ops");
  // A key as versions before key pairs stored it: a salted HMAC verifier of a 40-char secret.
  const std::string secret = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn";
  const std::string salt = "00112233445566778899aabbccddeeff";
  unsigned char mac[32];
  unsigned int len = 0;
  auto salt_bytes = *util::FromHex(salt);
  HMAC(EVP_sha256(), salt_bytes.data(), static_cast<int>(salt_bytes.size()),
       reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), mac, &len);
  std::string verifier = "v1$" + salt + "$" + util::ToHex(util::ByteView(mac, len));
  IamStore store(*db_);
  ASSERT_TRUE(store.InsertAccessKey({"MLVKLEGACY0000000000", ops.account_id, ops.principal_crn,
                                     verifier, "active", "2026-01-01T00:00:00Z", ""}));
  auto c = Authenticate(*db_, "MLVKLEGACY0000000000", secret);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->principal_crn, ops.principal_crn);
  EXPECT_FALSE(Authenticate(*db_, "MLVKLEGACY0000000000", secret + "x"));
  // A server cannot verify signatures of it: no public key.
  auto owner = FindKeyOwner(*db_, "MLVKLEGACY0000000000");
  ASSERT_TRUE(owner && *owner);
  EXPECT_TRUE((*owner)->public_key.empty());
}

}  // namespace
}  // namespace mlvault::control
