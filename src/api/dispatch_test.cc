// Dispatch through the embedded client against a real catalog in a temporary $MLVAULT_HOME:
// requests decoded (errors naming the field, unknown operations and fields refused), typed
// operations called, responses encoded; every catalogued operation has a handler and an action
// the policy language knows.
#include "api/dispatch.h"

#include <gtest/gtest.h>

#include "api/embedded_client.h"
#include "api/operations.h"
#include "api/status.h"
#include "iam/catalog.h"
#include "util/files.h"

namespace mlvault::api {
namespace {

using nlohmann::json;

class DispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("MLVAULT_ACCESS_KEY_ID");
    ::unsetenv("MLVAULT_PRIVATE_KEY");
    home_ = *util::MakeTempDir("mlvault-dispatch-test");
    client_ = std::make_unique<EmbeddedClient>(EmbeddedClientOptions{home_, ""});
  }
  void TearDown() override {
    client_.reset();
    ASSERT_TRUE(util::RemoveAll(home_));
  }
  util::Result<json> Call(std::string_view service, std::string_view op, const json& body) {
    return client_->Call(service, op, body, CallOptions{});
  }

  std::string home_;
  std::unique_ptr<EmbeddedClient> client_;
};

TEST_F(DispatchTest, RunsAnOperationFromJsonToJson) {
  auto created = Call("environments", "createEnvironment", {{"environmentName", "dev"}});
  ASSERT_TRUE(created) << created.error().ToString();
  EXPECT_EQ((*created)["environment"]["name"], "dev");
  EXPECT_EQ((*created)["environment"]["storageRoot"], home_ + "/environments/dev");
  auto listed = Call("environments", "listEnvironments", json::object());
  ASSERT_TRUE(listed);
  ASSERT_EQ((*listed)["environments"].size(), 1u);
  EXPECT_EQ((*listed)["environments"][0]["workspaceCount"], 0);
  auto me = Call("iam", "getCallerIdentity", json::object());
  ASSERT_TRUE(me);
  EXPECT_EQ((*me)["userName"], "admin");
}

TEST_F(DispatchTest, ErrorsNameTheFieldOrTheOperation) {
  auto bad = Call("environments", "createEnvironment", {{"environmentName", "Dev_1"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "environmentName");
  EXPECT_EQ(HttpStatusFor(bad.error().code()), 400);

  auto unknown_field =
      Call("environments", "createEnvironment", {{"environmentName", "dev"}, {"color", "red"}});
  ASSERT_FALSE(unknown_field);
  EXPECT_EQ(unknown_field.error().field(), "color");

  auto unknown_op = Call("ml", "frobnicate", json::object());
  ASSERT_FALSE(unknown_op);
  EXPECT_EQ(unknown_op.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown_op.error().message().find("ml/frobnicate"), std::string::npos);

  auto crn = Call("ml", "describeWorkspace", {{"workspaceCrn", "crn:nope"}});
  ASSERT_FALSE(crn);
  EXPECT_EQ(crn.error().field(), "workspaceCrn");

  std::string account = (*Call("iam", "getCallerIdentity", json::object()))["accountId"];
  auto missing = Call("ml", "describeWorkspace",
                      {{"workspaceCrn", "crn:mlvault:ml:us-west-1:" + account +
                                            ":workspace:00000000-0000-4000-8000-000000000001"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(HttpStatusFor(missing.error().code()), 404) << missing.error().ToString();
  // Another account's workspace is not ours to see: denied, not "not found".
  auto foreign = Call("ml", "describeWorkspace",
                      {{"workspaceCrn",
                        "crn:mlvault:ml:us-west-1:00000000-0000-4000-8000-000000000000:workspace:"
                        "00000000-0000-4000-8000-000000000001"}});
  ASSERT_FALSE(foreign);
  EXPECT_EQ(HttpStatusFor(foreign.error().code()), 403);
  // Nothing was created by the refused calls.
  EXPECT_EQ((*Call("environments", "listEnvironments", json::object()))["environments"].size(), 0u);
}

TEST_F(DispatchTest, IamOperationsAnswerTheirDocuments) {
  auto user = Call("iam", "createUser", {{"userName", "ops"}});
  ASSERT_TRUE(user) << user.error().ToString();
  EXPECT_EQ((*user)["user"]["userName"], "ops");
  auto key = Call("iam", "createAccessKey", {{"userName", "ops"}});
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_TRUE((*key)["accessKey"].contains("privateKey"));
  auto keys = Call("iam", "listAccessKeys", {{"userName", "ops"}});
  ASSERT_TRUE(keys);
  ASSERT_EQ((*keys)["accessKeys"].size(), 1u);
  EXPECT_FALSE((*keys)["accessKeys"][0].contains("privateKey"));
  auto sim = Call("iam", "simulatePolicy",
                  {{"userName", "ops"}, {"actionNames", {"ml:ListWorkspaces"}}});
  ASSERT_TRUE(sim) << sim.error().ToString();
  EXPECT_EQ((*sim)["evaluationResults"][0]["decision"], "implicitDeny");
  auto events = Call("iam", "listAuditEvents", {{"since", "1h"}, {"action", "iam:CreateUser"}});
  ASSERT_TRUE(events) << events.error().ToString();
  EXPECT_EQ((*events)["auditEvents"].size(), 1u);
}

TEST_F(DispatchTest, InitRunsOnlyEmbedded) {
  ControlContext remote;
  remote.embedded = false;
  auto r = Dispatch(remote, "iam", "init", json::object(), CallOptions{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);
  auto init = Call("iam", "init", json::object());
  ASSERT_TRUE(init) << init.error().ToString();
  EXPECT_TRUE((*init)["created"]);
}

TEST_F(DispatchTest, EveryCatalogedOperationHasAHandlerAndAKnownAction) {
  ASSERT_TRUE(Call("iam", "init", json::object()));
  for (const auto& op : AllOperations()) {
    SCOPED_TRACE(op.name);
    if (!op.action.empty()) {
      auto action = iam::FindAction(op.action);
      ASSERT_TRUE(action) << "unknown action " << op.action;
      EXPECT_EQ(action->mutating, op.mutates);
    }
    // A body of the wrong shape is refused by the operation's decoder, not as unknown.
    auto r = Call(op.service, op.name, json::array());
    if (!r) {
      EXPECT_EQ(r.error().message().find("unknown operation"), std::string::npos);
      EXPECT_EQ(r.error().message().find("has no handler"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace mlvault::api
