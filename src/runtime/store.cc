#include "runtime/store.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

namespace mlvault::runtime {

namespace {

using json = nlohmann::json;

const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS projects(
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs(
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL, script TEXT NOT NULL, interpreter TEXT NOT NULL, args TEXT NOT NULL,
  created_at INTEGER NOT NULL, UNIQUE(project_id, name));
CREATE TABLE IF NOT EXISTS runs(
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  project_id TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER, pid INTEGER,
  started_at INTEGER NOT NULL, finished_at INTEGER, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs(job_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);
CREATE TABLE IF NOT EXISTS experiments(
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL, description TEXT NOT NULL, created_at INTEGER NOT NULL,
  UNIQUE(project_id, name));
CREATE TABLE IF NOT EXISTS experiment_runs(
  id TEXT PRIMARY KEY,
  experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  name TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL,
  started_at INTEGER NOT NULL, ended_at INTEGER);
CREATE TABLE IF NOT EXISTS metrics(
  run_id TEXT NOT NULL REFERENCES experiment_runs(id) ON DELETE CASCADE,
  key TEXT NOT NULL, step INTEGER NOT NULL, value REAL NOT NULL, logged_at INTEGER NOT NULL,
  PRIMARY KEY(run_id, key, step));
CREATE TABLE IF NOT EXISTS models(
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL,
  description TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS builds(
  id TEXT PRIMARY KEY, model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  serve_command TEXT NOT NULL, files TEXT NOT NULL, manifest_sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deployments(
  id TEXT PRIMARY KEY, model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  build_id TEXT NOT NULL REFERENCES builds(id), status TEXT NOT NULL, message TEXT NOT NULL,
  pid INTEGER, port INTEGER, started_at INTEGER, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS apps(
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL, subdomain TEXT NOT NULL UNIQUE, command TEXT NOT NULL,
  status TEXT NOT NULL, message TEXT NOT NULL, pid INTEGER, port INTEGER, started_at INTEGER,
  created_at INTEGER NOT NULL, UNIQUE(project_id, name));
)sql";

sqlite::Value Opt(const std::optional<int64_t>& v) {
  if (v) return *v;
  return nullptr;
}
std::optional<int64_t> OptInt(const sqlite::Row& r, int col) {
  if (r.IsNull(col)) return std::nullopt;
  return r.Int(col);
}

// Turns a UNIQUE violation into a sentence about the thing that already exists.
template <class T>
util::Result<T> Named(util::Result<T> r, const std::string& what) {
  if (!r && r.error().code() == util::ErrorCode::kConflict)
    return util::Conflict(what + " already exists");
  return r;
}

util::Status NotFoundUnless(bool found, const std::string& what, const std::string& id) {
  if (!found) return util::NotFound(what + " '" + id + "' does not exist");
  return util::Ok();
}

constexpr const char* kRunCols =
    "id, job_id, project_id, status, exit_code, pid, started_at, finished_at, message";
Run RunFrom(const sqlite::Row& r) {
  Run run;
  run.id = r.Text(0);
  run.job_id = r.Text(1);
  run.project_id = r.Text(2);
  run.status = r.Text(3);
  run.exit_code = OptInt(r, 4);
  run.pid = OptInt(r, 5);
  run.started_at = r.Int(6);
  run.finished_at = OptInt(r, 7);
  run.message = r.Text(8);
  return run;
}

constexpr const char* kJobCols = "id, project_id, name, script, interpreter, args, created_at";
Job JobFrom(const sqlite::Row& r) {
  Job j;
  j.id = r.Text(0);
  j.project_id = r.Text(1);
  j.name = r.Text(2);
  j.script = r.Text(3);
  j.interpreter = r.Text(4);
  json args = json::parse(r.Text(5), nullptr, false);
  if (args.is_array())
    for (const auto& a : args)
      if (a.is_string()) j.args.push_back(a.get<std::string>());
  j.created_at = r.Int(6);
  return j;
}

constexpr const char* kExpRunCols = "id, experiment_id, name, status, params, started_at, ended_at";
ExperimentRun ExpRunFrom(const sqlite::Row& r) {
  ExperimentRun e;
  e.id = r.Text(0);
  e.experiment_id = r.Text(1);
  e.name = r.Text(2);
  e.status = r.Text(3);
  e.params_json = r.Text(4);
  e.started_at = r.Int(5);
  e.ended_at = OptInt(r, 6);
  return e;
}

constexpr const char* kBuildCols =
    "id, model_id, serve_command, files, manifest_sha256, created_at";
Build BuildFrom(const sqlite::Row& r) {
  Build b;
  b.id = r.Text(0);
  b.model_id = r.Text(1);
  b.serve_command = r.Text(2);
  json files = json::parse(r.Text(3), nullptr, false);
  if (files.is_array()) {
    for (const auto& f : files) {
      if (!f.is_object()) continue;
      BuildFile bf;
      bf.path = f.value("path", "");
      bf.size = f.value("size", uint64_t{0});
      bf.sha256 = f.value("sha256", "");
      b.files.push_back(std::move(bf));
    }
  }
  b.manifest_sha256 = r.Text(4);
  b.created_at = r.Int(5);
  return b;
}

ServiceState StateFrom(const sqlite::Row& r, int col) {
  ServiceState s;
  s.status = r.Text(col);
  s.message = r.Text(col + 1);
  s.pid = OptInt(r, col + 2);
  s.port = OptInt(r, col + 3);
  s.started_at = OptInt(r, col + 4);
  return s;
}

constexpr const char* kDeploymentCols =
    "d.id, d.model_id, m.name, d.build_id, d.status, d.message, d.pid, d.port, d.started_at, "
    "d.created_at";
Deployment DeploymentFrom(const sqlite::Row& r) {
  Deployment d;
  d.id = r.Text(0);
  d.model_id = r.Text(1);
  d.model_name = r.Text(2);
  d.build_id = r.Text(3);
  d.state = StateFrom(r, 4);
  d.created_at = r.Int(9);
  return d;
}

constexpr const char* kAppCols =
    "id, project_id, name, subdomain, command, status, message, pid, port, started_at, "
    "created_at";
App AppFrom(const sqlite::Row& r) {
  App a;
  a.id = r.Text(0);
  a.project_id = r.Text(1);
  a.name = r.Text(2);
  a.subdomain = r.Text(3);
  a.command = r.Text(4);
  a.state = StateFrom(r, 5);
  a.created_at = r.Int(10);
  return a;
}

}  // namespace

util::Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  auto db = MLV_TRY(sqlite::Connection::Open(
      path, {.label = "metadata database", .synchronous_full = true, .busy_timeout_ms = 5000}));
  std::unique_ptr<Store> store(new Store(std::move(db)));
  MLV_TRY(store->Migrate());
  return store;
}

util::Status Store::Migrate() {
  std::lock_guard lock(mu_);
  int64_t version = 0;
  MLV_TRY(db_->Query("PRAGMA user_version", {}, [&](const sqlite::Row& r) {
    version = r.Int(0);
    return false;
  }));
  if (version > kSchemaVersion)
    return util::InvalidArgument(
        fmt::format("the metadata database {} has schema version {}, newer than this runtime's {}; "
                    "upgrade mlvault-workspace",
                    db_->path(), version, kSchemaVersion));
  if (version == kSchemaVersion) return util::Ok();
  return db_->Transaction([&]() -> util::Status {
    MLV_TRY(db_->ExecScript(kSchemaV1));
    MLV_TRY(db_->ExecScript(fmt::format("PRAGMA user_version={}", kSchemaVersion)));
    return util::Ok();
  });
}

util::Status Store::Checkpoint() {
  std::lock_guard lock(mu_);
  return db_->CheckpointTruncate();
}

// ---- projects

util::Status Store::CreateProject(const Project& p) {
  std::lock_guard lock(mu_);
  MLV_TRY(Named(db_->Exec("INSERT INTO projects(id, name, description, created_at) VALUES(?,?,?,?)",
                          {p.id, p.name, p.description, p.created_at}),
                "a project named '" + p.name + "'"));
  return util::Ok();
}

util::Result<std::vector<Project>> Store::ListProjects() {
  std::lock_guard lock(mu_);
  std::vector<Project> out;
  MLV_TRY(db_->Query("SELECT id, name, description, created_at FROM projects ORDER BY name", {},
                     [&](const sqlite::Row& r) {
                       out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Int(3)});
                       return true;
                     }));
  return out;
}

util::Result<Project> Store::GetProject(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Project> p;
  MLV_TRY(db_->Query("SELECT id, name, description, created_at FROM projects WHERE id=?", {id},
                     [&](const sqlite::Row& r) {
                       p = Project{r.Text(0), r.Text(1), r.Text(2), r.Int(3)};
                       return false;
                     }));
  MLV_TRY(NotFoundUnless(p.has_value(), "project", id));
  return *p;
}

util::Status Store::DeleteProject(const std::string& id) {
  std::lock_guard lock(mu_);
  return db_->Transaction([&]() -> util::Status {
    int64_t busy = 0;
    MLV_TRY(db_->Query(
        "SELECT (SELECT count(*) FROM runs WHERE project_id=?1 AND status='running') + "
        "(SELECT count(*) FROM apps WHERE project_id=?1 AND status IN ('starting','running'))",
        {id}, [&](const sqlite::Row& r) {
          busy = r.Int(0);
          return false;
        }));
    if (busy > 0)
      return util::Conflict("project '" + id +
                            "' has running job runs or applications; stop them first");
    // Runs refer to jobs (cascade), experiment runs to experiments, metrics to runs.
    int n = MLV_TRY(db_->Exec("DELETE FROM projects WHERE id=?", {id}));
    return NotFoundUnless(n > 0, "project", id);
  });
}

// ---- jobs and runs

util::Status Store::CreateJob(const Job& j) {
  std::lock_guard lock(mu_);
  json args = j.args;
  auto r = db_->Exec(
      "INSERT INTO jobs(id, project_id, name, script, interpreter, args, created_at) "
      "SELECT ?,?,?,?,?,?,? WHERE EXISTS(SELECT 1 FROM projects WHERE id=?2)",
      {j.id, j.project_id, j.name, j.script, j.interpreter, args.dump(), j.created_at});
  int n = MLV_TRY(Named(std::move(r), "a job named '" + j.name + "' in this project"));
  return NotFoundUnless(n > 0, "project", j.project_id);
}

util::Result<std::vector<Job>> Store::ListJobs(const std::string& project_id) {
  std::lock_guard lock(mu_);
  std::vector<Job> out;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM jobs WHERE project_id=? ORDER BY name", kJobCols),
                     {project_id}, [&](const sqlite::Row& r) {
                       out.push_back(JobFrom(r));
                       return true;
                     }));
  return out;
}

