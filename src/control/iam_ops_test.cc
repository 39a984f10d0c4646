// The IAM verbs as operations: authorised first, audited, and all-or-nothing.
#include "control/iam_store.h"
#include "control/iam_test_util.h"
#include "control/role_sessions.h"

namespace mlvault::control {
namespace {

using IamOpsTest = testing::IamFixture;

constexpr const char* kOperatorPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "BackupProd", "Effect": "Allow",
     "Action": ["ml:BackupWorkspace", "ml:ListWorkspaceBackups"],
     "Resource": "crn:mlvault:ml:*:*:workspace:*",
     "Condition": {"StringEquals": {"ml:EnvironmentName": "prod"}}}
  ]
})";

TEST_F(IamOpsTest, UsersAndDuplicates) {
  Caller admin = Admin();
  auto u = ops_->CreateUser(admin, "ops");
  ASSERT_TRUE(u) << u.error().ToString();
  EXPECT_TRUE(u->user_crn.starts_with("crn:mlvault:iam:us-west-1:" + admin.account_id + ":user:"));
  auto dup = ops_->CreateUser(admin, "ops");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), util::ErrorCode::kConflict);
  auto bad = ops_->CreateUser(admin, "o p s");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), util::ErrorCode::kInvalidArgument);
  auto users = ops_->ListUsers(admin);
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].user_name, "admin");
  EXPECT_EQ((*users)[0].attached_policies, std::vector<std::string>{"AdministratorAccess"});
  EXPECT_EQ((*users)[0].active_access_keys, 1);
  EXPECT_EQ((*users)[1].active_access_keys, 0);
  // Succeeded and failed creations are both audited.
  AuditFilter f;
  f.action = "iam:CreateUser";
  auto events = ops_->ListAuditEvents(admin, f);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].outcome, "succeeded");
  EXPECT_EQ((*events)[0].resource, u->user_crn);
  EXPECT_EQ((*events)[1].outcome, "failed");
  EXPECT_EQ((*events)[1].error_code, "conflict");
}

TEST_F(IamOpsTest, MalformedPoliciesAreRefusedWholeWithThePlace) {
  Caller admin = Admin();
  auto p = ops_->CreatePolicy(
      admin, "broken",
      "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n"
      "    {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\",}\n  ]\n}",
      "");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(p.error().message().find("line 4, column 55 (at Statement[0]): trailing comma"),
            std::string::npos)
      << p.error().message();
  auto q = ops_->CreatePolicy(admin, "broken",
                              R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*",
      "Condition":{"StringEqualz":{"ml:EnvironmentName":"x"}}}})",
                              "");
  ASSERT_FALSE(q);
  EXPECT_NE(
      q.error().message().find("(at Statement.Condition.StringEqualz): unknown condition operator"),
      std::string::npos)
      << q.error().message();
  auto policies = ops_->ListPolicies(admin);
  ASSERT_TRUE(policies);
  EXPECT_EQ(policies->size(), 1u);  // only AdministratorAccess: nothing half-applied
}

