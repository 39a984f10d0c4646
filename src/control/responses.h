// The control layer's records (catalog rows) as the API's response types, and the small helpers
// the operation files share. Internal to the control layer.
#pragma once

#include <optional>
#include <string>

#include "api/ml_types.h"
#include "catalog/control_stores.h"
#include "util/clock.h"
#include "workspace/provider.h"

namespace mlvault::control {

std::string Time(util::TimeMicros t);
std::optional<std::string> OptTime(const std::optional<util::TimeMicros>& t);

api::Environment EnvironmentOf(const catalog::EnvironmentRecord& e);
api::BackupSummary BackupSummaryOf(const catalog::BackupRecord& b);
api::RecoveryPoint RecoveryPointOf(const catalog::RecoveryPointRecord& rp);
api::Progress ProgressOf(const catalog::WorkflowRecord& w);
api::Workflow WorkflowOf(const catalog::WorkflowRecord& w);
std::vector<api::Tag> TagsOf(const catalog::WorkspaceRecord& ws);

// The status to show: "stopped" (with a reason) for a running workspace whose runtime is gone.
catalog::WorkspaceStatus EffectiveStatus(const catalog::WorkspaceRecord& ws,
                                         workspace::Provider& provider, std::string* reason);

// "" if `name` is a valid backup name (1..128 of [A-Za-z0-9._-], starting with a letter or a
// digit), else what is wrong with it.
std::string CheckBackupName(const std::string& name);

}  // namespace mlvault::control
