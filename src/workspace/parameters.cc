#include "workspace/parameters.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "workspace/crn.h"
#include "workspace/json_input.h"

namespace mlvault::workspace {

using jsonin::Join;
using jsonin::json;

namespace {

constexpr int64_t kMaxRootVolumeGib = 65536;
constexpr int64_t kMaxInstances = 1000;
constexpr size_t kMaxTags = 50;
constexpr size_t kMaxListItems = 256;

std::unexpected<util::Error> Bad(const std::string& path, const std::string& why) {
  return util::InvalidArgument(path + ": " + why);
}

util::Status ParseStringList(const json& obj, const std::string& path, std::string_view key,
                             std::vector<std::string>& out, bool cidr) {
  const json* arr = MLV_TRY(jsonin::Array(obj, path, key));
  if (!arr) return util::Ok();
  std::string p = Join(path, key);
  if (arr->size() > kMaxListItems)
    return Bad(p, "at most " + std::to_string(kMaxListItems) + " entries are allowed");
  out.clear();
  for (size_t i = 0; i < arr->size(); ++i) {
    std::string ip = p + "[" + std::to_string(i) + "]";
    std::string s;
    MLV_TRY(jsonin::ExpectString((*arr)[i], ip, s));
    if (s.empty()) return Bad(ip, "must not be empty");
    if (cidr) {
      std::string why = CheckCidr(s);
      if (!why.empty()) return Bad(ip, why);
    } else if (s.size() > 256 || s.find_first_of(" \t\r\n") != std::string::npos) {
      return Bad(ip, "must be at most 256 characters without spaces");
    }
    out.push_back(std::move(s));
  }
  return util::Ok();
}

util::Status ParseInstanceGroups(const json& k8s, const std::string& path, WorkspaceParameters& p) {
  const json* groups = MLV_TRY(jsonin::Array(k8s, path, "instanceGroups"));
  if (!groups) return util::Ok();
  std::string gp = Join(path, "instanceGroups");
  if (groups->empty()) return Bad(gp, "must list at least one instance group");
  if (groups->size() > 64) return Bad(gp, "at most 64 instance groups are allowed");
  p.instance_groups.clear();
  for (size_t i = 0; i < groups->size(); ++i) {
    const json& g = (*groups)[i];
    std::string ip = gp + "[" + std::to_string(i) + "]";
    MLV_TRY(jsonin::ExpectObject(g, ip));
    MLV_TRY(jsonin::CheckKnown(g, ip, {"instanceType", "rootVolume", "autoscaling"}));
    InstanceGroup ig;
    MLV_TRY(jsonin::String(g, ip, "instanceType", ig.instance_type));
    // Cloud instance types: family and size separated by dots ("m5.4xlarge", "p3.2xlarge").
    bool ok = !ig.instance_type.empty() && ig.instance_type.size() <= 64 &&
              ig.instance_type.front() != '.' && ig.instance_type.back() != '.' &&
              ig.instance_type.find('.') != std::string::npos &&
              ig.instance_type.find("..") == std::string::npos &&
              std::all_of(ig.instance_type.begin(), ig.instance_type.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
              });
    if (!ok)
      return Bad(Join(ip, "instanceType"), "must be an instance type like \"m5.4xlarge\", got \"" +
                                               ig.instance_type.substr(0, 64) + "\"");
    if (const json* rv = MLV_TRY(jsonin::Object(g, ip, "rootVolume"))) {
      std::string rp = Join(ip, "rootVolume");
      MLV_TRY(jsonin::CheckKnown(*rv, rp, {"size"}));
      MLV_TRY(jsonin::Int(*rv, rp, "size", 1, kMaxRootVolumeGib, ig.root_volume_size_gib));
    }
    if (const json* as = MLV_TRY(jsonin::Object(g, ip, "autoscaling"))) {
      std::string ap = Join(ip, "autoscaling");
      MLV_TRY(jsonin::CheckKnown(*as, ap, {"minInstances", "maxInstances", "enabled"}));
      MLV_TRY(jsonin::Int(*as, ap, "minInstances", 0, kMaxInstances, ig.autoscaling.min_instances));
      MLV_TRY(jsonin::Int(*as, ap, "maxInstances", 1, kMaxInstances, ig.autoscaling.max_instances));
      MLV_TRY(jsonin::Bool(*as, ap, "enabled", ig.autoscaling.enabled));
      if (ig.autoscaling.min_instances > ig.autoscaling.max_instances)
        return Bad(Join(ap, "minInstances"), "must not be greater than maxInstances (" +
                                                 std::to_string(ig.autoscaling.max_instances) +
                                                 "), got " +
                                                 std::to_string(ig.autoscaling.min_instances));
    }
    p.instance_groups.push_back(std::move(ig));
  }
  return util::Ok();
}

util::Status ParseK8s(const json& k8s, const std::string& path, WorkspaceParameters& p) {
  MLV_TRY(jsonin::CheckKnown(k8s, path,
                             {"instanceGroups", "environmentName", "tags", "network",
                              "useLegacyNodeLabel", "xEntitlements"}));
  MLV_TRY(ParseInstanceGroups(k8s, path, p));
  MLV_TRY(jsonin::String(k8s, path, "environmentName", p.k8s_environment_name));
  if (!p.k8s_environment_name.empty()) {
    std::string why = CheckName(p.k8s_environment_name);
    if (!why.empty()) return Bad(Join(path, "environmentName"), why);
  }
  if (const json* tags = MLV_TRY(jsonin::Array(k8s, path, "tags"))) {
    std::string tp = Join(path, "tags");
    if (tags->size() > kMaxTags)
      return Bad(tp, "at most " + std::to_string(kMaxTags) + " tags are allowed");
    std::set<std::string> seen;
    for (size_t i = 0; i < tags->size(); ++i) {
      std::string ip = tp + "[" + std::to_string(i) + "]";
      const json& t = (*tags)[i];
      MLV_TRY(jsonin::ExpectObject(t, ip));
      MLV_TRY(jsonin::CheckKnown(t, ip, {"key", "value"}));
      Tag tag;
      if (!t.contains("key")) return Bad(Join(ip, "key"), "is required");
      MLV_TRY(jsonin::String(t, ip, "key", tag.key));
      MLV_TRY(jsonin::String(t, ip, "value", tag.value));
      if (tag.key.empty() || tag.key.size() > 128)
        return Bad(Join(ip, "key"), "must be 1 to 128 characters");
      if (tag.value.size() > 256) return Bad(Join(ip, "value"), "must be at most 256 characters");
      if (!seen.insert(tag.key).second)
        return Bad(Join(ip, "key"), "duplicate tag key \"" + tag.key + "\"");
      p.tags.push_back(std::move(tag));
    }
  }
  if (const json* net = MLV_TRY(jsonin::Object(k8s, path, "network"))) {
    std::string np = Join(path, "network");
    MLV_TRY(jsonin::CheckKnown(*net, np, {"topology"}));
    if (const json* topo = MLV_TRY(jsonin::Object(*net, np, "topology"))) {
      std::string tp = Join(np, "topology");
      MLV_TRY(jsonin::CheckKnown(*topo, tp, {"subnets"}));
      MLV_TRY(ParseStringList(*topo, tp, "subnets", p.subnets, false));
    }
  }
  MLV_TRY(jsonin::Bool(k8s, path, "useLegacyNodeLabel", p.use_legacy_node_label));
  MLV_TRY(ParseStringList(k8s, path, "xEntitlements", p.x_entitlements, false));
  return util::Ok();
}

util::Result<WorkspaceParameters> ParseParamsObject(const json& obj, const std::string& path,
                                                    bool require_environment) {
  MLV_TRY(
      jsonin::CheckKnown(obj, path,
                         {"environmentName", "workspaceName", "usePublicLoadBalancer", "disableTLS",
                          "provisionK8sRequest", "disableSSO", "enableMonitoring",
                          "enableGovernance", "loadBalancerIPWhitelists", "enableModelMetrics",
                          "whitelistAuthorizedIPRanges", "authorizedIPRanges", "skipValidation"}));
  WorkspaceParameters p;
  MLV_TRY(jsonin::String(obj, path, "environmentName", p.environment_name));
  if (!p.environment_name.empty()) {
    std::string why = CheckName(p.environment_name);
    if (!why.empty()) return Bad(Join(path, "environmentName"), why);
  }
  if (!obj.contains("workspaceName")) return Bad(Join(path, "workspaceName"), "is required");
  MLV_TRY(jsonin::String(obj, path, "workspaceName", p.workspace_name));
  if (std::string why = CheckName(p.workspace_name); !why.empty())
    return Bad(Join(path, "workspaceName"), why);
  MLV_TRY(jsonin::Bool(obj, path, "usePublicLoadBalancer", p.use_public_load_balancer));
  MLV_TRY(jsonin::Bool(obj, path, "disableTLS", p.disable_tls));
  if (const json* k8s = MLV_TRY(jsonin::Object(obj, path, "provisionK8sRequest")))
    MLV_TRY(ParseK8s(*k8s, Join(path, "provisionK8sRequest"), p));
  MLV_TRY(jsonin::Bool(obj, path, "disableSSO", p.disable_sso));
  MLV_TRY(jsonin::Bool(obj, path, "enableMonitoring", p.enable_monitoring));
  MLV_TRY(jsonin::Bool(obj, path, "enableGovernance", p.enable_governance));
  MLV_TRY(
      ParseStringList(obj, path, "loadBalancerIPWhitelists", p.load_balancer_ip_whitelists, true));
  MLV_TRY(jsonin::Bool(obj, path, "enableModelMetrics", p.enable_model_metrics));
  MLV_TRY(jsonin::Bool(obj, path, "whitelistAuthorizedIPRanges", p.whitelist_authorized_ip_ranges));
  MLV_TRY(ParseStringList(obj, path, "authorizedIPRanges", p.authorized_ip_ranges, true));
  MLV_TRY(jsonin::Bool(obj, path, "skipValidation", p.skip_validation));

  // Cross-field rules.
  if (!p.k8s_environment_name.empty()) {
    if (p.environment_name.empty()) {
      p.environment_name = p.k8s_environment_name;
    } else if (p.k8s_environment_name != p.environment_name) {
      return Bad(Join(Join(path, "provisionK8sRequest"), "environmentName"),
                 "must be empty or equal to " + Join(path, "environmentName") + " (\"" +
                     p.environment_name + "\"), got \"" + p.k8s_environment_name + "\"");
    }
  }
  p.k8s_environment_name = p.environment_name;
  if (require_environment && p.environment_name.empty())
    return Bad(Join(path, "environmentName"), "is required");
  if (p.whitelist_authorized_ip_ranges && p.authorized_ip_ranges.empty())
    return Bad(Join(path, "authorizedIPRanges"),
               "must list at least one range when whitelistAuthorizedIPRanges is true (an empty "
               "allow-list would "
               "lock everyone out)");
  return p;
}

nlohmann::ordered_json TagsJson(const std::vector<Tag>& tags) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& t : tags) out.push_back({{"key", t.key}, {"value", t.value}});
  return out;
}

}  // namespace

