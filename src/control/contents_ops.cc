// The backup-contents operations (issue 16): describeBackupContents, diffBackups,
// searchBackups. Each reads the backup's inventory (control/inventory.h), computing and caching
// it first when the backup has none yet.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "api/paging.h"
#include "control/iam_authorizer.h"
#include "control/inventory.h"
#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"
#include "util/bytes.h"

namespace mlvault::control {

using catalog::InventoryStore;

namespace {

// The item types of describeBackupContents and their key in the inventory document.
const std::map<std::string, std::string, std::less<>>& ItemTypes() {
  static const std::map<std::string, std::string, std::less<>> types = {
      {"project", "projects"}, {"job", "jobs"}, {"experiment", "experiments"},
      {"model", "models"},     {"application", "applications"}};
  return types;
}

util::Result<int64_t> PageSize(const std::optional<int64_t>& max_items) {
  int64_t n = max_items.value_or(100);
  if (n < 1 || n > 1000)
    return util::InvalidField("maxItems", "must be between 1 and 1000, got " + std::to_string(n));
  return n;
}

// Keyset pages (api/paging.h): a token holds the sort key of the last item answered. Files sort
// by path (key time kFileKey, id the path in hex); items by type (key time: the type's place in
// the fixed order), then name and project (id "<hex name>.<hex project>"). Hex keeps any name
// or path inside the token's alphabet.
constexpr int64_t kFileKey = -1;

std::string Hex(std::string_view s) { return util::ToHex(util::AsBytes(s)); }

std::string ItemKeyId(const json& item) {
  auto str = [&](const char* k) {
    return item.contains(k) && item[k].is_string() ? item[k].get<std::string>() : std::string();
  };
  return Hex(str("name")) + "." + Hex(str("project"));
}

// The key of a token for this listing: kInvalidArgument naming startingToken for another
// listing's token (files vs items) or one no answer gave.
util::Result<std::optional<api::PageKey>> TokenKey(const std::string& token, bool files) {
  if (token.empty()) return std::optional<api::PageKey>();
  api::PageKey key = MLV_TRY(api::DecodePageToken(token));
  if ((key.time == kFileKey) != files || key.time < kFileKey || key.time > 4)
    return util::InvalidField("startingToken",
                              std::string("is a nextToken of a listing of ") +
                                  (files ? "items" : "files") + ", not of " +
                                  (files ? "files" : "items") +
                                  "; start again without --starting-token");
  if (files) {
    auto path = util::FromHex(key.id);
    if (!path)
      return util::InvalidField("startingToken", "is not a nextToken of an earlier answer");
    key.id.assign(path->begin(), path->end());
  }
  return std::optional<api::PageKey>(std::move(key));
}

util::Status RequireSucceeded(const BackupRecord& b) {
  if (b.status != catalog::BackupStatus::kSucceeded)
    return util::Conflict("backup " + b.crn + " is " + catalog::BackupStatusName(b.status) +
                          "; only a succeeded backup has contents");
  return util::Ok();
}

}  // namespace

util::Result<api::DescribeBackupContentsResponse> Operations::DescribeBackupContents(
    const api::DescribeBackupContentsRequest& request) {
  api::DescribeBackupContentsRequest r = request;
  auto t = MLV_TRY(LoadBackupOf("ml:DescribeBackupContents", r));
  bool files = r.item_type == "file";
  if (!r.item_type.empty() && !files && !ItemTypes().contains(r.item_type))
    return util::InvalidField("itemType", "must be project, job, experiment, model, application "
                                          "or file, got \"" + r.item_type.substr(0, 40) + "\"");
  int64_t limit = MLV_TRY(PageSize(r.max_items));
  auto after = MLV_TRY(TokenKey(r.starting_token, files));
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("backup " + r.backup_crn + " does not exist");
  MLV_TRY(RequireSucceeded(*t.record));
  auto inv = MLV_TRY(EnsureInventory(*env_.db, env_.home, *t.record, env_.clock->Now()));
  InventoryStore store(*env_.db);
  json doc = json::parse(inv.document, nullptr, false);
  if (!doc.is_object()) return util::Corruption("the stored inventory of " + r.backup_crn + " is not JSON");

  auto [file_count, file_bytes] = MLV_TRY(store.CountFiles(t.record->id));
  json summary = json::object();
  int64_t runs = 0, builds = 0, deployments = 0;
  for (const auto& e : doc["experiments"]) runs += static_cast<int64_t>(e["runs"].size());
  for (const auto& m : doc["models"]) {
    builds += static_cast<int64_t>(m["builds"].size());
    deployments += static_cast<int64_t>(m["deployments"].size());
  }
  for (const auto& [type, key] : ItemTypes()) summary[key] = doc[key].size();
  summary["experimentRuns"] = runs;
  summary["builds"] = builds;
  summary["deployments"] = deployments;
  summary["files"] = file_count;
  summary["bytes"] = file_bytes;

  json items = json::array();
  bool more = false;
  std::optional<api::PageKey> last;
  if (files) {
    auto page = MLV_TRY(store.Files(t.record->id, after ? after->id : "", limit + 1));
    more = static_cast<int64_t>(page.size()) > limit;
    for (size_t i = 0; i < page.size() && static_cast<int64_t>(i) < limit; ++i) {
      items.push_back({{"itemType", "file"}, {"name", page[i].path}, {"size", page[i].size}});
      last = api::PageKey{kFileKey, Hex(page[i].path)};
    }
  } else {
    // The types in a fixed order (project, job, experiment, model, application), each by name
    // and project; the page starts after the token's key.
    int64_t type_index = -1;
    for (std::string_view type : {"project", "job", "experiment", "model", "application"}) {
      ++type_index;
      if (!r.item_type.empty() && r.item_type != type) continue;
      if (after && type_index < after->time) continue;
      std::vector<std::pair<std::string, json>> of_type;
      for (const auto& o : doc[ItemTypes().find(type)->second]) {
        json item = {{"itemType", type}};
        item.update(o);
        std::string id = ItemKeyId(item);
        if (after && type_index == after->time && id <= after->id) continue;
        of_type.emplace_back(std::move(id), std::move(item));
      }
      std::stable_sort(of_type.begin(), of_type.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& [id, item] : of_type) {
        if (static_cast<int64_t>(items.size()) == limit) {
          more = true;
          break;
        }
        items.push_back(std::move(item));
        last = api::PageKey{type_index, id};
      }
      if (more) break;
    }
  }
  api::DescribeBackupContentsResponse out;
  out.backup_crn = r.backup_crn;
  out.computed_at = Time(inv.computed_at);
  out.summary.text = summary.dump();
  out.items.text = items.dump();
  if (more && last) out.next_token = api::EncodePageToken(*last);
  return out;
}

util::Result<api::DiffBackupsResponse> Operations::DiffBackups(
    const api::DiffBackupsRequest& request) {
  api::DiffBackupsRequest r = request;
  // Either backup by CRN or by name; names within the one workspace the request names.
  bool named = !r.from_backup_name.empty() || !r.to_backup_name.empty();
  if (!named && (!r.workspace_crn.empty() || !r.workspace_name.empty() ||
                 !r.environment_name.empty()))
    return util::InvalidField("workspaceCrn", "names the workspace of fromBackupName or "
                                              "toBackupName; give one of them, or neither");
  for (auto [crn, name, prefix] :
       {std::tuple{&r.from_backup_crn, &r.from_backup_name, "from"},
        std::tuple{&r.to_backup_crn, &r.to_backup_name, "to"}}) {
    std::string p = prefix;
    if (crn->empty() && name->empty()) {
      std::string hint = "give ";
      hint.append(p).append("BackupCrn, or ").append(p).append(
          "BackupName with workspaceCrn or workspaceName and environmentName");
      return util::InvalidField(p + "BackupCrn", hint);
    }
    *crn = MLV_TRY(BackupCrnOf("ml:DiffBackups", *crn, *name,
                               name->empty() ? "" : r.workspace_crn,
                               name->empty() ? "" : r.workspace_name,
                               name->empty() ? "" : r.environment_name,
                               {{"backupCrn", p + "BackupCrn"}, {"backupName", p + "BackupName"}}));
  }
  const std::string& account = env_.caller.account_id;
  auto from = MLV_TRY(
      LoadBackupTarget(*env_.db, account, "ml:DiffBackups", "fromBackupCrn", r.from_backup_crn));
  auto to =
      MLV_TRY(LoadBackupTarget(*env_.db, account, "ml:DiffBackups", "toBackupCrn", r.to_backup_crn));
  // Authorised on both backups: the second as an also-resource.
  from.request.context[std::string(kAlsoResourceKey)] = {r.to_backup_crn};
  MLV_TRY(Authorize(from.request));
  for (auto* t : {&from, &to})
    if (!t->found()) {
      std::string field = t == &from ? "fromBackupCrn" : "toBackupCrn";
      return std::unexpected(util::Error(util::ErrorCode::kNotFound,
                                         field + ": backup " + t->crn_text + " does not exist",
                                         field));
    }
  MLV_TRY(RequireSucceeded(*from.record));
  MLV_TRY(RequireSucceeded(*to.record));
  auto a = MLV_TRY(EnsureInventory(*env_.db, env_.home, *from.record, env_.clock->Now()));
  auto b = MLV_TRY(EnsureInventory(*env_.db, env_.home, *to.record, env_.clock->Now()));
  InventoryStore store(*env_.db);
  auto fa = MLV_TRY(store.AllFiles(from.record->id));
  auto fb = MLV_TRY(store.AllFiles(to.record->id));
  api::DiffBackupsResponse out;
  out.from_backup_crn = r.from_backup_crn;
  out.to_backup_crn = r.to_backup_crn;
  out.changes.text = DiffInventories(a.document, fa, b.document, fb);
  return out;
}

util::Result<api::SearchBackupsResponse> Operations::SearchBackups(
    const api::SearchBackupsRequest& r) {
  static const std::set<std::string, std::less<>> kTypes = {
      "project", "job", "experiment", "model", "build", "deployment", "application"};
  if (r.query.empty() == r.path.empty())
    return util::InvalidArgument("give --query 'type:name ...' or --path GLOB (one of them)");
  int64_t limit = MLV_TRY(PageSize(r.max_items));
  std::map<std::string, std::string> terms;  // type -> name
  std::istringstream words(r.query);
  for (std::string w; words >> w;) {
    size_t colon = w.find(':');
    std::string type = w.substr(0, colon);
    if (colon == std::string::npos || colon + 1 == w.size() || !kTypes.contains(type))
      return util::InvalidField("query", "\"" + w.substr(0, 60) +
                                             "\" is not type:name; types: project, job, "
                                             "experiment, model, build, deployment, application");
    if (terms.contains(type))
      return util::InvalidField("query", "type \"" + type + "\" is given twice");
    terms[type] = w.substr(colon + 1);
  }
  if (!r.path.empty() && (r.path.starts_with("/") || r.path.find("..") != std::string::npos))
    return util::InvalidField("path", "a glob over backup paths such as 'projects/p1/**', got \"" +
                                          r.path.substr(0, 80) + "\"");

  // Allowed account-wide first (one audited decision); each workspace's backups are then listed
  // only if the caller may search that workspace (quiet checks: an explicit Deny on a workspace
  // hides its backups).
  MLV_TRY(Authorize(ActionRequest("ml:SearchBackups", "*")));
  const std::string& account = env_.caller.account_id;
  InventoryStore store(*env_.db);
  BackupStore bs(*env_.db);
  api::SearchBackupsResponse out;
  // Backups made before inventories existed (or whose inventory failed) are indexed now.
  for (const auto& id : MLV_TRY(store.BackupsWithoutInventory(account))) {
    auto b = bs.Get(account, id);
    if (!b) continue;
    if (auto inv = EnsureInventory(*env_.db, env_.home, *b, env_.clock->Now()); inv)
      ++out.backups_indexed;
  }

  // backup id -> (created_at, matched)
  std::map<std::string, std::pair<int64_t, std::vector<std::string>>> hits;
  if (!r.path.empty()) {
    for (const auto& [hit, path] : MLV_TRY(store.FindPathPrefix(account, GlobLiteralPrefix(r.path))))
      if (PathGlobMatch(r.path, path)) {
        auto& h = hits[hit.backup_id];
        h.first = hit.backup_created_at;
        if (h.second.size() < 20) h.second.push_back(path);
      }
  } else {
    bool first = true;
    for (auto [type, name] : terms) {
      bool suffix = false;
      std::string shown = type;
      shown.append(":").append(name);
      if (type == "build") {
        std::string n = name.starts_with("build-") ? name.substr(6) : name;
        if (terms.contains("model")) {
          name = terms["model"] + "@" + n;
        } else {
          name = "@" + n;
          suffix = true;
        }
      }
      std::map<std::string, std::pair<int64_t, std::vector<std::string>>> these;
      for (const auto& h : MLV_TRY(store.FindItem(account, type, name, suffix)))
        if (first || hits.contains(h.backup_id)) {
          these[h.backup_id] = first ? std::make_pair(h.backup_created_at, std::vector<std::string>())
                                     : hits[h.backup_id];
          these[h.backup_id].second.push_back(shown);
        }
      hits = std::move(these);
      first = false;
    }
  }

  // Newest first; only backups of workspaces the caller may search.
  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [id, h] : hits) order.push_back({h.first, id});
  std::sort(order.begin(), order.end(), std::greater<>());
  std::map<std::string, bool> allowed;  // workspace CRN -> may search
  for (const auto& [created, id] : order) {
    if (static_cast<int64_t>(out.backups.size()) >= limit) break;
    auto b = bs.Get(account, id);
    if (!b || b->status != catalog::BackupStatus::kSucceeded) continue;
    auto it = allowed.find(b->workspace_crn);
    if (it == allowed.end()) {
      AuthzRequest req = ActionRequest("ml:SearchBackups", b->workspace_crn);
      AddBackupContext(req, *b);
      it = allowed.emplace(b->workspace_crn,
                           static_cast<bool>(env_.authorizer->Check(env_.caller, req)))
               .first;
    }
    if (!it->second) continue;
    out.backups.push_back(api::BackupMatch{b->crn, b->name, b->workspace_crn, b->workspace_name,
                                           b->environment_name, Time(b->created_at),
                                           hits[id].second});
  }
  return out;
}

}  // namespace mlvault::control
