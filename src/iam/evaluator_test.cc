// Table-driven tests of the evaluator: each case is policies (as documents), a request and the
// expected outcome and deciding statement. Basics and policy variables here; conditions and set
// qualifiers in evaluator_conditions_test.cc (same binary); the shared table in
// evaluator_test_table.h.
#include "iam/evaluator.h"

#include <gtest/gtest.h>

#include "iam/evaluator_test_table.h"
#include "iam/pattern.h"

namespace mlvault::iam::evaluator_table {

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

namespace {

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
}  // namespace mlvault::iam::evaluator_table
