// An embedded mlvault process, wired: the SQLite catalog under $MLVAULT_HOME with every area's
// migrations, the caller (from credentials; first use creates the account), the IAM authorizer,
// the local workspace provider, the workflow engine and the operations (ml and iam).
//
// Construction also recovers workflows whose worker died (SPEC.md section 3: never left running
// forever), spawning workers for the ones it resumes. Not thread-safe (one catalog connection).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "catalog/db.h"
#include "control/authorizer.h"
#include "control/handlers.h"
#include "control/iam_ops.h"
#include "control/operations.h"
#include "control/workflow_engine.h"
#include "util/error.h"
#include "workspace/provider.h"

namespace mlvault::control {

// Every area's migrations: the control plane's and the iam area's.
std::vector<catalog::Migration> AllMigrations();

// The catalog: $MLVAULT_CATALOG (set by --catalog; a SQLite file or postgresql://...) if set,
// else <home>/catalog.db.
std::string CatalogLocation(const std::string& home);

// Opens (creating) CatalogLocation(home) and applies AllMigrations(). <home> is created with
// mode 0700.
util::Result<std::unique_ptr<catalog::Db>> OpenCatalog(const std::string& home);

// The running executable (/proc/self/exe), to start workers.
std::string SelfExe();

struct EmbeddedOptions {
  std::string home;            // empty: MlvaultHomeFromEnv()
  std::string profile;         // credentials profile (empty: default resolution)
  bool resolve_caller = true;  // false for workers: they act for the workflow's caller
  bool recover = true;         // run Recover(false) once opened
};

class Embedded {
 public:
  static util::Result<std::unique_ptr<Embedded>> Open(const EmbeddedOptions& options);

  const std::string& home() const { return home_; }
  catalog::Db& db() { return *db_; }
  const Caller& caller() const { return caller_; }
  WorkflowEngine& engine() { return *engine_; }
  Operations& ops() { return *ops_; }
  IamOperations& iam() { return *iam_; }
  workspace::Provider& provider() { return *provider_; }
  // One step of the backup plan scheduler at `now` (control/scheduler.h): claims the due slots,
  // starts their backups and expiries (in worker processes). One line per run it claimed.
  util::Result<std::vector<std::string>> RunSchedulerStep(util::TimeMicros now);

 private:
  Embedded() = default;

  std::string home_;
  std::unique_ptr<catalog::Db> db_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<workspace::Provider> provider_;
  HandlerEnv handler_env_;
  std::unique_ptr<WorkflowEngine> engine_;
  Caller caller_;
  std::unique_ptr<Operations> ops_;
  std::unique_ptr<IamOperations> iam_;
};

}  // namespace mlvault::control
