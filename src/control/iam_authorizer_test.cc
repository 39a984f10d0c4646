// The IAM authorizer: entitlement, policies, accounts, restore's two resources, audit log.
#include "control/iam_store.h"
#include "control/iam_test_util.h"

namespace mlvault::control {
namespace {

using AuthorizerTest = testing::IamFixture;

std::string WorkspaceCrn(const Caller& c, const std::string& id = "w1") {
  return "crn:mlvault:ml:us-west-1:" + c.account_id + ":workspace:" + id;
}
std::string BackupCrn(const Caller& c, const std::string& id = "b1") {
  return "crn:mlvault:ml:us-west-1:" + c.account_id + ":workspace_backup:" + id;
}
std::string EnvCrn(const Caller& c, const std::string& id) {
  return "crn:mlvault:environments:us-west-1:" + c.account_id + ":environment:" + id;
}

TEST_F(AuthorizerTest, BackupVerbsNeedTheEntitlement) {
  Caller admin = Admin();
  AuthzRequest req{"ml:BackupWorkspace", WorkspaceCrn(admin), {}, true};
  auto st = authz_->Authorize(admin, req);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_EQ(st.error().message(), "account " + admin.account_id +
                                      " does not have the entitlement ML_ENABLE_BACKUP_RESTORE, "
                                      "which ml:BackupWorkspace requires; an "
                                      "administrator grants it with: mlvault grant-entitlement "
                                      "--entitlement-name ML_ENABLE_BACKUP_RESTORE");
  EXPECT_EQ(CountAudit("denied"), 1);
  // Verbs that do not need it are unaffected.
  EXPECT_TRUE(authz_->Authorize(admin, {"ml:ListWorkspaces", "*", {}, false}));
  ASSERT_TRUE(ops_->GrantEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE"));
  EXPECT_TRUE(authz_->Authorize(admin, req));
  ASSERT_TRUE(ops_->RevokeEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE"));
  EXPECT_FALSE(authz_->Authorize(admin, req));
}

TEST_F(AuthorizerTest, PoliciesDecideAndDenialsNameActionResourceAndStatement) {
  Caller admin = Admin();
  ASSERT_TRUE(ops_->GrantEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE"));
  Caller none = UserWith(admin, "nobody");
  auto st = authz_->Authorize(none, {"ml:ListWorkspaces", "*"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "user 'nobody' (" + none.principal_crn +
                ") is not allowed to perform ml:ListWorkspaces on *: the user has no policies "
                "attached (default deny)");

  Caller ops = UserWith(admin, "ops", R"({"Version":"2012-10-17","Statement":[
      {"Sid":"Backups","Effect":"Allow","Action":["ml:BackupWorkspace","ml:ListWorkspaceBackups"],
       "Resource":"crn:mlvault:ml:*:*:workspace:*","Condition":{"StringEquals":{"ml:EnvironmentName":"prod"}}},
      {"Sid":"NoW2","Effect":"Deny","Action":"*","Resource":"crn:mlvault:ml:*:*:workspace:w2"}]})");
  AuthzRequest prod{
      "ml:BackupWorkspace", WorkspaceCrn(ops), {{"ml:EnvironmentName", {"prod"}}}, true};
  EXPECT_TRUE(authz_->Authorize(ops, prod));
  AuthzRequest dev = prod;
  dev.context["ml:EnvironmentName"] = {"dev"};
  auto d = authz_->Authorize(ops, dev);
  ASSERT_FALSE(d);
  EXPECT_NE(
      d.error().message().find("not allowed to perform ml:BackupWorkspace on " + WorkspaceCrn(ops) +
                               ": no attached policy allows it (default deny)"),
      std::string::npos)
      << d.error().message();
  AuthzRequest w2 = prod;
  w2.resource = WorkspaceCrn(ops, "w2");
  auto e = authz_->Authorize(ops, w2);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find(
                "explicitly denied by statement 1 (Sid \"NoW2\") of policy 'ops-policy'"),
            std::string::npos)
      << e.error().message();
  EXPECT_FALSE(authz_->Authorize(ops, {"ml:DeleteBackup", BackupCrn(ops), {}, true}));

  // Every denial is in the audit log with who, what and on which resource.
  AuditFilter f;
  f.account_id = admin.account_id;
  f.outcome = "denied";
  f.principal = "ops";
  auto events = ListAuditEvents(*db_, f);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1].action, "ml:BackupWorkspace");
  EXPECT_EQ((*events)[1].resource, WorkspaceCrn(ops, "w2"));
  EXPECT_EQ((*events)[1].principal_crn, ops.principal_crn);
  EXPECT_EQ((*events)[1].error_code, "permission-denied");
  EXPECT_EQ((*events)[1].source, "cli");
  EXPECT_EQ((*events)[1].source_ip, "127.0.0.1");
  EXPECT_EQ((*events)[2].action, "ml:DeleteBackup");
}

TEST_F(AuthorizerTest, OtherAccountsResourcesAreDeniedEvenToAdministrators) {
  Caller admin = Admin();
  auto st = authz_->Authorize(
      admin, {"ml:DescribeWorkspace",
              "crn:mlvault:ml:us-west-1:99999999-9999-4999-8999-999999999999:workspace:w"});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("belongs to another account"), std::string::npos);
  auto bad = authz_->Authorize(admin, {"ml:DescribeWorkspace", "workspace-1"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("not a CRN"), std::string::npos);
}

TEST_F(AuthorizerTest, RestoreIsAuthorisedOnTheBackupAndTheTargetEnvironment) {
  Caller admin = Admin();
  ASSERT_TRUE(ops_->GrantEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE"));
  Caller r = UserWith(admin, "restorer", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"ml:RestoreWorkspace","Resource":["crn:mlvault:ml:*:*:workspace_backup:*",
        "crn:mlvault:environments:*:*:environment:staging"]}]})");
  AuthzRequest to_staging{"ml:RestoreWorkspace",
                          BackupCrn(r),
                          {{std::string(kAlsoResourceKey), {EnvCrn(r, "staging")}}},
                          true};
  EXPECT_TRUE(authz_->Authorize(r, to_staging));
  AuthzRequest to_prod = to_staging;
  to_prod.context[std::string(kAlsoResourceKey)] = {EnvCrn(r, "prod")};
  auto st = authz_->Authorize(r, to_prod);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("ml:RestoreWorkspace on " + EnvCrn(r, "prod")),
            std::string::npos)
      << st.error().message();
}

