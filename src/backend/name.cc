#include <string>

#include "backend/backend.h"

namespace mlvault::backend {
namespace {

constexpr size_t kMaxName = 1024;
constexpr size_t kMaxSegment = 255;  // NAME_MAX of every common file system

bool ValidChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

std::string Quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name.substr(0, 80)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  if (name.size() > 80) out += "...";
  return out + "\"";
}

}  // namespace

Status ValidateName(std::string_view name) {
  auto bad = [&](std::string why) { return util::InvalidArgument("invalid object name " + Quoted(name) + ": " + why); };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxName) return bad("longer than " + std::to_string(kMaxName) + " bytes");
  size_t start = 0;
  for (;;) {
    size_t end = name.find('/', start);
    std::string_view seg = name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg.empty()) return bad("empty path segment");
    if (seg == "." || seg == "..") return bad("'.' and '..' segments are not allowed");
    if (seg.size() > kMaxSegment) return bad("a segment is longer than " + std::to_string(kMaxSegment) + " bytes");
    for (char c : seg) {
      if (!ValidChar(c)) return bad("only A-Z a-z 0-9 . _ - and '/' are allowed");
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return util::Ok();
}

Status ValidatePrefix(std::string_view prefix) {
  if (prefix.empty()) return util::Ok();
  if (prefix.size() > kMaxName) return util::InvalidArgument("invalid name prefix: longer than " + std::to_string(kMaxName) + " bytes");
  for (char c : prefix) {
    if (!ValidChar(c) && c != '/') {
      return util::InvalidArgument("invalid name prefix " + Quoted(prefix) + ": only A-Z a-z 0-9 . _ - and '/' are allowed");
    }
  }
  size_t slash = prefix.rfind('/');
  if (slash == std::string_view::npos) return util::Ok();
  // Every complete segment must be valid: check the part up to the last '/' as a name.
  auto st = ValidateName(prefix.substr(0, slash));
  if (!st) return util::InvalidArgument("invalid name prefix " + Quoted(prefix) + ": " + st.error().message());
  return util::Ok();
}

}  // namespace mlvault::backend
