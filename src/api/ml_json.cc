// JSON mapping of the ml and environments services (api/json_mapping.h).
#include "api/json_mapping.h"

namespace mlvault::api {
namespace {

json Opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
template <class T>
json OptNum(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
json Raw(const RawJson& r, json fallback) {
  if (r.text.empty()) return fallback;
  json j = json::parse(r.text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

json EnvironmentJson(const Environment& e) {
  json j = {{"crn", e.crn},
            {"name", e.name},
            {"region", e.region},
            {"storageRoot", e.storage_root},
            {"createdAt", e.created_at}};
  if (!e.vault_location.empty()) j["vaultLocation"] = e.vault_location;
  if (e.workspace_count) j["workspaceCount"] = *e.workspace_count;
  return j;
}

json BackupSummaryJson(const BackupSummary& b) {
  json j = {{"backupCrn", b.backup_crn},
            {"backupName", b.backup_name},
            {"createdAt", b.created_at},
            {"creatorCrn", b.creator_crn},
            {"workspaceVersionAtBackup", b.workspace_version_at_backup},
            {"backupStatus", b.backup_status}};
  // backup copies (docs/plans.md)
  auto where = [](const BackupCopyInfo& c) {
    return json{{"backupCrn", c.backup_crn},
                {"backupStatus", c.backup_status},
                {"environmentName", c.environment_name},
                {"vaultName", c.vault_name},
                {"vaultLocation", c.vault_location}};
  };
  if (b.copy_of) j["copyOf"] = *b.copy_of;
  if (b.copy_location) j["copyLocation"] = where(*b.copy_location);
  if (!b.copies.empty()) {
    json a = json::array();
    for (const auto& c : b.copies) a.push_back(where(c));
    j["copies"] = a;
  }
  return j;
}

json ErrorJson(const std::optional<ErrorInfo>& e) {
  if (!e) return nullptr;
  return {{"code", e->code}, {"message", e->message}};
}

// The requests that name one resource by a single required string field.
template <class T>
util::Status One(const json& j, T* out, std::string_view key, std::string T::*field) {
  ObjectReader r(j);
  r.String(key, &(out->*field), true);
  return r.Finish();
}

// The requests that name a workspace by CRN or by name + environment (resolved by control).
template <class T>
util::Status ByWorkspace(const json& j, T* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name);
  return r.Finish();
}
// The requests that name a backup by CRN or by name within its workspace.
template <class T>
void ByBackup(ObjectReader& r, T* out) {
  r.String("backupCrn", &out->backup_crn)
      .String("backupName", &out->backup_name)
      .String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name);
}

}  // namespace

// ------------------------------------------------------------------ requests

util::Status DecodeInto(const json& j, CreateEnvironmentRequest* out) {
  ObjectReader r(j);
  r.String("environmentName", &out->environment_name, true)
      .String("storageRoot", &out->storage_root)
      .String("region", &out->region)
      .String("vaultLocation", &out->vault_location)
      .String("storageKind", &out->storage_kind);  // [btrfs snapshots]
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListEnvironmentsRequest*) { return ObjectReader(j).Finish(); }

util::Status DecodeInto(const json& j, CreateWorkspaceRequest* out) {
  if (!j.is_object())
    return util::InvalidField("newWorkspaceParameters", "the request must be a JSON object");
  out->document = j.dump();  // validated whole by workspace::ParseCreateWorkspaceInput
  return util::Ok();
}
util::Status DecodeInto(const json& j, ListWorkspacesRequest* out) {
  ObjectReader r(j);
  r.String("environmentName", &out->environment_name)
      .OptionalInt("maxItems", &out->page.max_items)
      .String("startingToken", &out->page.starting_token)
      .Bool("includeDeleted", &out->include_deleted);
  return r.Finish();
}
util::Status DecodeInto(const json& j, DescribeWorkspaceRequest* out) {
  return ByWorkspace(j, out);
}
util::Status DecodeInto(const json& j, DeleteWorkspaceRequest* out) {
  return ByWorkspace(j, out);
}
util::Status DecodeInto(const json& j, GetWorkspaceApiKeyRequest* out) {
  return ByWorkspace(j, out);
}
util::Status DecodeInto(const json& j, BackupWorkspaceRequest* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name)
      .String("backupName", &out->backup_name, true)
      .OptionalInt("backupJobTimeoutMinutes", &out->backup_job_timeout_minutes);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListWorkspaceBackupsRequest* out) {
  ObjectReader r(j);
  r.String("workspaceCrn", &out->workspace_crn)
      .String("workspaceName", &out->workspace_name)
      .String("environmentName", &out->environment_name)
      .OptionalInt("maxItems", &out->page.max_items)
      .String("startingToken", &out->page.starting_token)
      .Bool("includeDeleted", &out->include_deleted);
  return r.Finish();
}
util::Status DecodeInto(const json& j, DescribeWorkspaceBackupRequest* out) {
  ObjectReader r(j);
  ByBackup(r, out);
  return r.Finish();
}
util::Status DecodeInto(const json& j, DeleteBackupRequest* out) {
  ObjectReader r(j);
  ByBackup(r, out);
  return r.Finish();
}
util::Status DecodeInto(const json& j, CancelBackupRequest* out) {
  ObjectReader r(j);
  ByBackup(r, out);
  return r.Finish();
}
util::Status DecodeInto(const json& j, VerifyBackupRequest* out) {
  ObjectReader r(j);
  ByBackup(r, out);
  r.Bool("readData", &out->read_data);
  return r.Finish();
}
util::Status DecodeInto(const json& j, RestoreWorkspaceRequest* out) {
  if (!j.is_object()) return util::InvalidField("backupCrn", "the request must be a JSON object");
  out->document = j.dump();  // validated whole by workspace::ParseRestoreInput
  return util::Ok();
}
util::Status DecodeInto(const json& j, DescribeWorkflowRequest* out) {
  return One(j, out, "workflowId", &DescribeWorkflowRequest::workflow_id);
}

// ------------------------------------------------------------------ responses

json Encode(const CreateEnvironmentResponse& r) {
  return {{"environment", EnvironmentJson(r.environment)}};
}
json Encode(const ListEnvironmentsResponse& r) {
  json a = json::array();
  for (const auto& e : r.environments) a.push_back(EnvironmentJson(e));
  return {{"environments", a}};
}
json Encode(const CreateWorkspaceResponse& r) {
  json j = {{"workspaceCrn", r.workspace_crn}, {"workflowId", r.workflow_id}};
  if (r.status) j["status"] = *r.status;
  if (r.endpoint) j["endpoint"] = *r.endpoint;
  if (r.domain) j["domain"] = *r.domain;
  return j;
}
json Encode(const ListWorkspacesResponse& r) {
  json a = json::array();
  for (const auto& w : r.workspaces) {
    json j = {{"crn", w.crn},
              {"name", w.name},
              {"environmentName", w.environment_name},
              {"status", w.status},
              {"endpoint", w.endpoint},
              {"domain", w.domain},
              {"isRestored", w.is_restored},
              {"createdAt", w.created_at}};
    if (w.deleted_at) j["deletedAt"] = *w.deleted_at;
    a.push_back(std::move(j));
  }
  json out = {{"workspaces", a}};
  if (!r.next_token.empty()) out["nextToken"] = r.next_token;
  return out;
}
json Encode(const DescribeWorkspaceResponse& r) {
  const Workspace& ws = r.workspace;
  json tags = json::array();
  for (const auto& t : ws.tags) tags.push_back({{"key", t.key}, {"value", t.value}});
  json volumes = json::array();
  for (const auto& v : ws.volumes)
    volumes.push_back({{"name", v.name}, {"kind", v.kind}, {"path", v.path}});
  const BackupMetadata& m = ws.backup_metadata;
  json meta = {{"vaultName", m.vault_name},
               {"backupCount", m.backup_count},
               {"lastBackupCrn", Opt(m.last_backup_crn)},
               {"lastBackupName", Opt(m.last_backup_name)},
               {"lastBackupStatus", Opt(m.last_backup_status)},
               {"lastBackupAt", Opt(m.last_backup_at)},
               {"lastSucceededBackupCrn", Opt(m.last_succeeded_backup_crn)},
               {"lastSucceededBackupAt", Opt(m.last_succeeded_backup_at)}};
  json w = {{"crn", ws.crn},
            {"name", ws.name},
            {"environmentName", ws.environment_name},
            {"status", ws.status},
            {"version", ws.version},
            {"domain", ws.domain},
            {"endpoint", ws.endpoint},
            {"isRestored", ws.is_restored},
            {"restoredFromBackupCrn", Opt(ws.restored_from_backup_crn)},
            {"createdAt", ws.created_at},
            {"tags", tags},
            {"volumes", volumes},
            {"backupMetadata", meta}};
  if (ws.status_reason) w["statusReason"] = *ws.status_reason;
  if (ws.deleted_at) w["deletedAt"] = *ws.deleted_at;
  if (ws.restored_from_environment_name)
    w["restoredFromEnvironmentName"] = *ws.restored_from_environment_name;
  return {{"workspace", w}};
}
json Encode(const DeleteWorkspaceResponse& r) {
  return {{"workspaceCrn", r.workspace_crn}, {"status", r.status}};
}
json Encode(const GetWorkspaceApiKeyResponse& r) { return {{"apiKey", r.api_key}}; }
json Encode(const BackupWorkspaceResponse& r) {
  return {{"backupCrn", r.backup_crn},
          {"vaultName", r.vault_name},
          {"workflowId", r.workflow_id},
          {"backupStatus", r.backup_status}};
}
json Encode(const ListWorkspaceBackupsResponse& r) {
  json a = json::array();
  for (const auto& b : r.backups) a.push_back(BackupSummaryJson(b));
  json out = {{"backups", a}};
  if (!r.next_token.empty()) out["nextToken"] = r.next_token;
  return out;
}
json Encode(const Progress& p) {
  return {{"phase", p.phase},
          {"bytesDone", p.bytes_done},
          {"bytesTotal", p.bytes_total},
          {"filesDone", p.files_done},
          {"filesTotal", p.files_total},
          {"percent", OptNum(p.percent)}};
}
json Encode(const DescribeWorkspaceBackupResponse& r) {
  const Backup& b = r.backup;
  json points = json::array();
  for (const auto& rp : b.recovery_points)
    points.push_back({{"volume", rp.volume},
                      {"kind", rp.kind},
                      {"recoveryPointId", rp.recovery_point_id},
                      {"sourcePath", rp.source_path},
                      {"bytesTotal", rp.bytes_total},
                      {"files", rp.files},
                      {"dirs", rp.dirs},
                      {"bytesReadAllPasses", rp.bytes_read},
                      // The same figure under its first name, kept for scripts that read it.
                      {"bytesRead", rp.bytes_read},
                      {"bytesNew", rp.bytes_new},
                      {"bytesStored", rp.bytes_stored},
                      {"filesUnchanged", rp.files_unchanged},
                      {"durationSeconds", rp.duration_seconds}});
  json j = BackupSummaryJson(b);
  j["workspaceCrn"] = b.workspace_crn;
  j["workspaceName"] = b.workspace_name;
  j["environmentName"] = b.environment_name;
  j["vaultName"] = b.vault_name;
  j["workflowId"] = b.workflow_id;
  j["startedAt"] = Opt(b.started_at);
  j["finishedAt"] = Opt(b.finished_at);
  j["quiescedSeconds"] = OptNum(b.quiesced_seconds);
  j["durationSeconds"] = OptNum(b.duration_seconds);
  j["timeoutMinutes"] = OptNum(b.timeout_minutes);
  j["sizes"] = {{"bytesTotal", b.sizes.bytes_total},
                {"filesTotal", b.sizes.files_total},
                {"bytesStored", b.sizes.bytes_stored}};
  j["recoveryPoints"] = points;
  j["timings"] = Raw(b.timings, json::object());
  j["progress"] = b.progress ? Encode(*b.progress) : json(nullptr);
  j["warnings"] = Raw(b.warnings, json::array());
  j["error"] = b.error ? json{{"message", b.error->message}, {"code", b.error->code}} : json(nullptr);
  if (b.delete_workflow_id) j["deleteWorkflowId"] = *b.delete_workflow_id;
  if (b.deleted_at) j["deletedAt"] = *b.deleted_at;
  return {{"backup", j}};
}
json Encode(const DeleteBackupResponse& r) { return {{"workflowId", r.workflow_id}}; }
json Encode(const CancelBackupResponse& r) {
  return {{"backupCrn", r.backup_crn},
          {"workflowId", r.workflow_id},
          {"backupStatus", r.backup_status}};
}
json Encode(const VerifyBackupResponse& r) {
  json points = json::array(), damaged = json::array();
  for (const auto& p : r.recovery_points)
    points.push_back({{"volume", p.volume}, {"recoveryPointId", p.recovery_point_id}, {"ok", p.ok}});
  for (const auto& d : r.damaged)
    damaged.push_back({{"object", d.object}, {"problem", d.problem}, {"affected", d.affected}});
  return {{"backupCrn", r.backup_crn},
          {"ok", r.ok},
          {"readData", r.read_data},
          {"recoveryPoints", points},
          {"packs", r.packs},
          {"chunks", r.chunks},
          {"bytesRead", r.bytes_read},
          {"damaged", damaged},
          {"durationSeconds", r.duration_seconds}};
}
json Encode(const RestoreWorkspaceResponse& r) {
  json j = {{"workspaceCrn", r.workspace_crn}, {"workflowId", r.workflow_id}};
  if (r.status) j["status"] = *r.status;
  if (r.endpoint) j["endpoint"] = *r.endpoint;
  if (r.domain) j["domain"] = *r.domain;
  if (r.start_mode) j["startMode"] = *r.start_mode;  // issue 16
  if (!r.repointed.text.empty()) {
    json rp = json::parse(r.repointed.text, nullptr, false);
    if (!rp.is_discarded()) j["repointed"] = rp;
  }
  return j;
}
json Encode(const Workflow& w) {
  json j = {{"workflowId", w.workflow_id},
            {"kind", w.kind},
            {"status", w.status},
            {"resourceCrn", w.resource_crn},
            {"createdAt", w.created_at},
            {"startedAt", Opt(w.started_at)},
            {"finishedAt", Opt(w.finished_at)},
            {"updatedAt", w.updated_at},
            {"progress", Encode(w.progress)},
            {"attempts", w.attempts},
            {"maxAttempts", w.max_attempts},
            {"timeoutMinutes", OptNum(w.timeout_minutes)},
            {"cancelRequested", w.cancel_requested},
            {"warnings", Raw(w.warnings, json::array())},
            {"error", ErrorJson(w.error)},
            {"output", Raw(w.output, json::object())}};
  j["lease"] = w.lease ? json{{"owner", w.lease->owner}, {"expiresAt", w.lease->expires_at}}
                       : json(nullptr);
  return j;
}
json Encode(const DescribeWorkflowResponse& r) { return {{"workflow", Encode(r.workflow)}}; }

}  // namespace mlvault::api