TEST_F(IamOpsTest, PolicyLifecycle) {
  Caller admin = Admin();
  auto p = ops_->CreatePolicy(admin, "operator", kOperatorPolicy, "backs up prod");
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_TRUE(p->warnings.empty());
  EXPECT_EQ(ops_->CreatePolicy(admin, "operator", kOperatorPolicy, "").error().code(),
            util::ErrorCode::kConflict);
  ASSERT_TRUE(ops_->CreateUser(admin, "ops"));
  ASSERT_TRUE(ops_->AttachPolicy(admin, UserRef{"ops", ""}, "operator"));
  ASSERT_TRUE(ops_->AttachPolicy(admin, UserRef{"ops", ""}, "operator"));  // idempotent
  auto got = ops_->GetPolicy(admin, "operator");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->document, kOperatorPolicy);
  EXPECT_EQ(got->attached_to, std::vector<std::string>{"ops"});
  auto del = ops_->DeletePolicy(admin, "operator");
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(del.error().message().find("mlvault detach-policy --user-name ops --policy-name operator"),
            std::string::npos)
      << del.error().message();
  auto detached = ops_->DetachPolicy(admin, UserRef{"ops", ""}, "operator");
  ASSERT_TRUE(detached);
  EXPECT_TRUE(detached->attached_policies.empty());
  EXPECT_EQ(ops_->DetachPolicy(admin, UserRef{"ops", ""}, "operator").error().code(),
            util::ErrorCode::kNotFound);
  ASSERT_TRUE(ops_->DeletePolicy(admin, "operator"));
  EXPECT_EQ(ops_->GetPolicy(admin, "operator").error().code(), util::ErrorCode::kNotFound);
  EXPECT_EQ(ops_->DeletePolicy(admin, "AdministratorAccess").error().code(),
            util::ErrorCode::kConflict);
  EXPECT_EQ(ops_->AttachPolicy(admin, UserRef{"ghost", ""}, "AdministratorAccess").error().code(),
            util::ErrorCode::kNotFound);
}

TEST_F(IamOpsTest, TheAccountCannotLoseItsLastAdministrator) {
  Caller admin = Admin();
  auto detach = ops_->DetachPolicy(admin, UserRef{}, "AdministratorAccess");
  ASSERT_FALSE(detach);
  EXPECT_EQ(detach.error().code(), util::ErrorCode::kConflict);
  auto keys = ops_->ListAccessKeys(admin, UserRef{});
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  auto del = ops_->DeleteAccessKey(admin, (*keys)[0].access_key_id);
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code(), util::ErrorCode::kConflict);
  // With a second administrator holding a key, both are allowed.
  Caller second = UserWith(admin, "second");
  ASSERT_TRUE(ops_->AttachPolicy(admin, UserRef{"second", ""}, "AdministratorAccess"));
  ASSERT_TRUE(ops_->CreateAccessKey(admin, UserRef{"second", ""}));
  EXPECT_TRUE(ops_->DeleteAccessKey(admin, (*keys)[0].access_key_id));
  EXPECT_EQ(ops_->DeleteAccessKey(admin, (*keys)[0].access_key_id).error().code(),
            util::ErrorCode::kNotFound);
  EXPECT_TRUE(ops_->DetachPolicy(second, UserRef{"admin", ""}, "AdministratorAccess"));
}