util::Result<Job> Store::GetJob(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Job> j;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM jobs WHERE id=?", kJobCols), {id},
                     [&](const sqlite::Row& r) {
                       j = JobFrom(r);
                       return false;
                     }));
  MLV_TRY(NotFoundUnless(j.has_value(), "job", id));
  return *j;
}

util::Status Store::DeleteJob(const std::string& id) {
  std::lock_guard lock(mu_);
  return db_->Transaction([&]() -> util::Status {
    int64_t running = 0;
    MLV_TRY(db_->Query("SELECT count(*) FROM runs WHERE job_id=? AND status='running'", {id},
                       [&](const sqlite::Row& r) {
                         running = r.Int(0);
                         return false;
                       }));
    if (running > 0) return util::Conflict("job '" + id + "' has a running run; stop it first");
    int n = MLV_TRY(db_->Exec("DELETE FROM jobs WHERE id=?", {id}));
    return NotFoundUnless(n > 0, "job", id);
  });
}

util::Status Store::CreateRun(const Run& r) {
  std::lock_guard lock(mu_);
  int n = MLV_TRY(db_->Exec(
      "INSERT INTO runs(id, job_id, project_id, status, exit_code, pid, started_at, finished_at, "
      "message) SELECT ?,?,?,?,?,?,?,?,? WHERE EXISTS(SELECT 1 FROM jobs WHERE id=?2)",
      {r.id, r.job_id, r.project_id, r.status, Opt(r.exit_code), Opt(r.pid), r.started_at,
       Opt(r.finished_at), r.message}));
  return NotFoundUnless(n > 0, "job", r.job_id);
}

