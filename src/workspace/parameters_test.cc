#include "workspace/parameters.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mlvault::workspace {
namespace {

using nlohmann::json;

const char kBackup[] =
    "crn:mlvault:ml:us-west-1:0f8e5a1c-3b7d-4c2e-9a6f-1d2b3c4d5e6f:workspace_backup:a1b2c3d4-e5f6-"
    "4a7b-8c9d-0e1f2a3b4c5d";

json Valid() {
  json doc = json::parse(RestoreSkeleton());
  doc["newWorkspaceParameters"]["workspaceName"] = "restored";
  doc["newWorkspaceParameters"]["environmentName"] = "dev";
  doc["backupCrn"] = kBackup;
  return doc;
}

std::string ErrorOf(const json& doc) {
  auto r = ParseRestoreInput(doc.dump());
  if (r) return "OK";
  EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);
  return r.error().message();
}

#define EXPECT_STARTS(msg, prefix) EXPECT_EQ((msg).rfind(prefix, 0), 0u) << (msg)

TEST(RestoreInput, SkeletonFilledInParses) {
  auto r = ParseRestoreInput(Valid().dump());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->params.workspace_name, "restored");
  EXPECT_EQ(r->params.environment_name, "dev");
  EXPECT_EQ(r->params.k8s_environment_name, "dev");
  EXPECT_EQ(r->backup_crn, kBackup);
  EXPECT_EQ(r->restore_job_timeout_minutes, 120);
  ASSERT_EQ(r->params.instance_groups.size(), 1u);
  EXPECT_EQ(r->params.instance_groups[0].autoscaling.max_instances, 5);
  EXPECT_EQ(r->params.QuotaBytes(), 128ull << 30);
  // The unfilled skeleton names what is missing.
  EXPECT_STARTS(ErrorOf(json::parse(RestoreSkeleton())),
                "newWorkspaceParameters.workspaceName: must not be empty");
}

TEST(RestoreInput, ToJsonRoundTrips) {
  auto r = ParseRestoreInput(Valid().dump());
  ASSERT_TRUE(r);
  r->params.tags = {{"team", "vision"}};
  r->params.authorized_ip_ranges = {"10.0.0.0/8", "2001:db8::/32"};
  auto again = ParseWorkspaceParameters(ToJson(r->params), "p", true);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(ToJson(*again), ToJson(r->params));
}

TEST(RestoreInput, EnvironmentDefaultsFromK8sRequestAndMayBeOmitted) {
  json doc = Valid();
  doc["newWorkspaceParameters"].erase("environmentName");
  doc["newWorkspaceParameters"]["provisionK8sRequest"]["environmentName"] = "";
  auto r = ParseRestoreInput(doc.dump());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->params.environment_name, "");  // restore uses the backup's environment
  doc["newWorkspaceParameters"]["provisionK8sRequest"]["environmentName"] = "prod";
  r = ParseRestoreInput(doc.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->params.environment_name, "prod");
  doc["newWorkspaceParameters"]["environmentName"] = "dev";
  EXPECT_STARTS(
      ErrorOf(doc),
      "newWorkspaceParameters.provisionK8sRequest.environmentName: must be empty or equal");
}

