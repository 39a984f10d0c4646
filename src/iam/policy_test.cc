#include "iam/policy.h"

#include <gtest/gtest.h>

#include <random>

namespace mlvault::iam {
namespace {

TEST(PolicyTest, ParsesAFullDocument) {
  auto p = ParsePolicy(R"({
  "Version": "2012-10-17",
  "Id": "ops",
  "Statement": [
    {
      "Sid": "BackupProd",
      "Effect": "Allow",
      "Action": ["ml:BackupWorkspace", "ml:ListWorkspaceBackups"],
      "Resource": "crn:mlvault:ml:*:*:workspace:*",
      "Condition": {
        "StringEquals": {"ml:EnvironmentName": "prod"},
        "ForAnyValue:StringLikeIfExists": {"ml:ResourceTag/team": ["ml-*", "data"]},
        "NumericLessThan": {"mlvault:EpochTime": 2000000000},
        "Bool": {"mlvault:Flag": true}
      }
    },
    {"Effect": "Deny", "NotAction": "ml:List*", "NotResource": ["crn:mlvault:ml:us-west-1:a:workspace:w"]}
  ]
})");
  ASSERT_TRUE(p) << p.error().ToString();
  const Policy& pol = p->policy;
  EXPECT_EQ(pol.version, "2012-10-17");
  EXPECT_EQ(pol.id, "ops");
  ASSERT_EQ(pol.statements.size(), 2u);
  const Statement& s = pol.statements[0];
  EXPECT_EQ(s.sid, "BackupProd");
  EXPECT_EQ(s.effect, Effect::kAllow);
  EXPECT_FALSE(s.not_action);
  EXPECT_EQ(s.actions.size(), 2u);
  EXPECT_EQ(s.pos, (SourcePos{5, 5}));
  ASSERT_EQ(s.conditions.size(), 4u);
  EXPECT_EQ(s.conditions[1].op.qualifier, SetQualifier::kForAnyValue);
  EXPECT_TRUE(s.conditions[1].op.if_exists);
  EXPECT_EQ(s.conditions[1].op.base, BaseOperator::kStringLike);
  EXPECT_EQ(s.conditions[1].values, (std::vector<std::string>{"ml-*", "data"}));
  EXPECT_EQ(s.conditions[2].values, (std::vector<std::string>{"2000000000"}));
  EXPECT_EQ(s.conditions[3].values, (std::vector<std::string>{"true"}));
  EXPECT_TRUE(pol.statements[1].not_action);
  EXPECT_TRUE(pol.statements[1].not_resource);
  // mlvault:Flag is not a key mlvault sets.
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_NE(p->warnings[0].find("mlvault:Flag"), std::string::npos);
}

TEST(PolicyTest, SingleStatementObjectAndAdministratorAccess) {
  auto p = ParsePolicy(
      R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})");
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(p->policy.statements.size(), 1u);
  EXPECT_TRUE(p->warnings.empty());
  auto admin = ParsePolicy(AdministratorAccessDocument());
  ASSERT_TRUE(admin) << admin.error().ToString();
  EXPECT_EQ(admin->policy.statements[0].actions, std::vector<std::string>{"*"});
}

TEST(PolicyTest, WarnsAboutUnknownActionsAndMissingVersion) {
  auto p = ParsePolicy(
      R"({"Statement":{"Effect":"Allow","Action":"ml:BackupWorkpace","Resource":"*"}})");
  ASSERT_TRUE(p) << p.error().ToString();
  ASSERT_EQ(p->warnings.size(), 2u);
  EXPECT_NE(p->warnings[0].find("no Version"), std::string::npos);
  EXPECT_NE(p->warnings[1].find("did you mean ml:BackupWorkspace?"), std::string::npos)
      << p->warnings[1];
}

