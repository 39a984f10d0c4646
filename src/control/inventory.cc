#include "control/backup_copies.h"
#include "control/inventory.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "control/responses.h"
#include "control/vaults.h"
#include "util/files.h"
#include "util/random.h"

namespace mlvault::control {

using catalog::BackupRecord;
using catalog::InventoryFile;
using catalog::InventoryItem;
using catalog::InventoryRecord;
using nlohmann::json;

namespace {

json ParsedOr(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

struct Sums {
  int64_t files = 0, bytes = 0;
};

constexpr size_t kFilesPerSink = catalog::InventoryStore::kFilesPerTransaction;

}  // namespace

util::Result<std::unique_ptr<BackupMetadata>> BackupMetadata::Open(
    const std::string& home, vault::Vault& v, const std::string& point_id,
    const util::CancelToken* cancel) {
  std::string base = home + "/tmp";
  MLV_TRY(util::MakeDirs(base, 0700));
  std::unique_ptr<BackupMetadata> m(new BackupMetadata());
  m->dir_ = base + "/metadata-" + util::NewUuid();
  MLV_TRY(util::MakeDirs(m->dir_, 0700));
  std::string file = m->dir_ + "/workspace.db";
  vault::RestoreOptions ro;
  ro.restore_ownership = false;
  MLV_TRY_CTX(v.Restore(point_id, file, ro, nullptr, cancel), "reading the backup's metadata volume");
  m->db_ = MLV_TRY_CTX(catalog::OpenSqlite(file), "opening the backup's metadata database");
  return m;
}

BackupMetadata::~BackupMetadata() {
  db_.reset();
  if (!dir_.empty()) (void)util::RemoveAll(dir_);
}

util::Result<InventoryRecord> ComputeInventory(catalog::Db& db, const std::string& home,
                                               const BackupRecord& b, util::TimeMicros now,
                                               const util::CancelToken* cancel,
                                               const InventoryFilesSink& sink) {
  if (b.status != catalog::BackupStatus::kSucceeded)
    return util::Conflict("backup " + b.crn + " is " + catalog::BackupStatusName(b.status) +
                          "; only a succeeded backup has contents to describe");
  auto points = MLV_TRY(catalog::BackupStore(db).RecoveryPoints(b.id));
  std::map<std::string, catalog::RecoveryPointRecord> by_volume;
  for (const auto& rp : points) by_volume[rp.volume] = rp;
  if (!by_volume.contains("metadata"))
    return util::NotFound("backup " + b.crn + " has no metadata volume to read its contents from");
  auto v = MLV_TRY(OpenBackupVault(db, home, b));

  // ---- the runtime's database, as it was in the backup
  auto meta = MLV_TRY(BackupMetadata::Open(home, *v, by_volume["metadata"].vault_point_id, cancel));
  auto q = [&](std::string_view sql) { return meta->db().Query(sql); };

  json doc = {{"projects", json::array()},    {"jobs", json::array()},
              {"experiments", json::array()}, {"models", json::array()},
              {"applications", json::array()}};
  std::set<std::pair<std::string, std::string>> items;
  std::map<std::string, std::string> project_name;  // id -> name
  std::map<std::string, std::string> model_name;
  std::map<std::string, std::pair<std::string, int>> build_of;  // build id -> (model, number)

  auto projects = MLV_TRY(q("SELECT id, name, description, created_at FROM projects ORDER BY name"));
  for (const auto& r : projects) project_name[r.Text(0)] = r.Text(1);

  // ---- files of the projects and models volumes (trees only), streamed to `sink` in batches:
  // nothing here holds a row per file of the tree.
  InventoryRecord rec;
  std::vector<InventoryFile> batch;
  auto add = [&](InventoryFile f) -> util::Status {
    batch.push_back(std::move(f));
    if (batch.size() < kFilesPerSink) return util::Ok();
    MLV_TRY(sink(batch));
    batch.clear();
    return util::Ok();
  };
  // Calls `visit` with each regular file of the backup's `volume` (if it has one).
  auto for_each_file = [&](const std::string& volume, const auto& visit) -> util::Status {
    if (!by_volume.contains(volume)) return util::Ok();
    MLV_TRY_CTX(v->ForEachEntry(
                    by_volume[volume].vault_point_id,
                    [&](const vault::EntryInfo& e) -> util::Status {
                      return e.type == vault::EntryInfo::Type::kFile ? visit(e) : util::Ok();
                    },
                    cancel),
                "listing the backup's " + volume + " volume");
    return util::Ok();
  };
  std::map<std::string, Sums> project_sums;
  MLV_TRY(for_each_file("projects", [&](const vault::EntryInfo& e) -> util::Status {
    size_t slash = e.path.find('/');
    if (slash == std::string::npos) return util::Ok();
    auto it = project_name.find(e.path.substr(0, slash));
    // Run logs (.logs/) and leftovers of no project are not the project's files.
    if (it == project_name.end()) return util::Ok();
    Sums& sums = project_sums[it->first];
    sums.files++;
    sums.bytes += static_cast<int64_t>(e.size);
    return add(InventoryFile{"projects/" + it->second + "/" + e.path.substr(slash + 1), "projects",
                             e.path, static_cast<int64_t>(e.size), e.content_id});
  }));
  for (const auto& r : projects) {
    const Sums& s = project_sums[r.Text(0)];
    doc["projects"].push_back({{"id", r.Text(0)},
                               {"name", r.Text(1)},
                               {"description", r.Text(2)},
                               {"files", s.files},
                               {"bytes", s.bytes},
                               {"createdAt", Time(r.Int(3))}});
    items.insert({"project", r.Text(1)});
  }

  // ---- jobs and their runs
  std::map<std::string, std::pair<int64_t, std::string>> job_runs;  // job -> (count, last status)
  for (const auto& r : MLV_TRY(q("SELECT job_id, status FROM runs ORDER BY started_at, id"))) {
    auto& jr = job_runs[r.Text(0)];
    jr.first++;
    jr.second = r.Text(1);
  }
  for (const auto& r : MLV_TRY(q("SELECT id, project_id, name, script, interpreter, args FROM "
                                 "jobs ORDER BY name, id"))) {
    auto jr = job_runs[r.Text(0)];
    doc["jobs"].push_back({{"id", r.Text(0)},
                           {"name", r.Text(2)},
                           {"project", project_name[r.Text(1)]},
                           {"script", r.Text(3)},
                           {"interpreter", r.Text(4)},
                           {"args", ParsedOr(r.Text(5), json::array())},
                           {"runs", jr.first},
                           {"lastRunStatus", jr.second.empty() ? json(nullptr) : json(jr.second)}});
    items.insert({"job", r.Text(2)});
  }

  // ---- experiments, runs, parameters, metrics
  std::map<std::string, json> run_metrics;  // run id -> {key: {last, step, points}}
  for (const auto& r :
       MLV_TRY(q("SELECT run_id, key, step, value FROM metrics ORDER BY run_id, key, step"))) {
    json& m = run_metrics[r.Text(0)][r.Text(1)];
    m["last"] = r.Real(3);
    m["step"] = r.Int(2);
    m["points"] = m.value("points", 0) + 1;
  }
  std::map<std::string, json> exp_runs;
  for (const auto& r : MLV_TRY(q("SELECT id, experiment_id, name, status, params FROM "
                                 "experiment_runs ORDER BY started_at, id"))) {
    auto mit = run_metrics.find(r.Text(0));
    exp_runs[r.Text(1)].push_back(
        {{"id", r.Text(0)},
         {"name", r.Text(2)},
         {"status", r.Text(3)},
         {"params", ParsedOr(r.Text(4), json::object())},
         {"metrics", mit == run_metrics.end() ? json::object() : mit->second}});
  }
  for (const auto& r :
       MLV_TRY(q("SELECT id, project_id, name, description FROM experiments ORDER BY name, id"))) {
    json runs = exp_runs.contains(r.Text(0)) ? exp_runs[r.Text(0)] : json::array();
    doc["experiments"].push_back({{"id", r.Text(0)},
                                  {"name", r.Text(2)},
                                  {"project", project_name[r.Text(1)]},
                                  {"description", r.Text(3)},
                                  {"runs", runs}});
    items.insert({"experiment", r.Text(2)});
  }

  // ---- models, builds (numbered per model), deployments
  auto models =
      MLV_TRY(q("SELECT id, name, project_id, description FROM models ORDER BY name"));
  for (const auto& r : models) model_name[r.Text(0)] = r.Text(1);
  std::map<std::string, json> builds, deployments;
  std::map<std::string, int> numbers;
  for (const auto& r : MLV_TRY(q("SELECT id, model_id, files, manifest_sha256, created_at, "
                                 "serve_command FROM builds ORDER BY created_at, id"))) {
    int n = ++numbers[r.Text(1)];
    build_of[r.Text(0)] = {r.Text(1), n};
    json files = ParsedOr(r.Text(2), json::array());
    builds[r.Text(1)].push_back({{"number", n},
                                 {"id", r.Text(0)},
                                 {"files", files.is_array() ? files.size() : 0},
                                 {"manifestSha256", r.Text(3)},
                                 {"serveCommand", r.Text(5)},
                                 {"createdAt", Time(r.Int(4))}});
    items.insert({"build", model_name[r.Text(1)] + "@" + std::to_string(n)});
  }
  for (const auto& r : MLV_TRY(q("SELECT id, model_id, build_id, status FROM deployments "
                                 "ORDER BY created_at, id"))) {
    auto bit = build_of.find(r.Text(2));
    deployments[r.Text(1)].push_back(
        {{"id", r.Text(0)},
         {"build", bit == build_of.end() ? json(nullptr) : json(bit->second.second)},
         {"status", r.Text(3)}});
    items.insert({"deployment", model_name[r.Text(1)]});
  }
  for (const auto& r : models) {
    doc["models"].push_back(
        {{"id", r.Text(0)},
         {"name", r.Text(1)},
         {"project", project_name[r.Text(2)]},
         {"description", r.Text(3)},
         {"builds", builds.contains(r.Text(0)) ? builds[r.Text(0)] : json::array()},
         {"deployments",
          deployments.contains(r.Text(0)) ? deployments[r.Text(0)] : json::array()}});
    items.insert({"model", r.Text(1)});
  }
  MLV_TRY(for_each_file("models", [&](const vault::EntryInfo& e) -> util::Status {
    size_t s1 = e.path.find('/');
    size_t s2 = s1 == std::string::npos ? s1 : e.path.find('/', s1 + 1);
    if (s2 == std::string::npos) return util::Ok();
    auto bit = build_of.find(e.path.substr(s1 + 1, s2 - s1 - 1));
    if (bit == build_of.end()) return util::Ok();  // logs and leftovers
    return add(InventoryFile{"models/" + model_name[bit->second.first] + "/build-" +
                                 std::to_string(bit->second.second) + "/" + e.path.substr(s2 + 1),
                             "models", e.path, static_cast<int64_t>(e.size), e.content_id});
  }));
  if (!batch.empty()) MLV_TRY(sink(batch));

  // ---- applications
  for (const auto& r : MLV_TRY(q("SELECT id, project_id, name, subdomain, command, status FROM "
                                 "apps ORDER BY name, id"))) {
    doc["applications"].push_back({{"id", r.Text(0)},
                                   {"name", r.Text(2)},
                                   {"project", project_name[r.Text(1)]},
                                   {"subdomain", r.Text(3)},
                                   {"command", r.Text(4)},
                                   {"status", r.Text(5)}});
    items.insert({"application", r.Text(2)});
  }

  rec.backup_id = b.id;
  rec.account_id = b.account_id;
  rec.backup_created_at = b.created_at;
  rec.computed_at = now;
  rec.document = doc.dump();
  for (const auto& [type, name] : items) rec.items.push_back(InventoryItem{type, name});
  return rec;
}

util::Result<InventoryRecord> EnsureInventory(catalog::Db& db, const std::string& home,
                                              const BackupRecord& b, util::TimeMicros now,
                                              const util::CancelToken* cancel) {
  catalog::InventoryStore store(db);
  if (auto have = MLV_TRY(store.Get(b.id))) return *have;
  // The files go to the catalog as they are read (not visible until Put records the rest).
  InventoryRecord rec = MLV_TRY(ComputeInventory(
      db, home, b, now, cancel, [&](const std::vector<InventoryFile>& files) {
        return store.AddFiles(b.id, b.account_id, b.created_at, files);
      }));
  MLV_TRY(store.Put(rec));
  auto stored = MLV_TRY(store.Get(b.id));  // the first one stored wins a race
  if (!stored) return util::Internal("the inventory of backup " + b.crn + " was not stored");
  return *stored;
}

}  // namespace mlvault::control
