// The /api/v1 resources of the workspace (docs/workspace-api.md): their routes and handlers; the
// log, file and build handlers are in api_files.cc.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <set>

#include "runtime/server_internal.h"
#include "util/files.h"
#include "util/log.h"
#include "util/random.h"

namespace mlvault::runtime {

namespace {

constexpr const char* kId = "([^/]+)";

template <class T>
json List(const std::vector<T>& items) {
  json a = json::array();
  for (const auto& i : items) a.push_back(ToJson(i));
  return a;
}

util::Result<std::string> LabelField(const json& body, const char* field) {
  std::string s = MLV_TRY(StringField(body, field, true, 63));
  if (!IsDnsLabel(s))
    return util::InvalidArgument(fmt::format(
        "field '{}' must be a DNS label: lowercase letters, digits and '-', 1 to 63 characters, "
        "not starting or ending with '-'",
        field));
  return s;
}

// Experiment parameters: a flat object of strings, finite numbers and booleans.
util::Result<std::string> ParamsField(const json& body) {
  auto it = body.find("params");
  if (it == body.end() || it->is_null()) return std::string("{}");
  if (!it->is_object()) return util::InvalidArgument("field 'params' must be an object");
  if (it->size() > 100) return util::InvalidArgument("field 'params' has more than 100 entries");
  for (const auto& [k, v] : it->items()) {
    if (k.empty() || k.size() > 250)
      return util::InvalidArgument("a parameter name must be 1 to 250 bytes");
    for (unsigned char c : k)
      if (c < 0x20) return util::InvalidArgument("parameter name contains a control character");
    if (v.is_string()) {
      if (v.get<std::string>().size() > 1000)
        return util::InvalidArgument("parameter '" + k + "' is longer than 1000 bytes");
    } else if (v.is_number()) {
      if (v.is_number_float() && !std::isfinite(v.get<double>()))
        return util::InvalidArgument("parameter '" + k + "' is not a finite number");
    } else if (!v.is_boolean()) {
      return util::InvalidArgument("parameter '" + k + "' must be a string, a number or a boolean");
    }
  }
  return it->dump();
}

}  // namespace

// ---- routes

void WorkspaceServer::Impl::RegisterApiRoutes() {
  using Req = const httplib::Request&;
  using R = util::Result<Reply>;
  const std::string api = "/api/v1";

  // Projects.
  Route("POST", api + "/projects", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, false));
    MLV_TRY(OnlyFields(body, {"name", "description"}));
    Project p;
    p.name = MLV_TRY(NameField(body, "name", true));
    p.description = MLV_TRY(StringField(body, "description", false, 4000, true));
    p.id = util::NewUuid();
    p.created_at = clock_.Now();
    MLV_TRY(store_->CreateProject(p));
    MLV_TRY(projects_->OpenDir({p.id}, /*create=*/true));
    return Created(ToJson(p));
  });
  Route("GET", api + "/projects", Access::kRead, [this](Req) -> R {
    return Ok({{"projects", List(MLV_TRY(store_->ListProjects()))}});
  });
  Route("GET", api + "/projects/" + kId, Access::kRead,
        [this](Req req) -> R { return Ok(ToJson(MLV_TRY(store_->GetProject(req.matches[1])))); });
  Route("DELETE", api + "/projects/" + kId, Access::kWrite, [this](Req req) -> R {
    std::string id = req.matches[1];
    MLV_TRY(store_->GetProject(id));
    std::vector<std::string> logs;
    for (const Job& j : MLV_TRY(store_->ListJobs(id)))
      for (const Run& r : MLV_TRY(store_->ListRuns(j.id)))
        logs.push_back(workloads_->RunLogPath(r.id));
    for (const App& a : MLV_TRY(store_->ListApps(id))) {
      if (workloads_->IsLive(a.id))
        return util::Conflict("application '" + a.name + "' is still running; stop it first");
      logs.push_back(workloads_->AppLogPath(a.id));
    }
    MLV_TRY(store_->DeleteProject(id));
    MLV_TRY(projects_->RemoveTree({id}));
    for (const auto& l : logs) RemoveLog(l);
    return Deleted(id);
  });

  // Files.
  const std::string file_route = api + "/projects/" + kId + "/files/" + kAnyPath;
  http_.Put(file_route,
            [this](const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader) { UploadFile(req, res, reader); });
  routes_.push_back({"PUT", std::regex(file_route)});
  Route("GET", file_route, Access::kRead,
        [this](Req req) { return DownloadFile(req.matches[1], req.matches[2]); });
  Route("DELETE", file_route, Access::kWrite, [this](Req req) -> R {
    std::string id = req.matches[1];
    MLV_TRY(store_->GetProject(id));
    PathParts parts = MLV_TRY(SplitRelativePath(req.matches[2].str()));
    PathParts full = {id};
    full.insert(full.end(), parts.begin(), parts.end());
    MLV_TRY(projects_->RemoveFile(full, /*keep_depth=*/1));
    return Ok({{"path", JoinPath(parts)}, {"deleted", true}});
  });
  Route("GET", api + "/projects/" + kId + "/files", Access::kRead, [this](Req req) -> R {
    std::string id = req.matches[1];
    MLV_TRY(store_->GetProject(id));
    std::string prefix = req.get_param_value("prefix");
    json files = json::array();
    auto listed = projects_->List({id});
    if (!listed && listed.error().code() != util::ErrorCode::kNotFound)
      return std::unexpected(listed.error());
    if (listed)
      for (const FileInfo& f : *listed)
        if (f.path.compare(0, prefix.size(), prefix) == 0) files.push_back(ToJson(f));
    return Ok({{"files", files}});
  });

  // Jobs and runs.
  Route("POST", api + "/projects/" + kId + "/jobs", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, false));
    MLV_TRY(OnlyFields(body, {"name", "script", "interpreter", "args"}));
    Job j;
    j.project_id = req.matches[1];
    j.name = MLV_TRY(NameField(body, "name", true));
    j.script = MLV_TRY(StringField(body, "script", true, 1024));
    MLV_TRY_CTX(SplitRelativePath(j.script), "field 'script'");
    j.interpreter = MLV_TRY(StringField(body, "interpreter", true, 20));
    if (j.interpreter != "python3" && j.interpreter != "sh")
      return util::InvalidArgument("field 'interpreter' must be 'python3' or 'sh'");
    if (auto it = body.find("args"); it != body.end() && !it->is_null()) {
      if (!it->is_array() || it->size() > 100)
        return util::InvalidArgument("field 'args' must be an array of at most 100 strings");
      for (size_t i = 0; i < it->size(); ++i) {
        const json& a = (*it)[i];
        if (!a.is_string())
          return util::InvalidArgument(fmt::format("args[{}] must be a string", i));
        std::string s = a.get<std::string>();
        if (s.size() > 4096 || s.find('\0') != std::string::npos)
          return util::InvalidArgument(
              fmt::format("args[{}] is longer than 4096 bytes or contains NUL", i));
        j.args.push_back(std::move(s));
      }
    }
    j.id = util::NewUuid();
    j.created_at = clock_.Now();
    MLV_TRY(store_->CreateJob(j));
    return Created(ToJson(j));
  });
  Route("GET", api + "/projects/" + kId + "/jobs", Access::kRead, [this](Req req) -> R {
    MLV_TRY(store_->GetProject(req.matches[1]));
    return Ok({{"jobs", List(MLV_TRY(store_->ListJobs(req.matches[1])))}});
  });
  Route("GET", api + "/jobs/" + kId, Access::kRead,
        [this](Req req) -> R { return Ok(ToJson(MLV_TRY(store_->GetJob(req.matches[1])))); });
  Route("DELETE", api + "/jobs/" + kId, Access::kWrite, [this](Req req) -> R {
    std::string id = req.matches[1];
    std::vector<Run> runs = MLV_TRY(store_->ListRuns(id));
    MLV_TRY(store_->DeleteJob(id));
    for (const Run& r : runs) RemoveLog(workloads_->RunLogPath(r.id));
    return Deleted(id);
  });
  Route("POST", api + "/jobs/" + kId + "/runs", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, true));
    MLV_TRY(OnlyFields(body, {}));
    Job job = MLV_TRY(store_->GetJob(req.matches[1]));
    return Created(ToJson(MLV_TRY(workloads_->StartRun(job))));
  });
  Route("GET", api + "/jobs/" + kId + "/runs", Access::kRead, [this](Req req) -> R {
    MLV_TRY(store_->GetJob(req.matches[1]));
    return Ok({{"runs", List(MLV_TRY(store_->ListRuns(req.matches[1])))}});
  });
  Route("GET", api + "/runs/" + kId, Access::kRead,
        [this](Req req) -> R { return Ok(ToJson(MLV_TRY(store_->GetRun(req.matches[1])))); });
  Route("GET", api + "/runs/" + kId + "/log", Access::kRead, [this](Req req) -> R {
    Run r = MLV_TRY(store_->GetRun(req.matches[1]));
    return ReadLog(workloads_->RunLogPath(r.id));
  });
  Route("POST", api + "/runs/" + kId + "/stop", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, true));
    MLV_TRY(OnlyFields(body, {}));
    return Ok(ToJson(MLV_TRY(workloads_->StopRun(req.matches[1]))));
  });

  // Experiments.
  Route("POST", api + "/projects/" + kId + "/experiments", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, false));
    MLV_TRY(OnlyFields(body, {"name", "description"}));
    Experiment e;
    e.project_id = req.matches[1];
    e.name = MLV_TRY(NameField(body, "name", true));
    e.description = MLV_TRY(StringField(body, "description", false, 4000, true));
    e.id = util::NewUuid();
    e.created_at = clock_.Now();
    MLV_TRY(store_->CreateExperiment(e));
    return Created(ToJson(e));
  });
  Route("GET", api + "/projects/" + kId + "/experiments", Access::kRead, [this](Req req) -> R {
    MLV_TRY(store_->GetProject(req.matches[1]));
    return Ok({{"experiments", List(MLV_TRY(store_->ListExperiments(req.matches[1])))}});
  });
  Route("GET", api + "/experiments/" + kId, Access::kRead, [this](Req req) -> R {
    return Ok(ToJson(MLV_TRY(store_->GetExperiment(req.matches[1]))));
  });
  Route("DELETE", api + "/experiments/" + kId, Access::kWrite, [this](Req req) -> R {
    MLV_TRY(store_->DeleteExperiment(req.matches[1]));
    return Deleted(req.matches[1]);
  });
  Route("POST", api + "/experiments/" + kId + "/runs", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, true));
    MLV_TRY(OnlyFields(body, {"name", "params"}));
    ExperimentRun r;
    r.id = util::NewUuid();
    r.experiment_id = req.matches[1];
    r.name = MLV_TRY(NameField(body, "name", false));
    if (r.name.empty()) r.name = "run-" + r.id.substr(0, 8);
    r.params_json = MLV_TRY(ParamsField(body));
    r.status = "running";
    r.started_at = clock_.Now();
    MLV_TRY(store_->CreateExperimentRun(r));
    return Created(ToJson(r));
  });
  Route("GET", api + "/experiments/" + kId + "/runs", Access::kRead, [this](Req req) -> R {
    MLV_TRY(store_->GetExperiment(req.matches[1]));
    return Ok({{"runs", List(MLV_TRY(store_->ListExperimentRuns(req.matches[1])))}});
  });
  Route("GET", api + "/experiment-runs/" + kId, Access::kRead, [this](Req req) -> R {
    return Ok(ToJson(MLV_TRY(store_->GetExperimentRun(req.matches[1]))));
  });
  Route("POST", api + "/experiment-runs/" + kId + "/metrics", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, false));
    MLV_TRY(OnlyFields(body, {"metrics"}));
    auto it = body.find("metrics");
    if (it == body.end() || !it->is_array() || it->empty())
      return util::InvalidArgument("field 'metrics' must be a non-empty array");
    if (it->size() > 10000)
      return util::InvalidArgument("field 'metrics' has more than 10000 points");
    std::vector<Metric> metrics;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& m = (*it)[i];
      std::string where = fmt::format("metrics[{}]", i);
      if (!m.is_object()) return util::InvalidArgument(where + " must be an object");
      MLV_TRY_CTX(OnlyFields(m, {"key", "step", "value"}), where);
      Metric metric;
      metric.key = MLV_TRY_CTX(StringField(m, "key", true, 250), where);
      if (metric.key.empty()) return util::InvalidArgument(where + ": field 'key' is empty");
      auto step = MLV_TRY_CTX(IntField(m, "step", 0, int64_t{1} << 53), where);
      if (!step) return util::InvalidArgument(where + ": field 'step' is required");
      metric.step = *step;
      auto v = m.find("value");
      if (v == m.end() || !v->is_number())
        return util::InvalidArgument(where + ": field 'value' must be a number");
      metric.value = v->get<double>();
      if (!std::isfinite(metric.value))
        return util::InvalidArgument(where + ": field 'value' is not finite");
      metrics.push_back(std::move(metric));
    }
    MLV_TRY(store_->LogMetrics(req.matches[1], metrics, clock_.Now()));
    return Ok({{"logged", metrics.size()}});
  });
  Route("GET", api + "/experiment-runs/" + kId + "/metrics", Access::kRead, [this](Req req) -> R {
    MLV_TRY(store_->GetExperimentRun(req.matches[1]));
    std::optional<std::string> key;
    if (req.has_param("key")) key = req.get_param_value("key");
    json out = json::object();
    for (const Metric& m : MLV_TRY(store_->GetMetrics(req.matches[1], key)))
      out[m.key].push_back({{"step", m.step}, {"value", m.value}});
    return Ok({{"metrics", out}});
  });
  Route("POST", api + "/experiment-runs/" + kId + "/end", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, false));
    MLV_TRY(OnlyFields(body, {"status"}));
    std::string status = MLV_TRY(StringField(body, "status", true, 20));
    if (status != "finished" && status != "failed")
      return util::InvalidArgument("field 'status' must be 'finished' or 'failed'");
    MLV_TRY(store_->EndExperimentRun(req.matches[1], status, clock_.Now()));
    return Ok(ToJson(MLV_TRY(store_->GetExperimentRun(req.matches[1]))));
  });

  // Models, builds, deployments.
  Route("POST", api + "/models", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, false));
    MLV_TRY(OnlyFields(body, {"name", "projectId", "description"}));
    Model m;
    m.name = MLV_TRY(LabelField(body, "name"));
    m.project_id = MLV_TRY(StringField(body, "projectId", true, 100));
    m.description = MLV_TRY(StringField(body, "description", false, 4000, true));
    MLV_TRY(store_->GetProject(m.project_id));
    m.id = util::NewUuid();
    m.created_at = clock_.Now();
    MLV_TRY(store_->CreateModel(m));
    return Created(ToJson(m));
  });
  Route("GET", api + "/models", Access::kRead, [this](Req) -> R {
    return Ok({{"models", List(MLV_TRY(store_->ListModels()))}});
  });
  Route("GET", api + "/models/" + kId, Access::kRead,
        [this](Req req) -> R { return Ok(ToJson(MLV_TRY(store_->GetModel(req.matches[1])))); });
  Route("DELETE", api + "/models/" + kId, Access::kWrite, [this](Req req) -> R {
    std::string id = req.matches[1];
    std::vector<std::string> logs;
    for (const Deployment& d : MLV_TRY(store_->ListDeployments())) {
      if (d.model_id != id) continue;
      if (workloads_->IsLive(d.id))
        return util::Conflict("the model is deployed; stop the deployment first");
      logs.push_back(workloads_->DeploymentLogPath(d.id));
    }
    MLV_TRY(store_->DeleteModel(id));
    MLV_TRY(models_->RemoveTree({id}));
    for (const auto& l : logs) RemoveLog(l);
    return Deleted(id);
  });
  // A build copies files before it writes; it takes its ticket itself.
  Route("POST", api + "/models/" + kId + "/builds", Access::kRead,
        [this](Req req) { return CreateBuild(req, req.matches[1]); });
  Route("GET", api + "/models/" + kId + "/builds", Access::kRead, [this](Req req) -> R {
    MLV_TRY(store_->GetModel(req.matches[1]));
    return Ok({{"builds", List(MLV_TRY(store_->ListBuilds(req.matches[1])))}});
  });
  Route("GET", api + "/builds/" + kId, Access::kRead,
        [this](Req req) -> R { return Ok(ToJson(MLV_TRY(store_->GetBuild(req.matches[1])))); });
  Route("DELETE", api + "/builds/" + kId, Access::kWrite, [this](Req req) -> R {
    Build b = MLV_TRY(store_->GetBuild(req.matches[1]));
    std::vector<std::string> logs;
    for (const Deployment& d : MLV_TRY(store_->ListDeployments())) {
      if (d.build_id != b.id) continue;
      if (workloads_->IsLive(d.id))
        return util::Conflict("the build is deployed; stop the deployment first");
      logs.push_back(workloads_->DeploymentLogPath(d.id));
    }
    MLV_TRY(store_->DeleteBuild(b.id));
    MLV_TRY(models_->RemoveTree(Workloads::BuildDir(b.model_id, b.id)));
    for (const auto& l : logs) RemoveLog(l);
    return Deleted(b.id);
  });
  Route("POST", api + "/models/" + kId + "/deployments", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, false));
    MLV_TRY(OnlyFields(body, {"buildId"}));
    Model m = MLV_TRY(store_->GetModel(req.matches[1]));
    Deployment d;
    d.build_id = MLV_TRY(StringField(body, "buildId", true, 100));
    d.id = util::NewUuid();
    d.model_id = m.id;
    d.model_name = m.name;
    d.state.status = "starting";
    d.created_at = clock_.Now();
    auto created = store_->CreateDeployment(d);
    if (!created && created.error().code() == util::ErrorCode::kNotFound)
      return util::InvalidArgument(created.error().message());
    MLV_TRY(std::move(created));
    return Created(ToJson(MLV_TRY(workloads_->StartDeployment(d.id))));
  });
  Route("GET", api + "/deployments", Access::kRead, [this](Req) -> R {
    return Ok({{"deployments", List(MLV_TRY(store_->ListDeployments()))}});
  });
  Route("GET", api + "/deployments/" + kId, Access::kRead, [this](Req req) -> R {
    return Ok(ToJson(MLV_TRY(store_->GetDeployment(req.matches[1]))));
  });
  Route("POST", api + "/deployments/" + kId + "/stop", Access::kWrite, [this](Req req) -> R {
    MLV_TRY(OnlyFields(MLV_TRY(ParseJsonBody(req, true)), {}));
    return Ok(ToJson(MLV_TRY(workloads_->StopDeployment(req.matches[1]))));
  });
  Route("POST", api + "/deployments/" + kId + "/restart", Access::kWrite, [this](Req req) -> R {
    MLV_TRY(OnlyFields(MLV_TRY(ParseJsonBody(req, true)), {}));
    return Ok(ToJson(MLV_TRY(workloads_->RestartDeployment(req.matches[1]))));
  });
  Route("GET", api + "/deployments/" + kId + "/log", Access::kRead, [this](Req req) -> R {
    Deployment d = MLV_TRY(store_->GetDeployment(req.matches[1]));
    return ReadLog(workloads_->DeploymentLogPath(d.id));
  });
  Route("DELETE", api + "/deployments/" + kId, Access::kWrite, [this](Req req) -> R {
    std::string id = req.matches[1];
    MLV_TRY(workloads_->StopDeployment(id));
    MLV_TRY(store_->DeleteDeployment(id));
    RemoveLog(workloads_->DeploymentLogPath(id));
    return Deleted(id);
  });

  // Applications.
  Route("POST", api + "/projects/" + kId + "/applications", Access::kWrite, [this](Req req) -> R {
    json body = MLV_TRY(ParseJsonBody(req, false));
    MLV_TRY(OnlyFields(body, {"name", "subdomain", "command"}));
    App a;
    a.project_id = req.matches[1];
    a.name = MLV_TRY(NameField(body, "name", true));
    a.subdomain = MLV_TRY(LabelField(body, "subdomain"));
    a.command = MLV_TRY(CommandField(body, "command"));
    a.id = util::NewUuid();
    a.state.status = "starting";
    a.created_at = clock_.Now();
    MLV_TRY(store_->CreateApp(a));
    return Created(ToJson(MLV_TRY(workloads_->StartApp(a.id))));
  });
  Route("GET", api + "/applications", Access::kRead, [this](Req) -> R {
    return Ok({{"applications", List(MLV_TRY(store_->ListApps(std::nullopt)))}});
  });
  Route("GET", api + "/projects/" + kId + "/applications", Access::kRead, [this](Req req) -> R {
    MLV_TRY(store_->GetProject(req.matches[1]));
    return Ok({{"applications", List(MLV_TRY(store_->ListApps(req.matches[1].str())))}});
  });
  Route("GET", api + "/applications/" + kId, Access::kRead,
        [this](Req req) -> R { return Ok(ToJson(MLV_TRY(store_->GetApp(req.matches[1])))); });
  Route("POST", api + "/applications/" + kId + "/stop", Access::kWrite, [this](Req req) -> R {
    MLV_TRY(OnlyFields(MLV_TRY(ParseJsonBody(req, true)), {}));
    return Ok(ToJson(MLV_TRY(workloads_->StopApp(req.matches[1]))));
  });
  Route("POST", api + "/applications/" + kId + "/restart", Access::kWrite, [this](Req req) -> R {
    MLV_TRY(OnlyFields(MLV_TRY(ParseJsonBody(req, true)), {}));
    return Ok(ToJson(MLV_TRY(workloads_->RestartApp(req.matches[1]))));
  });
  Route("GET", api + "/applications/" + kId + "/log", Access::kRead, [this](Req req) -> R {
    App a = MLV_TRY(store_->GetApp(req.matches[1]));
    return ReadLog(workloads_->AppLogPath(a.id));
  });
  Route("DELETE", api + "/applications/" + kId, Access::kWrite, [this](Req req) -> R {
    std::string id = req.matches[1];
    MLV_TRY(workloads_->StopApp(id));
    MLV_TRY(store_->DeleteApp(id));
    RemoveLog(workloads_->AppLogPath(id));
    return Deleted(id);
  });
}

}  // namespace mlvault::runtime
