// The runtime store's workspace half: the schema, projects, jobs and runs, experiments and
// their metrics (models, builds, deployments and applications are in store_serving.cc). See store.h.
#include "runtime/store.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "runtime/store_rows.h"

namespace mlvault::runtime {

namespace {

using json = nlohmann::json;
using namespace store_rows;

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

}  // namespace

util::Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  auto db = MLV_TRY(sqlite::Connection::Open(
      path, {.label = "metadata database", .synchronous_full = true, .busy_timeout_ms = 5000}));
  std::unique_ptr<Store> store(new Store(std::move(db)));
  MLV_TRY(store->Migrate());
  return store;
}

util::Status Store::Migrate() {
  util::MutexLock lock(mu_);
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
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
    MLV_TRY(db_->ExecScript(kSchemaV1));
    MLV_TRY(db_->ExecScript(fmt::format("PRAGMA user_version={}", kSchemaVersion)));
    return util::Ok();
  });
}

util::Status Store::Checkpoint() {
  util::MutexLock lock(mu_);
  return db_->CheckpointTruncate();
}

// ---- projects

util::Status Store::CreateProject(const Project& p) {
  util::MutexLock lock(mu_);
  MLV_TRY(Named(db_->Exec("INSERT INTO projects(id, name, description, created_at) VALUES(?,?,?,?)",
                          {p.id, p.name, p.description, p.created_at}),
                "a project named '" + p.name + "'"));
  return util::Ok();
}

util::Result<std::vector<Project>> Store::ListProjects() {
  util::MutexLock lock(mu_);
  std::vector<Project> out;
  MLV_TRY(db_->Query("SELECT id, name, description, created_at FROM projects ORDER BY name", {},
                     [&](const sqlite::Row& r) {
                       out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Int(3)});
                       return true;
                     }));
  return out;
}

util::Result<Project> Store::GetProject(const std::string& id) {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
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
  util::MutexLock lock(mu_);
  json args = j.args;
  auto r = db_->Exec(
      "INSERT INTO jobs(id, project_id, name, script, interpreter, args, created_at) "
      "SELECT ?,?,?,?,?,?,? WHERE EXISTS(SELECT 1 FROM projects WHERE id=?2)",
      {j.id, j.project_id, j.name, j.script, j.interpreter, args.dump(), j.created_at});
  int n = MLV_TRY(Named(std::move(r), "a job named '" + j.name + "' in this project"));
  return NotFoundUnless(n > 0, "project", j.project_id);
}

util::Result<std::vector<Job>> Store::ListJobs(const std::string& project_id) {
  util::MutexLock lock(mu_);
  std::vector<Job> out;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM jobs WHERE project_id=? ORDER BY name", kJobCols),
                     {project_id}, [&](const sqlite::Row& r) {
                       out.push_back(JobFrom(r));
                       return true;
                     }));
  return out;
}

util::Result<Job> Store::GetJob(const std::string& id) {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
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
  util::MutexLock lock(mu_);
  int n = MLV_TRY(db_->Exec(
      "INSERT INTO runs(id, job_id, project_id, status, exit_code, pid, started_at, finished_at, "
      "message) SELECT ?,?,?,?,?,?,?,?,? WHERE EXISTS(SELECT 1 FROM jobs WHERE id=?2)",
      {r.id, r.job_id, r.project_id, r.status, Opt(r.exit_code), Opt(r.pid), r.started_at,
       Opt(r.finished_at), r.message}));
  return NotFoundUnless(n > 0, "job", r.job_id);
}

util::Status Store::UpdateRun(const Run& r) {
  util::MutexLock lock(mu_);
  int n = MLV_TRY(
      db_->Exec("UPDATE runs SET status=?, exit_code=?, pid=?, finished_at=?, message=? WHERE id=?",
                {r.status, Opt(r.exit_code), Opt(r.pid), Opt(r.finished_at), r.message, r.id}));
  return NotFoundUnless(n > 0, "run", r.id);
}

util::Result<std::vector<Run>> Store::ListRuns(const std::string& job_id) {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  std::vector<Run> out;
  MLV_TRY(db_->Query(fmt::format("SELECT {} FROM runs WHERE status=? ORDER BY id", kRunCols),
                     {status}, [&](const sqlite::Row& r) {
                       out.push_back(RunFrom(r));
                       return true;
                     }));
  return out;
}

util::Result<Run> Store::GetRun(const std::string& id) {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  auto r = db_->Exec(
      "INSERT INTO experiments(id, project_id, name, description, created_at) "
      "SELECT ?,?,?,?,? WHERE EXISTS(SELECT 1 FROM projects WHERE id=?2)",
      {e.id, e.project_id, e.name, e.description, e.created_at});
  int n = MLV_TRY(Named(std::move(r), "an experiment named '" + e.name + "' in this project"));
  return NotFoundUnless(n > 0, "project", e.project_id);
}

util::Result<std::vector<Experiment>> Store::ListExperiments(const std::string& project_id) {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  int n = MLV_TRY(db_->Exec("DELETE FROM experiments WHERE id=?", {id}));
  return NotFoundUnless(n > 0, "experiment", id);
}

util::Status Store::CreateExperimentRun(const ExperimentRun& e) {
  util::MutexLock lock(mu_);
  int n = MLV_TRY(db_->Exec(
      "INSERT INTO experiment_runs(id, experiment_id, name, status, params, started_at, ended_at) "
      "SELECT ?,?,?,?,?,?,? WHERE EXISTS(SELECT 1 FROM experiments WHERE id=?2)",
      {e.id, e.experiment_id, e.name, e.status, e.params_json, e.started_at, Opt(e.ended_at)}));
  return NotFoundUnless(n > 0, "experiment", e.experiment_id);
}

util::Result<std::vector<ExperimentRun>> Store::ListExperimentRuns(
    const std::string& experiment_id) {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
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
  util::MutexLock lock(mu_);
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
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
  util::MutexLock lock(mu_);
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

}  // namespace mlvault::runtime
