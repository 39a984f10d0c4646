// What the S3 backend reads out of S3's XML answers: a ListObjectsV2 page, a ListObjectVersions
// page, an error, the UploadId of a new multipart upload, a bucket's Object Lock configuration,
// an object's retention and a bucket's versioning status. Each reads a document parsed by
// s3_xml.h and checks its shape; the libFuzzer target fuzz/s3_xml_fuzz.cc feeds them raw bytes.
//
// Errors: kCorruption naming the answer and what is wrong with it (the caller adds the
// endpoint). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace mlvault::backend::s3 {

struct ListedObject {
  std::string key;
  uint64_t size = 0;
};
struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_token;  // set when truncated
};
// <ListBucketResult>: every <Contents>; a truncated page must carry NextContinuationToken.
util::Result<ListPage> ParseListPage(std::string_view body);

struct ObjectVersion {
  std::string key;
  std::string version_id;
  bool delete_marker = false;
  bool latest = false;
};
struct VersionsPage {
  std::vector<ObjectVersion> versions;  // versions and delete markers, in document order
  bool truncated = false;
  std::string next_key_marker, next_version_id_marker;  // set when truncated
};
// <ListVersionsResult>: every <Version> and <DeleteMarker> (each with Key and VersionId).
util::Result<VersionsPage> ParseVersionsPage(std::string_view body);

struct ErrorAnswer {
  std::string code, message, region, key;
};
// <Error> (code "" when the body is not an S3 error document). Never fails: a garbled error
// body is an error without a code.
ErrorAnswer ParseErrorAnswer(std::string_view body);

// <InitiateMultipartUploadResult>: the UploadId (non-empty).
util::Result<std::string> ParseUploadId(std::string_view body);

// <ObjectLockConfiguration>: true when ObjectLockEnabled is "Enabled".
util::Result<bool> ParseObjectLockEnabled(std::string_view body);

struct RetentionAnswer {
  std::string mode;        // "COMPLIANCE" or "GOVERNANCE"
  int64_t until_unix = 0;  // RetainUntilDate, seconds since 1970 (UTC)
};
// <Retention>: Mode and RetainUntilDate (ISO 8601, "2026-12-01T10:00:00Z" or with fraction).
util::Result<RetentionAnswer> ParseRetention(std::string_view body);
// "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> seconds since 1970; kCorruption otherwise.
util::Result<int64_t> ParseIsoTime(std::string_view text);
// Seconds since 1970 -> "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatIsoTime(int64_t unix_seconds);

// <VersioningConfiguration>: "Enabled", "Suspended" or "" (never enabled).
util::Result<std::string> ParseVersioningStatus(std::string_view body);

}  // namespace mlvault::backend::s3