uint64_t WorkspaceParameters::QuotaBytes() const {
  int64_t gib = 0;
  for (const auto& g : instance_groups) gib = std::max(gib, g.root_volume_size_gib);
  return static_cast<uint64_t>(gib) << 30;
}

std::string CheckName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 40) return "must be at most 40 characters, got " + std::to_string(name.size());
  if (!(name.front() >= 'a' && name.front() <= 'z')) return "must start with a lowercase letter";
  if (name.back() == '-') return "must not end with a dash";
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return "may contain only lowercase letters, digits and dashes";
  return "";
}

std::string CheckCidr(std::string_view cidr) {
  std::string s(cidr);
  std::string addr = s;
  int max_bits = 32;
  std::string prefix;
  if (auto slash = s.find('/'); slash != std::string::npos) {
    addr = s.substr(0, slash);
    prefix = s.substr(slash + 1);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1)
    max_bits = 32;
  else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1)
    max_bits = 128;
  else
    return "must be an IP address or CIDR range like \"10.0.0.0/8\", got \"" + s.substr(0, 64) +
           "\"";
  if (s.find('/') != std::string::npos) {
    if (prefix.empty() || prefix.size() > 3 ||
        !std::all_of(prefix.begin(), prefix.end(), ::isdigit) || std::stoi(prefix) > max_bits)
      return "has an invalid prefix length in \"" + s + "\" (0 to " + std::to_string(max_bits) +
             ")";
  }
  return "";
}

