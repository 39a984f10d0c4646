// Strict reading of JSON documents that come from users (restore input, create-workspace input)
// through the one strict reader (util/json_reader.h):
// syntax errors with line and column, duplicate keys refused, and typed field access whose
// errors name the field's JSON path. Internal to the workspace library (includes nlohmann/json).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/error.h"

namespace mlvault::workspace::jsonin {

using nlohmann::json;

// Parses `text`; `what` names the document in errors ("restore input"). Refuses syntax errors
// (with line:column), duplicate keys (with their path) and non-object documents.
util::Result<json> ParseObject(std::string_view text, std::string_view what);

// "a string", "an array", ... for messages.
std::string TypeName(const json& v);

// Joins a path and a key: Join("a", "b") == "a.b", Join("", "b") == "b".
std::string Join(std::string_view path, std::string_view key);

// `obj` (an object at `path`) may only hold `known` keys; otherwise the error names the first
// unknown one (with a suggestion when one is close).
util::Status CheckKnown(const json& obj, std::string_view path,
                        std::initializer_list<std::string_view> known);

// Typed accessors: `obj[key]` if present (nullptr / default otherwise), type-checked.
util::Result<const json*> Object(const json& obj, std::string_view path, std::string_view key);
util::Result<const json*> Array(const json& obj, std::string_view path, std::string_view key);
util::Status Bool(const json& obj, std::string_view path, std::string_view key, bool& out);
util::Status String(const json& obj, std::string_view path, std::string_view key, std::string& out);
util::Status Int(const json& obj, std::string_view path, std::string_view key, int64_t min,
                 int64_t max, int64_t& out, bool* present = nullptr);
// Value-level checks for array elements.
util::Status ExpectString(const json& v, std::string_view path, std::string& out);
util::Status ExpectObject(const json& v, std::string_view path);

}  // namespace mlvault::workspace::jsonin
