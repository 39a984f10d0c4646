// The checks of a restore test (drill, docs/plans.md): after a backup was restored into a
// throw-away workspace, does the ML work come back *working*?
//   runtime       the runtime answers healthy and reconciled
//   entities      every project, model and application of the backup exists in the sandbox
//   applications  every application that was running at backup time runs again and answers HTTP
//   models        every model whose deployment was running at backup time is deployed again
//                 (its build files checked against the build's manifest by the runtime) and
//                 answers the sample request recorded at backup time as it did then
//                 (control/model_samples.h); without a recorded sample, answers HTTP at
//                 /models/<name>/
//   files         every project file and model build file of the backup is in the sandbox with
//                 the SHA-256 of the backup's copy (read back from the vault)
// What the backup held comes from its inventory (control/inventory.h), never from the sandbox.
// Internal to the control layer; not thread-safe (uses the Db it is given).
#pragma once

#include <string>
#include <vector>

#include "api/types_plans.h"
#include "catalog/control_stores.h"
#include "util/error.h"
#include "util/progress.h"
#include "workspace/provider.h"

namespace mlvault::control {

struct DrillCheckEnv {
  catalog::Db* db = nullptr;
  std::string home;
  workspace::Provider* provider = nullptr;
  double start_timeout_seconds = 120;  // how long applications and deployments may take to run
  const util::CancelToken* cancel = nullptr;
};

// Runs every check against `sandbox` (a running workspace restored from `backup`); each check's
// problems are its detail, never an error. Errors only when the backup's inventory cannot be
// read (then no check could say anything).
util::Result<std::vector<api::RestoreTestCheck>> RunDrillChecks(
    const DrillCheckEnv& env, const catalog::BackupRecord& backup,
    const catalog::WorkspaceRecord& sandbox);

}  // namespace mlvault::control