TEST_F(AuthorizerTest, CallerKeysSourceIpTimeAndVariables) {
  Caller admin = Admin();
  Caller u = UserWith(admin, "alice", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"ml:DescribeWorkspace","Resource":"*",
       "Condition":{"StringLike":{"ml:WorkspaceName":"${mlvault:UserName}-*"},
                    "IpAddress":{"mlvault:SourceIp":"127.0.0.0/8"},
                    "DateLessThan":{"mlvault:CurrentTime":"2026-02-01T00:00:00Z"}}}]})");
  AuthzRequest own{
      "ml:DescribeWorkspace", WorkspaceCrn(u), {{"ml:WorkspaceName", {"alice-notebooks"}}}};
  EXPECT_TRUE(authz_->Authorize(u, own));
  AuthzRequest other = own;
  other.context["ml:WorkspaceName"] = {"bob-notebooks"};
  EXPECT_FALSE(authz_->Authorize(u, other));
  Caller remote = u;
  remote.source_ip = "203.0.113.9";
  EXPECT_FALSE(authz_->Authorize(remote, own));
  clock_.Set(*util::ParseTime("2026-02-01T00:00:01Z"));
  EXPECT_FALSE(authz_->Authorize(u, own));
}

TEST_F(AuthorizerTest, AuditLogIsAppendOnlyAndFilterable) {
  Caller admin = Admin();
  authz_->Audit(admin, "ml:CreateEnvironment", "*", util::Ok(), "environment prod");
  clock_.Advance(std::chrono::hours(2));
  const util::TimeMicros later = clock_.Now();
  authz_->Audit(admin, "ml:DeleteWorkspace", WorkspaceCrn(admin), util::Conflict("busy"));
  authz_->Audit(admin, "ml:DeleteBackup", BackupCrn(admin), util::Ok());

  auto upd = db_->Exec("UPDATE audit_events SET outcome = 'succeeded'");
  ASSERT_FALSE(upd);
  EXPECT_NE(upd.error().message().find("append-only"), std::string::npos);
  auto del = db_->Exec("DELETE FROM audit_events");
  ASSERT_FALSE(del);
  EXPECT_NE(del.error().message().find("append-only"), std::string::npos);
  EXPECT_EQ(CountAudit(), 4);  // with the account creation

  AuditFilter f;
  f.account_id = admin.account_id;
  f.action = "ml:delete*";
  auto deletes = ListAuditEvents(*db_, f);
  ASSERT_TRUE(deletes);
  ASSERT_EQ(deletes->size(), 2u);
  EXPECT_EQ((*deletes)[0].outcome, "failed");
  EXPECT_EQ((*deletes)[0].error_code, "conflict");
  EXPECT_EQ((*deletes)[0].detail, "busy");
  EXPECT_EQ((*deletes)[1].outcome, "succeeded");
  f.action = "ML:CREATEENVIRONMENT";
  ASSERT_EQ(ListAuditEvents(*db_, f)->size(), 1u);
  f.action = "";
  f.since = later;
  EXPECT_EQ(ListAuditEvents(*db_, f)->size(), 2u);
  f.since.reset();
  f.limit = 2;
  auto last2 = ListAuditEvents(*db_, f);
  ASSERT_EQ(last2->size(), 2u);
  EXPECT_EQ((*last2)[1].action, "ml:DeleteBackup");
  f.limit = 1000;
  f.principal = admin.principal_crn;
  EXPECT_EQ(ListAuditEvents(*db_, f)->size(), 4u);
  f.principal = "someone-else";
  EXPECT_EQ(ListAuditEvents(*db_, f)->size(), 0u);
  f.principal = "";
  f.outcome = "maybe";
  EXPECT_FALSE(ListAuditEvents(*db_, f));
  f.outcome = "";
  f.account_id = "other";
  EXPECT_EQ(ListAuditEvents(*db_, f)->size(), 0u);
}

}  // namespace
}  // namespace mlvault::control