util::Status Store::UpdateRun(const Run& r) {
  std::lock_guard lock(mu_);
  int n = MLV_TRY(
      db_->Exec("UPDATE runs SET status=?, exit_code=?, pid=?, finished_at=?, message=? WHERE id=?",
                {r.status, Opt(r.exit_code), Opt(r.pid), Opt(r.finished_at), r.message, r.id}));
  return NotFoundUnless(n > 0, "run", r.id);
}

util::Result<std::vector<Run>> Store::ListRuns(const std::string& job_id) {
  std::lock_guard lock(mu_);
  std::vector<Run> out;
  MLV_TRY(db_->Query(
      fmt::format("SELECT {} FROM runs WHERE job_id=? ORDER BY started_at DESC, id", kRunCols),
      {job_id}, [&](const sqlite::Row& r) {
        out.push_back(RunFrom(r));
        return true;
      }));
  return out;
}

util::Result<std::vector<Run>> Store::ListRunsWithStatus(const std::string& status) {
  std::lock_guard lock(mu_);
  std::vector<Run> out;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM runs WHERE status=? ORDER BY id", kRunCols),
                     {status}, [&](const sqlite::Row& r) {
                       out.push_back(RunFrom(r));
                       return true;
                     }));
  return out;
}

util::Result<Run> Store::GetRun(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Run> run;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM runs WHERE id=?", kRunCols), {id},
                     [&](const sqlite::Row& r) {
                       run = RunFrom(r);
                       return false;
                     }));
  MLV_TRY(NotFoundUnless(run.has_value(), "run", id));
  return *run;
}

