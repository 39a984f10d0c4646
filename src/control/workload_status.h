// Statuses the control plane reads from a workspace runtime or answers about one, as enums with
// Name/Parse pairs (the catalog's own statuses are in catalog/statuses.h). The names are the
// runtime's JSON values and the API's strings (SPEC.md): they never change; code compares enums.
//
// Thread-safe: pure functions over constants.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "util/error.h"

namespace mlvault::control {

// What start-workspace, stop-workspace and the server's bring-back did to a workspace's runtime
// (api::WorkspaceRuntimeState::status).
enum class RuntimeState { kRunning, kStopped, kFailed, kUnchanged };
// "running", "stopped", "failed", "unchanged".
std::string RuntimeStateName(RuntimeState s);
// Inverse of RuntimeStateName; kInvalidArgument for anything else.
util::Result<RuntimeState> ParseRuntimeState(std::string_view name);

// An application's or a model deployment's status as the workspace runtime reports it
// (/api/v1/applications, /api/v1/deployments, resume's started services): starting -> running |
// failed; stopped by a user; paused by a restore with --start-mode paused.
enum class ServiceStatus { kStarting, kRunning, kPaused, kStopped, kFailed };
// "starting", "running", "paused", "stopped", "failed".
std::string ServiceStatusName(ServiceStatus s);
// Inverse of ServiceStatusName; kInvalidArgument for anything else.
util::Result<ServiceStatus> ParseServiceStatus(std::string_view name);
// The status in the "status" member of a runtime answer's object; nullopt when it has none or
// one this build does not know.
std::optional<ServiceStatus> ServiceStatusIn(const nlohmann::json& j);

}  // namespace mlvault::control
