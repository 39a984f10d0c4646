#include "control/model_samples.h"

#include <gtest/gtest.h>

namespace mlvault::control {
namespace {

TEST(ModelSamplesTest, ASampleFileIsReadWithDefaults) {
  auto r = ParseSampleRequest(R"({"method": "POST", "path": "/predict?v=2", "body": {"x": 1}})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/predict?v=2");
  EXPECT_EQ(r->body, R"({"x":1})");
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->compare, "body");
  auto text = ParseSampleRequest(R"({"method": "PUT", "body": "hello", "compare": "status"})");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->path, "/");
  EXPECT_EQ(text->content_type, "text/plain");
  EXPECT_EQ(text->compare, "status");
  auto empty = ParseSampleRequest("{}");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->method, "GET");
  EXPECT_EQ(empty->path, "/");
  EXPECT_TRUE(empty->body.empty());
}

TEST(ModelSamplesTest, AMalformedSampleFileNamesTheField) {
  auto msg = [](const char* text) {
    auto r = ParseSampleRequest(text);
    return r ? std::string("accepted") : r.error().message();
  };
  EXPECT_NE(msg("[1]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(msg(R"({"method": "DELETE"})").find("method"), std::string::npos);
  EXPECT_NE(msg(R"({"path": "predict"})").find("must start with /"), std::string::npos);
  EXPECT_NE(msg(R"({"path": "/../x"})").find("path"), std::string::npos);
  EXPECT_NE(msg(R"({"path": "/a b"})").find("path"), std::string::npos);
  EXPECT_NE(msg(R"({"body": {"x": 1}})").find("GET request has no body"), std::string::npos);
  EXPECT_NE(msg(R"({"compare": "fuzzy"})").find("compare"), std::string::npos);
  EXPECT_NE(msg(R"({"verb": "GET"})").find("unknown field"), std::string::npos);
}

catalog::ModelSampleRecord Recorded(int status, const std::string& body) {
  catalog::ModelSampleRecord r;
  r.method = "POST";
  r.path = "/predict";
  r.status_code = status;
  // The body kept whole, without its SHA-256: equal answers must then match as equal JSON.
  r.response_body = body;
  r.response_bytes = static_cast<int64_t>(body.size());
  return r;
}

TEST(ModelSamplesTest, TheSameAnswerMatchesAndAChangedOneIsNamed) {
  auto rec = Recorded(200, R"({"churnProbability": 0.25})");
  // Equal JSON (different spacing and key order) is the same answer even without the hash.
  EXPECT_EQ(CompareSample(rec, 200, R"({"churnProbability":0.25})"), "");
  auto two = Recorded(200, R"({"a": 1, "b": 2})");
  EXPECT_EQ(CompareSample(two, 200, R"({"b": 2, "a": 1})"), "");
  EXPECT_EQ(CompareSample(rec, 200, R"({"churnProbability": 0.75})"),
            R"(POST /predict answered HTTP 200 {"churnProbability": 0.25} at backup time, )"
            R"(now HTTP 200 {"churnProbability": 0.75})");
  EXPECT_EQ(CompareSample(rec, 500, "boom"),
            R"(POST /predict answered HTTP 200 {"churnProbability": 0.25} at backup time, )"
            "now HTTP 500 boom");
  // compare: status ignores the body.
  rec.compare = "status";
  EXPECT_EQ(CompareSample(rec, 200, "anything"), "");
  EXPECT_NE(CompareSample(rec, 404, "anything"), "");
}

TEST(ModelSamplesTest, ABodyNotKeptIsComparedByItsHash) {
  catalog::ModelSampleRecord rec;
  rec.method = "GET";
  rec.path = "/";
  rec.status_code = 200;
  rec.response_bytes = 3;
  // The SHA-256 of "\x00\x01\x02" (binary: not kept as text).
  rec.response_sha256 = "ae4b3280e56e2faf83f414a6e3dabe9d5fbe18976544c05fed121accb85b53fc";
  EXPECT_EQ(CompareSample(rec, 200, std::string("\x00\x01\x02", 3)), "");
  std::string differs = CompareSample(rec, 200, std::string("\x00\x01\x03", 3));
  EXPECT_NE(differs.find("answered HTTP 200 (3 bytes, SHA-256 ae4b3280e56e..."), std::string::npos)
      << differs;
}

}  // namespace
}  // namespace mlvault::control
