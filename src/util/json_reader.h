// The strict JSON reader for hand-written documents from users -- policies (iam/) and the
// create/restore input documents (workspace/) -- the one reader that names places: every value
// remembers the line and column it starts at, and errors name the exact place -- line, column,
// and the field path inside the document (e.g. `Statement[1].Condition.StringEquals`).
//
// Stricter than general-purpose parsers on purpose: trailing commas, comments, single quotes,
// duplicate keys, invalid UTF-8 and nesting deeper than a limit are refused, each with its own
// message, because a document that is read differently from how it was meant is a security bug.
//
// Pure functions, no shared state: thread-safe.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mlvault::util {

// 1-based line and column; columns count characters (UTF-8 code points), tabs count as one.
struct SourcePos {
  int line = 1;
  int column = 1;
  bool operator==(const SourcePos&) const = default;
};

// Where a document is wrong and why.
struct DocumentError {
  SourcePos pos;
  std::string path;     // field path, "" for the document itself
  std::string message;  // one sentence, no place in it
  // "line 3, column 7 (at Statement[0].Effect): <message>"
  std::string ToString() const;
};

struct JsonMember;

class JsonValue {
 public:
  using Member = JsonMember;
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type = Type::kNull;
  SourcePos pos;
  bool boolean = false;
  // kString: the decoded string; kNumber: the literal as written (e.g. "1.50").
  std::string text;
  std::vector<JsonValue> items;     // kArray
  std::vector<JsonMember> members;  // kObject, in document order (keys are unique)

  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
  // The member named `key` (exact, case-sensitive), or nullptr.
  const Member* Find(std::string_view key) const;
};

struct JsonMember {
  std::string key;
  SourcePos key_pos;
  JsonValue value;
};

// "object", "array", "string", "number", "true"/"false" as "boolean", "null".
std::string_view TypeName(JsonValue::Type type);

// Appends a key to a field path: ".Key" for plain keys, `["a.b"]` for keys with other characters.
std::string JoinPath(std::string_view path, std::string_view key);
std::string JoinPath(std::string_view path, size_t index);

struct JsonLimits {
  size_t max_depth = 32;
  size_t max_bytes = 1 << 20;
};

// Parses one JSON value (the whole text, surrounding whitespace and a UTF-8 byte order mark
// allowed). On failure returns the first problem with its place.
std::expected<JsonValue, DocumentError> ParseJson(std::string_view text,
                                                  const JsonLimits& limits = {});

}  // namespace mlvault::util