// ---- experiments

util::Status Store::CreateExperiment(const Experiment& e) {
  std::lock_guard lock(mu_);
  auto r = db_->Exec(
      "INSERT INTO experiments(id, project_id, name, description, created_at) "
      "SELECT ?,?,?,?,? WHERE EXISTS(SELECT 1 FROM projects WHERE id=?2)",
      {e.id, e.project_id, e.name, e.description, e.created_at});
  int n = MLV_TRY(Named(std::move(r), "an experiment named '" + e.name + "' in this project"));
  return NotFoundUnless(n > 0, "project", e.project_id);
}

util::Result<std::vector<Experiment>> Store::ListExperiments(const std::string& project_id) {
  std::lock_guard lock(mu_);
  std::vector<Experiment> out;
  MLV_TRY(db_->Query(
      "SELECT id, project_id, name, description, created_at FROM experiments WHERE project_id=? "
      "ORDER BY name",
      {project_id}, [&](const sqlite::Row& r) {
        out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)});
        return true;
      }));
  return out;
}

util::Result<Experiment> Store::GetExperiment(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Experiment> e;
  MLV_TRY(
      db_->Query("SELECT id, project_id, name, description, created_at FROM experiments WHERE id=?",
                 {id}, [&](const sqlite::Row& r) {
                   e = Experiment{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)};
                   return false;
                 }));
  MLV_TRY(NotFoundUnless(e.has_value(), "experiment", id));
  return *e;
}