util::Result<WorkspaceParameters> ParseWorkspaceParameters(std::string_view text,
                                                           std::string_view path,
                                                           bool require_environment) {
  json doc = MLV_TRY(jsonin::ParseObject(text, path.empty() ? "workspace parameters" : path));
  return ParseParamsObject(doc, std::string(path), require_environment);
}

util::Result<WorkspaceParameters> ParseCreateWorkspaceInput(std::string_view text) {
  json doc = MLV_TRY(jsonin::ParseObject(text, "create-workspace input"));
  if (doc.contains("newWorkspaceParameters")) {
    MLV_TRY(jsonin::CheckKnown(doc, "", {"newWorkspaceParameters"}));
    MLV_TRY(jsonin::ExpectObject(doc["newWorkspaceParameters"], "newWorkspaceParameters"));
    return ParseParamsObject(doc["newWorkspaceParameters"], "newWorkspaceParameters", true);
  }
  return ParseParamsObject(doc, "", true);
}

util::Result<RestoreInput> ParseRestoreInput(std::string_view text) {
  json doc = MLV_TRY(jsonin::ParseObject(text, "restore input"));
  MLV_TRY(jsonin::CheckKnown(doc, "",
                             {"newWorkspaceParameters", "backupCrn", "restoreJobTimeoutMinutes",
                              "startMode"}));
  RestoreInput in;
  if (!doc.contains("newWorkspaceParameters")) return Bad("newWorkspaceParameters", "is required");
  MLV_TRY(jsonin::ExpectObject(doc["newWorkspaceParameters"], "newWorkspaceParameters"));
  in.params =
      MLV_TRY(ParseParamsObject(doc["newWorkspaceParameters"], "newWorkspaceParameters", false));
  if (!doc.contains("backupCrn")) return Bad("backupCrn", "is required");
  MLV_TRY(jsonin::String(doc, "", "backupCrn", in.backup_crn));
  if (auto crn = ParseCrn(in.backup_crn, kBackupType); !crn)
    return Bad("backupCrn", crn.error().message());
  int64_t minutes = 0;
  bool present = false;
  MLV_TRY(jsonin::Int(doc, "", "restoreJobTimeoutMinutes", 1, 7 * 24 * 60, minutes, &present));
  if (present) in.restore_job_timeout_minutes = minutes;
  if (doc.contains("startMode")) {
    MLV_TRY(jsonin::String(doc, "", "startMode", in.start_mode));
    if (in.start_mode != "running" && in.start_mode != "paused")
      return Bad("startMode", "must be \"running\" or \"paused\", got \"" +
                                  in.start_mode.substr(0, 40) + "\"");
  }
  return in;
}

