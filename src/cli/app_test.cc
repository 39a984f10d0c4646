// The CLI in-process: cli::Application with captured streams over a real embedded control
// plane in a temporary $MLVAULT_HOME. Flags become the request, results print as JSON or a
// table, errors name the flag, file:// inputs are read with a size limit.
#include <fstream>

#include "cli/app_test_util.h"

namespace mlvault::cli {
namespace {

TEST_F(AppTest, FlagsBecomeTheRequestAndTheResultPrintsAsJson) {
  ASSERT_EQ(Run({"create-environment", "--environment-name", "dev", "--region", "eu-west-1"}), 0)
      << err_;
  EXPECT_EQ(Out()["environment"]["name"], "dev");
  EXPECT_EQ(Out()["environment"]["region"], "eu-west-1");
  ASSERT_EQ(Run({"list-environments"}), 0);
  EXPECT_EQ(Out()["environments"].size(), 1u);
  EXPECT_TRUE(err_.empty());
}

TEST_F(AppTest, TableOutputAlsoAfterTheVerb) {
  ASSERT_EQ(Run({"create-environment", "--environment-name", "dev"}), 0);
  ASSERT_EQ(Run({"list-environments", "--output", "table"}), 0);
  EXPECT_EQ(out_.rfind("crn ", 0), 0u) << out_;  // the identifying column first
  EXPECT_NE(out_.find("dev"), std::string::npos);
}

TEST_F(AppTest, AnErrorAboutARequestFieldNamesTheFlag) {
  ASSERT_EQ(Run({"list-environments"}), 0);  // first use: the account (said on stderr)
  EXPECT_EQ(Run({"create-environment", "--environment-name", "Dev_1"}), 2);
  EXPECT_EQ(err_.rfind("mlvault: --environment-name: ", 0), 0u) << err_;
  EXPECT_TRUE(out_.empty());

  EXPECT_EQ(Run({"describe-workspace", "--workspace-crn", "crn:mlvault:ml:us-west-1:x:workspace:y"}),
            2);
  EXPECT_EQ(err_.rfind("mlvault: --workspace-crn: ", 0), 0u) << err_;

  EXPECT_EQ(Run({"describe-workflow", "--workflow-id", "nope"}), 2);
  EXPECT_EQ(err_.rfind("mlvault: --workflow-id: must be a lowercase UUID", 0), 0u) << err_;
}

TEST_F(AppTest, ParseErrorsAndMissingFlagsAreBadInput) {
  EXPECT_EQ(Run({"create-environment"}), 2);
  EXPECT_NE(err_.find("--environment-name is required"), std::string::npos) << err_;
  EXPECT_EQ(Run({"--output", "yaml", "list-environments"}), 2);
}

TEST_F(AppTest, NotFoundAndConflictExitCodes) {
  ASSERT_EQ(Run({"create-environment", "--environment-name", "dev"}), 0);
  EXPECT_EQ(Run({"create-environment", "--environment-name", "dev"}), 5);
  EXPECT_EQ(Run({"list-workspaces", "--environment-name", "nope"}), 3);
}

TEST_F(AppTest, IamVerbsThroughTheSameClient) {
  ASSERT_EQ(Run({"init", "--account-name", "research"}), 0) << err_;
  EXPECT_TRUE(Out()["created"]);
  EXPECT_EQ(Out()["account"]["accountName"], "research");
  ASSERT_EQ(Run({"init"}), 0);
  EXPECT_FALSE(Out()["created"]);
  EXPECT_EQ(Out()["caller"]["userName"], "admin");
  ASSERT_EQ(Run({"create-user", "--user-name", "ops"}), 0) << err_;
  ASSERT_EQ(Run({"create-access-key", "--user-name", "ops", "--save-profile", "ops"}), 0) << err_;
  EXPECT_EQ(Out()["savedToProfile"], "ops");
  ASSERT_EQ(Run({"--profile", "ops", "get-caller-identity"}), 0) << err_;
  EXPECT_EQ(Out()["userName"], "ops");
  // ops has no policy: denied, exit 4, the denial names the action.
  EXPECT_EQ(Run({"--profile", "ops", "list-users"}), 4);
  EXPECT_NE(err_.find("iam:ListUsers"), std::string::npos) << err_;
  EXPECT_EQ(Run({"attach-policy", "--policy-name", "AdministratorAccess"}), 2);
  EXPECT_NE(err_.find("give --user-name or --user-crn"), std::string::npos);
  ASSERT_EQ(Run({"simulate-policy", "--user-name", "ops", "--action-name", "ml:ListWorkspaces",
                 "--context", "ml:EnvironmentName=dev,prod"}),
            0)
      << err_;
  EXPECT_EQ(Out()["evaluationResults"][0]["decision"], "implicitDeny");
  EXPECT_EQ(Run({"list-audit-events", "--since", "tomorrow"}), 2);
  EXPECT_NE(err_.find("--since: 'tomorrow' is not a time"), std::string::npos) << err_;
}

TEST_F(AppTest, PolicyDocumentsFromFilesWithTheirPlaceInErrors) {
  std::string good = home_ + "/p.json", bad = home_ + "/bad.json";
  std::ofstream(good) << R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Action": "ml:List*", "Resource": "*"}]})";
  std::ofstream(bad) << "{\n  \"Version\": \"2012-10-17\",\n}\n";
  ASSERT_EQ(Run({"create-policy", "--policy-name", "lister", "--policy-document", "file://" + good}),
            0)
      << err_;
  EXPECT_EQ(Out()["policy"]["policyName"], "lister");
  EXPECT_EQ(Run({"create-policy", "--policy-name", "p2", "--policy-document", "file://" + bad}), 2);
  EXPECT_NE(err_.find(bad + ": "), std::string::npos) << err_;
  EXPECT_NE(err_.find("line 2, column 26"), std::string::npos) << err_;
  EXPECT_NE(err_.find("trailing comma"), std::string::npos) << err_;
  // A missing policy document is not found (exit 3); a missing --cli-input-json is bad input.
  EXPECT_EQ(Run({"create-policy", "--policy-name", "p3", "--policy-document",
                 "file://" + home_ + "/absent.json"}),
            3);
  EXPECT_NE(err_.find("--policy-document: cannot read " + home_ + "/absent.json"),
            std::string::npos)
      << err_;
}

TEST_F(AppTest, FileInputsHaveASizeLimitAndAClearError) {
  EXPECT_EQ(Run({"restore-workspace", "--cli-input-json", "file:///dev/zero"}), 2);
  EXPECT_NE(err_.find("--cli-input-json: cannot read /dev/zero"), std::string::npos) << err_;
  EXPECT_NE(err_.find("16 MiB"), std::string::npos) << err_;
  EXPECT_EQ(Run({"restore-workspace", "--cli-input-json", "file:///nonexistent.json"}), 2);
  EXPECT_EQ(Run({"restore-workspace", "--cli-input-json", "restore.json"}), 2);
  EXPECT_NE(err_.find("give file://<path> or the JSON document itself"), std::string::npos);
  EXPECT_EQ(Run({"restore-workspace", "--cli-input-json", "{\"backupCrn\": 1,}"}), 2);
  EXPECT_NE(err_.find("restore input is not valid JSON: trailing comma after the last member of the "
                      "object at line 1, column 16"), std::string::npos) << err_;
}

TEST_F(AppTest, SkeletonAndHelpGoToStdout) {
  ASSERT_EQ(Run({"restore-workspace", "--generate-cli-skeleton"}), 0);
  EXPECT_NE(out_.find("newWorkspaceParameters"), std::string::npos);
  ASSERT_EQ(Run({"backup-workspace", "--help"}), 0);
  EXPECT_NE(out_.find("Example:"), std::string::npos);
  EXPECT_NE(out_.find("mlvault backup-workspace"), std::string::npos);
}

TEST_F(AppTest, EndpointErrorsSayWhatToDo) {
  ASSERT_EQ(Run({"init"}), 0) << err_;
  EXPECT_EQ(Run({"--endpoint", "ftp://127.0.0.1:1", "list-environments"}), 2);
  EXPECT_NE(err_.find("is not a URL of an mlvault server"), std::string::npos) << err_;
  EXPECT_EQ(Run({"--endpoint", "http://127.0.0.1:1/api", "list-environments"}), 2);
  EXPECT_NE(err_.find("root URL"), std::string::npos) << err_;
  // Nothing listens on port 1: unreachable, with the settings to check.
  EXPECT_EQ(Run({"--endpoint", "http://127.0.0.1:1", "list-environments"}), 1);
  EXPECT_NE(err_.find("cannot reach the mlvault server at http://127.0.0.1:1"), std::string::npos)
      << err_;
  EXPECT_NE(err_.find("MLVAULT_ENDPOINT"), std::string::npos) << err_;
}

TEST_F(AppTest, EndpointWithoutAnAccessKeyNamesWhereKeysAreLookedFor) {
  EXPECT_EQ(Run({"--endpoint", "http://127.0.0.1:1", "list-environments"}), 4);
  EXPECT_NE(err_.find("no access key to sign requests"), std::string::npos) << err_;
  EXPECT_NE(err_.find("MLVAULT_ACCESS_KEY_ID"), std::string::npos) << err_;
}

// A client that answers pages of a list of `total` backups, `maxItems` at a time, as the server
// does (startingToken = the index to start at), and records the requests.
class PagingClient : public api::Client {
 public:
  PagingClient(int total, std::vector<json>* requests) : total_(total), requests_(requests) {}
  util::Result<json> Call(std::string_view, std::string_view operation, const json& request,
                          const api::CallOptions&) override {
    requests_->push_back(request);
    EXPECT_EQ(operation, "listWorkspaceBackups");
    int start = request.contains("startingToken") ? std::stoi(request["startingToken"].get<std::string>()) : 0;
    int size = request.value("maxItems", 1000);
    json out = {{"backups", json::array()}};
    for (int i = start; i < std::min(total_, start + size); ++i)
      out["backups"].push_back({{"backupName", "b" + std::to_string(i)}});
    if (start + size < total_) out["nextToken"] = std::to_string(start + size);
    return out;
  }