util::Status Store::DeleteExperiment(const std::string& id) {
  std::lock_guard lock(mu_);
  int n = MLV_TRY(db_->Exec("DELETE FROM experiments WHERE id=?", {id}));
  return NotFoundUnless(n > 0, "experiment", id);
}

util::Status Store::CreateExperimentRun(const ExperimentRun& e) {
  std::lock_guard lock(mu_);
  int n = MLV_TRY(db_->Exec(
      "INSERT INTO experiment_runs(id, experiment_id, name, status, params, started_at, ended_at) "
      "SELECT ?,?,?,?,?,?,? WHERE EXISTS(SELECT 1 FROM experiments WHERE id=?2)",
      {e.id, e.experiment_id, e.name, e.status, e.params_json, e.started_at, Opt(e.ended_at)}));
  return NotFoundUnless(n > 0, "experiment", e.experiment_id);
}

util::Result<std::vector<ExperimentRun>> Store::ListExperimentRuns(
    const std::string& experiment_id) {
  std::lock_guard lock(mu_);
  std::vector<ExperimentRun> out;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM experiment_runs WHERE experiment_id=? "
                                 "ORDER BY started_at, id",
                                 kExpRunCols),
                     {experiment_id}, [&](const sqlite::Row& r) {
                       out.push_back(ExpRunFrom(r));
                       return true;
                     }));
  return out;
}

util::Result<ExperimentRun> Store::GetExperimentRun(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<ExperimentRun> e;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM experiment_runs WHERE id=?", kExpRunCols), {id},
                     [&](const sqlite::Row& r) {
                       e = ExpRunFrom(r);
                       return false;
                     }));
  MLV_TRY(NotFoundUnless(e.has_value(), "experiment run", id));
  return *e;
}

util::Status Store::EndExperimentRun(const std::string& id, const std::string& status,
                                     util::TimeMicros at) {
  std::lock_guard lock(mu_);
  return db_->Transaction([&]() -> util::Status {
    std::optional<std::string> current;
    MLV_TRY(db_->Query("SELECT status FROM experiment_runs WHERE id=?", {id}, [&](const sqlite::Row& r) {
      current = r.Text(0);
      return false;
    }));
    MLV_TRY(NotFoundUnless(current.has_value(), "experiment run", id));
    if (*current != "running")
      return util::Conflict("experiment run '" + id + "' already ended (" + *current + ")");
    MLV_TRY(
        db_->Exec("UPDATE experiment_runs SET status=?, ended_at=? WHERE id=?", {status, at, id}));
    return util::Ok();
  });
}

util::Status Store::LogMetrics(const std::string& run_id, const std::vector<Metric>& metrics,
                               util::TimeMicros at) {
  std::lock_guard lock(mu_);
  return db_->Transaction([&]() -> util::Status {
    bool exists = false;
    MLV_TRY(db_->Query("SELECT 1 FROM experiment_runs WHERE id=?", {run_id}, [&](const sqlite::Row&) {
      exists = true;
      return false;
    }));
    MLV_TRY(NotFoundUnless(exists, "experiment run", run_id));
    for (const Metric& m : metrics) {
      auto r =
          db_->Exec("INSERT INTO metrics(run_id, key, step, value, logged_at) VALUES(?,?,?,?,?)",
                    {run_id, m.key, m.step, m.value, at});
      if (!r && r.error().code() == util::ErrorCode::kConflict)
        return util::Conflict(
            fmt::format("metric '{}' at step {} is already logged; nothing of "
                        "this batch was applied",
                        m.key, m.step));
      MLV_TRY(std::move(r));
    }
    return util::Ok();
  });
}