TEST_F(IamOpsTest, AnOperatorIsDeniedIamVerbsAndNothingChanges) {
  Caller admin = Admin();
  Caller ops = UserWith(admin, "ops", kOperatorPolicy);
  const int64_t users_before = (*db_->Query("SELECT COUNT(*) FROM iam_users"))[0].Int(0);
  const int64_t denied_before = CountAudit("denied");

  auto cu = ops_->CreateUser(ops, "mallory");
  ASSERT_FALSE(cu);
  EXPECT_EQ(cu.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(cu.error().message().find("not allowed to perform iam:CreateUser on *"),
            std::string::npos);
  auto attach = ops_->AttachPolicy(ops, UserRef{}, "AdministratorAccess");
  ASSERT_FALSE(attach);
  EXPECT_NE(attach.error().message().find("iam:AttachUserPolicy on " + ops.principal_crn),
            std::string::npos);
  EXPECT_FALSE(ops_->GrantEntitlement(ops, "ML_ENABLE_BACKUP_RESTORE"));
  EXPECT_FALSE(ops_->CreateAccessKey(ops, UserRef{"admin", ""}));
  EXPECT_FALSE(ops_->ListAuditEvents(ops, {}));

  EXPECT_EQ((*db_->Query("SELECT COUNT(*) FROM iam_users"))[0].Int(0), users_before);
  auto attached = IamStore(*db_).PoliciesOfUser(ops.principal_crn);
  ASSERT_EQ(attached->size(), 1u);
  EXPECT_FALSE(*IamStore(*db_).HasEntitlement(admin.account_id, "ML_ENABLE_BACKUP_RESTORE"));
  EXPECT_EQ(CountAudit("denied"), denied_before + 5);
}

TEST_F(IamOpsTest, SimulateExplainsTheDecision) {
  Caller admin = Admin();
  Caller ops = UserWith(admin, "ops", kOperatorPolicy);
  const std::string ws = "crn:mlvault:ml:us-west-1:" + admin.account_id + ":workspace:w1";
  SimulateRequest req;
  req.principal.name = "ops";
  req.actions = {"ml:BackupWorkspace", "ml:DeleteBackup", "ml:ListWorkspaceBackups"};
  req.resource = ws;
  req.context = {{"ml:EnvironmentName", {"prod"}}};
  auto sim = ops_->SimulatePolicy(admin, req);
  ASSERT_TRUE(sim) << sim.error().ToString();
  EXPECT_EQ(sim->principal_name, "ops");
  EXPECT_EQ(sim->evaluated_policies, std::vector<std::string>{"ops-policy"});
  ASSERT_EQ(sim->results.size(), 3u);
  const auto& backup = sim->results[0];
  EXPECT_EQ(backup.decision, "allowed");
  ASSERT_TRUE(backup.deciding_statement);
  EXPECT_EQ(backup.deciding_statement->sid, "BackupProd");
  EXPECT_EQ(backup.required_entitlement, "ML_ENABLE_BACKUP_RESTORE");
  EXPECT_FALSE(backup.entitlement_held);
  EXPECT_FALSE(backup.allowed);
  EXPECT_NE(backup.explanation.find("lacks the entitlement"), std::string::npos);
  EXPECT_EQ(sim->results[1].decision, "implicitDeny");

  ASSERT_TRUE(ops_->GrantEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE"));
  req.context = {{"ml:EnvironmentName", {"dev"}}};
  req.actions = {"ml:BackupWorkspace"};
  auto dev = ops_->SimulatePolicy(admin, req);
  ASSERT_TRUE(dev);
  EXPECT_EQ(dev->results[0].decision, "implicitDeny");
  req.context = {{"ml:EnvironmentName", {"prod"}}};
  auto prod = ops_->SimulatePolicy(admin, req);
  EXPECT_TRUE(prod->results[0].allowed);

  // Another account's resource is never allowed, whatever the policies say.
  SimulateRequest foreign;
  foreign.actions = {"ml:DescribeWorkspace"};
  foreign.resource = "crn:mlvault:ml:us-west-1:99999999-9999-4999-8999-999999999999:workspace:w";
  auto f = ops_->SimulatePolicy(admin, foreign);
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->results[0].decision, "allowed");
  EXPECT_FALSE(f->results[0].allowed);
  EXPECT_NE(f->results[0].explanation.find("another account"), std::string::npos);

  // A document not stored yet.
  SimulateRequest custom;
  custom.policy_documents = {
      R"({"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Deny","Action":"ml:*","Resource":"*"}]})"};
  custom.actions = {"ml:ListWorkspaces"};
  auto c = ops_->SimulatePolicy(admin, custom);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->results[0].decision, "explicitDeny");
  EXPECT_EQ(c->results[0].explanation,
            "explicitly denied by statement 0 (Sid \"X\") of policy 'document1'");

  // Bad input.
  req.actions = {"BackupWorkspace"};
  EXPECT_EQ(ops_->SimulatePolicy(admin, req).error().code(), util::ErrorCode::kInvalidArgument);
  req.actions = {"ml:BackupWorkspace"};
  req.resource = "not-a-crn";
  EXPECT_EQ(ops_->SimulatePolicy(admin, req).error().code(), util::ErrorCode::kInvalidArgument);
  custom.policy_documents = {"{"};
  EXPECT_EQ(ops_->SimulatePolicy(admin, custom).error().code(), util::ErrorCode::kInvalidArgument);
  // The operator may not simulate.
  EXPECT_EQ(ops_->SimulatePolicy(ops, custom).error().code(), util::ErrorCode::kPermissionDenied);
}

