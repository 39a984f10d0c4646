// The environment operations: createEnvironment, listEnvironments.
#include <algorithm>
#include <filesystem>

#include "control/operations.h"
#include "control/ops_internal.h"
#include "control/vaults.h"
#include "control/resource_authz.h"
#include "control/responses.h"
#include "util/files.h"
#include "util/random.h"
#include "workspace/crn.h"
#include "workspace/owner.h"
#include "workspace/parameters.h"
#include "workspace/provider.h"

namespace mlvault::control {

util::Result<api::CreateEnvironmentResponse> Operations::CreateEnvironment(
    const api::CreateEnvironmentRequest& r) {
  const std::string& name = r.environment_name;
  if (std::string why = workspace::CheckName(name); !why.empty())
    return util::InvalidField("environmentName", why);
  std::string region = r.region.empty() ? std::string(workspace::kDefaultRegion) : r.region;
  std::string id = util::NewUuid();
  auto crn = workspace::ParseCrn(
      workspace::MakeCrn(workspace::kEnvironmentType, env_.caller.account_id, id, region)
          .ToString());
  if (!crn)
    return util::InvalidField("region", "\"" + region + "\" is not a region like \"us-west-1\"");
  std::string root = r.storage_root;
  if (root.empty()) {
    root = env_.home + "/environments/" + name;
    // As root, each workspace runs as a user of its own that must reach its folder by path
    // (docs/workspace-api.md, "Who the workspace runs as"). When $MLVAULT_HOME sits behind a
    // folder others may not search (the default /root/.mlvault), the storage goes to
    // /var/lib/mlvault/storage/<environment id> instead of failing at the first workspace.
    // (The folders above $MLVAULT_HOME decide: the home itself is made searchable, 0711, when
    // the catalog is opened as root.)
    const std::string above = std::filesystem::path(env_.home).parent_path().string();
    if (workspace::WorkspaceOwnersApply() && !above.empty() &&
        !workspace::CheckSearchable(above))
      root = std::string(workspace::kSystemStorageDir) + "/" + id;
  }
  if (root.front() != '/')
    return util::InvalidField("storageRoot", "must be an absolute path, got \"" + root + "\"");

  MLV_TRY(CheckVaultLocation(r.vault_location, /*probe=*/false, r.vault_object_lock));

  AuthzRequest req = ActionRequest("ml:CreateEnvironment", "*");
  req.context["ml:EnvironmentName"] = {name};
  MLV_TRY(Authorize(req));
  // Reachable (and with Object Lock when asked), before recording it.
  MLV_TRY(CheckVaultLocation(r.vault_location, /*probe=*/true, r.vault_object_lock));
  EnvironmentRecord e{id,   env_.caller.account_id,    crn->ToString(),  name, region,
                      root, env_.caller.principal_crn, env_.clock->Now(), r.vault_location};
  util::Status st = util::MakeDirs(root, 0755);
  if (st) st = workspace::SetStorageKind(root, r.storage_kind);  // [btrfs snapshots]
  if (st) st = EnvironmentStore(*env_.db).Insert(e);
  Audit("ml:CreateEnvironment", e.crn, st, "environment " + name);
  MLV_TRY(st);
  return api::CreateEnvironmentResponse{EnvironmentOf(e)};
}

util::Result<api::ListEnvironmentsResponse> Operations::ListEnvironments(
    const api::ListEnvironmentsRequest&) {
  // Only the environments the caller may list, when it may not list "*" (docs/iam.md).
  ListFilter visible = MLV_TRY(ListFilter::Begin(*env_.authorizer, env_.caller,
                                                 ActionRequest("ml:ListEnvironments", "*")));
  auto envs = MLV_TRY(EnvironmentStore(*env_.db).List(env_.caller.account_id));
  auto wss = MLV_TRY(WorkspaceStore(*env_.db).List(env_.caller.account_id));
  api::ListEnvironmentsResponse out;
  for (const auto& e : envs) {
    AuthzRequest one = visible.On(e.crn);
    one.context["ml:EnvironmentName"] = {e.name};
    if (!MLV_TRY(visible.Sees(one))) continue;
    api::Environment a = EnvironmentOf(e);
    a.workspace_count = std::count_if(
        wss.begin(), wss.end(), [&](const WorkspaceRecord& w) { return w.environment_id == e.id; });
    out.environments.push_back(std::move(a));
  }
  MLV_TRY(visible.Finish());
  return out;
}

}  // namespace mlvault::control
