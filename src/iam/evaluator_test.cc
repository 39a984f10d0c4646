// Table-driven tests of the evaluator: each case is policies (as documents), a request and the
// expected outcome and deciding statement.
// Over 600 lines on purpose: the file is one table of cases, each a few lines of policy JSON;
// split, the table would only be harder to read as a whole.
#include "iam/evaluator.h"

#include <gtest/gtest.h>

#include "iam/pattern.h"

namespace mlvault::iam {
namespace {

constexpr const char* kWs =
    "crn:mlvault:ml:us-west-1:acct1:workspace:11111111-1111-4111-8111-111111111111";
constexpr const char* kBackup =
    "crn:mlvault:ml:us-west-1:acct1:workspace_backup:22222222-2222-4222-8222-222222222222";

struct Case {
  const char* name;
  std::vector<const char*> policies;  // documents; named P0, P1, ...
  const char* action;
  const char* resource;
  RequestContext context;
  Outcome expected;
  const char* deciding_policy = nullptr;  // for allowed/explicitDeny
  size_t deciding_index = 0;
};

std::string Stmt(const std::string& body) {
  return "{\"Version\":\"2012-10-17\",\"Statement\":[" + body + "]}";
}

// Shorthands for documents used by many cases.
std::string Allow(const std::string& action, const std::string& resource,
                  const std::string& condition = "") {
  return "{\"Effect\":\"Allow\",\"Action\":\"" + action + "\",\"Resource\":\"" + resource + "\"" +
         (condition.empty() ? "" : ",\"Condition\":" + condition) + "}";
}
std::string Deny(const std::string& action, const std::string& resource,
                 const std::string& condition = "") {
  return "{\"Effect\":\"Deny\",\"Action\":\"" + action + "\",\"Resource\":\"" + resource + "\"" +
         (condition.empty() ? "" : ",\"Condition\":" + condition) + "}";
}

// Keeps the documents alive for the const char* table.
const char* Keep(std::string s) {
  static std::vector<std::unique_ptr<std::string>> store;
  store.push_back(std::make_unique<std::string>(std::move(s)));
  return store.back()->c_str();
}
const char* AllowIf(const std::string& cond) { return Keep(Stmt(Allow("*", "*", cond))); }

class EvaluatorTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(EvaluatorTableTest, Decides) {
  const Case& c = GetParam();
  std::vector<NamedPolicy> policies;
  for (size_t i = 0; i < c.policies.size(); ++i) {
    auto p = ParsePolicy(c.policies[i]);
    ASSERT_TRUE(p) << c.name << ": policy " << i << ": " << p.error().ToString();
    policies.push_back({"P" + std::to_string(i), p->policy});
  }
  Decision d = Evaluate(policies, Request{c.action, c.resource, c.context});
  EXPECT_EQ(OutcomeName(d.outcome), OutcomeName(c.expected)) << c.name;
  if (c.expected == Outcome::kImplicitDeny) {
    EXPECT_FALSE(d.deciding) << c.name;
  } else {
    ASSERT_TRUE(d.deciding) << c.name;
    EXPECT_EQ(d.deciding->policy, c.deciding_policy ? c.deciding_policy : "P0") << c.name;
    EXPECT_EQ(d.deciding->index, c.deciding_index) << c.name;
    EXPECT_EQ(d.deciding->effect, c.expected == Outcome::kAllowed ? Effect::kAllow : Effect::kDeny);
  }
}

using O = Outcome;
const auto A = O::kAllowed;
const auto D = O::kExplicitDeny;
const auto I = O::kImplicitDeny;

const RequestContext kProd = {{"ml:EnvironmentName", {"prod"}}};
const RequestContext kDev = {{"ml:EnvironmentName", {"dev"}}};

INSTANTIATE_TEST_SUITE_P(
    Basics, EvaluatorTableTest,
    ::testing::Values(
        Case{"no_policies_default_deny", {}, "ml:BackupWorkspace", kWs, {}, I},
        Case{"allow_everything", {Keep(Stmt(Allow("*", "*")))}, "ml:BackupWorkspace", kWs, {}, A},
        Case{"allow_other_action",
             {Keep(Stmt(Allow("ml:ListWorkspaces", "*")))},
             "ml:BackupWorkspace",
             kWs,
             {},
             I},
        Case{"action_case_insensitive",
             {Keep(Stmt(Allow("ML:backupWORKSPACE", "*")))},
             "ml:BackupWorkspace",
             kWs,
             {},
             A},
        Case{"action_star_suffix",
             {Keep(Stmt(Allow("ml:List*", "*")))},
             "ml:ListWorkspaceBackups",
             kWs,
             {},
             A},
        Case{"action_star_no_match",
             {Keep(Stmt(Allow("ml:List*", "*")))},
             "ml:DescribeWorkspace",
             kWs,
             {},
             I},
        Case{"action_question_mark",
             {Keep(Stmt(Allow("ml:???eteBackup", "*")))},
             "ml:DeleteBackup",
             kBackup,
             {},
             A},
        Case{"action_question_needs_one_char",
             {Keep(Stmt(Allow("ml:??DeleteBackup", "*")))},
             "ml:DeleteBackup",
             kBackup,
             {},
             I},
        Case{"service_star", {Keep(Stmt(Allow("iam:*", "*")))}, "ml:BackupWorkspace", kWs, {}, I},
        Case{"resource_exact", {Keep(Stmt(Allow("*", kWs)))}, "ml:BackupWorkspace", kWs, {}, A},
        Case{"resource_case_sensitive",
             {Keep(Stmt(Allow("*", "crn:mlvault:ml:us-west-1:ACCT1:workspace:*")))},
             "ml:BackupWorkspace",
             kWs,
             {},
             I},
        Case{"resource_star_spans_colons",
             {Keep(Stmt(Allow("*", "crn:mlvault:ml:*:workspace:*")))},
             "ml:BackupWorkspace",
             kWs,
             {},
             A},
        Case{"resource_type_mismatch",
             {Keep(Stmt(Allow("*", "crn:mlvault:ml:*:workspace_backup:*")))},
             "ml:BackupWorkspace",
             kWs,
             {},
             I},
        Case{"resource_star_literal_request",
             {Keep(Stmt(Allow("*", "crn:mlvault:ml:*")))},
             "ml:ListWorkspaces",
             "*",
             {},
             I},
        Case{"deny_wins_same_policy",
             {Keep(Stmt(Allow("*", "*") + "," + Deny("ml:Delete*", "*")))},
             "ml:DeleteBackup",
             kBackup,
             {},
             D,
             "P0",
             1},
        Case{"deny_wins_across_policies",
             {Keep(Stmt(Allow("*", "*"))), Keep(Stmt(Deny("ml:DeleteBackup", kBackup)))},
             "ml:DeleteBackup",
             kBackup,
             {},
             D,
             "P1",
             0},
        Case{"deny_elsewhere_does_not_apply",
             {Keep(Stmt(Allow("*", "*"))), Keep(Stmt(Deny("ml:DeleteBackup", kBackup)))},
             "ml:DeleteBackup",
             "crn:mlvault:ml:us-west-1:acct1:workspace_backup:other",
             {},
             A},
        Case{"deny_alone_is_explicit",
             {Keep(Stmt(Deny("*", "*")))},
             "ml:ListWorkspaces",
             "*",
             {},
             D},
        Case{"first_allow_decides",
             {Keep(Stmt(Allow("ml:List*", "*") + "," + Allow("*", "*")))},
             "ml:ListWorkspaces",
             "*",
             {},
             A,
             "P0",
             0},
        Case{"not_action_allows_others",
             {Keep(Stmt("{\"Effect\":\"Allow\",\"NotAction\":\"ml:Delete*\",\"Resource\":\"*\"}"))},
             "ml:ListWorkspaces",
             "*",
             {},
             A},
        Case{"not_action_excludes",
             {Keep(Stmt("{\"Effect\":\"Allow\",\"NotAction\":[\"ml:Delete*\",\"iam:*\"],"
                        "\"Resource\":\"*\"}"))},
             "iam:CreateUser",
             "*",
             {},
             I},
        Case{"not_action_deny_everything_but_list",
             {Keep(Stmt(Allow("*", "*") +
                        ",{\"Effect\":\"Deny\",\"NotAction\":\"ml:List*\",\"Resource\":\"*\"}"))},
             "ml:BackupWorkspace",
             kWs,
             {},
             D,
             "P0",
             1},
        Case{"not_resource_allows_others",
             {Keep(Stmt(std::string("{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotResource\":\"") +
                        kBackup + "\"}"))},
             "ml:BackupWorkspace",
             kWs,
             {},
             A},
        Case{"not_resource_excludes",
             {Keep(Stmt(std::string("{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotResource\":\"") +
                        kBackup + "\"}"))},
             "ml:DeleteBackup",
             kBackup,
             {},
             I}),
    [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Conditions, EvaluatorTableTest,
    ::testing::Values(
        Case{"string_equals_match",
             {AllowIf(R"({"StringEquals":{"ml:EnvironmentName":"prod"}})")},
             "ml:X",
             kWs,
             kProd,
             A},
        Case{"string_equals_mismatch",
             {AllowIf(R"({"StringEquals":{"ml:EnvironmentName":"prod"}})")},
             "ml:X",
             kWs,
             kDev,
             I},
        Case{"string_equals_case_sensitive",
             {AllowIf(R"({"StringEquals":{"ml:EnvironmentName":"Prod"}})")},
             "ml:X",
             kWs,
             kProd,
             I},
        Case{"string_equals_missing_key",
             {AllowIf(R"({"StringEquals":{"ml:EnvironmentName":"prod"}})")},
             "ml:X",
             kWs,
             {},
             I},
        Case{"string_equals_star_is_literal",
             {AllowIf(R"({"StringEquals":{"ml:EnvironmentName":"pr*"}})")},
             "ml:X",
             kWs,
             kProd,
             I},
        Case{"string_equals_values_or",
             {AllowIf(R"({"StringEquals":{"ml:EnvironmentName":["dev","prod"]}})")},
             "ml:X",
             kWs,
             kProd,
             A},
        Case{"condition_key_case_insensitive",
             {AllowIf(R"({"StringEquals":{"ML:ENVIRONMENTNAME":"prod"}})")},
             "ml:X",
             kWs,
             kProd,
             A},
        Case{"keys_and",
             {AllowIf(R"({"StringEquals":{"ml:EnvironmentName":"prod","ml:WorkspaceName":"a"}})")},
             "ml:X",
             kWs,
             kProd,
             I},
        Case{
            "operators_and",
            {AllowIf(
                R"({"StringEquals":{"ml:EnvironmentName":"prod"},"StringLike":{"ml:WorkspaceName":"a*"}})")},
            "ml:X",
            kWs,
            {{"ml:EnvironmentName", {"prod"}}, {"ml:WorkspaceName", {"analytics"}}},
            A},
        Case{"string_not_equals_match",
             {AllowIf(R"({"StringNotEquals":{"ml:EnvironmentName":"prod"}})")},
             "ml:X",
             kWs,
             kDev,
             A},
        Case{"string_not_equals_nor",
             {AllowIf(R"({"StringNotEquals":{"ml:EnvironmentName":["dev","prod"]}})")},
             "ml:X",
             kWs,
             kProd,
             I},
        Case{"string_not_equals_missing_key_true",
             {AllowIf(R"({"StringNotEquals":{"ml:EnvironmentName":"prod"}})")},
             "ml:X",
             kWs,
             {},
             A},
        Case{"string_equals_ignore_case",
             {AllowIf(R"({"StringEqualsIgnoreCase":{"ml:EnvironmentName":"PROD"}})")},
             "ml:X",
             kWs,
             kProd,
             A},
        Case{"string_not_equals_ignore_case",
             {AllowIf(R"({"StringNotEqualsIgnoreCase":{"ml:EnvironmentName":"PROD"}})")},
             "ml:X",
             kWs,
             kProd,
             I},
        Case{"string_like",
             {AllowIf(R"({"StringLike":{"ml:WorkspaceName":"team-?-*"}})")},
             "ml:X",
             kWs,
             {{"ml:WorkspaceName", {"team-a-notebooks"}}},
             A},
        Case{"string_like_no_match",
             {AllowIf(R"({"StringLike":{"ml:WorkspaceName":"team-?-*"}})")},
             "ml:X",
             kWs,
             {{"ml:WorkspaceName", {"team-ab-notebooks"}}},
             I},
        Case{"string_not_like",
             {AllowIf(R"({"StringNotLike":{"ml:WorkspaceName":"tmp-*"}})")},
             "ml:X",
             kWs,
             {{"ml:WorkspaceName", {"tmp-1"}}},
             I},
        Case{"if_exists_missing_true",
             {AllowIf(R"({"StringEqualsIfExists":{"ml:EnvironmentName":"prod"}})")},
             "ml:X",
             kWs,
             {},
             A},
        Case{"if_exists_present_checked",
             {AllowIf(R"({"StringEqualsIfExists":{"ml:EnvironmentName":"prod"}})")},
             "ml:X",
             kWs,
             kDev,
             I},
        Case{"null_true_absent",
             {AllowIf(R"({"Null":{"ml:ResourceTag/team":"true"}})")},
             "ml:X",
             kWs,
             {},
             A},
        Case{"null_true_present",
             {AllowIf(R"({"Null":{"ml:ResourceTag/team":"true"}})")},
             "ml:X",
             kWs,
             {{"ml:ResourceTag/team", {"x"}}},
             I},
        Case{"null_false_present",
             {AllowIf(R"({"Null":{"ml:ResourceTag/team":false}})")},
             "ml:X",
             kWs,
             {{"ml:ResourceTag/team", {"x"}}},
             A},
        Case{"null_false_empty_list_is_absent",
             {AllowIf(R"({"Null":{"ml:ResourceTag/team":false}})")},
             "ml:X",
             kWs,
             {{"ml:ResourceTag/team", {}}},
             I},
        Case{"bool_true",
             {AllowIf(R"({"Bool":{"ml:Secure":true}})")},
             "ml:X",
             kWs,
             {{"ml:Secure", {"TRUE"}}},
             A},
        Case{"bool_false",
             {AllowIf(R"({"Bool":{"ml:Secure":"true"}})")},
             "ml:X",
             kWs,
             {{"ml:Secure", {"false"}}},
             I},
        Case{"bool_garbage_context",
             {AllowIf(R"({"Bool":{"ml:Secure":"true"}})")},
             "ml:X",
             kWs,
             {{"ml:Secure", {"yes"}}},
             I},
        Case{"numeric_less_than",
             {AllowIf(R"({"NumericLessThan":{"mlvault:EpochTime":100}})")},
             "ml:X",
             kWs,
             {{"mlvault:EpochTime", {"99.5"}}},
             A},
        Case{"numeric_less_than_equal_boundary",
             {AllowIf(R"({"NumericLessThan":{"mlvault:EpochTime":100}})")},
             "ml:X",
             kWs,
             {{"mlvault:EpochTime", {"100"}}},
             I},
        Case{"numeric_less_than_equals",
             {AllowIf(R"({"NumericLessThanEquals":{"mlvault:EpochTime":100}})")},
             "ml:X",
             kWs,
             {{"mlvault:EpochTime", {"1e2"}}},
             A},
        Case{"numeric_greater_than",
             {AllowIf(R"({"NumericGreaterThan":{"mlvault:EpochTime":"-5"}})")},
             "ml:X",
             kWs,
             {{"mlvault:EpochTime", {"0"}}},
             A},
        Case{"numeric_greater_than_equals",
             {AllowIf(R"({"NumericGreaterThanEquals":{"mlvault:EpochTime":3}})")},
             "ml:X",
             kWs,
             {{"mlvault:EpochTime", {"2.999"}}},
             I},
        Case{"numeric_equals",
             {AllowIf(R"({"NumericEquals":{"mlvault:EpochTime":[1,2,3]}})")},
             "ml:X",
             kWs,
             {{"mlvault:EpochTime", {"2.0"}}},
             A},
        Case{"numeric_not_equals",
             {AllowIf(R"({"NumericNotEquals":{"mlvault:EpochTime":[1,2,3]}})")},
             "ml:X",
             kWs,
             {{"mlvault:EpochTime", {"2"}}},
             I},
        Case{"numeric_context_not_a_number",
             {AllowIf(R"({"NumericLessThan":{"mlvault:EpochTime":100}})")},
             "ml:X",
             kWs,
             {{"mlvault:EpochTime", {"abc"}}},
             I},
        Case{"date_less_than",
             {AllowIf(R"({"DateLessThan":{"mlvault:CurrentTime":"2026-02-01T00:00:00Z"}})")},
             "ml:X",
             kWs,
             {{"mlvault:CurrentTime", {"2026-01-26T03:22:10.925000+00:00"}}},
             A},
        Case{"date_less_than_after",
             {AllowIf(R"({"DateLessThan":{"mlvault:CurrentTime":"2026-01-01"}})")},
             "ml:X",
             kWs,
             {{"mlvault:CurrentTime", {"2026-01-26T03:22:10.925000+00:00"}}},
             I},
        Case{
            "date_greater_than_offset",
            {AllowIf(R"({"DateGreaterThan":{"mlvault:CurrentTime":"2026-01-26T04:00:00+01:00"}})")},
            "ml:X",
            kWs,
            {{"mlvault:CurrentTime", {"2026-01-26T03:22:10Z"}}},
            A},
        Case{"date_greater_than_equals_epoch",
             {AllowIf(R"({"DateGreaterThanEquals":{"mlvault:CurrentTime":"86400"}})")},
             "ml:X",
             kWs,
             {{"mlvault:CurrentTime", {"1970-01-02T00:00:00Z"}}},
             A},
        Case{"date_less_than_equals",
             {AllowIf(R"({"DateLessThanEquals":{"mlvault:CurrentTime":"1970-01-01"}})")},
             "ml:X",
             kWs,
             {{"mlvault:CurrentTime", {"1970-01-01T00:00:01Z"}}},
             I},
        Case{"date_equals",
             {AllowIf(R"({"DateEquals":{"mlvault:CurrentTime":"2026-01-26"}})")},
             "ml:X",
             kWs,
             {{"mlvault:CurrentTime", {"2026-01-26T00:00:00Z"}}},
             A},
        Case{"date_not_equals",
             {AllowIf(R"({"DateNotEquals":{"mlvault:CurrentTime":"2026-01-26"}})")},
             "ml:X",
             kWs,
             {{"mlvault:CurrentTime", {"2026-01-26T00:00:00Z"}}},
             I},
        Case{"ip_address_in",
             {AllowIf(R"({"IpAddress":{"mlvault:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}})")},
             "ml:X",
             kWs,
             {{"mlvault:SourceIp", {"192.168.4.2"}}},
             A},
        Case{"ip_address_out",
             {AllowIf(R"({"IpAddress":{"mlvault:SourceIp":"10.0.0.0/8"}})")},
             "ml:X",
             kWs,
             {{"mlvault:SourceIp", {"127.0.0.1"}}},
             I},
        Case{"ip_address_v6",
             {AllowIf(R"({"IpAddress":{"mlvault:SourceIp":"::1"}})")},
             "ml:X",
             kWs,
             {{"mlvault:SourceIp", {"::1"}}},
             A},
        Case{"not_ip_address",
             {AllowIf(R"({"NotIpAddress":{"mlvault:SourceIp":"10.0.0.0/8"}})")},
             "ml:X",
             kWs,
             {{"mlvault:SourceIp", {"127.0.0.1"}}},
             A},
        Case{"not_ip_address_deny_outside",
             {Keep(Stmt(Allow("*", "*") + "," +
                        Deny("*", "*", R"({"NotIpAddress":{"mlvault:SourceIp":"10.0.0.0/8"}})")))},
             "ml:X",
             kWs,
             {{"mlvault:SourceIp", {"127.0.0.1"}}},
             D,
             "P0",
             1},
        Case{"crn_like",
             {AllowIf(R"({"CrnLike":{"ml:WorkspaceCrn":"crn:mlvault:ml:*:acct1:workspace:*"}})")},
             "ml:X",
             kWs,
             {{"ml:WorkspaceCrn", {kWs}}},
             A},
        Case{"arn_not_equals",
             {AllowIf(
                 R"({"ArnNotEquals":{"ml:WorkspaceCrn":"crn:mlvault:ml:*:acct1:workspace:*"}})")},
             "ml:X",
             kWs,
             {{"ml:WorkspaceCrn", {kWs}}},
             I}),
    [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

const RequestContext kTags = {{"ml:ResourceTag/team", {"ml", "data"}}};

INSTANTIATE_TEST_SUITE_P(
    SetQualifiers, EvaluatorTableTest,
    ::testing::Values(
        Case{"for_any_value_one_matches",
             {AllowIf(R"({"ForAnyValue:StringEquals":{"ml:ResourceTag/team":["data","ops"]}})")},
             "ml:X",
             kWs,
             kTags,
             A},
        Case{"for_any_value_none_match",
             {AllowIf(R"({"ForAnyValue:StringEquals":{"ml:ResourceTag/team":["ops"]}})")},
             "ml:X",
             kWs,
             kTags,
             I},
        Case{"for_any_value_missing_false",
             {AllowIf(R"({"ForAnyValue:StringEquals":{"ml:ResourceTag/team":["ops"]}})")},
             "ml:X",
             kWs,
             {},
             I},
        Case{"for_all_values_all_in_set",
             {AllowIf(
                 R"({"ForAllValues:StringEquals":{"ml:ResourceTag/team":["data","ml","ops"]}})")},
             "ml:X",
             kWs,
             kTags,
             A},
        Case{"for_all_values_one_outside",
             {AllowIf(R"({"ForAllValues:StringEquals":{"ml:ResourceTag/team":["ml"]}})")},
             "ml:X",
             kWs,
             kTags,
             I},
        Case{"for_all_values_missing_true",
             {AllowIf(R"({"ForAllValues:StringEquals":{"ml:ResourceTag/team":["ml"]}})")},
             "ml:X",
             kWs,
             {},
             A},
        Case{"for_all_values_like",
             {AllowIf(R"({"ForAllValues:StringLike":{"ml:ResourceTag/team":["m*","d*"]}})")},
             "ml:X",
             kWs,
             kTags,
             A},
        Case{"for_any_value_not_equals",
             {AllowIf(R"({"ForAnyValue:StringNotEquals":{"ml:ResourceTag/team":["ml"]}})")},
             "ml:X",
             kWs,
             kTags,
             A},
        Case{"for_all_values_not_equals",
             {AllowIf(R"({"ForAllValues:StringNotEquals":{"ml:ResourceTag/team":["ml"]}})")},
             "ml:X",
             kWs,
             kTags,
             I},
        Case{"for_all_values_not_equals_disjoint",
             {AllowIf(R"({"ForAllValues:StringNotEquals":{"ml:ResourceTag/team":["ops"]}})")},
             "ml:X",
             kWs,
             kTags,
             A},
        Case{"no_qualifier_multi_valued_any",
             {AllowIf(R"({"StringEquals":{"ml:ResourceTag/team":"data"}})")},
             "ml:X",
             kWs,
             kTags,
             A},
        Case{"no_qualifier_negated_multi_valued",
             {AllowIf(R"({"StringNotEquals":{"ml:ResourceTag/team":"data"}})")},
             "ml:X",
             kWs,
             kTags,
             I},
        Case{"for_any_value_if_exists_missing",
             {AllowIf(R"({"ForAnyValue:StringEqualsIfExists":{"ml:ResourceTag/team":["ops"]}})")},
             "ml:X",
             kWs,
             {},
             A}),
    [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

const RequestContext kBob = {{"mlvault:UserName", {"bob"}},
                             {"ml:WorkspaceName", {"bob-notebooks"}}};

INSTANTIATE_TEST_SUITE_P(
    Variables, EvaluatorTableTest,
    ::testing::Values(
        Case{"variable_in_condition",
             {AllowIf(R"({"StringLike":{"ml:WorkspaceName":"${mlvault:UserName}-*"}})")},
             "ml:X",
             kWs,
             kBob,
             A},
        Case{"variable_other_user",
             {AllowIf(R"({"StringLike":{"ml:WorkspaceName":"${mlvault:UserName}-*"}})")},
             "ml:X",
             kWs,
             {{"mlvault:UserName", {"alice"}}, {"ml:WorkspaceName", {"bob-notebooks"}}},
             I},
        Case{"variable_missing_never_matches",
             {AllowIf(R"({"StringLike":{"ml:WorkspaceName":"${mlvault:UserName}-*"}})")},
             "ml:X",
             kWs,
             {{"ml:WorkspaceName", {"-x"}}},
             I},
        Case{"variable_value_is_literal",
             {AllowIf(R"({"StringEquals":{"ml:WorkspaceName":"${mlvault:UserName}"}})")},
             "ml:X",
             kWs,
             {{"mlvault:UserName", {"b*"}}, {"ml:WorkspaceName", {"bob"}}},
             I},
        Case{"variable_literal_star",
             {AllowIf(R"({"StringLike":{"ml:WorkspaceName":"a${*}b"}})")},
             "ml:X",
             kWs,
             {{"ml:WorkspaceName", {"a*b"}}},
             A},
        Case{"variable_literal_star_no_wildcard",
             {AllowIf(R"({"StringLike":{"ml:WorkspaceName":"a${*}b"}})")},
             "ml:X",
             kWs,
             {{"ml:WorkspaceName", {"axb"}}},
             I},
        Case{"variable_in_resource",
             {Keep(Stmt(Allow("*", "crn:mlvault:ml:*:${mlvault:PrincipalAccount}:workspace:*")))},
             "ml:X",
             kWs,
             {{"mlvault:PrincipalAccount", {"acct1"}}},
             A},
        Case{"variable_in_resource_other_account",
             {Keep(Stmt(Allow("*", "crn:mlvault:ml:*:${mlvault:PrincipalAccount}:workspace:*")))},
             "ml:X",
             kWs,
             {{"mlvault:PrincipalAccount", {"acct2"}}},
             I},
        Case{"variables_off_in_2008",
             {Keep("{\"Version\":\"2008-10-17\",\"Statement\":" +
                   Allow("*", "*",
                         R"({"StringEquals":{"ml:WorkspaceName":"${mlvault:UserName}"}})") +
                   "}")},
             "ml:X",
             kWs,
             {{"mlvault:UserName", {"bob"}}, {"ml:WorkspaceName", {"${mlvault:UserName}"}}},
             A}),
    [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

TEST(EvaluatorTest, MatchedListsEveryApplicableStatement) {
  auto p0 = ParsePolicy(Stmt("{\"Sid\":\"A\"," + Allow("*", "*").substr(1) + "," +
                             Deny("ml:Delete*", "*") + "," + Allow("iam:*", "*")));
  ASSERT_TRUE(p0) << p0.error().ToString();
  std::vector<NamedPolicy> ps = {{"Ops", p0->policy}};
  Decision d = Evaluate(ps, Request{"ml:DeleteBackup", kBackup, {}});
  EXPECT_EQ(d.outcome, Outcome::kExplicitDeny);
  ASSERT_EQ(d.matched.size(), 2u);
  EXPECT_EQ(d.matched[0], (StatementRef{"Ops", 0, "A", Effect::kAllow}));
  EXPECT_EQ(d.matched[1], (StatementRef{"Ops", 1, "", Effect::kDeny}));
}

TEST(PatternTest, Wildcards) {
  EXPECT_TRUE(WildcardMatch("*", "", false));
  EXPECT_TRUE(WildcardMatch("a*b*c", "aXXbYYc", false));
  EXPECT_FALSE(WildcardMatch("a*b*c", "aXXbYY", false));
  EXPECT_TRUE(WildcardMatch("a**", "a", false));
  EXPECT_TRUE(
      WildcardMatch("?\xc3\xa9", "x\xc3\xa9", false));  // '?' is one character, not one byte
  EXPECT_TRUE(WildcardMatch("\xc3\xa9?", "\xc3\xa9\xc3\xa9", false));
  EXPECT_FALSE(WildcardMatch("??", "\xc3\xa9", false));
  EXPECT_TRUE(WildcardMatch("ML:*", "ml:x", true));
  EXPECT_FALSE(WildcardMatch("ML:*", "ml:x", false));
  EXPECT_TRUE(WildcardMatch("*a*a*a*a*a*b", std::string(200, 'a') + "b", false));
  EXPECT_FALSE(WildcardMatch("*a*a*a*a*a*b", std::string(200, 'a'), false));
  EXPECT_EQ(VariableNames("x${a:b}y${*}${c:d}"), (std::vector<std::string>{"a:b", "c:d"}));
  auto lookup = [](std::string_view k) -> std::optional<std::string> {
    if (k == "k:v") return std::string("V");
    return std::nullopt;
  };
  EXPECT_EQ(SubstituteVariables("a${k:v}b${$}", lookup), "aVb$");
  EXPECT_FALSE(SubstituteVariables("a${k:none}", lookup));
  EXPECT_EQ(SubstituteVariables("a${k:v", lookup), "a${k:v");
  EXPECT_EQ(SubstituteVariables("a${k:v}", nullptr), "a${k:v}");
}

}  // namespace
}  // namespace mlvault::iam