TEST_F(IamOpsTest, Entitlements) {
  Caller admin = Admin();
  auto list = ops_->ListEntitlements(admin);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "ML_ENABLE_BACKUP_RESTORE");
  EXPECT_FALSE((*list)[0].granted);  // new accounts start without it
  auto g = ops_->GrantEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->granted_by, admin.principal_crn);
  EXPECT_TRUE(ops_->GrantEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE"));  // idempotent
  EXPECT_TRUE((*ops_->ListEntitlements(admin))[0].granted);
  auto unknown = ops_->GrantEntitlement(admin, "ML_ENABLE_EVERYTHING");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find("known: ML_ENABLE_BACKUP_RESTORE"), std::string::npos);
  EXPECT_TRUE(ops_->RevokeEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE"));
  EXPECT_EQ(ops_->RevokeEntitlement(admin, "ML_ENABLE_BACKUP_RESTORE").error().code(),
            util::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace mlvault::control

namespace mlvault::control {
namespace {

// Authorised before "not found": a caller who may not act on a resource gets the same denial
// whether it exists or not; only a caller allowed on it learns that it does not exist.
TEST_F(IamOpsTest, ACallerWhoMayNotSeeAResourceCannotLearnWhetherItExists) {
  Caller admin = Admin();
  Caller op = UserWith(admin, "operator", kOperatorPolicy);
  auto keys = ops_->ListAccessKeys(admin, {});
  ASSERT_TRUE(keys && !keys->empty());
  const std::string admin_key = (*keys)[0].access_key_id;
  auto denied = [](const auto& r) {
    return !r && r.error().code() == util::ErrorCode::kPermissionDenied;
  };
  auto not_found = [](const auto& r) {
    return !r && r.error().code() == util::ErrorCode::kNotFound;
  };

  EXPECT_TRUE(denied(ops_->GetPolicy(op, "AdministratorAccess")));
  EXPECT_TRUE(denied(ops_->GetPolicy(op, "no-such-policy")));
  EXPECT_TRUE(denied(ops_->DeletePolicy(op, "no-such-policy")));
  EXPECT_TRUE(denied(ops_->ListAccessKeys(op, {"admin", ""})));
  EXPECT_TRUE(denied(ops_->ListAccessKeys(op, {"ghost", ""})));
  EXPECT_TRUE(denied(ops_->CreateAccessKey(op, {"ghost", ""})));
  EXPECT_TRUE(denied(ops_->DeleteAccessKey(op, admin_key)));
  EXPECT_TRUE(denied(ops_->DeleteAccessKey(op, "MLVKNOSUCHKEY0000000")));
  EXPECT_TRUE(denied(ops_->AttachPolicy(op, {"ghost", ""}, "AdministratorAccess")));
  EXPECT_TRUE(denied(ops_->DetachPolicy(op, {"ghost", ""}, "AdministratorAccess")));

  EXPECT_TRUE(not_found(ops_->GetPolicy(admin, "no-such-policy")));
  EXPECT_TRUE(not_found(ops_->DeletePolicy(admin, "no-such-policy")));
  EXPECT_TRUE(not_found(ops_->ListAccessKeys(admin, {"ghost", ""})));
  EXPECT_TRUE(not_found(ops_->DeleteAccessKey(admin, "MLVKNOSUCHKEY0000000")));
  EXPECT_TRUE(not_found(ops_->AttachPolicy(admin, {"ghost", ""}, "AdministratorAccess")));
  EXPECT_TRUE(not_found(ops_->AttachPolicy(admin, {"operator", ""}, "no-such-policy")));
}

// A list verb answers what the caller may see (docs/iam.md, "Listings"): a caller allowed
// iam:ListUsers on one user's CRN lists that user, without audit records for the ones left out;
// a caller who may see nothing is denied, once, in the audit log.
TEST_F(IamOpsTest, ListsAnswerWhatTheCallerMaySee) {
  Caller admin = Admin();
  Caller alice = UserWith(admin, "alice");
  const std::string doc = R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
      "Action": ["iam:ListUsers", "iam:ListPolicies"],
      "Resource": [")" + alice.principal_crn + R"(", "crn:mlvault:iam:*:*:policy:*"],
      "Condition": {"StringEquals": {"mlvault:UserName": "viewer"}}}]})";
  Caller viewer = UserWith(admin, "viewer", doc);
  Caller nobody = UserWith(admin, "nobody");

  const int64_t denied_before = CountAudit("denied");
  auto users = ops_->ListUsers(viewer);
  ASSERT_TRUE(users) << users.error().ToString();
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].user_name, "alice");
  auto policies = ops_->ListPolicies(viewer);
  ASSERT_TRUE(policies) << policies.error().ToString();
  EXPECT_EQ(policies->size(), 2u);  // AdministratorAccess and viewer-policy: every policy CRN
  EXPECT_EQ(CountAudit("denied"), denied_before) << "a narrowed listing writes no denials";

  auto all = ops_->ListUsers(admin);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 4u) << "whoever may list * sees everything";

  auto none = ops_->ListUsers(nobody);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(none.error().message().find("iam:ListUsers on *"), std::string::npos)
      << none.error().message();
  EXPECT_EQ(CountAudit("denied"), denied_before + 1);
}