std::string ToJson(const WorkspaceParameters& p) {
  using ojson = nlohmann::ordered_json;
  ojson groups = ojson::array();
  for (const auto& g : p.instance_groups)
    groups.push_back({{"instanceType", g.instance_type},
                      {"rootVolume", {{"size", g.root_volume_size_gib}}},
                      {"autoscaling",
                       {{"minInstances", g.autoscaling.min_instances},
                        {"maxInstances", g.autoscaling.max_instances},
                        {"enabled", g.autoscaling.enabled}}}});
  ojson j = {{"environmentName", p.environment_name},
             {"workspaceName", p.workspace_name},
             {"usePublicLoadBalancer", p.use_public_load_balancer},
             {"disableTLS", p.disable_tls},
             {"provisionK8sRequest",
              {{"instanceGroups", groups},
               {"environmentName", p.k8s_environment_name},
               {"tags", TagsJson(p.tags)},
               {"network", {{"topology", {{"subnets", p.subnets}}}}},
               {"useLegacyNodeLabel", p.use_legacy_node_label},
               {"xEntitlements", p.x_entitlements}}},
             {"disableSSO", p.disable_sso},
             {"enableMonitoring", p.enable_monitoring},
             {"enableGovernance", p.enable_governance},
             {"loadBalancerIPWhitelists", p.load_balancer_ip_whitelists},
             {"enableModelMetrics", p.enable_model_metrics},
             {"whitelistAuthorizedIPRanges", p.whitelist_authorized_ip_ranges},
             {"authorizedIPRanges", p.authorized_ip_ranges},
             {"skipValidation", p.skip_validation}};
  return j.dump();
}

std::string RestoreSkeleton() {
  WorkspaceParameters p;
  p.tags = {Tag{"k", "v"}};
  nlohmann::ordered_json out;
  out["newWorkspaceParameters"] = nlohmann::ordered_json::parse(ToJson(p));
  out["backupCrn"] = "";
  out["restoreJobTimeoutMinutes"] = 120;
  return out.dump(2) + "\n";
}

}  // namespace mlvault::workspace
