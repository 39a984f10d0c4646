// The restore_items workflow (issue 16): items of a backup written into a running workspace
// through its runtime's REST API (workspace/api_client.h), so the runtime's database stays
// consistent and the workspace keeps serving. Projects come with their files and jobs; models
// with the chosen builds (their exact files, staged in the project and built with
// "sourcePrefix") and, when the backup had one serving, their deployment; experiments with their
// runs, parameters and every metric point; jobs (with their script when the target project lacks
// it); applications (started, or left stopped as in the backup).
//
// Each item ends as "restored", "renamed" (conflict policy rename: the new name is given),
// "refused" (a conflict under policy fail, a project it needs missing in the target) or "failed"
// (the runtime refused a write: its reason is given). Items run projects first, then jobs,
// experiments, models and applications, so that an item finds the project restored with it.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "catalog/inventory_store.h"
#include "control/backup_copies.h"
#include "control/handlers_internal.h"
#include "control/inventory.h"
#include "control/vaults.h"
#include "control/workload_status.h"
#include "control/workspace_keys.h"
#include "workspace/api_client.h"

namespace mlvault::control {

using catalog::InventoryFile;
using nlohmann::json;

namespace {

constexpr double kStartWaitSeconds = 90;

// A refusal is data (the item's result), not an error of the workflow.
struct Refusal {
  std::string reason;
};

json Refuse(std::optional<Refusal>* refused, std::string reason) {
  *refused = Refusal{std::move(reason)};
  return json();
}

class ItemsRestorer {
 public:
  ItemsRestorer(WorkflowContext& ctx, const workspace::WorkspaceApiClient& api, vault::Vault& v,
                std::map<std::string, std::string> points, json doc,
                std::vector<InventoryFile> files, catalog::Db& meta, std::string policy)
      : ctx_(ctx),
        api_(api),
        v_(v),
        points_(std::move(points)),
        doc_(std::move(doc)),
        files_(std::move(files)),
        meta_(meta),
        policy_(std::move(policy)) {}

  json Restore(const ItemRef& item) {
    json out = {{"item", item.text}};
    std::optional<Refusal> refused;
    util::Result<json> r = Run(item, &refused);
    if (refused) {
      out["result"] = "refused";
      out["reason"] = refused->reason;
    } else if (!r) {
      out["result"] = "failed";
      out["reason"] = r.error().message();
    } else {
      out.update(*r);
    }
    return out;
  }

 private:
  util::Result<json> Run(const ItemRef& item, std::optional<Refusal>* refused) {
    if (item.type == "project") return Project(item, refused);
    if (item.type == "model") return Model(item, refused);
    if (item.type == "experiment") return Experiment(item, refused);
    if (item.type == "job") return Job(item, refused);
    return Application(item, refused);
  }

