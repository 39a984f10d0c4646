// ObjectReader (api/json_mapping.h): strict reading of one request object.
#include <algorithm>
#include <cstdint>

#include "api/json_mapping.h"

namespace mlvault::api {
namespace {

std::string_view TypeName(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

const json& EmptyObject() {
  static const json empty = json::object();
  return empty;
}

}  // namespace

ObjectReader::ObjectReader(const json& j, std::string path)
    : j_(j.is_null() ? EmptyObject() : j), path_(std::move(path)) {
  if (!j_.is_object())
    Fail(util::Error(util::ErrorCode::kInvalidArgument,
                     (path_.empty() ? std::string("the request") : path_) +
                         " must be a JSON object, got " + std::string(TypeName(j_)),
                     path_));
}

std::string ObjectReader::PathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void ObjectReader::Fail(util::Error error) {
  if (!error_) error_ = std::move(error);
}

const json* ObjectReader::Find(std::string_view key) {
  seen_.emplace_back(key);
  if (!j_.is_object()) return nullptr;
  auto it = j_.find(std::string(key));
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

const json* ObjectReader::Member(std::string_view key) { return Find(key); }

ObjectReader& ObjectReader::String(std::string_view key, std::string* out, bool required) {
  const json* v = Find(key);
  if (!v) {
    if (required) Fail(util::InvalidField(PathOf(key), "is required").error());
    return *this;
  }
  if (!v->is_string())
    Fail(util::InvalidField(PathOf(key), "must be a string, got " + std::string(TypeName(*v)))
             .error());
  else
    *out = v->get<std::string>();
  return *this;
}

ObjectReader& ObjectReader::Bool(std::string_view key, bool* out) {
  const json* v = Find(key);
  if (!v) return *this;
  if (!v->is_boolean())
    Fail(util::InvalidField(PathOf(key), "must be true or false, got " + std::string(TypeName(*v)))
             .error());
  else
    *out = v->get<bool>();
  return *this;
}

ObjectReader& ObjectReader::Int(std::string_view key, int64_t* out) {
  std::optional<int64_t> v;
  OptionalInt(key, &v);
  if (v) *out = *v;
  return *this;
}

ObjectReader& ObjectReader::OptionalInt(std::string_view key, std::optional<int64_t>* out) {
  const json* v = Find(key);
  if (!v) return *this;
  if (v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() <= INT64_MAX))
    *out = v->get<int64_t>();
  else
    Fail(util::InvalidField(PathOf(key), "must be an integer, got " + std::string(TypeName(*v)))
             .error());
  return *this;
}

ObjectReader& ObjectReader::StringList(std::string_view key, std::vector<std::string>* out,
                                       bool required) {
  const json* v = Find(key);
  if (!v) {
    if (required) Fail(util::InvalidField(PathOf(key), "is required").error());
    return *this;
  }
  if (!v->is_array()) {
    Fail(util::InvalidField(PathOf(key), "must be an array of strings, got " +
                                             std::string(TypeName(*v)))
             .error());
    return *this;
  }
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) {
      Fail(util::InvalidField(PathOf(key) + "[" + std::to_string(i) + "]",
                              "must be a string, got " + std::string(TypeName((*v)[i])))
               .error());
      return *this;
    }
    out->push_back((*v)[i].get<std::string>());
  }
  return *this;
}

ObjectReader& ObjectReader::Document(std::string_view key, std::string* out, bool required) {
  const json* v = Find(key);
  if (!v) {
    if (required) Fail(util::InvalidField(PathOf(key), "is required").error());
    return *this;
  }
  if (v->is_string()) *out = v->get<std::string>();
  else if (v->is_object()) *out = v->dump();
  else
    Fail(util::InvalidField(PathOf(key), "must be a JSON document (an object, or its text), got " +
                                             std::string(TypeName(*v)))
             .error());
  return *this;
}

util::Status ObjectReader::Finish() {
  if (!error_ && j_.is_object())
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (std::find(seen_.begin(), seen_.end(), it.key()) == seen_.end()) {
        Fail(util::InvalidField(PathOf(it.key()), "unknown field").error());
        break;
      }
  if (error_) return std::unexpected(*error_);
  return util::Ok();
}

}  // namespace mlvault::api
