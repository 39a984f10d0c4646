// The runtime store's serving half: models, their builds, deployments and applications (the
// projects, jobs, runs and experiments are in store.cc). See store.h.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "runtime/store.h"
#include "runtime/store_rows.h"

namespace mlvault::runtime {

namespace {

using json = nlohmann::json;
using namespace store_rows;

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

// ---- models

util::Status Store::CreateModel(const Model& m) {
  util::MutexLock lock(mu_);
  MLV_TRY(Named(db_->Exec("INSERT INTO models(id, name, project_id, description, created_at) "
                          "VALUES(?,?,?,?,?)",
                          {m.id, m.name, m.project_id, m.description, m.created_at}),
                "a model named '" + m.name + "'"));
  return util::Ok();
}

util::Result<std::vector<Model>> Store::ListModels() {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
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
  util::MutexLock lock(mu_);
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
    std::optional<std::string> model_of_build;
    MLV_TRY(db_->Query("SELECT model_id FROM builds WHERE id=?", {d.build_id},
                       [&](const sqlite::Row& r) {
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
  util::MutexLock lock(mu_);
  int n = MLV_TRY(db_->Exec(
      "UPDATE deployments SET status=?, message=?, pid=?, port=?, started_at=? WHERE id=?",
      {s.status, s.message, Opt(s.pid), Opt(s.port), Opt(s.started_at), id}));
  return NotFoundUnless(n > 0, "deployment", id);
}

util::Result<std::vector<Deployment>> Store::ListDeployments() {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  int n = MLV_TRY(db_->Exec("DELETE FROM deployments WHERE id=?", {id}));
  return NotFoundUnless(n > 0, "deployment", id);
}

// ---- applications

util::Status Store::CreateApp(const App& a) {
  util::MutexLock lock(mu_);
  return db_->Transaction([&]() MLV_REQUIRES(mu_) -> util::Status {
    bool project = false;
    MLV_TRY(
        db_->Query("SELECT 1 FROM projects WHERE id=?", {a.project_id}, [&](const sqlite::Row&) {
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
  util::MutexLock lock(mu_);
  int n = MLV_TRY(
      db_->Exec("UPDATE apps SET status=?, message=?, pid=?, port=?, started_at=? WHERE id=?",
                {s.status, s.message, Opt(s.pid), Opt(s.port), Opt(s.started_at), id}));
  return NotFoundUnless(n > 0, "application", id);
}

util::Result<std::vector<App>> Store::ListApps(const std::optional<std::string>& project_id) {
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
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
  util::MutexLock lock(mu_);
  int n = MLV_TRY(db_->Exec("DELETE FROM apps WHERE id=?", {id}));
  return NotFoundUnless(n > 0, "application", id);
}

}  // namespace mlvault::runtime