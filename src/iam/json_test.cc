#include "iam/json.h"

#include <gtest/gtest.h>

namespace mlvault::iam {
namespace {

TEST(JsonTest, ParsesValuesWithPositions) {
  auto v =
      ParseJson("{\n  \"a\": [1, -2.5e3, true, null],\n  \"b\": \"x\\u00e9\\ud83d\\ude00\"\n}");
  ASSERT_TRUE(v) << v.error().ToString();
  ASSERT_TRUE(v->is_object());
  ASSERT_EQ(v->members.size(), 2u);
  const auto* a = v->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->key_pos, (SourcePos{2, 3}));
  EXPECT_EQ(a->value.pos, (SourcePos{2, 8}));
  ASSERT_EQ(a->value.items.size(), 4u);
  EXPECT_EQ(a->value.items[1].text, "-2.5e3");
  EXPECT_EQ(a->value.items[1].pos, (SourcePos{2, 12}));
  EXPECT_TRUE(a->value.items[2].boolean);
  EXPECT_EQ(a->value.items[3].type, JsonValue::Type::kNull);
  EXPECT_EQ(v->Find("b")->value.text, "x\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonTest, ColumnsCountCharactersNotBytes) {
  // "é" is two bytes but one column; the error is at the 'x' after it.
  auto v = ParseJson("{\"\xc3\xa9\": x}");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().pos, (SourcePos{1, 7}));
}

TEST(JsonTest, AcceptsBomAndCrlf) {
  auto v = ParseJson("\xEF\xBB\xBF{\r\n \"a\": 1\r\n}\r\n");
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->Find("a")->key_pos, (SourcePos{2, 2}));
}

struct ErrorCase {
  const char* name;
  const char* text;
  int line;
  int column;
  const char* path;
  const char* message_part;
};

class JsonErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(JsonErrorTest, NamesThePlace) {
  const ErrorCase& c = GetParam();
  auto v = ParseJson(c.text, JsonLimits{.max_depth = 8, .max_bytes = 4096});
  ASSERT_FALSE(v) << c.name << " parsed";
  EXPECT_EQ(v.error().pos.line, c.line) << v.error().ToString();
  EXPECT_EQ(v.error().pos.column, c.column) << v.error().ToString();
  EXPECT_EQ(v.error().path, c.path) << v.error().ToString();
  EXPECT_NE(v.error().message.find(c.message_part), std::string::npos) << v.error().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonErrorTest,
    ::testing::Values(
        ErrorCase{"empty", "  \n ", 2, 2, "", "empty"},
        ErrorCase{"trailing_comma_object", "{\n  \"a\": 1,\n}", 2, 9, "",
                  "trailing comma after the last member"},
        ErrorCase{"trailing_comma_nested", "{\"S\": [{\"E\": \"x\",\n }]}", 1, 17, "S[0]",
                  "trailing comma"},
        ErrorCase{"trailing_comma_array", "{\"a\": [1, 2,\n\n]}", 1, 12, "a",
                  "trailing comma after the last element"},
        ErrorCase{"trailing_comma_document", "{} ,", 1, 4, "", "trailing comma after the end"},
        ErrorCase{"missing_comma_members", "{\"a\": 1\n \"b\": 2}", 2, 2, "", "missing ','"},
        ErrorCase{"missing_comma_array", "[1 2]", 1, 4, "", "missing ','"},
        ErrorCase{"single_quotes_value", "{\"a\": 'x'}", 1, 7, "a", "double quotes"},
        ErrorCase{"single_quotes_key", "{'a': 1}", 1, 2, "", "double quotes"},
        ErrorCase{"bare_key", "{Effect: 1}", 1, 2, "", "found Effect"},
        ErrorCase{"bare_word", "{\"Effect\": Allow}", 1, 12, "Effect", "unexpected word \"Allow\""},
        ErrorCase{"comment", "{\n // note\n \"a\": 1}", 2, 2, "", "comments are not allowed"},
        ErrorCase{"comment_value", "{\"a\": /* x */ 1}", 1, 7, "a", "comments"},
        ErrorCase{"unterminated_string", "{\"a\": \"abc", 1, 7, "a", "unterminated string"},
        ErrorCase{"string_across_lines", "{\"a\": \"ab\nc\"}", 1, 7, "a", "cannot span lines"},
        ErrorCase{"bad_escape", "{\"a\": \"x\\q\"}", 1, 9, "a", "invalid escape \\q"},
        ErrorCase{"bad_unicode", "[\"\\u12G4\"]", 1, 3, "[0]", "four hex digits"},
        ErrorCase{"lone_surrogate", "[\"\\udc00\"]", 1, 3, "[0]", "surrogate"},
        ErrorCase{"control_char", "[\"a\tb\"]", 1, 4, "[0]", "control characters"},
        ErrorCase{"bad_utf8", "[\"a\xff\"]", 1, 4, "[0]", "invalid UTF-8"},
        ErrorCase{"overlong_utf8", "[\"\xc0\xaf\"]", 1, 3, "[0]", "invalid UTF-8"},
        ErrorCase{"leading_zero", "[01]", 1, 2, "[0]", "leading zeros"},
        ErrorCase{"bare_minus", "[-]", 1, 2, "[0]", "digit must follow '-'"},
        ErrorCase{"dot_no_digit", "[1.]", 1, 2, "[0]", "digit must follow '.'"},
        ErrorCase{"exponent_no_digit", "[1e+]", 1, 2, "[0]", "exponent"},
        ErrorCase{"number_with_letters", "[12abc]", 1, 2, "[0]", "invalid number"},
        ErrorCase{"duplicate_key", "{\"a\": 1,\n \"a\": 2}", 2, 2, "",
                  "duplicate key \"a\" (first at line 1, column 2)"},
        ErrorCase{"missing_colon", "{\"a\" 1}", 1, 6, "", "expected ':'"},
        ErrorCase{"unclosed_object", "{\"a\": {\"b\": 1}", 1, 15, "",
                  "the object opened at line 1, column 1 is not closed"},
        ErrorCase{"unclosed_array", "[1, [2]", 1, 8, "", "the array opened at line 1, column 1"},
        ErrorCase{"double_comma", "[1,,2]", 1, 4, "[1]", "expected a value, found ','"},
        ErrorCase{"extra_closer", "{\"a\": 1}}", 1, 9, "", "after the end of the document"},
        ErrorCase{"too_deep", "[[[[[[[[[1]]]]]]]]]", 1, 9, "[0][0][0][0][0][0][0][0]",
                  "nests deeper than 8"},
        ErrorCase{"key_with_dot_path", "{\"a.b\": [}", 1, 10, "[\"a.b\"][0]", "expected a value"},
        ErrorCase{"true_prefix", "[tru]", 1, 2, "[0]", "unexpected word \"tru\""}),
    [](const ::testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

TEST(JsonTest, RefusesOversizedDocument) {
  std::string big(5000, ' ');
  big = "[" + big + "]";
  auto v = ParseJson(big, JsonLimits{.max_depth = 8, .max_bytes = 4096});
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("limit is 4096"), std::string::npos);
}

TEST(JsonTest, ErrorToStringHasPlaceAndPath) {
  auto v = ParseJson("{\"Statement\": [{\"Effect\": \"Allow\",}]}");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().ToString(),
            "line 1, column 34 (at Statement[0]): trailing comma after the last member of the "
            "object; remove this ','");
}

TEST(JsonTest, JoinPath) {
  EXPECT_EQ(JoinPath("", "Statement"), "Statement");
  EXPECT_EQ(JoinPath("Statement", 2), "Statement[2]");
  EXPECT_EQ(JoinPath("C.StringEquals", "ml:ResourceTag/team"),
            "C.StringEquals.ml:ResourceTag/team");
  EXPECT_EQ(JoinPath("C", "a b"), "C[\"a b\"]");
  EXPECT_EQ(JoinPath("C", ""), "C[\"\"]");
}

}  // namespace
}  // namespace mlvault::iam
