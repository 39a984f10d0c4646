// Inventory queries (control/inventory.h): differences between two inventories, path globs, item
// references of restore-workspace-items.
#include <map>
#include <nlohmann/json.hpp>

#include "control/inventory.h"

namespace mlvault::control {

using nlohmann::json;

namespace {

using Keyed = std::map<std::string, json>;

json Parsed(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

// {"added": [keys], "removed": [keys], "changed": [{"name", "fields"}]}, comparing every field
// but `ignore`.
json DiffKeyed(const Keyed& from, const Keyed& to, const std::vector<std::string>& ignore) {
  json added = json::array(), removed = json::array(), changed = json::array();
  for (const auto& [k, v] : from)
    if (!to.contains(k)) removed.push_back(k);
  for (const auto& [k, v] : to) {
    auto it = from.find(k);
    if (it == from.end()) {
      added.push_back(k);
      continue;
    }
    json fields = json::object();
    for (auto f = v.begin(); f != v.end(); ++f) {
      if (std::find(ignore.begin(), ignore.end(), f.key()) != ignore.end()) continue;
      json before = it->second.contains(f.key()) ? it->second[f.key()] : json(nullptr);
      if (before != f.value()) fields[f.key()] = {{"from", before}, {"to", f.value()}};
    }
    for (auto f = it->second.begin(); f != it->second.end(); ++f)
      if (!v.contains(f.key()) &&
          std::find(ignore.begin(), ignore.end(), f.key()) == ignore.end())
        fields[f.key()] = {{"from", f.value()}, {"to", nullptr}};
    if (!fields.empty()) changed.push_back({{"name", k}, {"fields", fields}});
  }
  return {{"added", added}, {"removed", removed}, {"changed", changed}};
}

Keyed ByName(const json& list) {
  Keyed out;
  if (!list.is_array()) return out;
  for (const auto& o : list) {
    std::string key = o.value("name", "");
    // Jobs and experiments are unique per project: name them with it when it is ambiguous.
    if (out.contains(key)) key = o.value("project", "") + "/" + key;
    out[key] = o;
  }
  return out;
}

struct Split {
  Keyed runs, builds, deployments;
};

Split Nested(const json& doc) {
  Split s;
  for (const auto& e : doc.value("experiments", json::array()))
    for (const auto& r : e.value("runs", json::array()))
      s.runs[e.value("name", "") + "/" + r.value("name", "") + " (" + r.value("id", "") + ")"] = r;
  for (const auto& m : doc.value("models", json::array())) {
    for (const auto& b : m.value("builds", json::array()))
      s.builds[m.value("name", "") + "@" + std::to_string(b.value("number", 0))] = b;
    for (const auto& d : m.value("deployments", json::array()))
      s.deployments[m.value("name", "") + " (" + d.value("id", "") + ")"] = d;
  }
  return s;
}

}  // namespace

std::string DiffInventories(const std::string& from_document,
                            const std::vector<catalog::InventoryFile>& from_files,
                            const std::string& to_document,
                            const std::vector<catalog::InventoryFile>& to_files) {
  json a = Parsed(from_document), b = Parsed(to_document);
  json out = json::object();
  out["projects"] = DiffKeyed(ByName(a["projects"]), ByName(b["projects"]), {"id"});
  out["jobs"] = DiffKeyed(ByName(a["jobs"]), ByName(b["jobs"]), {"id"});
  out["experiments"] = DiffKeyed(ByName(a["experiments"]), ByName(b["experiments"]), {"id", "runs"});
  out["models"] =
      DiffKeyed(ByName(a["models"]), ByName(b["models"]), {"id", "builds", "deployments"});
  out["applications"] = DiffKeyed(ByName(a["applications"]), ByName(b["applications"]), {"id"});
  Split na = Nested(a), nb = Nested(b);
  out["experimentRuns"] = DiffKeyed(na.runs, nb.runs, {"id"});
  out["builds"] = DiffKeyed(na.builds, nb.builds, {"id"});
  out["deployments"] = DiffKeyed(na.deployments, nb.deployments, {"id"});

  json added = json::array(), removed = json::array(), changed = json::array();
  std::map<std::string, const catalog::InventoryFile*> before;
  for (const auto& f : from_files) before[f.path] = &f;
  for (const auto& f : to_files) {
    auto it = before.find(f.path);
    if (it == before.end()) {
      added.push_back({{"path", f.path}, {"size", f.size}});
      continue;
    }
    if (it->second->content_id != f.content_id || it->second->size != f.size)
      changed.push_back({{"path", f.path}, {"fromSize", it->second->size}, {"toSize", f.size}});
    before.erase(it);
  }
  for (const auto& [path, f] : before) removed.push_back({{"path", path}, {"size", f->size}});
  out["files"] = {{"added", added}, {"removed", removed}, {"changed", changed}};
  return out.dump();
}

bool PathGlobMatch(std::string_view g, std::string_view s) {
  while (!g.empty()) {
    if (g.starts_with("**")) {
      std::string_view rest = g.substr(2);
      if (rest.starts_with("/")) {
        // "**/": zero or more whole segments.
        rest.remove_prefix(1);
        if (PathGlobMatch(rest, s)) return true;
        for (size_t i = 0; i < s.size(); ++i)
          if (s[i] == '/' && PathGlobMatch(rest, s.substr(i + 1))) return true;
        return false;
      }
      for (size_t i = 0; i <= s.size(); ++i)
        if (PathGlobMatch(rest, s.substr(i))) return true;
      return false;
    }
    if (g.front() == '*') {
      std::string_view rest = g.substr(1);
      for (size_t i = 0; i <= s.size(); ++i) {
        if (PathGlobMatch(rest, s.substr(i))) return true;
        if (i < s.size() && s[i] == '/') break;
      }
      return false;
    }
    if (s.empty()) return false;
    if (g.front() == '?') {
      if (s.front() == '/') return false;
    } else if (g.front() != s.front()) {
      return false;
    }
    g.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

std::string GlobLiteralPrefix(std::string_view glob) {
  size_t n = glob.find_first_of("*?");
  return std::string(glob.substr(0, n));
}

}  // namespace mlvault::control

namespace mlvault::control {

util::Result<ItemRef> ParseItemRef(const std::string& text) {
  ItemRef r;
  r.text = text;
  size_t colon = text.find(':');
  r.type = text.substr(0, colon);
  if (colon == std::string::npos || colon + 1 == text.size() ||
      (r.type != "project" && r.type != "model" && r.type != "experiment" && r.type != "job" &&
       r.type != "application"))
    return util::InvalidField("items", "\"" + text.substr(0, 80) +
                                           "\" is not type:name with type project, model, "
                                           "experiment, job or application");
  r.name = text.substr(colon + 1);
  if (r.type == "model") {
    if (size_t at = r.name.find('@'); at != std::string::npos) {
      std::string n = r.name.substr(at + 1);
      if (n.starts_with("build-")) n = n.substr(6);
      if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(n) < 1)
        return util::InvalidField("items", "\"" + text.substr(0, 80) +
                                               "\": a build is model:<name>@build-<n>, n >= 1");
      r.build = std::stoi(n);
      r.name = r.name.substr(0, at);
    }
  }
  if (r.name.empty()) return util::InvalidField("items", "\"" + text + "\" has no name");
  return r;
}

util::Result<std::string> FindItemInInventory(const std::string& document, const ItemRef& item,
                                              const std::string& backup_crn) {
  json doc = json::parse(document, nullptr, false);
  std::string key = item.type == "application" ? "applications" : item.type + "s";
  if (doc.is_object() && doc.contains(key))
    for (const auto& o : doc[key])
      if (o.value("name", "") == item.name) {
        if (item.build > 0) {
          bool has = false;
          for (const auto& b : o.value("builds", json::array()))
            has = has || b.value("number", 0) == item.build;
          if (!has)
            return util::NotFound(item.text + ": backup " + backup_crn + " has no build " +
                                  std::to_string(item.build) + " of model " + item.name);
        }
        return o.dump();
      }
  return util::NotFound(item.text + ": backup " + backup_crn + " holds no " + item.type +
                        " named \"" + item.name + "\"");
}

}  // namespace mlvault::control