// assume-role: a trusted user gets credentials that authenticate as the role until they expire
// (the time is given, so nothing waits); an untrusted user is refused naming the trust policy.
TEST_F(IamOpsTest, AssumeRoleSessionsActAsTheRoleUntilTheyExpire) {
  Caller admin = Admin();
  Caller alice = UserWith(admin, "alice");
  Caller bob = UserWith(admin, "bob");
  ASSERT_TRUE(ops_->CreateRole(
      admin, {"operator",
              R"({"Statement":{"Effect":"Allow","Principal":{"User":"alice"},"Action":"sts:AssumeRole"}})",
              ""}));
  auto refused = ops_->AssumeRole(bob, {"operator", "s1", std::nullopt});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message().find("the trust policy of role 'operator' does not allow "
                                           "user 'bob'"),
            std::string::npos);
  auto s = ops_->AssumeRole(alice, {"operator", "s1", 900});
  ASSERT_TRUE(s) << s.error().ToString();
  util::TimeMicros now = clock_.Now();
  auto c = AuthenticateRoleSession(*db_, s->access_key_id, s->private_key, now);
  ASSERT_TRUE(c && *c) << (c ? "not a session" : c.error().ToString());
  EXPECT_EQ((*c)->principal_crn, s->role_crn);
  EXPECT_EQ((*c)->principal_name, "operator/s1 (assumed by alice)");
  EXPECT_FALSE(AuthenticateRoleSession(*db_, s->access_key_id, "d3Jvbmc=", now));
  auto late = AuthenticateRoleSession(*db_, s->access_key_id, s->private_key,
                                      now + 901LL * 1'000'000 + 60'000'000);
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().message().find("expired at"), std::string::npos);
  auto owner = FindRoleSessionKeyOwner(*db_, s->access_key_id, now + 2000LL * 1'000'000);
  ASSERT_TRUE(owner && *owner);
  EXPECT_EQ((*owner)->status, "expired");
  EXPECT_FALSE(*AuthenticateRoleSession(*db_, "MLVKAAAAAAAAAAAAAAAA", "x", now));  // not a session
}

}  // namespace
}  // namespace mlvault::control