  // ---- the target's API
  util::Result<json> Get(const std::string& path) {
    std::string body = MLV_TRY(api_.Call("GET", path));
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) return util::Unavailable("GET " + path + " did not answer JSON");
    return j;
  }
  util::Result<json> Post(const std::string& path, const json& body) {
    std::string text = MLV_TRY(api_.Call("POST", path, body.dump()));
    json j = json::parse(text, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }
  util::Status Delete(const std::string& path) {
    MLV_TRY(api_.Call("DELETE", path));
    return util::Ok();
  }
  util::Status Upload(const std::string& project_id, const std::string& path,
                      const InventoryFile& f) {
    auto point = points_.find(f.volume);
    if (point == points_.end()) return util::NotFound("the backup has no volume " + f.volume);
    util::Bytes bytes;
    MLV_TRY(v_.ReadFile(point->second, f.volume_path,
                        [&](util::ByteView b) {
                          bytes.insert(bytes.end(), b.begin(), b.end());
                          return util::Ok();
                        },
                        ctx_.cancel()));
    MLV_TRY(api_.PutBytes("/api/v1/projects/" + project_id + "/files/" +
                              workspace::WorkspaceApiClient::EncodePath(path),
                          util::ByteView(bytes.data(), bytes.size())));
    return util::Ok();
  }

  // ---- the backup's document
  json Source(const std::string& key, const std::string& name) {
    for (const auto& o : doc_[key])
      if (o.value("name", "") == name) return o;
    return json(nullptr);
  }
  static json ByName(const json& list, const std::string& name) {
    for (const auto& o : list)
      if (o.value("name", "") == name) return o;
    return json(nullptr);
  }
  // "<base>-restored", "<base>-restored-2", ... not in `taken`; DNS labels stay within 63.
  static std::string FreeName(const std::string& base, const std::set<std::string>& taken,
                              bool dns) {
    for (int i = 1;; ++i) {
      std::string suffix = i == 1 ? "-restored" : "-restored-" + std::to_string(i);
      std::string b = dns ? base.substr(0, 63 - suffix.size()) : base.substr(0, 100 - suffix.size());
      if (!taken.contains(b + suffix)) return b + suffix;
    }
  }
  static std::set<std::string> Names(const json& list, const char* key = "name") {
    std::set<std::string> out;
    for (const auto& o : list) out.insert(o.value(key, ""));
    return out;
  }
  std::string ConflictHint(const std::string& what) {
    return what + " exists in the target workspace; restore it with --conflict-policy rename "
                  "(under a new name) or overwrite (replacing it)";
  }
  // The name an item restores under when the target holds `existing` of the same name (null:
  // none, the item's own name): conflict policy fail refuses it, naming `what` (nullopt);
  // rename takes a free name among `taken`'s; overwrite keeps the name (the caller replaces
  // `existing`).
  std::optional<std::string> NameFor(const std::string& name, const json& existing,
                                     const json& taken, const std::string& what,
                                     std::optional<Refusal>* refused) {
    if (existing.is_null()) return name;
    if (policy_ == "fail") {
      Refuse(refused, ConflictHint(what));
      return std::nullopt;
    }
    if (policy_ == "rename") return FreeName(name, Names(taken), false);
    return name;
  }
  bool Replaces(const json& existing) const { return !existing.is_null() && policy_ != "rename"; }
  // The start of every item inside a project: its source record of `kind` and the id of its
  // project in the target; nullopt when refused (the project is not there).
  util::Result<std::optional<std::pair<json, std::string>>> SourceInProject(
      const char* kind, const ItemRef& item, std::optional<Refusal>* refused) {
    json src = Source(kind, item.name);
    json project = MLV_TRY(TargetProject(src.value("project", ""), refused));
    if (*refused) return std::nullopt;
    std::string pid = project.value("id", "");
    return std::pair{std::move(src), std::move(pid)};
  }
  // The target's project of that name, or a refusal naming it.
  util::Result<json> TargetProject(const std::string& name, std::optional<Refusal>* refused) {
    json p = ByName(MLV_TRY(Get("/api/v1/projects"))["projects"], name);
    if (p.is_null())
      *refused = Refusal{"its project \"" + name +
                         "\" is not in the target workspace; restore project:" + name +
                         " with it"};
    return p;
  }
  // Waits until GET `path` says running (or failed); returns the last status.
  util::Result<std::string> WaitRunning(const std::string& path) {
    double deadline = util::MonotonicSeconds() + kStartWaitSeconds;
    while (true) {
      json got = MLV_TRY(Get(path));
      if (ServiceStatusIn(got) != ServiceStatus::kStarting || util::MonotonicSeconds() > deadline)
        return got.value("status", "");
      if (ctx_.cancel()->cancelled()) return CancelledStatus(ctx_.cancel());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // ---- projects: with their files and jobs
  util::Result<json> Project(const ItemRef& item, std::optional<Refusal>* refused) {
    json src = Source("projects", item.name);
    json existing = ByName(MLV_TRY(Get("/api/v1/projects"))["projects"], item.name);
    std::string name = item.name;
    if (!existing.is_null()) {
      if (policy_ == "fail") return Refuse(refused, ConflictHint("a project named \"" + name + "\""));
      if (policy_ == "rename") {
        name = FreeName(name, Names(MLV_TRY(Get("/api/v1/projects"))["projects"]), false);
      } else if (auto d = Delete("/api/v1/projects/" + existing.value("id", "")); !d) {
        return Refuse(refused, "the project in the target cannot be replaced: " + d.error().message());
      }
    }
    json created = MLV_TRY(Post("/api/v1/projects", {{"name", name}, {"description", src.value("description", "")}}));
    std::string pid = created.value("id", "");
    std::string prefix = src.value("id", "") + "/";
    int64_t files = 0, bytes = 0, jobs = 0;
    for (const auto& f : files_) {
      if (f.volume != "projects" || !f.volume_path.starts_with(prefix)) continue;
      if (ctx_.cancel()->cancelled()) return CancelledStatus(ctx_.cancel());
      MLV_TRY_CTX(Upload(pid, f.volume_path.substr(prefix.size()), f), "file " + f.path);
      ++files;
      bytes += f.size;
    }
    for (const auto& j : doc_["jobs"]) {
      if (j.value("project", "") != item.name) continue;
      MLV_TRY(Post("/api/v1/projects/" + pid + "/jobs",
                   {{"name", j["name"]}, {"script", j["script"]}, {"interpreter", j["interpreter"]},
                    {"args", j.value("args", json::array())}}));
      ++jobs;
    }
    return json{{"result", name == item.name ? "restored" : "renamed"}, {"name", name},
                {"files", files}, {"bytes", bytes}, {"jobs", jobs}};
  }

  // ---- models: with builds (all, or one) and their deployment
  util::Result<json> Model(const ItemRef& item, std::optional<Refusal>* refused) {
    auto placed = MLV_TRY(SourceInProject("models", item, refused));
    if (!placed) return json();
    auto& [src, pid] = *placed;  // not const: src["x"] of an absent x
    json models = MLV_TRY(Get("/api/v1/models"))["models"];
    json existing = ByName(models, item.name);
    std::string name = item.name;
    if (!existing.is_null()) {
      if (policy_ == "fail") return Refuse(refused, ConflictHint("a model named \"" + name + "\""));
      if (policy_ == "rename") {
        name = FreeName(name, Names(models), true);  // a model name is a DNS label
      } else {
        for (const auto& d : MLV_TRY(Get("/api/v1/deployments"))["deployments"])
          if (d.value("modelId", "") == existing.value("id", ""))
            MLV_TRY(Delete("/api/v1/deployments/" + d.value("id", "")));
        if (auto d = Delete("/api/v1/models/" + existing.value("id", "")); !d)
          return Refuse(refused, "the model in the target cannot be replaced: " + d.error().message());
      }
    }
    json m = MLV_TRY(Post("/api/v1/models", {{"name", name}, {"projectId", pid},
                                             {"description", src.value("description", "")}}));
    std::string mid = m.value("id", "");
    json builds = json::array();
    std::map<int, std::string> new_build;
    for (const auto& b : src["builds"]) {
      int number = b.value("number", 0);
      if (item.build > 0 && number != item.build) continue;
      std::string stage = ".mlvault-restore/" + b.value("id", "");
      std::string prefix = src.value("id", "") + "/" + b.value("id", "") + "/";
      json paths = json::array();
      for (const auto& f : files_) {
        if (f.volume != "models" || !f.volume_path.starts_with(prefix)) continue;
        std::string rel = f.volume_path.substr(prefix.size());
        if (rel == "manifest.json") continue;  // the runtime writes its own
        std::string dest = stage;
        dest.append("/").append(rel);
        MLV_TRY_CTX(Upload(pid, dest, f), "build file " + f.path);
        paths.push_back(rel);
      }
      auto nb = Post("/api/v1/models/" + mid + "/builds",
                     {{"files", paths}, {"serveCommand", b.value("serveCommand", "")},
                      {"sourcePrefix", stage}});
      for (const auto& p : paths)
        (void)Delete("/api/v1/projects/" + pid + "/files/" +
                     workspace::WorkspaceApiClient::EncodePath(stage + "/" + p.get<std::string>()));
      MLV_TRY_CTX(nb, "build " + std::to_string(number));
      new_build[number] = nb->value("id", "");
      builds.push_back({{"number", number}, {"buildId", new_build[number]}});
    }
    json out = {{"result", name == item.name ? "restored" : "renamed"}, {"name", name},
                {"builds", builds}};
    for (const auto& d : src["deployments"]) {
      auto status = ServiceStatusIn(d);
      if (status != ServiceStatus::kRunning && status != ServiceStatus::kStarting) continue;
      if (!d["build"].is_number() || !new_build.contains(d["build"].get<int>())) {
        out["deployment"] = "not restored: the backup's deployment serves build " +
                            d["build"].dump() + ", which was not asked for";
        continue;
      }
      json dep = MLV_TRY(Post("/api/v1/models/" + mid + "/deployments",
                              {{"buildId", new_build[d["build"].get<int>()]}}));
      out["deployment"] = MLV_TRY(WaitRunning("/api/v1/deployments/" + dep.value("id", "")));
    }
    return out;
  }

  // ---- experiments: runs, parameters, every metric point
  util::Result<json> Experiment(const ItemRef& item, std::optional<Refusal>* refused) {
    auto placed = MLV_TRY(SourceInProject("experiments", item, refused));
    if (!placed) return json();
    auto& [src, pid] = *placed;  // not const: src["x"] of an absent x
    json exps = MLV_TRY(Get("/api/v1/projects/" + pid + "/experiments"))["experiments"];
    json existing = ByName(exps, item.name);
    auto named = NameFor(item.name, existing, exps,
                         "an experiment named \"" + item.name + "\"", refused);
    if (!named) return json();
    const std::string& name = *named;
    if (Replaces(existing)) MLV_TRY(Delete("/api/v1/experiments/" + existing.value("id", "")));
    json e = MLV_TRY(Post("/api/v1/projects/" + pid + "/experiments",
                          {{"name", name}, {"description", src.value("description", "")}}));
    int64_t runs = 0, points = 0;
    for (const auto& run : src["runs"]) {
      json body = {{"params", run.value("params", json::object())}};
      if (!run.value("name", "").empty()) body["name"] = run["name"];
      json nr = MLV_TRY(Post("/api/v1/experiments/" + e.value("id", "") + "/runs", body));
      std::string rid = nr.value("id", "");
      auto rows = MLV_TRY(meta_.Query(
          "SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY key, step",
          {run.value("id", "")}));
      for (size_t i = 0; i < rows.size(); i += 10000) {
        json batch = json::array();
        for (size_t k = i; k < rows.size() && k < i + 10000; ++k)
          batch.push_back({{"key", rows[k].Text(0)}, {"step", rows[k].Int(1)}, {"value", rows[k].Real(2)}});
        MLV_TRY(Post("/api/v1/experiment-runs/" + rid + "/metrics", {{"metrics", batch}}));
      }
      points += static_cast<int64_t>(rows.size());
      std::string status = run.value("status", "");
      if (status == "finished" || status == "failed")
        MLV_TRY(Post("/api/v1/experiment-runs/" + rid + "/end", {{"status", status}}));
      ++runs;
    }
    return json{{"result", name == item.name ? "restored" : "renamed"}, {"name", name},
                {"runs", runs}, {"metricPoints", points}};
  }

  // ---- jobs (with their script when the target project lacks it)
  util::Result<json> Job(const ItemRef& item, std::optional<Refusal>* refused) {
    auto placed = MLV_TRY(SourceInProject("jobs", item, refused));
    if (!placed) return json();
    auto& [src, pid] = *placed;  // not const: src["x"] of an absent x
    json jobs = MLV_TRY(Get("/api/v1/projects/" + pid + "/jobs"))["jobs"];
    json existing = ByName(jobs, item.name);
    auto named = NameFor(item.name, existing, jobs, "a job named \"" + item.name + "\"", refused);
    if (!named) return json();
    const std::string& name = *named;
    if (Replaces(existing))
      if (auto d = Delete("/api/v1/jobs/" + existing.value("id", "")); !d)
        return Refuse(refused, "the job in the target cannot be replaced: " + d.error().message());
    std::string script = src.value("script", "");
    json out = {{"result", name == item.name ? "restored" : "renamed"}, {"name", name}};
    auto have = api_.Call("GET", "/api/v1/projects/" + pid + "/files/" +
                                     workspace::WorkspaceApiClient::EncodePath(script));
    if (!have && have.error().code() == util::ErrorCode::kNotFound) {
      std::string path = "projects/" + src.value("project", "") + "/" + script;
      for (const auto& f : files_)
        if (f.path == path) {
          MLV_TRY_CTX(Upload(pid, script, f), "the job's script");
          out["script"] = "restored from the backup";
        }
    }
    MLV_TRY(Post("/api/v1/projects/" + pid + "/jobs",
                 {{"name", name}, {"script", script}, {"interpreter", src["interpreter"]},
                  {"args", src.value("args", json::array())}}));
    return out;
  }

  // ---- applications (started again, or left stopped as in the backup)
  util::Result<json> Application(const ItemRef& item, std::optional<Refusal>* refused) {
    auto placed = MLV_TRY(SourceInProject("applications", item, refused));
    if (!placed) return json();
    auto& [src, pid] = *placed;  // not const: src["x"] of an absent x
    json all = MLV_TRY(Get("/api/v1/applications"))["applications"];
    json in_project = json::array();
    for (const auto& a : all)
      if (a.value("projectId", "") == pid) in_project.push_back(a);
    json existing = ByName(in_project, item.name);
    std::string name = item.name, subdomain = src.value("subdomain", "");
    json holder = json(nullptr);
    for (const auto& a : all)
      if (a.value("subdomain", "") == subdomain) holder = a;
    if (!existing.is_null() || !holder.is_null()) {
      std::string what = !existing.is_null() ? "an application named \"" + name + "\""
                                             : "an application on subdomain \"" + subdomain + "\"";
      if (policy_ == "fail") return Refuse(refused, ConflictHint(what));
      if (policy_ == "rename") {
        if (!existing.is_null()) name = FreeName(name, Names(in_project), false);
        if (!holder.is_null()) subdomain = FreeName(subdomain, Names(all, "subdomain"), true);
      } else {
        if (!holder.is_null() && (existing.is_null() || holder["id"] != existing["id"]))
          return Refuse(refused, "subdomain \"" + subdomain + "\" is used by application \"" +
                                    holder.value("name", "") + "\", which overwrite does not replace");
        MLV_TRY(Delete("/api/v1/applications/" + existing.value("id", "")));
      }
    }
    json a = MLV_TRY(Post("/api/v1/projects/" + pid + "/applications",
                          {{"name", name}, {"subdomain", subdomain}, {"command", src["command"]}}));
    std::string path = "/api/v1/applications/" + a.value("id", "");
    std::string status;
    if (ServiceStatusIn(src) == ServiceStatus::kStopped) {
      status = MLV_TRY(Post(path + "/stop", json::object())).value("status", "");
    } else {
      status = MLV_TRY(WaitRunning(path));
    }
    return json{{"result", name == item.name && subdomain == src.value("subdomain", "") ? "restored" : "renamed"},
                {"name", name}, {"subdomain", subdomain}, {"status", status}};
  }

  WorkflowContext& ctx_;
  const workspace::WorkspaceApiClient& api_;
  vault::Vault& v_;
  std::map<std::string, std::string> points_;
  json doc_;
  std::vector<InventoryFile> files_;
  catalog::Db& meta_;
  std::string policy_;
};

int Order(const std::string& type) {
  static const std::vector<std::string> kOrder = {"project", "job", "experiment", "model",
                                                  "application"};
  return static_cast<int>(std::find(kOrder.begin(), kOrder.end(), type) - kOrder.begin());
}

class RestoreItemsHandler : public WorkflowHandler {
 public:
  explicit RestoreItemsHandler(const HandlerEnv& env) : env_(env) {}

  util::Result<std::string> Run(WorkflowContext& ctx) override {
    const catalog::WorkflowRecord& wf = ctx.workflow();
    json in = json::parse(wf.input, nullptr, false);
    if (!in.is_object()) return util::Internal("workflow " + wf.id + " has no input");
    auto b = MLV_TRY(catalog::BackupStore(ctx.db()).Get(wf.account_id, in.value("backupId", "")));
    auto ws = MLV_TRY(catalog::WorkspaceStore(ctx.db()).Get(wf.account_id, in.value("workspaceId", "")));
    if (ws.deleted_at || ws.status != catalog::WorkspaceStatus::kRunning || ws.endpoint.empty())
      return util::Unavailable("workspace " + ws.crn + " is " +
                               catalog::WorkspaceStatusName(ws.status) +
                               "; items are restored into a running workspace");
    std::string key = MLV_TRY(OpenWorkspaceKey(ws.api_key));
    workspace::WorkspaceApiClient api(ws.endpoint, key);

    ctx.SetPhase("reading the backup");
    auto inv = MLV_TRY(EnsureInventory(ctx.db(), env_.home, b, ctx.clock().Now(), ctx.cancel()));
    auto files = MLV_TRY(catalog::InventoryStore(ctx.db()).AllFiles(b.id));
    std::map<std::string, std::string> points;
    for (const auto& rp : MLV_TRY(catalog::BackupStore(ctx.db()).RecoveryPoints(b.id)))
      points[rp.volume] = rp.vault_point_id;
    auto v = MLV_TRY(OpenBackupVault(ctx.db(), env_.home, b));
    auto meta = MLV_TRY(BackupMetadata::Open(env_.home, *v, points["metadata"], ctx.cancel()));

    std::vector<ItemRef> items;
    for (const auto& t : in.value("items", json::array())) items.push_back(MLV_TRY(ParseItemRef(t)));
    std::stable_sort(items.begin(), items.end(), [](const ItemRef& a, const ItemRef& b) {
      return Order(a.type) < Order(b.type);
    });
    ItemsRestorer restorer(ctx, api, *v, points, json::parse(inv.document), std::move(files),
                           meta->db(), in.value("conflictPolicy", "fail"));
    json results = json::array();
    uint64_t done = 0;
    for (const auto& item : items) {
      if (ctx.cancel()->cancelled()) return CancelledStatus(ctx.cancel());
      ctx.SetPhase("restoring " + item.text);
      json r = restorer.Restore(item);
      std::string result = r.value("result", "");
      if (result == "refused" || result == "failed")
        ctx.Warn(item.text + " " + result + ": " + r.value("reason", ""));
      results.push_back(std::move(r));
      ++done;
      ctx.progress()->Report({0, 0, done, items.size(), "restoring"});
    }
    ctx.SetPhase("done");
    return json{{"backupCrn", b.crn}, {"targetWorkspaceCrn", ws.crn}, {"results", results}}.dump();
  }

  util::Status OnStatus(catalog::Db&, const catalog::WorkflowRecord&, catalog::WorkflowStatus,
                        const util::Error*, const std::string&, util::TimeMicros) override {
    return util::Ok();
  }
  // Nothing to undo: what was written is in the target through its API, item by item.
  std::vector<std::string> Compensate(catalog::Db&, const catalog::WorkflowRecord&) override {
    return {};
  }
  void AfterEnd(catalog::Db&, const catalog::WorkflowRecord& wf) override {
    AuditEnd(env_, wf, "ml:RestoreWorkspaceItems", wf.resource_crn);
  }

 private:
  const HandlerEnv& env_;
};

}  // namespace

std::unique_ptr<WorkflowHandler> MakeRestoreItemsHandler(const HandlerEnv& env) {
  return std::make_unique<RestoreItemsHandler>(env);
}

}  // namespace mlvault::control