TEST(RestoreInput, ErrorsNameTheFieldPath) {
  struct Case {
    std::function<void(json&)> edit;
    std::string prefix;
  };
  std::vector<Case> cases = {
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"][0]["autoscaling"]
          ["minInstances"] = 7;
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].autoscaling.minInstances: "
       "must not be greater "
       "than maxInstances (5), got 7"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"][0]["autoscaling"]
          ["minInstances"] = -1;
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].autoscaling.minInstances: "
       "must be between 0"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"][0]["autoscaling"]
          ["minInstances"] = "1";
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].autoscaling.minInstances: "
       "must be a whole number, got a string"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"][0]["rootVolume"]
          ["size"] = 1.5;
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].rootVolume.size: must be a "
       "whole number"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"][0]["rootVolume"]
          ["size"] = 0;
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].rootVolume.size: must be "
       "between 1"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"][0]["rootVolume"]
          ["size"] = 18446744073709551615ull;
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].rootVolume.size: must be "
       "between 1"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"][0]["instanceType"] =
             "big";
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].instanceType: must be an "
       "instance type"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"] = json::array();
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups: must list at least one"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["instanceGroups"][0]["gpu"] = true;
       },
       "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].gpu: unknown field"},
      {[](json& d) { d["newWorkspaceParameters"]["workspaceNme"] = "x"; },
       "newWorkspaceParameters.workspaceNme: unknown field (did you mean \"workspaceName\"?)"},
      {[](json& d) { d["extra"] = 1; }, "extra: unknown field"},
      {[](json& d) { d["newWorkspaceParameters"]["disableTLS"] = "false"; },
       "newWorkspaceParameters.disableTLS: must be true or false, got a string"},
      {[](json& d) { d["newWorkspaceParameters"]["disableTLS"] = nullptr; },
       "newWorkspaceParameters.disableTLS: must be true or false, got null"},
      {[](json& d) { d["newWorkspaceParameters"]["workspaceName"] = "Bad_Name"; },
       "newWorkspaceParameters.workspaceName: must start with a lowercase letter"},
      {[](json& d) { d["newWorkspaceParameters"]["workspaceName"] = "bad_name"; },
       "newWorkspaceParameters.workspaceName: may contain only"},
      {[](json& d) { d["newWorkspaceParameters"].erase("workspaceName"); },
       "newWorkspaceParameters.workspaceName: is required"},
      {[](json& d) { d["newWorkspaceParameters"]["authorizedIPRanges"] = {"10.0.0.0/33"}; },
       "newWorkspaceParameters.authorizedIPRanges[0]: has an invalid prefix length"},
      {[](json& d) {
         d["newWorkspaceParameters"]["loadBalancerIPWhitelists"] = {"1.2.3.4", "nope"};
       },
       "newWorkspaceParameters.loadBalancerIPWhitelists[1]: must be an IP address"},
      {[](json& d) { d["newWorkspaceParameters"]["whitelistAuthorizedIPRanges"] = true; },
       "newWorkspaceParameters.authorizedIPRanges: must list at least one range"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["tags"] = {
             {{"key", "a"}}, {{"key", "a"}, {"value", "b"}}};
       },
       "newWorkspaceParameters.provisionK8sRequest.tags[1].key: duplicate tag key"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["tags"] = {{{"value", "a"}}};
       },
       "newWorkspaceParameters.provisionK8sRequest.tags[0].key: is required"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["network"]["topology"]["subnets"] = {
             ""};
       },
       "newWorkspaceParameters.provisionK8sRequest.network.topology.subnets[0]: must not be empty"},
      {[](json& d) {
         d["newWorkspaceParameters"]["provisionK8sRequest"]["network"]["topology"] = "x";
       },
       "newWorkspaceParameters.provisionK8sRequest.network.topology: must be an object"},
      {[](json& d) { d["newWorkspaceParameters"]["provisionK8sRequest"]["xEntitlements"] = {1}; },
       "newWorkspaceParameters.provisionK8sRequest.xEntitlements[0]: must be a string"},
      {[](json& d) { d["newWorkspaceParameters"] = json::array(); },
       "newWorkspaceParameters: must be an object"},
      {[](json& d) { d.erase("backupCrn"); }, "backupCrn: is required"},
      {[](json& d) { d["backupCrn"] = "crn:mlvault:ml:us-west-1:x:workspace_backup:y"; },
       "backupCrn: malformed CRN"},
      {[](json& d) { d["restoreJobTimeoutMinutes"] = 0; },
       "restoreJobTimeoutMinutes: must be between 1"},
  };
  for (auto& c : cases) {
    json d = Valid();
    c.edit(d);
    std::string msg = ErrorOf(d);
    EXPECT_STARTS(msg, c.prefix);
  }
}

TEST(RestoreInput, SyntaxAndDuplicateKeys) {
  auto r = ParseRestoreInput("{\n  \"backupCrn\": \"x\",\n  oops\n}");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not valid JSON (line 3, column"), std::string::npos)
      << r.error().message();
  r = ParseRestoreInput("");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("empty"), std::string::npos) << r.error().message();
  r = ParseRestoreInput("[1]");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("must be a JSON object"), std::string::npos);
  r = ParseRestoreInput(
      R"({"newWorkspaceParameters": {"provisionK8sRequest": {"instanceGroups": [{}, {"instanceType": "a.b", "instanceType": "c.d"}]}}})");
  ASSERT_FALSE(r);
  EXPECT_STARTS(r.error().message(),
                "newWorkspaceParameters.provisionK8sRequest.instanceGroups[1].instanceType: the "
                "field is given more than once");
}

TEST(CreateInput, BareOrWrappedAndEnvironmentRequired) {
  auto r = ParseCreateWorkspaceInput(R"({"environmentName": "dev", "workspaceName": "ws1"})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->workspace_name, "ws1");
  r = ParseCreateWorkspaceInput(
      R"({"newWorkspaceParameters": {"environmentName": "dev", "workspaceName": "ws1",
      "provisionK8sRequest": {"tags": [{"key": "team", "value": "nlp"}]}}})");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->tags.size(), 1u);
  r = ParseCreateWorkspaceInput(R"({"newWorkspaceParameters": {"workspaceName": "ws1"}})");
  ASSERT_FALSE(r);
  EXPECT_STARTS(r.error().message(), "newWorkspaceParameters.environmentName: is required");
}

TEST(Cidr, Checks) {
  EXPECT_EQ(CheckCidr("10.0.0.0/8"), "");
  EXPECT_EQ(CheckCidr("127.0.0.1"), "");
  EXPECT_EQ(CheckCidr("::1/128"), "");
  EXPECT_NE(CheckCidr("::1/129"), "");
  EXPECT_NE(CheckCidr("10.0.0.0/"), "");
  EXPECT_NE(CheckCidr("10.0.0/8"), "");
  EXPECT_NE(CheckCidr("10.0.0.0/-1"), "");
}

}  // namespace
}  // namespace mlvault::workspace
