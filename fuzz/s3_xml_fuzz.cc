// Fuzzes the S3 backend's readers of S3 answers (src/backend/s3_xml.h, s3_answers.h): the XML
// parser and, over the same bytes, the ListObjectsV2, ListObjectVersions, error, multipart
// upload, Object Lock configuration, retention and versioning readers. A hostile or broken
// S3 endpoint controls every byte of these. Checks: nothing crashes; a parsed document nests
// at most 32 levels; a listing read back has keys; an ISO time that parses prints back to the
// same second.
#include <cstdint>
#include <string_view>

#include "backend/s3_answers.h"
#include "backend/s3_xml.h"

namespace {
size_t Depth(const mlvault::backend::xml::Element& e) {
  size_t d = 0;
  for (const auto& c : e.children) d = std::max(d, Depth(c));
  return d + 1;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::backend;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto doc = xml::Parse(text)) {
    if (Depth(*doc) > 33) __builtin_trap();
    (void)doc->ChildText("Key");
  }
  if (auto page = s3::ParseListPage(text)) {
    for (const auto& o : page->objects)
      if (o.key.empty()) __builtin_trap();
    if (page->truncated && page->next_token.empty()) __builtin_trap();
  }
  if (auto page = s3::ParseVersionsPage(text)) {
    for (const auto& v : page->versions)
      if (v.key.empty() || v.version_id.empty()) __builtin_trap();
  }
  (void)s3::ParseErrorAnswer(text);
  (void)s3::ParseUploadId(text);
  (void)s3::ParseObjectLockEnabled(text);
  (void)s3::ParseRetention(text);
  (void)s3::ParseVersioningStatus(text);
  if (auto t = s3::ParseIsoTime(text)) {
    auto again = s3::ParseIsoTime(s3::FormatIsoTime(*t));
    if (!again || *again != *t) __builtin_trap();
  }
  return 0;
}
