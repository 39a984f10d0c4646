#include "workspace/json_input.h"

#include <algorithm>
#include <set>
#include <vector>

namespace mlvault::workspace::jsonin {
namespace {

// Levenshtein distance, for "did you mean" on unknown fields.
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 60)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 60) out += "...";
  return out + "\"";
}

// Tracks where the parser is, to name duplicate keys by their path.
struct Frame {
  bool is_array = false;
  size_t index = 0;
  std::string key;
  std::set<std::string> keys;
};

std::string PathOf(const std::vector<Frame>& frames, size_t upto) {
  std::string p;
  for (size_t i = 0; i < upto; ++i) {
    if (frames[i].is_array)
      p += "[" + std::to_string(frames[i].index) + "]";
    else
      p = Join(p, frames[i].key);
  }
  return p;
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
  std::vector<Frame> frames;
  std::string duplicate;
  auto element_done = [&]() {
    if (!frames.empty() && frames.back().is_array) ++frames.back().index;
  };
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
        frames.push_back(Frame{});
        break;
      case json::parse_event_t::array_start:
        frames.push_back(Frame{true});
        break;
      case json::parse_event_t::key: {
        auto& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second && duplicate.empty())
          duplicate = PathOf(frames, frames.size());
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                      /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    size_t line = 1, col = 1;
    size_t upto = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (size_t i = 0; i < upto; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string msg = e.what();
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    size_t colon = msg.find(": ");
    std::string detail = colon == std::string::npos ? msg : msg.substr(colon + 2);
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
      detail = "the document is empty";
    return util::InvalidArgument(std::string(what) + " is not valid JSON (line " +
                                 std::to_string(line) + ", column " + std::to_string(col) +
                                 "): " + detail);
  } catch (const std::exception& e) {
    return util::InvalidArgument(std::string(what) + " is not valid JSON: " + e.what());
  }
  if (!duplicate.empty())
    return util::InvalidArgument(duplicate + ": the field is given more than once in the " +
                                 std::string(what));
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
      size_t d = Distance(k, cand);
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
