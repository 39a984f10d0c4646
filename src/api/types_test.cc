// The typed API layer without a control plane: decoding errors name the field, encoding gives
// the documented shapes, the operation catalog is consistent.
#include <gtest/gtest.h>

#include <set>

#include "api/json_mapping.h"
#include "api/operations.h"
#include "api/paging.h"

namespace mlvault::api {
namespace {

TEST(ApiTypesTest, MissingRequiredFieldIsNamed) {
  // (A backup is named by backupCrn or by backupName + its workspace, checked by control.)
  auto r = Decode<DescribeWorkflowRequest>(json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field(), "workflowId");
  EXPECT_EQ(r.error().message(), "workflowId: is required");
}

TEST(ApiTypesTest, UnknownFieldIsNamed) {
  auto r = Decode<CreateEnvironmentRequest>(json{{"environmentName", "dev"}, {"regoin", "x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field(), "regoin");
  EXPECT_EQ(r.error().message(), "regoin: unknown field");
}

TEST(ApiTypesTest, WrongTypeIsNamed) {
  auto r = Decode<BackupWorkspaceRequest>(
      json{{"workspaceCrn", "c"}, {"backupName", "b"}, {"backupJobTimeoutMinutes", "ten"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field(), "backupJobTimeoutMinutes");
  EXPECT_NE(r.error().message().find("must be an integer, got a string"), std::string::npos);

  auto list = Decode<SimulatePolicyRequest>(json{{"actionNames", {"ml:X", 3}}});
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().field(), "actionNames[1]");
}

TEST(ApiTypesTest, NonObjectBodyIsRefusedAndNullIsEmpty) {
  EXPECT_FALSE(Decode<ListWorkspacesRequest>(json::array()));
  auto r = Decode<ListWorkspacesRequest>(json(nullptr));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->environment_name, "");
}

TEST(ApiTypesTest, DecodesEveryFieldOfARequest) {
  auto r = Decode<BackupWorkspaceRequest>(
      json{{"workspaceCrn", "crn"}, {"backupName", "n1"}, {"backupJobTimeoutMinutes", 30}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->workspace_crn, "crn");
  EXPECT_EQ(r->backup_name, "n1");
  EXPECT_EQ(r->backup_job_timeout_minutes, 30);

  auto s = Decode<SimulatePolicyRequest>(
      json{{"userName", "ops"},
           {"actionNames", {"ml:BackupWorkspace"}},
           {"context", {{"ml:EnvironmentName", {"prod", "dev"}}}},
           {"policyDocuments", {json{{"Version", "2012-10-17"}}, "{\"Statement\": []}"}}});
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->principal.name, "ops");
  EXPECT_EQ(s->resource, "*");
  ASSERT_EQ(s->context.size(), 1u);
  EXPECT_EQ(s->context[0].second, (std::vector<std::string>{"prod", "dev"}));
  ASSERT_EQ(s->policy_documents.size(), 2u);
  EXPECT_EQ(s->policy_documents[1], "{\"Statement\": []}");

  auto both = Decode<CreateAccessKeyRequest>(json{{"userName", "a"}, {"userCrn", "b"}});
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().field(), "userCrn");
}

TEST(ApiTypesTest, SinceTakesAgesTimesAndDates) {
  util::TimeMicros now = 10'000'000'000'000;
  EXPECT_EQ(*ParseSince("2h", now), now - 2 * 3600 * 1'000'000LL);
  EXPECT_TRUE(ParseSince("2026-01-26", now));
  EXPECT_TRUE(ParseSince("2026-01-26T03:22:10Z", now));
  auto bad = ParseSince("tomorrow", now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "since");
  auto r = Decode<ListAuditEventsRequest>(json{{"since", "1h"}, {"maxItems", 5}}, now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->since, now - 3600 * 1'000'000LL);
  EXPECT_EQ(r->max_items, 5);
}

TEST(ApiTypesTest, EncodesNullsDefaultsAndOmissions) {
  DescribeWorkspaceBackupResponse r;
  r.backup.backup_crn = "crn";
  r.backup.timings.text = "not json";
  json j = Encode(r)["backup"];
  EXPECT_EQ(j["backupCrn"], "crn");
  EXPECT_TRUE(j["startedAt"].is_null());
  EXPECT_TRUE(j["progress"].is_null());
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["timings"], json::object());
  EXPECT_EQ(j["warnings"], json::array());
  EXPECT_FALSE(j.contains("deletedAt"));

  Workflow w;
  w.warnings.text = "[\"a\"]";
  w.error = ErrorInfo{"conflict", "busy"};
  json wj = Encode(w);
  EXPECT_EQ(wj["warnings"], json::array({"a"}));
  EXPECT_EQ(wj["error"]["code"], "conflict");
  EXPECT_TRUE(wj["lease"].is_null());
  EXPECT_TRUE(wj["progress"]["percent"].is_null());

  AccessKey k{"MLVK1", "", "ops", "crn", "active", "t", ""};
  json kj = Encode(k);
  EXPECT_FALSE(kj.contains("privateKey"));
  EXPECT_FALSE(kj.contains("deletedAt"));
}

TEST(ApiTypesTest, TheCatalogNamesEachOperationByItsVerb) {
  std::set<std::string> names, verbs;
  for (const auto& op : AllOperations()) {
    SCOPED_TRACE(op.verb);
    EXPECT_EQ(op.name, CamelCase(op.verb));
    EXPECT_EQ(KebabCase(op.name), op.verb);
    EXPECT_TRUE(op.service == kMlService || op.service == kIamService ||
                op.service == kEnvironmentsService);
    EXPECT_TRUE(names.insert(std::string(op.name)).second) << "duplicate name";
    EXPECT_TRUE(verbs.insert(std::string(op.verb)).second) << "duplicate verb";
    auto found = FindOperation(op.service, op.name);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->verb, op.verb);
    if (op.starts_workflow) {
      EXPECT_TRUE(op.mutates);
    }
  }
  EXPECT_EQ(FindOperationByVerb("list-workspace-backups")->name, "listWorkspaceBackups");
  EXPECT_FALSE(FindOperation("ml", "createUser"));  // iam's, not ml's
  EXPECT_EQ(CamelCase("--backup-crn"), "backupCrn");
}

TEST(Paging, TokensRoundTripAndStrangersAreRefusedNamingTheField) {
  PageKey k{1700000000123456, "0b7c9e1a-5c1e-4c1b-9a57-0d3c2f1e8a11"};
  auto back = DecodePageToken(EncodePageToken(k));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->time, k.time);
  EXPECT_EQ(back->id, k.id);
  for (const std::string& bad : std::vector<std::string>{"", "zz", "00", "76313a", EncodePageToken(k).substr(2),
                          std::string(600, 'a')}) {
    auto r = DecodePageToken(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field(), "startingToken");
    EXPECT_NE(r.error().message().find("without --starting-token"), std::string::npos);
  }
  EXPECT_EQ(*PageSize({}), kMaxPageSize);
  EXPECT_EQ(*PageSize({5, ""}), 5);
  EXPECT_EQ(*PageSize({5000, ""}), kMaxPageSize);
  EXPECT_EQ(PageSize({0, ""}).error().field(), "maxItems");
  // The request fields decode into the typed request; a wrong type names the field.
  auto r = Decode<ListWorkspaceBackupsRequest>(
      json{{"workspaceCrn", "c"}, {"maxItems", 3}, {"startingToken", "t"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->page.max_items, 3);
  EXPECT_EQ(r->page.starting_token, "t");
  auto wrong = Decode<ListWorkspaceBackupsRequest>(json{{"workspaceCrn", "c"}, {"maxItems", "three"}});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().field(), "maxItems");
}

}  // namespace
}  // namespace mlvault::api