util::Result<std::vector<Metric>> Store::GetMetrics(const std::string& run_id,
                                                    const std::optional<std::string>& key) {
  std::lock_guard lock(mu_);
  std::vector<Metric> out;
  auto on_row = [&](const sqlite::Row& r) {
    out.push_back({r.Text(0), r.Int(1), r.Real(2)});
    return true;
  };
  if (key) {
    MLV_TRY(
        db_->Query("SELECT key, step, value FROM metrics WHERE run_id=? AND key=? ORDER BY step",
                   {run_id, *key}, on_row));
  } else {
    MLV_TRY(db_->Query("SELECT key, step, value FROM metrics WHERE run_id=? ORDER BY key, step",
                       {run_id}, on_row));
  }
  return out;
}

// ---- models

util::Status Store::CreateModel(const Model& m) {
  std::lock_guard lock(mu_);
  MLV_TRY(Named(db_->Exec("INSERT INTO models(id, name, project_id, description, created_at) "
                          "VALUES(?,?,?,?,?)",
                          {m.id, m.name, m.project_id, m.description, m.created_at}),
                "a model named '" + m.name + "'"));
  return util::Ok();
}

util::Result<std::vector<Model>> Store::ListModels() {
  std::lock_guard lock(mu_);
  std::vector<Model> out;
  MLV_TRY(
      db_->Query("SELECT id, name, project_id, description, created_at FROM models ORDER BY name",
                 {}, [&](const sqlite::Row& r) {
                   out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)});
                   return true;
                 }));
  return out;
}

util::Result<Model> Store::GetModel(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Model> m;
  MLV_TRY(db_->Query("SELECT id, name, project_id, description, created_at FROM models WHERE id=?",
                     {id}, [&](const sqlite::Row& r) {
                       m = Model{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)};
                       return false;
                     }));
  MLV_TRY(NotFoundUnless(m.has_value(), "model", id));
  return *m;
}

util::Result<Model> Store::GetModelByName(const std::string& name) {
  std::lock_guard lock(mu_);
  std::optional<Model> m;
  MLV_TRY(
      db_->Query("SELECT id, name, project_id, description, created_at FROM models WHERE name=?",
                 {name}, [&](const sqlite::Row& r) {
                   m = Model{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)};
                   return false;
                 }));
  if (!m) return util::NotFound("no model is named '" + name + "'");
  return *m;
}

util::Status Store::DeleteModel(const std::string& id) {
  std::lock_guard lock(mu_);
  return db_->Transaction([&]() -> util::Status {
    int64_t active = 0;
    MLV_TRY(
        db_->Query("SELECT count(*) FROM deployments WHERE model_id=? AND status IN "
                   "('starting','running')",
                   {id}, [&](const sqlite::Row& r) {
                     active = r.Int(0);
                     return false;
                   }));
    if (active > 0)
      return util::Conflict("model '" + id + "' is deployed; stop the deployment first");
    MLV_TRY(db_->Exec("DELETE FROM deployments WHERE model_id=?", {id}));
    MLV_TRY(db_->Exec("DELETE FROM builds WHERE model_id=?", {id}));
    int n = MLV_TRY(db_->Exec("DELETE FROM models WHERE id=?", {id}));
    return NotFoundUnless(n > 0, "model", id);
  });
}

util::Status Store::CreateBuild(const Build& b) {
  std::lock_guard lock(mu_);
  json files = json::array();
  for (const auto& f : b.files)
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  int n = MLV_TRY(db_->Exec(
      "INSERT INTO builds(id, model_id, serve_command, files, manifest_sha256, created_at) "
      "SELECT ?,?,?,?,?,? WHERE EXISTS(SELECT 1 FROM models WHERE id=?2)",
      {b.id, b.model_id, b.serve_command, files.dump(), b.manifest_sha256, b.created_at}));
  return NotFoundUnless(n > 0, "model", b.model_id);
}

util::Result<std::vector<Build>> Store::ListBuilds(const std::string& model_id) {
  std::lock_guard lock(mu_);
  std::vector<Build> out;
  MLV_TRY(db_->Query(
      fmt::format("SELECT {} FROM builds WHERE model_id=? ORDER BY created_at, id", kBuildCols),
      {model_id}, [&](const sqlite::Row& r) {
        out.push_back(BuildFrom(r));
        return true;
      }));
  return out;
}

