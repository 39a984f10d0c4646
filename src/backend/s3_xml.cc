#include "backend/s3_xml.h"

#include <cstdint>

namespace mlvault::backend::xml {
namespace {

constexpr int kMaxDepth = 32;

class Reader {
 public:
  explicit Reader(std::string_view doc) : s_(doc) {}

  util::Result<Element> Document() {
    SkipSpace();
    if (Starts("<?xml")) {
      size_t end = s_.find("?>", pos_);
      if (end == std::string_view::npos) return Fail("unterminated XML declaration");
      pos_ = end + 2;
    }
    MLV_TRY(SkipMisc());
    if (pos_ >= s_.size() || s_[pos_] != '<') return Fail("expected the root element");
    Element root;
    MLV_TRY(ParseElement(root, 0));
    MLV_TRY(SkipMisc());
    if (pos_ != s_.size()) return Fail("content after the root element");
    return root;
  }

 private:
  std::unexpected<util::Error> Fail(const std::string& why) const {
    return util::Corruption("malformed XML from the S3 server at byte " + std::to_string(pos_) +
                            ": " + why);
  }
  bool Starts(std::string_view p) const { return s_.substr(pos_).starts_with(p); }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r' || s_[pos_] == '\n'))
      ++pos_;
  }
  // Whitespace and comments between markup at the top level.
  util::Status SkipMisc() {
    for (;;) {
      SkipSpace();
      if (Starts("<!--")) {
        MLV_TRY(SkipComment());
      } else if (Starts("<!") || Starts("<?")) {
        return Fail("DTDs and processing instructions are not accepted");
      } else {
        return util::Ok();
      }
    }
  }
  util::Status SkipComment() {
    size_t end = s_.find("-->", pos_ + 4);
    if (end == std::string_view::npos) return Fail("unterminated comment");
    pos_ = end + 3;
    return util::Ok();
  }
  static bool NameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
  }
  util::Result<std::string> Name() {
    size_t start = pos_;
    while (pos_ < s_.size() && NameChar(s_[pos_])) ++pos_;
    if (pos_ == start) return Fail("expected a name");
    return std::string(s_.substr(start, pos_ - start));
  }
  static std::string Local(const std::string& name) {
    size_t colon = name.find(':');
    return colon == std::string::npos ? name : name.substr(colon + 1);
  }
  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  // Decodes text up to the next '<' (or the closing quote `quote` inside an attribute).
  util::Status Text(std::string& out, char quote) {
    while (pos_ < s_.size() && s_[pos_] != '<' && s_[pos_] != quote) {
      char c = s_[pos_];
      if (c != '&') {
        out += c;
        ++pos_;
        continue;
      }
      size_t semi = s_.find(';', pos_);
      if (semi == std::string_view::npos || semi - pos_ > 10) return Fail("bad entity reference");
      std::string_view ent = s_.substr(pos_ + 1, semi - pos_ - 1);
      if (ent == "amp")
        out += '&';
      else if (ent == "lt")
        out += '<';
      else if (ent == "gt")
        out += '>';
      else if (ent == "quot")
        out += '"';
      else if (ent == "apos")
        out += '\'';
      else if (ent.size() >= 2 && ent[0] == '#') {
        bool hex = ent[1] == 'x';
        std::string_view digits = ent.substr(hex ? 2 : 1);
        if (digits.empty()) return Fail("bad character reference");
        uint32_t cp = 0;
        for (char d : digits) {
          int v = d >= '0' && d <= '9'          ? d - '0'
                  : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                  : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                                : -1;
          if (v < 0) return Fail("bad character reference");
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
          if (cp > 0x10ffff) return Fail("character reference out of range");
        }
        if (cp == 0) return Fail("character reference to NUL");
        AppendUtf8(out, cp);
      } else {
        return Fail("unknown entity &" + std::string(ent) + ";");
      }
      pos_ = semi + 1;
    }
    return util::Ok();
  }
  util::Status ParseElement(Element& e, int depth) {
    if (depth >= kMaxDepth) return Fail("nested too deeply");
    ++pos_;  // '<'
    std::string qname = MLV_TRY(Name());
    e.name = Local(qname);
    // Attributes: checked for syntax, then dropped (S3 uses only xmlns).
    for (;;) {
      size_t before = pos_;
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated start tag <" + qname);
      if (s_[pos_] == '/' || s_[pos_] == '>') break;
      if (pos_ == before) return Fail("expected a space before an attribute");
      MLV_TRY(Name());
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '=') return Fail("expected '=' in an attribute");
      ++pos_;
      SkipSpace();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\''))
        return Fail("expected a quoted attribute value");
      char q = s_[pos_++];
      std::string ignored;
      MLV_TRY(Text(ignored, q));
      if (pos_ >= s_.size() || s_[pos_] != q) return Fail("unterminated attribute value");
      ++pos_;
    }
    if (s_[pos_] == '/') {
      if (!Starts("/>")) return Fail("expected '/>'");
      pos_ += 2;
      return util::Ok();
    }
    ++pos_;  // '>'
    for (;;) {
      MLV_TRY(Text(e.text, '\0'));
      if (pos_ >= s_.size()) return Fail("unterminated element <" + qname + ">");
      if (Starts("</")) {
        pos_ += 2;
        std::string close = MLV_TRY(Name());
        if (close != qname) return Fail("</" + close + "> closes <" + qname + ">");
        SkipSpace();
        if (pos_ >= s_.size() || s_[pos_] != '>') return Fail("expected '>'");
        ++pos_;
        return util::Ok();
      }
      if (Starts("<!--")) {
        MLV_TRY(SkipComment());
        continue;
      }
      if (Starts("<!") || Starts("<?"))
        return Fail("CDATA, DTDs and processing instructions are not accepted");
      e.children.emplace_back();
      MLV_TRY(ParseElement(e.children.back(), depth + 1));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

const Element* Element::Child(std::string_view child) const {
  for (const Element& c : children) {
    if (c.name == child) return &c;
  }
  return nullptr;
}

std::string Element::ChildText(std::string_view child) const {
  const Element* c = Child(child);
  return c != nullptr ? c->text : std::string();
}

util::Result<Element> Parse(std::string_view document) { return Reader(document).Document(); }

}  // namespace mlvault::backend::xml
