// newWorkspaceParameters: what create-workspace and restore-workspace take (SPEC.md section 2),
// parsed from JSON and validated field by field.
//
// Every error is kInvalidArgument and starts with the JSON path of the offending field, e.g.
//   newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].autoscaling.minInstances: must
//   not be greater than maxInstances (5), got 7
// Unknown fields, wrong types (null included), duplicate keys and impossible values are all
// refused; nothing is silently dropped. Plain functions and values; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace mlvault::workspace {

struct Autoscaling {
  int64_t min_instances = 1;
  int64_t max_instances = 5;
  bool enabled = true;
};

struct InstanceGroup {
  std::string instance_type = "m5.4xlarge";
  int64_t root_volume_size_gib = 128;  // rootVolume.size: the local provider's data quota
  Autoscaling autoscaling;
};

struct Tag {
  std::string key;
  std::string value;
};

struct WorkspaceParameters {
  std::string environment_name;  // empty: not given (restore: the backup's environment)
  std::string workspace_name;
  bool use_public_load_balancer = false;  // local provider: bind 0.0.0.0 instead of 127.0.0.1
  bool disable_tls = false;
  // provisionK8sRequest
  std::vector<InstanceGroup> instance_groups = {InstanceGroup{}};
  std::string
      k8s_environment_name;  // provisionK8sRequest.environmentName; equals environment_name if set
  std::vector<Tag> tags;
  std::vector<std::string> subnets;  // network.topology.subnets
  bool use_legacy_node_label = false;
  std::vector<std::string> x_entitlements;
  // the rest
  bool disable_sso = false;
  bool enable_monitoring = true;
  bool enable_governance = false;
  std::vector<std::string> load_balancer_ip_whitelists;  // CIDRs
  bool enable_model_metrics = true;
  bool whitelist_authorized_ip_ranges = false;
  std::vector<std::string> authorized_ip_ranges;  // CIDRs; enforced by the runtime when whitelisted
  bool skip_validation = false;

  // The data quota in bytes: the largest rootVolume.size of the instance groups.
  uint64_t QuotaBytes() const;
};

// The input document of restore-workspace.
struct RestoreInput {
  WorkspaceParameters params;
  std::string backup_crn;                              // validated as a workspace_backup CRN
  std::optional<int64_t> restore_job_timeout_minutes;  // restoreJobTimeoutMinutes
  // startMode: "running" (default: applications and deployments come back as they were) or
  // "paused" (none started until resume-workspace).
  std::string start_mode = "running";
};

// Parses a newWorkspaceParameters object given as JSON text. `path` is the prefix used in error
// messages ("newWorkspaceParameters"). `require_environment`: environmentName must be given.
util::Result<WorkspaceParameters> ParseWorkspaceParameters(std::string_view json,
                                                           std::string_view path,
                                                           bool require_environment);

// Parses create-workspace's --cli-input-json: either {"newWorkspaceParameters": {...}} or the
// bare parameters object. environmentName is required.
util::Result<WorkspaceParameters> ParseCreateWorkspaceInput(std::string_view json);

// Parses restore-workspace's --cli-input-json document:
//   {"newWorkspaceParameters": {...}, "backupCrn": "...", "restoreJobTimeoutMinutes": N,
//    "startMode": "running" | "paused"}
util::Result<RestoreInput> ParseRestoreInput(std::string_view json);

// The skeleton printed by `restore-workspace --generate-cli-skeleton`: every field, with
// example values, as pretty JSON.
std::string RestoreSkeleton();

// The parameters as a complete newWorkspaceParameters JSON object (every field), compact.
// ParseWorkspaceParameters(ToJson(p)) == p.
std::string ToJson(const WorkspaceParameters& p);

// Names: lowercase letters, digits and dashes, starting with a letter, not ending with a dash,
// 1..40 characters (they become DNS labels of the workspace's domain). Returns "" if valid,
// otherwise the reason.
std::string CheckName(std::string_view name);

// A CIDR ("10.0.0.0/8", "2001:db8::/32") or a single address; returns "" if valid, otherwise
// the reason.
std::string CheckCidr(std::string_view cidr);

}  // namespace mlvault::workspace
