#include "util/json_reader.h"

#include <cctype>
#include <cstdint>
#include <optional>

namespace mlvault::util {

std::string DocumentError::ToString() const {
  std::string out = "line " + std::to_string(pos.line) + ", column " + std::to_string(pos.column);
  if (!path.empty()) out += " (at " + path + ")";
  return out + ": " + message;
}

const JsonValue::Member* JsonValue::Find(std::string_view key) const {
  for (const auto& m : members)
    if (m.key == key) return &m;
  return nullptr;
}

std::string_view TypeName(JsonValue::Type type) {
  switch (type) {
    case JsonValue::Type::kNull:
      return "null";
    case JsonValue::Type::kBool:
      return "boolean";
    case JsonValue::Type::kNumber:
      return "number";
    case JsonValue::Type::kString:
      return "string";
    case JsonValue::Type::kArray:
      return "array";
    case JsonValue::Type::kObject:
      return "object";
  }
  return "value";
}

namespace {

bool PlainKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':' || c == '/' || c == '-' || c == '$' || c == '@' || c == '+' || c == '=' ||
         c == ',';
}

// Quotes `s` for a message: printable ASCII as is, everything else escaped.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string JoinPath(std::string_view path, std::string_view key) {
  bool plain = !key.empty();
  for (char c : key) plain = plain && PlainKeyChar(c);
  if (plain) return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
  return std::string(path) + "[" + Quote(key) + "]";
}

