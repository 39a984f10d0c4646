#include "workspace/json_input.h"

#include <algorithm>
#include <set>
#include <vector>

#include "util/json_reader.h"
#include "util/strings.h"

namespace mlvault::workspace::jsonin {
namespace {

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 60)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 60) out += "...";
  return out + "\"";
}

}  // namespace

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return std::string("a boolean (") + (v.get<bool>() ? "true" : "false") + ")";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "a number (" + v.dump() + ")";
    case json::value_t::number_float:
      return "a number (" + v.dump() + ")";
    case json::value_t::string:
      return "a string (" + Quoted(v.get_ref<const std::string&>()) + ")";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

util::Result<json> ParseObject(std::string_view text, std::string_view what) {
  // The strict reader (util/json_reader.h) decides what is valid and names the place; nlohmann
  // then gives the same document for typed access.
  util::JsonLimits limits;
  limits.max_bytes = 16u << 20;
  auto strict = util::ParseJson(text, limits);
  if (!strict) {
    const util::DocumentError& e = strict.error();
    constexpr std::string_view kDup = "duplicate key \"";
    if (e.message.starts_with(kDup)) {
      size_t end = e.message.find("\" (first at ");
      std::string key = e.message.substr(kDup.size(), end == std::string::npos
                                                          ? std::string::npos
                                                          : end - kDup.size());
      return util::InvalidArgument(Join(e.path, key) +
                                   ": the field is given more than once in the " +
                                   std::string(what));
    }
    return util::InvalidArgument(std::string(what) + " is not valid JSON (line " +
                                 std::to_string(e.pos.line) + ", column " +
                                 std::to_string(e.pos.column) + "): " + e.message +
                                 (e.path.empty() ? "" : " (in " + e.path + ")"));
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return util::InvalidArgument(std::string(what) + " is not valid JSON");
  if (!doc.is_object())
    return util::InvalidArgument(std::string(what) + " must be a JSON object, got " +
                                 TypeName(doc));
  return doc;
}

util::Status CheckKnown(const json& obj, std::string_view path,
                        std::initializer_list<std::string_view> known) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string best;
    size_t best_d = 3;
    for (auto cand : known) {
      size_t d = util::EditDistance(k, cand);
      if (d < best_d) {
        best_d = d;
        best = std::string(cand);
      }
    }
    std::string msg = Join(path, k) + ": unknown field";
    if (!best.empty())
      msg += " (did you mean \"" + best + "\"?)";
    else {
      msg += "; known fields here are ";
      bool first = true;
      for (auto cand : known) {
        msg += (first ? "" : ", ") + std::string(cand);
        first = false;
      }
    }
    return util::InvalidArgument(msg);
  }
  return util::Ok();
}

util::Result<const json*> Object(const json& obj, std::string_view path, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end()) return nullptr;
  MLV_TRY(ExpectObject(*it, Join(path, key)));
  return &*it;
}

util::Result<const json*> Array(const json& obj, std::string_view path, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end()) return nullptr;
  if (!it->is_array())
    return util::InvalidArgument(Join(path, key) + ": must be an array, got " + TypeName(*it));
  return &*it;
}

util::Status Bool(const json& obj, std::string_view path, std::string_view key, bool& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return util::Ok();
  if (!it->is_boolean())
    return util::InvalidArgument(Join(path, key) + ": must be true or false, got " + TypeName(*it));
  out = it->get<bool>();
  return util::Ok();
}

util::Status String(const json& obj, std::string_view path, std::string_view key,
                    std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return util::Ok();
  return ExpectString(*it, Join(path, key), out);
}

util::Status Int(const json& obj, std::string_view path, std::string_view key, int64_t min,
                 int64_t max, int64_t& out, bool* present) {
  if (present) *present = false;
  auto it = obj.find(key);
  if (it == obj.end()) return util::Ok();
  std::string p = Join(path, key);
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (d != static_cast<double>(static_cast<int64_t>(d)))
      return util::InvalidArgument(p + ": must be a whole number, got " + it->dump());
    return util::InvalidArgument(p + ": must be a whole number without a fraction part, got " +
                                 it->dump());
  }
  if (!it->is_number_integer())
    return util::InvalidArgument(p + ": must be a whole number, got " + TypeName(*it));
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(max))
    return util::InvalidArgument(p + ": must be between " + std::to_string(min) + " and " +
                                 std::to_string(max) + ", got " + it->dump());
  int64_t v = it->get<int64_t>();
  if (v < min || v > max)
    return util::InvalidArgument(p + ": must be between " + std::to_string(min) + " and " +
                                 std::to_string(max) + ", got " + std::to_string(v));
  out = v;
  if (present) *present = true;
  return util::Ok();
}

util::Status ExpectString(const json& v, std::string_view path, std::string& out) {
  if (!v.is_string())
    return util::InvalidArgument(std::string(path) + ": must be a string, got " + TypeName(v));
  out = v.get<std::string>();
  return util::Ok();
}

util::Status ExpectObject(const json& v, std::string_view path) {
  if (!v.is_object())
    return util::InvalidArgument(std::string(path) + ": must be an object, got " + TypeName(v));
  return util::Ok();
}

}  // namespace mlvault::workspace::jsonin