 private:
  int total_;
  std::vector<json>* requests_;
};

TEST_F(AppTest, ListVerbsFollowTokensUnlessToldNot) {
  std::vector<json> requests;
  auto run = [&](const std::vector<std::string>& args) {
    requests.clear();
    std::ostringstream out, err;
    Application app(out, err, [&](const Globals&) -> util::Result<std::unique_ptr<api::Client>> {
      return std::make_unique<PagingClient>(25, &requests);
    });
    int rc = app.Run(args);
    EXPECT_EQ(rc, 0) << err.str();
    return json::parse(out.str());
  };
  const std::vector<std::string> list = {"list-workspace-backups", "--workspace-crn", "c"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = list;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // Every item, in pages of --page-size, as one answer without a token.
  json all = run(with({"--page-size", "10"}));
  EXPECT_EQ(all["backups"].size(), 25u);
  EXPECT_EQ(all["backups"][24]["backupName"], "b24");
  EXPECT_FALSE(all.contains("nextToken"));
  EXPECT_EQ(requests.size(), 3u);
  // --max-items: that many, and the token to go on.
  json some = run(with({"--max-items", "12", "--page-size", "5"}));
  EXPECT_EQ(some["backups"].size(), 12u);
  EXPECT_EQ(some["nextToken"], "12");
  EXPECT_EQ(requests.back()["maxItems"], 2);
  json rest = run(with({"--starting-token", "12"}));
  EXPECT_EQ(rest["backups"].size(), 13u);
  EXPECT_EQ(rest["backups"][0]["backupName"], "b12");
  // --no-paginate: one page and its token.
  json one = run(with({"--no-paginate", "--page-size", "7"}));
  EXPECT_EQ(one["backups"].size(), 7u);
  EXPECT_EQ(one["nextToken"], "7");
  EXPECT_EQ(requests.size(), 1u);
}

}  // namespace
}  // namespace mlvault::cli