TEST(PolicyTest, OperatorNames) {
  auto op = ParseConditionOperator("ForAllValues:StringNotEqualsIgnoreCaseIfExists");
  ASSERT_TRUE(op);
  EXPECT_EQ(op->base, BaseOperator::kStringNotEqualsIgnoreCase);
  EXPECT_EQ(op->qualifier, SetQualifier::kForAllValues);
  EXPECT_TRUE(op->if_exists);
  EXPECT_EQ(op->ToString(), "ForAllValues:StringNotEqualsIgnoreCaseIfExists");
  EXPECT_EQ(ParseConditionOperator("ArnLike")->base, BaseOperator::kCrnLike);
  EXPECT_FALSE(ParseConditionOperator("stringequals"));
  EXPECT_FALSE(ParseConditionOperator("StringEqualsIfExistsIfExists"));
  EXPECT_FALSE(ParseConditionOperator("ForAnyValue:"));
  EXPECT_TRUE(IsNegated(BaseOperator::kNotIpAddress));
  EXPECT_FALSE(IsNegated(BaseOperator::kNull));
  EXPECT_EQ(Positive(BaseOperator::kStringNotLike), BaseOperator::kStringLike);
}

TEST(PolicyTest, DatesNumbersAndNetworks) {
  EXPECT_EQ(ParsePolicyDate("1970-01-02"), 86400LL * 1'000'000);
  EXPECT_EQ(ParsePolicyDate("86400"), 86400LL * 1'000'000);
  EXPECT_EQ(ParsePolicyDate("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_FALSE(ParsePolicyDate("yesterday"));
  EXPECT_FALSE(ParsePolicyDate("2026-13-01"));
  EXPECT_EQ(ParsePolicyNumber("-1.5e2"), -150.0);
  EXPECT_FALSE(ParsePolicyNumber("0x10"));
  EXPECT_FALSE(ParsePolicyNumber("inf"));
  EXPECT_FALSE(ParsePolicyNumber(" 1"));
  auto net = ParseIpNetwork("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->Contains("10.255.0.1"));
  EXPECT_TRUE(net->Contains("::ffff:10.1.2.3"));
  EXPECT_FALSE(net->Contains("11.0.0.1"));
  EXPECT_FALSE(net->Contains("::1"));
  EXPECT_FALSE(net->Contains("garbage"));
  auto one = ParseIpNetwork("192.168.1.7");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->Contains("192.168.1.7"));
  EXPECT_FALSE(one->Contains("192.168.1.8"));
  auto v6 = ParseIpNetwork("2001:db8::/33");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->Contains("2001:db8:7fff::1"));
  EXPECT_FALSE(v6->Contains("2001:db8:8000::1"));
  EXPECT_FALSE(ParseIpNetwork("10.0.0.0/33"));
  EXPECT_FALSE(ParseIpNetwork("10.0.0/8"));
  EXPECT_FALSE(ParseIpNetwork("::/129"));
}

struct ErrorCase {
  const char* name;
  const char* text;
  int line;
  int column;
  const char* path;
  const char* message_part;
};

class PolicyErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(PolicyErrorTest, RefusedWithThePlace) {
  const ErrorCase& c = GetParam();
  auto p = ParsePolicy(c.text);
  ASSERT_FALSE(p) << c.name << " was accepted";
  const DocumentError& e = p.error();
  EXPECT_EQ(e.pos.line, c.line) << e.ToString();
  EXPECT_EQ(e.pos.column, c.column) << e.ToString();
  EXPECT_EQ(e.path, c.path) << e.ToString();
  EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.ToString();
}

// Statement prefix used by most cases: line 1 holds `{"Version":"2012-10-17","Statement":[`.
#define HEAD "{\"Version\":\"2012-10-17\",\"Statement\":[\n"

INSTANTIATE_TEST_SUITE_P(
    Cases, PolicyErrorTest,
    ::testing::Values(
        ErrorCase{"trailing_comma_in_statement",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",}\n]}", 2, 46,
                  "Statement[0]", "trailing comma"},
        ErrorCase{"trailing_comma_in_statement_list",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},\n]}", 2, 47,
                  "Statement", "trailing comma after the last element"},
        ErrorCase{"trailing_comma_in_condition",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"StringEquals\":{\"ml:EnvironmentName\":\"prod\",}}}]}",
                  3, 58, "Statement[0].Condition.StringEquals", "trailing comma"},
        ErrorCase{"not_an_object", "[1]", 1, 1, "", "must be a JSON object"},
        ErrorCase{"unknown_top_element", "{\"Version\":\"2012-10-17\",\"Statment\":[]}", 1, 25,
                  "Statment", "did you mean Statement?"},
        ErrorCase{"bad_version", "{\"Version\":\"2024-01-01\",\"Statement\":[]}", 1, 12, "Version",
                  "Version must be \"2012-10-17\""},
        ErrorCase{"no_statement", "{\"Version\":\"2012-10-17\"}", 1, 1, "", "no Statement"},
        ErrorCase{"empty_statement", "{\"Statement\":[]}", 1, 14, "Statement", "must not be empty"},
        ErrorCase{"statement_string", "{\"Statement\":\"x\"}", 1, 14, "Statement",
                  "object or an array"},
        ErrorCase{"statement_item_not_object",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}, 7]}", 2, 49,
                  "Statement[1]", "a statement must be a JSON object"},
        ErrorCase{"bad_effect",
                  HEAD "{\"Effect\":\"Permit\",\"Action\":\"*\",\"Resource\":\"*\"}]}", 2, 11,
                  "Statement[0].Effect",
                  "Effect must be \"Allow\" or \"Deny\" (case-sensitive), found \"Permit\""},
        ErrorCase{"lowercase_effect",
                  HEAD "{\"Effect\":\"allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}", 2, 11,
                  "Statement[0].Effect", "case-sensitive"},
        ErrorCase{"effect_not_string",
                  HEAD "{\"Effect\":true,\"Action\":\"*\",\"Resource\":\"*\"}]}", 2, 11,
                  "Statement[0].Effect", "found boolean"},
        ErrorCase{"no_effect", HEAD " {\"Action\":\"*\",\"Resource\":\"*\"}]}", 2, 2,
                  "Statement[0]", "no Effect"},
        ErrorCase{"no_action", HEAD "{\"Effect\":\"Allow\",\"Resource\":\"*\"}]}", 2, 1,
                  "Statement[0]", "no Action"},
        ErrorCase{"no_resource", HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\"}]}", 2, 1,
                  "Statement[0]", "no Resource"},
        ErrorCase{
            "action_and_notaction",
            HEAD
            "{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"ml:X\",\"Resource\":\"*\"}]}",
            2, 44, "Statement[0].NotAction", "either Action or NotAction"},
        ErrorCase{
            "resource_and_notresource",
            HEAD
            "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"NotResource\":\"*\"}]}",
            2, 61, "Statement[0].NotResource", "either Resource or NotResource"},
        ErrorCase{"action_without_prefix",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":[\"ml:ListWorkspaces\","
                       "\"BackupWorkspace\"],\"Resource\":\"*\"}]}",
                  2, 49, "Statement[0].Action[1]",
                  "no service prefix; actions are written service:Name, e.g. "
                  "ml:BackupWorkspace (did you mean ml:BackupWorkspace?)"},
        ErrorCase{"unknown_service",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}", 2,
                  28, "Statement[0].Action", "unknown service \"s3\""},
        ErrorCase{"bad_action_char",
                  HEAD
                  "{\"Effect\":\"Allow\",\"Action\":\"ml:Backup-Workspace\",\"Resource\":\"*\"}]}",
                  2, 28, "Statement[0].Action", "contains \"-\""},
        ErrorCase{"empty_action_name",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"ml:\",\"Resource\":\"*\"}]}", 2, 28,
                  "Statement[0].Action", "no name after the service prefix"},
        ErrorCase{"empty_action_list",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}]}", 2, 28,
                  "Statement[0].Action", "must not be an empty array"},
        ErrorCase{"action_number",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":[\"*\", 5],\"Resource\":\"*\"}]}", 2, 34,
                  "Statement[0].Action[1]", "entries must be strings, found number"},
        ErrorCase{"resource_not_crn",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"workspace/prod\"}]}",
                  2, 43, "Statement[0].Resource", "is not a CRN"},
        ErrorCase{
            "resource_short_crn",
            HEAD
            "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"crn:mlvault:ml:us-west-1\"}]}",
            2, 43, "Statement[0].Resource", "has 4 ':'-separated parts"},
        ErrorCase{
            "resource_wrong_partition",
            HEAD
            "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"crn:aws:ml:r:a:workspace:w\"}]}",
            2, 43, "Statement[0].Resource", "partition must be \"mlvault\""},
        ErrorCase{"resource_empty_account",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"crn:mlvault:ml:r::"
                       "workspace:w\"}]}",
                  2, 43, "Statement[0].Resource", "the account is empty"},
        ErrorCase{
            "principal",
            HEAD "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
            2, 19, "Statement[0].Principal", "not allowed here"},
        ErrorCase{"unknown_statement_element",
                  HEAD "{\"Effect\":\"Allow\",\"Actions\":\"*\",\"Resource\":\"*\"}]}", 2, 19,
                  "Statement[0].Actions", "did you mean Action?"},
        ErrorCase{"bad_sid",
                  HEAD
                  "{\"Sid\":\"my sid\",\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                  2, 8, "Statement[0].Sid", "letters, digits"},
        ErrorCase{"duplicate_sid",
                  HEAD "{\"Sid\":\"A\",\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},\n"
                       "{\"Sid\":\"A\",\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                  3, 8, "Statement[1].Sid", "unique"},
        ErrorCase{"unknown_operator",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"StringEqual\":{\"ml:EnvironmentName\":\"prod\"}}}]}",
                  3, 15, "Statement[0].Condition.StringEqual",
                  "unknown condition operator \"StringEqual\" (did you mean "
                  "StringEquals?)"},
        ErrorCase{
            "unknown_qualified_operator",
            HEAD
            "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
            " \"Condition\":{\"ForAnyValues:StringLike\":{\"ml:EnvironmentName\":\"prod\"}}}]}",
            3, 15, "Statement[0].Condition.ForAnyValues:StringLike", "unknown condition operator"},
        ErrorCase{"null_if_exists",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"NullIfExists\":{\"ml:EnvironmentName\":\"true\"}}}]}",
                  3, 15, "Statement[0].Condition.NullIfExists", "Null takes no"},
        ErrorCase{"condition_not_object",
                  HEAD
                  "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":[]}]}",
                  2, 59, "Statement[0].Condition", "must be an object of operators"},
        ErrorCase{"operator_not_object",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{"
                       "\"Bool\":\"true\"}}]}",
                  2, 67, "Statement[0].Condition.Bool", "must map condition keys to values"},
        ErrorCase{"key_without_prefix",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"StringEquals\":{\"UserName\":\"bob\"}}}]}",
                  3, 31, "Statement[0].Condition.StringEquals.UserName", "needs a service prefix"},
        ErrorCase{
            "numeric_not_number",
            HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                 " \"Condition\":{\"NumericLessThan\":{\"mlvault:EpochTime\":[\"5\",\"soon\"]}}}]}",
            3, 59, "Statement[0].Condition.NumericLessThan.mlvault:EpochTime[1]",
            "\"soon\" is not a number"},
        ErrorCase{
            "date_not_date",
            HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                 " \"Condition\":{\"DateLessThan\":{\"mlvault:CurrentTime\":\"tomorrow\"}}}]}",
            3, 53, "Statement[0].Condition.DateLessThan.mlvault:CurrentTime", "is not a date"},
        ErrorCase{"bool_not_bool",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"Bool\":{\"ml:X\":\"yes\"}}}]}",
                  3, 30, "Statement[0].Condition.Bool.ml:X", "takes \"true\" or \"false\""},
        ErrorCase{"ip_not_cidr",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"IpAddress\":{\"mlvault:SourceIp\":\"10.0.0.0/40\"}}}]}",
                  3, 47, "Statement[0].Condition.IpAddress.mlvault:SourceIp", "CIDR"},
        ErrorCase{"value_object",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"StringEquals\":{\"ml:WorkspaceName\":{}}}}]}",
                  3, 50, "Statement[0].Condition.StringEquals.ml:WorkspaceName", "found object"},
        ErrorCase{"value_null_in_list",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"StringEquals\":{\"ml:WorkspaceName\":[\"a\",null]}}}]}",
                  3, 55, "Statement[0].Condition.StringEquals.ml:WorkspaceName[1]", "found null"},
        ErrorCase{"empty_values",
                  HEAD "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\n"
                       " \"Condition\":{\"StringEquals\":{\"ml:WorkspaceName\":[]}}}]}",
                  3, 50, "Statement[0].Condition.StringEquals.ml:WorkspaceName",
                  "at least one value"}),
    [](const ::testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

// Random damage to a valid document must give a policy or an error whose place lies inside the
// text -- never a crash, a hang or a place that does not exist.
TEST(PolicyTest, DamagedDocumentsFailCleanlyWithARealPlace) {
  const std::string good = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "A1", "Effect": "Allow", "Action": ["ml:BackupWorkspace", "ml:List*"],
     "Resource": "crn:mlvault:ml:*:*:workspace:*",
     "Condition": {"StringEquals": {"ml:EnvironmentName": ["prod", "stage"]},
                   "IpAddress": {"mlvault:SourceIp": "10.0.0.0/8"},
                   "DateLessThan": {"mlvault:CurrentTime": "2030-01-01T00:00:00Z"}}},
    {"Effect": "Deny", "NotAction": "ml:Describe*", "NotResource": "*"}
  ]
})";
  ASSERT_TRUE(ParsePolicy(good));
  std::mt19937 rng(424242);
  const std::string alphabet = "{}[],:\"\\ \nabz019-*?$.\xc3\xa9\x01";
  int refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string doc = good;
    for (int k = 0, n = 1 + rng() % 3; k < n; ++k) {
      size_t at = rng() % doc.size();
      switch (rng() % 3) {
        case 0:
          doc.erase(at, 1);
          break;
        case 1:
          doc.insert(doc.begin() + at, alphabet[rng() % alphabet.size()]);
          break;
        default:
          doc[at] = alphabet[rng() % alphabet.size()];
          break;
      }
    }
    auto p = ParsePolicy(doc);
    if (p) continue;
    ++refused;
    // Count the lines and the characters of the line the error points at.
    int lines = 1;
    for (char c : doc) lines += c == '\n';
    const DocumentError& e = p.error();
    ASSERT_GE(e.pos.line, 1) << doc;
    ASSERT_LE(e.pos.line, lines) << e.ToString() << "\n" << doc;
    ASSERT_GE(e.pos.column, 1) << doc;
    size_t start = 0;
    for (int l = 1; l < e.pos.line; ++l) start = doc.find('\n', start) + 1;
    size_t end = doc.find('\n', start);
    std::string line =
        doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
    int chars = 0;
    for (unsigned char c : line) chars += (c & 0xC0) != 0x80;
    ASSERT_LE(e.pos.column, chars + 1) << e.ToString() << "\n" << doc;
    ASSERT_FALSE(e.message.empty());
  }
  EXPECT_GT(refused, 10000);
}

TEST(PolicyTest, RefusesOversizedDocument) {
  std::string doc =
      "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Sid\":\"" +
      std::string(kMaxPolicyBytes, 'a') + "\"}}";
  auto p = ParsePolicy(doc);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("limit"), std::string::npos);
}

}  // namespace
}  // namespace mlvault::iam