util::Result<Build> Store::GetBuild(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Build> b;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM builds WHERE id=?", kBuildCols), {id},
                     [&](const sqlite::Row& r) {
                       b = BuildFrom(r);
                       return false;
                     }));
  MLV_TRY(NotFoundUnless(b.has_value(), "build", id));
  return *b;
}

util::Status Store::DeleteBuild(const std::string& id) {
  std::lock_guard lock(mu_);
  return db_->Transaction([&]() -> util::Status {
    int64_t active = 0;
    MLV_TRY(
        db_->Query("SELECT count(*) FROM deployments WHERE build_id=? AND status IN "
                   "('starting','running')",
                   {id}, [&](const sqlite::Row& r) {
                     active = r.Int(0);
                     return false;
                   }));
    if (active > 0)
      return util::Conflict("build '" + id + "' is deployed; stop the deployment first");
    MLV_TRY(db_->Exec("DELETE FROM deployments WHERE build_id=?", {id}));
    int n = MLV_TRY(db_->Exec("DELETE FROM builds WHERE id=?", {id}));
    return NotFoundUnless(n > 0, "build", id);
  });
}

util::Status Store::CreateDeployment(const Deployment& d) {
  std::lock_guard lock(mu_);
  return db_->Transaction([&]() -> util::Status {
    std::optional<std::string> model_of_build;
    MLV_TRY(
        db_->Query("SELECT model_id FROM builds WHERE id=?", {d.build_id}, [&](const sqlite::Row& r) {
          model_of_build = r.Text(0);
          return false;
        }));
    MLV_TRY(NotFoundUnless(model_of_build.has_value(), "build", d.build_id));
    if (*model_of_build != d.model_id)
      return util::InvalidArgument("build '" + d.build_id + "' belongs to another model");
    std::optional<std::string> active;
    MLV_TRY(
        db_->Query("SELECT id FROM deployments WHERE model_id=? AND status IN "
                   "('starting','running')",
                   {d.model_id}, [&](const sqlite::Row& r) {
                     active = r.Text(0);
                     return false;
                   }));
    if (active)
      return util::Conflict("the model already has deployment '" + *active +
                            "' starting or running; stop it first");
    MLV_TRY(db_->Exec(
        "INSERT INTO deployments(id, model_id, build_id, status, message, pid, port, started_at, "
        "created_at) VALUES(?,?,?,?,?,?,?,?,?)",
        {d.id, d.model_id, d.build_id, d.state.status, d.state.message, Opt(d.state.pid),
         Opt(d.state.port), Opt(d.state.started_at), d.created_at}));
    return util::Ok();
  });
}

util::Status Store::UpdateDeploymentState(const std::string& id, const ServiceState& s) {
  std::lock_guard lock(mu_);
  int n = MLV_TRY(db_->Exec(
      "UPDATE deployments SET status=?, message=?, pid=?, port=?, started_at=? WHERE id=?",
      {s.status, s.message, Opt(s.pid), Opt(s.port), Opt(s.started_at), id}));
  return NotFoundUnless(n > 0, "deployment", id);
}

util::Result<std::vector<Deployment>> Store::ListDeployments() {
  std::lock_guard lock(mu_);
  std::vector<Deployment> out;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM deployments d JOIN models m ON m.id=d.model_id "
                                 "ORDER BY d.created_at, d.id",
                                 kDeploymentCols),
                     {}, [&](const sqlite::Row& r) {
                       out.push_back(DeploymentFrom(r));
                       return true;
                     }));
  return out;
}

