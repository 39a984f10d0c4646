// Helpers shared by the JSON mapping sources of mlvault_api_types (ml_json.cc, contents_json.cc,
// types_plans_json.cc): the one copy of each way a field or a request shape is written or read.
// Internal to those sources; the mapping itself is declared in api/json_mapping.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_mapping.h"

namespace mlvault::api::mapping {

// An optional value: the value, or null.
template <class T>
json OptNum(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
inline json Opt(const std::optional<std::string>& v) { return OptNum(v); }

// A JSON document kept as text: its value, or `fallback` when empty or not JSON.
inline json Raw(const RawJson& r, json fallback) {
  if (r.text.empty()) return fallback;
  json j = json::parse(r.text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

// The requests that name one resource by a single required string field.
template <class T>
util::Status One(const json& j, T* out, std::string_view key, std::string T::*field) {
  ObjectReader r(j);
  r.String(key, &(out->*field), true);
  return r.Finish();
}

// The members that name a workspace by CRN or by name + environment (resolved by control).
template <class T>
ObjectReader& WorkspaceMembers(ObjectReader& r, T* out) {
  return r.String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name);
}
// The requests that name a workspace and nothing else.
template <class T>
util::Status ByWorkspace(const json& j, T* out) {
  ObjectReader r(j);
  WorkspaceMembers(r, out);
  return r.Finish();
}
// The members that name a backup by CRN or by name within its workspace.
template <class T>
void ByBackup(ObjectReader& r, T* out) {
  r.String("backupCrn", &out->backup_crn).String("backupName", &out->backup_name);
  WorkspaceMembers(r, out);
}
// The requests that name a backup and nothing else.
template <class T>
util::Status ByBackup(const json& j, T* out) {
  ObjectReader r(j);
  ByBackup(r, out);
  return r.Finish();
}

// A page of a list response: {"<key>": [Encode(item)...], "nextToken": ...} (no nextToken on
// the last page).
template <class T>
json Page(const char* key, const std::vector<T>& items, const std::string& next_token) {
  json a = json::array();
  for (const auto& i : items) a.push_back(Encode(i));
  json out = {{key, a}};
  if (!next_token.empty()) out["nextToken"] = next_token;
  return out;
}

}  // namespace mlvault::api::mapping
