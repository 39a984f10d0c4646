#include "backend/s3_answers.h"

#include <cstdlib>
#include <ctime>

#include "backend/s3_xml.h"

namespace mlvault::backend::s3 {
namespace {

util::Result<xml::Element> Root(std::string_view body, std::string_view name) {
  auto doc = MLV_TRY(xml::Parse(body));
  if (doc.name != name)
    return util::Corruption("expected an S3 <" + std::string(name) + "> answer, got <" +
                            doc.name + ">");
  return doc;
}

// A decimal size of at most 19 digits (no sign, no blanks).
util::Result<uint64_t> ParseSize(const std::string& text) {
  if (text.empty() || text.size() > 19)
    return util::Corruption("an object size in a listing is not a number: '" + text + "'");
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return util::Corruption("an object size in a listing is not a number: '" + text + "'");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

util::Result<ListPage> ParseListPage(std::string_view body) {
  auto doc = MLV_TRY(Root(body, "ListBucketResult"));
  ListPage page;
  for (const xml::Element& e : doc.children) {
    if (e.name != "Contents") continue;
    ListedObject o;
    o.key = e.ChildText("Key");
    if (o.key.empty()) return util::Corruption("a listed object has no Key");
    o.size = MLV_TRY(ParseSize(e.ChildText("Size")));
    page.objects.push_back(std::move(o));
  }
  page.truncated = doc.ChildText("IsTruncated") == "true";
  if (page.truncated) {
    page.next_token = doc.ChildText("NextContinuationToken");
    if (page.next_token.empty())
      return util::Corruption("a truncated listing without a continuation token");
  }
  return page;
}

util::Result<VersionsPage> ParseVersionsPage(std::string_view body) {
  auto doc = MLV_TRY(Root(body, "ListVersionsResult"));
  VersionsPage page;
  for (const xml::Element& e : doc.children) {
    if (e.name != "Version" && e.name != "DeleteMarker") continue;
    ObjectVersion v;
    v.key = e.ChildText("Key");
    v.version_id = e.ChildText("VersionId");
    if (v.key.empty() || v.version_id.empty())
      return util::Corruption("a listed object version has no Key or VersionId");
    v.delete_marker = e.name == "DeleteMarker";
    v.latest = e.ChildText("IsLatest") == "true";
    page.versions.push_back(std::move(v));
  }
  page.truncated = doc.ChildText("IsTruncated") == "true";
  if (page.truncated) {
    page.next_key_marker = doc.ChildText("NextKeyMarker");
    page.next_version_id_marker = doc.ChildText("NextVersionIdMarker");
    if (page.next_key_marker.empty())
      return util::Corruption("a truncated version listing without NextKeyMarker");
  }
  return page;
}

ErrorAnswer ParseErrorAnswer(std::string_view body) {
  ErrorAnswer out;
  if (body.empty()) return out;
  auto doc = xml::Parse(body);
  if (!doc || doc->name != "Error") return out;
  out.code = doc->ChildText("Code");
  out.message = doc->ChildText("Message");
  out.region = doc->ChildText("Region");
  out.key = doc->ChildText("Key");
  return out;
}

util::Result<std::string> ParseUploadId(std::string_view body) {
  auto doc = MLV_TRY(xml::Parse(body));
  std::string id = doc.ChildText("UploadId");
  if (id.empty()) return util::Corruption("no UploadId in the answer to a multipart upload");
  return id;
}

util::Result<bool> ParseObjectLockEnabled(std::string_view body) {
  auto doc = MLV_TRY(Root(body, "ObjectLockConfiguration"));
  return doc.ChildText("ObjectLockEnabled") == "Enabled";
}

util::Result<int64_t> ParseIsoTime(std::string_view s) {
  auto bad = [&] {
    return util::Corruption("not an ISO 8601 UTC time: '" + std::string(s.substr(0, 64)) + "'");
  };
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction, then Z.
  if (s.size() < 20 || s.size() > 40 || s.back() != 'Z') return bad();
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  for (size_t i = 0; i < kShape.size(); ++i) {
    bool digit = s[i] >= '0' && s[i] <= '9';
    if (kShape[i] == 'd' ? !digit : s[i] != kShape[i]) return bad();
  }
  std::string_view rest = s.substr(kShape.size(), s.size() - kShape.size() - 1);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2) return bad();
    for (char c : rest.substr(1))
      if (c < '0' || c > '9') return bad();
  }
  auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; ++i) v = v * 10 + (s[at + i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  // Times before 1970 are not S3's (and would not print back in this form).
  if (tm.tm_year < 70 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return bad();
  std::tm check = tm;
  std::time_t t = timegm(&check);
  if (check.tm_mday != tm.tm_mday) return bad();  // 31 February
  return static_cast<int64_t>(t);
}

std::string FormatIsoTime(int64_t unix_seconds) {
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

util::Result<RetentionAnswer> ParseRetention(std::string_view body) {
  auto doc = MLV_TRY(Root(body, "Retention"));
  RetentionAnswer r;
  r.mode = doc.ChildText("Mode");
  if (r.mode != "COMPLIANCE" && r.mode != "GOVERNANCE")
    return util::Corruption("an object retention with mode '" + r.mode.substr(0, 32) +
                            "' (expected COMPLIANCE or GOVERNANCE)");
  r.until_unix = MLV_TRY(ParseIsoTime(doc.ChildText("RetainUntilDate")));
  return r;
}

util::Result<std::string> ParseVersioningStatus(std::string_view body) {
  auto doc = MLV_TRY(Root(body, "VersioningConfiguration"));
  std::string status = doc.ChildText("Status");
  if (!status.empty() && status != "Enabled" && status != "Suspended")
    return util::Corruption("a bucket versioning status '" + status.substr(0, 32) + "'");
  return status;
}

}  // namespace mlvault::backend::s3
