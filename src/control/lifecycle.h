// Bringing workspaces back after a host restart (issue 16): what `mlvault server` does at start.
//
// The local provider's runtimes are processes of this host; a restart leaves every workspace
// whose status is "running" without one. BringBackWorkspaces starts the runtime of each such
// workspace of every account (as start-workspace --all does for one account), waits until it is
// healthy and reconciled (applications and deployments as they were; "paused" ones stay paused),
// and audits each start in the workspace's account as the server. Workspaces stopped on purpose
// (status "stopped") stay stopped.
//
// Not thread-safe: give it its own catalog connection.
#pragma once

#include <string>
#include <vector>

#include "api/ml_types.h"
#include "catalog/db.h"
#include "control/authorizer.h"
#include "util/clock.h"
#include "util/error.h"
#include "workspace/provider.h"

namespace mlvault::control {

struct BringBackEnv {
  catalog::Db* db = nullptr;
  Authorizer* authorizer = nullptr;  // for the audit records; none when null
  workspace::Provider* provider = nullptr;
  const util::Clock* clock = &util::Clock::System();
  std::string name = "mlvault server";  // who brings them back, as the audit records say
};

// One state per workspace it tried to start: "running" (with its endpoint), "failed" (with the
// reason; the workspace is then recorded as stopped) or "unchanged" (not audited: a workflow of
// it is in progress and owns its runtime, or another server sharing the catalog holds its start
// claim or has started it already; catalog/workspace_start_claim.h). Several servers starting at
// once start each workspace's runtime once. Errors only when the catalog cannot be read.
util::Result<std::vector<api::WorkspaceRuntimeState>> BringBackWorkspaces(const BringBackEnv& env);

}  // namespace mlvault::control
