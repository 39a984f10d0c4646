#include "control/embedded.h"

#include <cstdlib>
#include <filesystem>

#include "catalog/control_schema.h"
#include "catalog/plan_stores.h"
#include "catalog/inventory_store.h"
#include "catalog/auth_state_store.h"
#include "catalog/workspace_start_claim.h"
#include "control/iam_authorizer.h"
#include "control/identity.h"
#include "control/scheduler.h"
#include "control/workspace_keys.h"
#include "util/files.h"
#include "util/log.h"

namespace mlvault::control {

std::vector<catalog::Migration> AllMigrations() {
  std::vector<catalog::Migration> all = catalog::ControlMigrations();
  for (auto& m : IamMigrations()) all.push_back(std::move(m));
  for (auto& m : catalog::PlanMigrations()) all.push_back(std::move(m));  // backup plans
  for (auto& m : catalog::InventoryMigrations()) all.push_back(std::move(m));  // backup contents
  for (auto& m : catalog::AuthStateMigrations()) all.push_back(std::move(m));  // shared auth state
  for (auto& m : catalog::WorkspaceStartMigrations()) all.push_back(std::move(m));  // start claim
  return all;
}

std::string CatalogLocation(const std::string& home) {
  const char* c = std::getenv("MLVAULT_CATALOG");
  return c && *c ? std::string(c) : home + "/catalog.db";
}

util::Result<std::unique_ptr<catalog::Db>> OpenCatalog(const std::string& home) {
  MLV_TRY_CTX(util::MakeDirs(home, 0700), "MLVAULT_HOME");
  MLV_TRY_CTX(util::EnsurePrivateDir(home), "MLVAULT_HOME");  // checked as ssh checks ~/.ssh
  auto db = MLV_TRY(catalog::OpenCatalog(CatalogLocation(home)));
  MLV_TRY_CTX(db->Migrate(AllMigrations()), "catalog " + db->Describe());
  MLV_TRY_CTX(util::EnsurePrivateDir(home), "MLVAULT_HOME");  // the catalog files it made: 0600
  MLV_TRY(LoadCatalogSecret(home));  // to open the sealed workspace keys
  return db;
}

std::string SelfExe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

util::Result<std::unique_ptr<Embedded>> Embedded::Open(const EmbeddedOptions& options) {
  std::unique_ptr<Embedded> e(new Embedded());
  e->home_ = options.home.empty() ? MlvaultHomeFromEnv() : options.home;
  e->db_ = MLV_TRY(OpenCatalog(e->home_));
  if (options.resolve_caller)
    e->caller_ = MLV_TRY(ResolveCaller(*e->db_, e->home_, options.profile));
  e->authorizer_ = MakeIamAuthorizer(*e->db_, util::Clock::System());
  e->provider_ = workspace::MakeLocalProvider();
  e->handler_env_.home = e->home_;
  e->handler_env_.provider = e->provider_.get();
  e->handler_env_.authorizer = e->authorizer_.get();
  EngineOptions eo;
  eo.home = e->home_;
  eo.self_exe = SelfExe();
  std::string catalog_path = CatalogLocation(e->home_);
  eo.open_db = [catalog_path]() { return catalog::OpenCatalog(catalog_path); };
  e->engine_ =
      std::make_unique<WorkflowEngine>(*e->db_, std::move(eo), MakeHandlerFactory(e->handler_env_));
  if (options.recover)
    if (auto r = e->engine_->Recover(false); !r)
      util::Log(util::LogLevel::kWarn, "workflow recovery failed: {}", r.error().message());
  OperationsEnv oe;
  oe.home = e->home_;
  oe.db = e->db_.get();
  oe.authorizer = e->authorizer_.get();
  oe.caller = e->caller_;
  oe.provider = e->provider_.get();
  oe.engine = e->engine_.get();
  e->ops_ = std::make_unique<Operations>(std::move(oe));
  e->iam_ = std::make_unique<IamOperations>(*e->db_, *e->authorizer_, util::Clock::System());
  return e;
}

util::Result<std::vector<std::string>> Embedded::RunSchedulerStep(util::TimeMicros now) {
  SchedulerEnv se;
  se.home = home_;
  se.db = db_.get();
  se.authorizer = authorizer_.get();
  se.provider = provider_.get();
  se.engine = engine_.get();
  Scheduler scheduler(se);
  std::vector<std::string> out;
  for (const auto& r : MLV_TRY(scheduler.RunDue(now))) out.push_back(DescribeRun(r));
  return out;
}

}  // namespace mlvault::control
