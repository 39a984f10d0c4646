#include "control/workload_status.h"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "catalog/statuses.h"

namespace mlvault::control {
namespace {

using catalog::NameIn;
using catalog::ParseIn;

constexpr std::array<std::pair<RuntimeState, const char*>, 4> kRuntimeStateNames{{
    {RuntimeState::kRunning, "running"},
    {RuntimeState::kStopped, "stopped"},
    {RuntimeState::kFailed, "failed"},
    {RuntimeState::kUnchanged, "unchanged"},
}};

constexpr std::array<std::pair<ServiceStatus, const char*>, 5> kServiceNames{{
    {ServiceStatus::kStarting, "starting"},
    {ServiceStatus::kRunning, "running"},
    {ServiceStatus::kPaused, "paused"},
    {ServiceStatus::kStopped, "stopped"},
    {ServiceStatus::kFailed, "failed"},
}};

}  // namespace

std::string RuntimeStateName(RuntimeState s) { return NameIn(kRuntimeStateNames, s); }
util::Result<RuntimeState> ParseRuntimeState(std::string_view name) {
  return ParseIn(kRuntimeStateNames, name, "workspace runtime");
}

std::string ServiceStatusName(ServiceStatus s) { return NameIn(kServiceNames, s); }
util::Result<ServiceStatus> ParseServiceStatus(std::string_view name) {
  return ParseIn(kServiceNames, name, "service");
}
std::optional<ServiceStatus> ServiceStatusIn(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find("status");
  if (it == j.end() || !it->is_string()) return std::nullopt;
  auto s = ParseServiceStatus(it->get_ref<const std::string&>());
  if (!s) return std::nullopt;
  return *s;
}

}  // namespace mlvault::control