util::Result<Deployment> Store::GetDeployment(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Deployment> d;
  MLV_TRY(db_->Query(
      fmt::format("SELECT {} FROM deployments d JOIN models m ON m.id=d.model_id WHERE d.id=?",
                  kDeploymentCols),
      {id}, [&](const sqlite::Row& r) {
        d = DeploymentFrom(r);
        return false;
      }));
  MLV_TRY(NotFoundUnless(d.has_value(), "deployment", id));
  return *d;
}

util::Status Store::DeleteDeployment(const std::string& id) {
  std::lock_guard lock(mu_);
  int n = MLV_TRY(db_->Exec("DELETE FROM deployments WHERE id=?", {id}));
  return NotFoundUnless(n > 0, "deployment", id);
}

// ---- applications

util::Status Store::CreateApp(const App& a) {
  std::lock_guard lock(mu_);
  return db_->Transaction([&]() -> util::Status {
    bool project = false;
    MLV_TRY(db_->Query("SELECT 1 FROM projects WHERE id=?", {a.project_id}, [&](const sqlite::Row&) {
      project = true;
      return false;
    }));
    MLV_TRY(NotFoundUnless(project, "project", a.project_id));
    bool sub_taken = false, name_taken = false;
    MLV_TRY(
        db_->Query("SELECT subdomain=?, name=? AND project_id=? FROM apps WHERE subdomain=? OR "
                   "(name=? AND project_id=?)",
                   {a.subdomain, a.name, a.project_id, a.subdomain, a.name, a.project_id},
                   [&](const sqlite::Row& r) {
                     sub_taken = sub_taken || r.Int(0) != 0;
                     name_taken = name_taken || r.Int(1) != 0;
                     return true;
                   }));
    if (sub_taken) return util::Conflict("the subdomain '" + a.subdomain + "' is already taken");
    if (name_taken)
      return util::Conflict("an application named '" + a.name + "' already exists in this project");
    MLV_TRY(db_->Exec(
        "INSERT INTO apps(id, project_id, name, subdomain, command, status, message, pid, port, "
        "started_at, created_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
        {a.id, a.project_id, a.name, a.subdomain, a.command, a.state.status, a.state.message,
         Opt(a.state.pid), Opt(a.state.port), Opt(a.state.started_at), a.created_at}));
    return util::Ok();
  });
}

util::Status Store::UpdateAppState(const std::string& id, const ServiceState& s) {
  std::lock_guard lock(mu_);
  int n = MLV_TRY(
      db_->Exec("UPDATE apps SET status=?, message=?, pid=?, port=?, started_at=? WHERE id=?",
                {s.status, s.message, Opt(s.pid), Opt(s.port), Opt(s.started_at), id}));
  return NotFoundUnless(n > 0, "application", id);
}

util::Result<std::vector<App>> Store::ListApps(const std::optional<std::string>& project_id) {
  std::lock_guard lock(mu_);
  std::vector<App> out;
  auto on_row = [&](const sqlite::Row& r) {
    out.push_back(AppFrom(r));
    return true;
  };
  if (project_id) {
    MLV_TRY(db_->Query(
        fmt::format("SELECT {} FROM apps WHERE project_id=? ORDER BY name, id", kAppCols),
        {*project_id}, on_row));
  } else {
    MLV_TRY(db_->Query(fmt::format("SELECT {} FROM apps ORDER BY name, id", kAppCols), {}, on_row));
  }
  return out;
}

util::Result<App> Store::GetApp(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<App> a;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM apps WHERE id=?", kAppCols), {id},
                     [&](const sqlite::Row& r) {
                       a = AppFrom(r);
                       return false;
                     }));
  MLV_TRY(NotFoundUnless(a.has_value(), "application", id));
  return *a;
}

util::Status Store::DeleteApp(const std::string& id) {
  std::lock_guard lock(mu_);
  int n = MLV_TRY(db_->Exec("DELETE FROM apps WHERE id=?", {id}));
  return NotFoundUnless(n > 0, "application", id);
}

}  // namespace mlvault::runtime
