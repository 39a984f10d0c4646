// Output formats in-process: --query (the JMESPath subset), tables that fit the terminal without
// cutting the identifying column, --output wide and --output text.
#include "cli/app_test_util.h"
#include "cli/output.h"
#include "cli/query.h"

namespace mlvault::cli {
namespace {

json Q(std::string_view expr, const json& v) {
  auto r = ApplyQuery(expr, v);
  EXPECT_TRUE(r.has_value()) << expr << ": " << r.error().message();
  return r ? *r : json();
}

TEST(QueryTest, TheSubsetSelectsFieldsIndexesProjectionsAndFilters) {
  json v = json::parse(R"({"workspace": {"status": "running", "tags": []},
    "backups": [{"backupCrn": "c1", "backupName": "a", "backupStatus": "succeeded"},
                {"backupCrn": "c2", "backupName": "b", "backupStatus": "failed"},
                {"backupCrn": "c3", "backupName": "c", "backupStatus": "succeeded"}]})");
  EXPECT_EQ(Q("workspace.status", v), "running");
  EXPECT_EQ(Q("workspace.missing", v), nullptr);
  EXPECT_EQ(Q("backups[].backupCrn", v), json({"c1", "c2", "c3"}));
  EXPECT_EQ(Q("backups[0].backupName", v), "a");
  EXPECT_EQ(Q("backups[-1].backupName", v), "c");
  EXPECT_EQ(Q("backups[7]", v), nullptr);
  EXPECT_EQ(Q("backups[?backupStatus=='succeeded'].backupName", v), json({"a", "c"}));
  EXPECT_EQ(Q("backups[?backupStatus != 'succeeded'].backupName", v), json({"b"}));
  EXPECT_EQ(Q("backups[].[backupName, backupStatus]", v),
            json::parse(R"([["a","succeeded"],["b","failed"],["c","succeeded"]])"));
  EXPECT_EQ(Q("backups[].{n: backupName}", v), json::parse(R"([{"n":"a"},{"n":"b"},{"n":"c"}])"));
  EXPECT_EQ(Q("length(backups)", v), 3);
  EXPECT_EQ(Q("length(backups[?backupStatus=='failed'])", v), 1);
  EXPECT_EQ(Q("\"workspace\".status", v), "running");
  EXPECT_EQ(Q("[].x", json::parse(R"([{"x":1},{"y":2},{"x":3}])")), json({1, 3}));
}

TEST(QueryTest, AnExpressionOutsideTheSubsetIsRefusedWithItsColumn) {
  for (std::string_view bad : {"backups[", "backups[].", "a | b", "backups[?x>1]", "", "a.1b",
                               "backups[?x=='v'"}) {
    auto r = ApplyQuery(bad, json::object());
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message().rfind("--query: ", 0), 0u) << r.error().message();
  }
  EXPECT_NE(ApplyQuery("a | b", json::object()).error().message().find("'|' at column 3"),
            std::string::npos);
}

TEST(FitTableTest, LessImportantColumnsGoFirstAndTheIdentifyingColumnIsNeverCut) {
  std::string crn = "crn:mlvault:ml:us-west-1:267bad72-0000-4000-8000-000000000000:"
                    "workspace_backup:5a8e0c1e-0000-4000-8000-000000000001";
  std::vector<std::vector<std::string>> rows = {
      {"backupCrn", "backupName", "backupStatus", "workspaceVersionAtBackup", "createdAt",
       "creatorCrn"},
      {crn, "nightly-1", "succeeded", "1", "2026-11-29T17:00:00Z",
       "crn:mlvault:iam::267bad72:user/admin"}};
  auto fitted = FitTable(rows, 0, 150);  // the CRN alone is 111 characters
  ASSERT_EQ(fitted[0].size(), 3u);
  ASSERT_EQ(fitted[0].front(), "backupCrn");
  EXPECT_EQ(fitted[1][0], crn);  // whole
  EXPECT_EQ(fitted[0][1], "backupName");
  EXPECT_EQ(fitted[0][2], "backupStatus");
  EXPECT_EQ(std::find(fitted[0].begin(), fitted[0].end(), "creatorCrn"), fitted[0].end());
  EXPECT_EQ(std::find(fitted[0].begin(), fitted[0].end(), "createdAt"), fitted[0].end());
  // Narrower than the CRN alone: only the CRN stays, whole.
  auto narrow = FitTable(rows, 0, 40);
  ASSERT_EQ(narrow[0].size(), 1u);
  EXPECT_EQ(narrow[1][0], crn);
  // No limit: everything.
  EXPECT_EQ(FitTable(rows, 0, 0), rows);
}

TEST_F(AppTest, TablesFitTheTerminalWideShowsAllAndTextPrintsValues) {
  ASSERT_EQ(Run({"create-environment", "--environment-name", "dev", "--storage-root",
                 home_ + "/a-rather-long-storage-root-path-that-does-not-fit/anywhere/at-all"}),
            0)
      << err_;
  std::string crn = Out()["environment"]["crn"];
  columns_ = 160;  // the environment CRN alone is 120 characters
  ASSERT_EQ(Run({"list-environments", "--output", "table"}), 0);
  std::istringstream lines(out_);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.rfind("crn ", 0), 0u) << out_;
  EXPECT_EQ(row.rfind(crn + " ", 0), 0u) << out_;  // the CRN whole
  EXPECT_LE(header.size(), 160u) << out_;
  EXPECT_LE(row.size(), 160u) << out_;
  EXPECT_FALSE(OutHas("anywhere/at-all")) << out_;  // the long path was shortened or dropped
  ASSERT_EQ(Run({"list-environments", "--output", "wide"}), 0);
  EXPECT_TRUE(OutHas("anywhere/at-all")) << out_;
  EXPECT_TRUE(OutHas("createdAt"));
  // text: one value per line; a row's values separated by tabs.
  ASSERT_EQ(Run({"list-environments", "--output", "text", "--query", "environments[].crn"}), 0);
  EXPECT_EQ(out_, crn + "\n");
  ASSERT_EQ(Run({"list-environments", "--output", "text", "--query",
                 "environments[].[name, region]"}),
            0);
  EXPECT_EQ(out_, "dev\tus-west-1\n");
  // --query also shapes JSON; a bad expression is bad input.
  ASSERT_EQ(Run({"list-environments", "--query", "environments[0].name"}), 0);
  EXPECT_EQ(out_, "\"dev\"\n");
  EXPECT_EQ(Run({"list-environments", "--query", "environments[?"}), 2);
  EXPECT_TRUE(ErrHas("--query: ")) << err_;
}

}  // namespace
}  // namespace mlvault::cli