std::string JoinPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, const JsonLimits& limits) : s_(text), limits_(limits) {}

  std::expected<JsonValue, DocumentError> Run() {
    if (s_.size() > limits_.max_bytes)
      return std::unexpected(DocumentError{{1, 1},
                                           "",
                                           "the document is " + std::to_string(s_.size()) +
                                               " bytes; the limit is " +
                                               std::to_string(limits_.max_bytes)});
    if (s_.starts_with("\xEF\xBB\xBF")) i_ = 3;
    JsonValue root;
    SkipWs();
    if (Peek() < 0) {
      Fail(pos_, "the document is empty");
    } else if (ParseValue(root)) {
      SkipWs();
      if (Peek() == ',') {
        Fail(pos_, "trailing comma after the end of the document; remove it");
      } else if (Peek() >= 0) {
        Fail(pos_, "unexpected " + Describe() +
                       " after the end of the document (one JSON value expected)");
      }
    }
    if (err_) return std::unexpected(*err_);
    return root;
  }

 private:
  int Peek(size_t ahead = 0) const {
    return i_ + ahead < s_.size() ? static_cast<unsigned char>(s_[i_ + ahead]) : -1;
  }

  void Advance() {
    unsigned char c = static_cast<unsigned char>(s_[i_++]);
    if (c == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else if (c == '\r' && Peek() == '\n') {
      // A CRLF counts once, at the '\n'.
    } else if ((c & 0xC0) != 0x80) {
      // Continuation bytes of a UTF-8 sequence do not start a new column.
      ++pos_.column;
    } else {
      return;
    }
  }

  bool Fail(SourcePos at, std::string message) {
    if (!err_) err_ = DocumentError{at, path_, std::move(message)};
    return false;
  }

  void SkipWs() {
    for (;;) {
      int c = Peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        Advance();
      else
        return;
    }
  }

  // The character at the cursor, for messages.
  std::string Describe() const {
    int c = Peek();
    if (c < 0) return "end of document";
    if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
    if (c < 0x20) return "control character " + Quote(std::string(1, static_cast<char>(c)));
    return "non-ASCII character";
  }

  std::string Word() const {
    size_t j = i_;
    while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_' ||
                             s_[j] == ':' || s_[j] == '*' || s_[j] == '-'))
      ++j;
    return std::string(s_.substr(i_, j - i_));
  }

  bool ParseValue(JsonValue& out) {
    SkipWs();
    out.pos = pos_;
    int c = Peek();
    switch (c) {
      case '{':
        return ParseObject(out);
      case '[':
        return ParseArray(out);
      case '"':
        out.type = JsonValue::Type::kString;
        return ParseString(out.text);
      case -1:
        return Fail(pos_, "unexpected end of document; a value was expected");
      case '\'':
        return Fail(pos_, "strings must be in double quotes, not single quotes");
      case '/':
        return Fail(pos_, "comments are not allowed in JSON");
      case ',':
      case ']':
      case '}':
      case ':':
        return Fail(pos_, "expected a value, found " + Describe());
      default:
        break;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
    std::string word = Word();
    if (word == "true" || word == "false" || word == "null") {
      for (size_t k = 0; k < word.size(); ++k) Advance();
      out.type = word == "null" ? JsonValue::Type::kNull : JsonValue::Type::kBool;
      out.boolean = word == "true";
      return true;
    }
    if (!word.empty())
      return Fail(
          pos_,
          "unexpected word " + Quote(word) +
              "; strings must be in double quotes (the only bare words are true, false and null)");
    return Fail(pos_, "expected a value, found " + Describe());
  }

  bool Enter(SourcePos at) {
    if (++depth_ > limits_.max_depth)
      return Fail(
          at, "the document nests deeper than " + std::to_string(limits_.max_depth) + " levels");
    return true;
  }

  bool ParseObject(JsonValue& out) {
    out.type = JsonValue::Type::kObject;
    SourcePos open = pos_;
    if (!Enter(open)) return false;
    Advance();  // '{'
    SkipWs();
    if (Peek() == '}') {
      Advance();
      --depth_;
      return true;
    }
    for (;;) {
      SkipWs();
      SourcePos key_pos = pos_;
      int c = Peek();
      if (c != '"') {
        if (c == '\'') return Fail(pos_, "object keys must be in double quotes, not single quotes");
        if (c == '/') return Fail(pos_, "comments are not allowed in JSON");
        if (c < 0)
          return Fail(pos_, "unexpected end of document; the object opened at " + At(open) +
                                " is not closed");
        std::string word = Word();
        if (!word.empty())
          return Fail(pos_, "object keys must be strings in double quotes, found " + word);
        return Fail(pos_, "expected a key in double quotes, found " + Describe());
      }
      std::string key;
      if (!ParseString(key)) return false;
      for (const auto& m : out.members)
        if (m.key == key)
          return Fail(key_pos, "duplicate key " + Quote(key) + " (first at " + At(m.key_pos) + ")");
      SkipWs();
      if (Peek() != ':')
        return Fail(pos_, "expected ':' after the key " + Quote(key) + ", found " + Describe());
      Advance();
      JsonValue value;
      size_t saved = path_.size();
      path_ = JoinPath(path_, key);
      bool ok = ParseValue(value);
      if (!ok) return false;
      path_.resize(saved);
      out.members.push_back({std::move(key), key_pos, std::move(value)});
      SkipWs();
      c = Peek();
      if (c == ',') {
        SourcePos comma = pos_;
        Advance();
        SkipWs();
        if (Peek() == '}')
          return Fail(comma, "trailing comma after the last member of the object; remove this ','");
        continue;
      }
      if (c == '}') {
        Advance();
        --depth_;
        return true;
      }
      const std::string& last = out.members.back().key;
      if (c == '"')
        return Fail(pos_, "missing ',' between the member " + Quote(last) + " and the next key");
      if (c < 0)
        return Fail(pos_, "unexpected end of document; the object opened at " + At(open) +
                              " is not closed");
      return Fail(pos_,
                  "expected ',' or '}' after the member " + Quote(last) + ", found " + Describe());
    }
  }

  bool ParseArray(JsonValue& out) {
    out.type = JsonValue::Type::kArray;
    SourcePos open = pos_;
    if (!Enter(open)) return false;
    Advance();  // '['
    SkipWs();
    if (Peek() == ']') {
      Advance();
      --depth_;
      return true;
    }
    for (;;) {
      JsonValue item;
      size_t saved = path_.size();
      path_ = JoinPath(path_, out.items.size());
      if (!ParseValue(item)) return false;
      path_.resize(saved);
      out.items.push_back(std::move(item));
      SkipWs();
      int c = Peek();
      if (c == ',') {
        SourcePos comma = pos_;
        Advance();
        SkipWs();
        if (Peek() == ']')
          return Fail(comma, "trailing comma after the last element of the array; remove this ','");
        continue;
      }
      if (c == ']') {
        Advance();
        --depth_;
        return true;
      }
      if (c < 0)
        return Fail(
            pos_, "unexpected end of document; the array opened at " + At(open) + " is not closed");
      if (c == '"' || c == '{' || c == '[' || c == '-' || (c >= '0' && c <= '9'))
        return Fail(pos_, "missing ',' between array elements");
      return Fail(pos_, "expected ',' or ']' in the array, found " + Describe());
    }
  }

  static int HexValue(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  std::optional<uint32_t> Hex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int h = HexValue(Peek());
      if (h < 0) return std::nullopt;
      v = v * 16 + h;
      Advance();
    }
    return v;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Copies one UTF-8 encoded character at the cursor to `out`, refusing malformed sequences.
  bool CopyUtf8(std::string& out) {
    SourcePos at = pos_;
    unsigned char c = static_cast<unsigned char>(s_[i_]);
    int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (len == 0 || i_ + len > s_.size()) return Fail(at, "invalid UTF-8 in string");
    uint32_t cp = c & (0xFF >> (len + 1));
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s_[i_ + k]);
      if ((cc & 0xC0) != 0x80) return Fail(at, "invalid UTF-8 in string");
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return Fail(at, "invalid UTF-8 in string");
    for (int k = 0; k < len; ++k) {
      out += s_[i_];
      Advance();
    }
    return true;
  }

  bool ParseString(std::string& out) {
    SourcePos open = pos_;
    Advance();  // '"'
    for (;;) {
      int c = Peek();
      if (c < 0)
        return Fail(open, "unterminated string (no closing '\"' before the end of the document)");
      if (c == '"') {
        Advance();
        return true;
      }
      if (c == '\n' || c == '\r')
        return Fail(open,
                    "unterminated string (a string cannot span lines; a closing '\"' is missing)");
      if (c < 0x20) return Fail(pos_, "control characters must be escaped in strings (e.g. \\t)");
      if (c >= 0x80) {
        if (!CopyUtf8(out)) return false;
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        Advance();
        continue;
      }
      SourcePos esc = pos_;
      Advance();
      int e = Peek();
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          Advance();
          auto hi = Hex4();
          if (!hi) return Fail(esc, "\\u must be followed by four hex digits");
          uint32_t cp = *hi;
          if (cp >= 0xDC00 && cp <= 0xDFFF)
            return Fail(esc, "unpaired UTF-16 surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (Peek() != '\\' || Peek(1) != 'u')
              return Fail(esc, "unpaired UTF-16 surrogate in \\u escape");
            Advance();
            Advance();
            auto lo = Hex4();
            if (!lo || *lo < 0xDC00 || *lo > 0xDFFF)
              return Fail(esc, "unpaired UTF-16 surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
          }
          AppendUtf8(out, cp);
          continue;
        }
        default:
          return Fail(
              esc, "invalid escape " +
                       (e >= 0x20 && e < 0x7f ? std::string("\\") + static_cast<char>(e) : "\\") +
                       " in string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
      }
      Advance();
    }
  }

  bool ParseNumber(JsonValue& out) {
    out.type = JsonValue::Type::kNumber;
    SourcePos at = pos_;
    size_t start = i_;
    auto digit = [&] { return Peek() >= '0' && Peek() <= '9'; };
    if (Peek() == '-') Advance();
    if (!digit()) return Fail(at, "invalid number: a digit must follow '-'");
    if (Peek() == '0') {
      Advance();
      if (digit()) return Fail(at, "invalid number: leading zeros are not allowed");
    } else {
      while (digit()) Advance();
    }
    if (Peek() == '.') {
      Advance();
      if (!digit()) return Fail(at, "invalid number: a digit must follow '.'");
      while (digit()) Advance();
    }
    if (Peek() == 'e' || Peek() == 'E') {
      Advance();
      if (Peek() == '+' || Peek() == '-') Advance();
      if (!digit()) return Fail(at, "invalid number: the exponent has no digits");
      while (digit()) Advance();
    }
    int c = Peek();
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.')
      return Fail(at, "invalid number (numbers are digits only; put other text in double quotes)");
    out.text = std::string(s_.substr(start, i_ - start));
    return true;
  }

  static std::string At(SourcePos p) {
    return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
  }

  std::string_view s_;
  JsonLimits limits_;
  size_t i_ = 0;
  SourcePos pos_;
  size_t depth_ = 0;
  std::string path_;
  std::optional<DocumentError> err_;
};

}  // namespace

std::expected<JsonValue, DocumentError> ParseJson(std::string_view text, const JsonLimits& limits) {
  return Parser(text, limits).Run();
}

}  // namespace mlvault::util
