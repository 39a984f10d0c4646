// JSON mapping of the backup-contents operations (issue 16): describeBackupContents,
// diffBackups, searchBackups, restoreFiles, restoreWorkspaceItems; and of stopWorkspace and
// startWorkspace (api/json_mapping.h).
#include "api/json_mapping.h"

namespace mlvault::api {
namespace {

json Raw(const RawJson& r, json fallback) {
  if (r.text.empty()) return fallback;
  json j = json::parse(r.text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

// A backup by CRN, or by name within its workspace (resolved by control).
template <class T>
void ByBackup(ObjectReader& r, T* out) {
  r.String("backupCrn", &out->backup_crn)
      .String("backupName", &out->backup_name)
      .String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name);
}

}  // namespace

util::Status DecodeInto(const json& j, DescribeBackupContentsRequest* out) {
  ObjectReader r(j);
  ByBackup(r, out);
  r.String("itemType", &out->item_type)
      .OptionalInt("maxItems", &out->max_items)
      .String("startingToken", &out->starting_token);
  return r.Finish();
}
util::Status DecodeInto(const json& j, DiffBackupsRequest* out) {
  ObjectReader r(j);
  r.String("fromBackupCrn", &out->from_backup_crn)
      .String("toBackupCrn", &out->to_backup_crn)
      .String("fromBackupName", &out->from_backup_name)
      .String("toBackupName", &out->to_backup_name)
      .String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name);
  return r.Finish();
}
util::Status DecodeInto(const json& j, SearchBackupsRequest* out) {
  ObjectReader r(j);
  r.String("query", &out->query).String("path", &out->path).OptionalInt("maxItems", &out->max_items);
  return r.Finish();
}
util::Status DecodeInto(const json& j, RestoreFilesRequest* out) {
  ObjectReader r(j);
  ByBackup(r, out);
  r.StringList("path", &out->path, true)
      .String("target", &out->target, true)
      .Bool("overwrite", &out->overwrite);
  return r.Finish();
}
util::Status DecodeInto(const json& j, RestoreWorkspaceItemsRequest* out) {
  ObjectReader r(j);
  ByBackup(r, out);
  r.String("targetWorkspaceCrn", &out->target_workspace_crn)
      .String("targetWorkspaceName", &out->target_workspace_name)
      .String("targetEnvironmentName", &out->target_environment_name)
      .StringList("items", &out->items, true)
      .String("conflictPolicy", &out->conflict_policy);
  return r.Finish();
}

util::Status DecodeInto(const json& j, StopWorkspaceRequest* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name);
  return r.Finish();
}
util::Status DecodeInto(const json& j, StartWorkspaceRequest* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name)
      .Bool("all", &out->all);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ResumeWorkspaceRequest* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name);
  return r.Finish();
}
json Encode(const ResumeWorkspaceResponse& r) {
  json a = json::array();
  for (const auto& s : r.started) {
    json o = {{"type", s.type}, {"name", s.name}, {"status", s.status}};
    if (s.message) o["message"] = *s.message;
    a.push_back(o);
  }
  return {{"workspaceCrn", r.workspace_crn}, {"workspaceName", r.workspace_name}, {"started", a}};
}

json Encode(const WorkspaceLifecycleResponse& r) {
  json a = json::array();
  for (const auto& w : r.workspaces) {
    json o = {{"workspaceCrn", w.workspace_crn},
              {"workspaceName", w.workspace_name},
              {"status", w.status},
              {"endpoint", w.endpoint}};
    if (w.reason) o["reason"] = *w.reason;
    a.push_back(o);
  }
  return {{"workspaces", a}};
}

json Encode(const DescribeBackupContentsResponse& r) {
  json j = {{"backupCrn", r.backup_crn},
            {"computedAt", r.computed_at},
            {"summary", Raw(r.summary, json::object())},
            {"items", Raw(r.items, json::array())}};
  if (r.next_token) j["nextToken"] = *r.next_token;
  return j;
}
json Encode(const DiffBackupsResponse& r) {
  return {{"fromBackupCrn", r.from_backup_crn},
          {"toBackupCrn", r.to_backup_crn},
          {"changes", Raw(r.changes, json::object())}};
}
json Encode(const SearchBackupsResponse& r) {
  json a = json::array();
  for (const auto& m : r.backups)
    a.push_back({{"backupCrn", m.backup_crn},
                 {"backupName", m.backup_name},
                 {"workspaceCrn", m.workspace_crn},
                 {"workspaceName", m.workspace_name},
                 {"environmentName", m.environment_name},
                 {"createdAt", m.created_at},
                 {"matched", m.matched}});
  return {{"backups", a}, {"backupsIndexed", r.backups_indexed}};
}
json Encode(const RestoreFilesResponse& r) {
  return {{"backupCrn", r.backup_crn},
          {"target", r.target},
          {"files", r.files},
          {"bytes", r.bytes},
          {"restored", r.restored}};
}
json Encode(const RestoreWorkspaceItemsResponse& r) {
  json j = {{"workflowId", r.workflow_id}, {"targetWorkspaceCrn", r.target_workspace_crn}};
  if (r.status) {
    j["status"] = *r.status;
    j["results"] = Raw(r.results, json::array());
  }
  return j;
}

}  // namespace mlvault::api
