// Store: the workspace's metadata database (the `metadata` volume), one table per entity.
//
// Each method is one transaction, so a failed call changes nothing; invariants that span rows
// (one active deployment per model, no deleting a job with a running run) are checked inside
// the transaction that would break them. Returns kNotFound for unknown ids, kConflict for
// duplicates and busy things, kIo/kCorruption for storage failures.
//
// Thread-safe: one connection, guarded by mu_ (the transactions' callbacks are declared to run
// with mu_ held, as they do: inside the method that took it). Callers that change the workspace
// hold a WriteGate ticket; Store itself does not know about quiesce.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sqlite/connection.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/mutex.h"

namespace mlvault::runtime {

// Bumped on every schema change; a database with a newer version is refused.
inline constexpr int kSchemaVersion = 1;

struct Project {
  std::string id, name, description;
  util::TimeMicros created_at = 0;
};

struct Job {
  std::string id, project_id, name, script, interpreter;
  std::vector<std::string> args;
  util::TimeMicros created_at = 0;
};

struct Run {
  std::string id, job_id, project_id;
  std::string status;  // running, succeeded, failed, interrupted
  std::optional<int64_t> exit_code;
  std::optional<int64_t> pid;
  util::TimeMicros started_at = 0;
  std::optional<util::TimeMicros> finished_at;
  std::string message;
};

struct Experiment {
  std::string id, project_id, name, description;
  util::TimeMicros created_at = 0;
};

struct ExperimentRun {
  std::string id, experiment_id, name;
  std::string status;       // running, finished, failed
  std::string params_json;  // a JSON object, validated by the API
  util::TimeMicros started_at = 0;
  std::optional<util::TimeMicros> ended_at;
};

struct Metric {
  std::string key;
  int64_t step = 0;
  double value = 0;
};

struct Model {
  std::string id, name, project_id, description;
  util::TimeMicros created_at = 0;
};

struct BuildFile {
  std::string path;
  uint64_t size = 0;
  std::string sha256;
};

struct Build {
  std::string id, model_id, serve_command;
  std::vector<BuildFile> files;
  std::string manifest_sha256;
  util::TimeMicros created_at = 0;
};

// The state shared by deployments and applications: a long-running process.
struct ServiceState {
  std::string status;  // starting, running, failed, stopped, paused (a paused start)
  std::string message;
  std::optional<int64_t> pid;
  std::optional<int64_t> port;
  std::optional<util::TimeMicros> started_at;
};

struct Deployment {
  std::string id, model_id, model_name, build_id;
  ServiceState state;
  util::TimeMicros created_at = 0;
};

struct App {
  std::string id, project_id, name, subdomain, command;
  ServiceState state;
  util::TimeMicros created_at = 0;
};

class Store {
 public:
  // Opens the database, creating or migrating its schema. kInvalidArgument if the database was
  // written by a newer runtime.
  static util::Result<std::unique_ptr<Store>> Open(const std::string& path);

  // Makes the database file complete by itself (see sqlite::Connection::CheckpointTruncate).
  util::Status Checkpoint();

  // Projects.
  util::Status CreateProject(const Project& p);
  util::Result<std::vector<Project>> ListProjects();
  util::Result<Project> GetProject(const std::string& id);
  // kConflict while the project has a running run or an application not stopped/failed.
  util::Status DeleteProject(const std::string& id);

  // Jobs and runs.
  util::Status CreateJob(const Job& j);
  util::Result<std::vector<Job>> ListJobs(const std::string& project_id);
  util::Result<Job> GetJob(const std::string& id);
  util::Status DeleteJob(const std::string& id);
  util::Status CreateRun(const Run& r);
  util::Status UpdateRun(const Run& r);
  util::Result<std::vector<Run>> ListRuns(const std::string& job_id);
  util::Result<std::vector<Run>> ListRunsWithStatus(const std::string& status);
  util::Result<Run> GetRun(const std::string& id);

  // Experiments.
  util::Status CreateExperiment(const Experiment& e);
  util::Result<std::vector<Experiment>> ListExperiments(const std::string& project_id);
  util::Result<Experiment> GetExperiment(const std::string& id);
  util::Status DeleteExperiment(const std::string& id);
  util::Status CreateExperimentRun(const ExperimentRun& r);
  util::Result<std::vector<ExperimentRun>> ListExperimentRuns(const std::string& experiment_id);
  util::Result<ExperimentRun> GetExperimentRun(const std::string& id);
  // Ends a running experiment run; kConflict if it already ended.
  util::Status EndExperimentRun(const std::string& id, const std::string& status,
                                util::TimeMicros at);
  // All or nothing; kConflict naming the first (key, step) already logged.
  util::Status LogMetrics(const std::string& run_id, const std::vector<Metric>& metrics,
                          util::TimeMicros at);
  util::Result<std::vector<Metric>> GetMetrics(const std::string& run_id,
                                               const std::optional<std::string>& key);

  // Models, builds, deployments.
  util::Status CreateModel(const Model& m);
  util::Result<std::vector<Model>> ListModels();
  util::Result<Model> GetModel(const std::string& id);
  util::Result<Model> GetModelByName(const std::string& name);
  // Deletes the model and its builds' rows; kConflict while a deployment is not stopped.
  util::Status DeleteModel(const std::string& id);
  util::Status CreateBuild(const Build& b);
  util::Result<std::vector<Build>> ListBuilds(const std::string& model_id);
  util::Result<Build> GetBuild(const std::string& id);
  // kConflict while a deployment that is not stopped uses it.
  util::Status DeleteBuild(const std::string& id);
  // kConflict if the model already has a deployment that is starting or running.
  util::Status CreateDeployment(const Deployment& d);
  util::Status UpdateDeploymentState(const std::string& id, const ServiceState& s);
  util::Result<std::vector<Deployment>> ListDeployments();
  util::Result<Deployment> GetDeployment(const std::string& id);
  util::Status DeleteDeployment(const std::string& id);

  // Applications.
  util::Status CreateApp(const App& a);
  util::Status UpdateAppState(const std::string& id, const ServiceState& s);
  // All applications, or those of one project.
  util::Result<std::vector<App>> ListApps(const std::optional<std::string>& project_id);
  util::Result<App> GetApp(const std::string& id);
  util::Status DeleteApp(const std::string& id);

 private:
  explicit Store(std::unique_ptr<sqlite::Connection> db) : db_(std::move(db)) {}
  util::Status Migrate();

  util::Mutex mu_;
  std::unique_ptr<sqlite::Connection> db_ MLV_GUARDED_BY(mu_);
};

}  // namespace mlvault::runtime
