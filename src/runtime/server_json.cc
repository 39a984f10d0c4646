// The workspace server's shared request and reply helpers: the HTTP status of each error
// category, strict JSON body and field readers, the JSON form of each record, and the key-file
// reader. Used by server.cc (the frame) and api.cc (the /api/v1 resources).
#include <fmt/core.h>

#include <cctype>
#include <cmath>

#include "runtime/server_internal.h"
#include "util/files.h"

namespace mlvault::runtime {

// ---- shared helpers

int HttpStatusFor(util::ErrorCode code) {
  switch (code) {
    case util::ErrorCode::kInvalidArgument:
      return 400;
    case util::ErrorCode::kNotFound:
      return 404;
    case util::ErrorCode::kConflict:
      return 409;
    case util::ErrorCode::kPermissionDenied:
      return 403;
    case util::ErrorCode::kUnavailable:
      return 503;
    case util::ErrorCode::kCancelled:
      return 409;
    case util::ErrorCode::kCorruption:
    case util::ErrorCode::kIo:
    case util::ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string DumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

util::Result<json> ParseJsonBody(const httplib::Request& req, bool allow_empty) {
  if (req.body.size() > kMaxJsonBody)
    return util::InvalidArgument("the JSON body is larger than 1 MiB");
  bool blank = req.body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) {
    if (allow_empty) return json::object();
    return util::InvalidArgument("a JSON object body is required");
  }
  json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return util::InvalidArgument("the body is not valid JSON");
  if (!j.is_object()) return util::InvalidArgument("the body must be a JSON object");
  return j;
}

util::Status OnlyFields(const json& body, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || key == a;
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return util::InvalidArgument(
          "unknown field '" + key + "'" +
          (list.empty() ? std::string(" (no fields are accepted)") : " (accepted: " + list + ")"));
    }
  }
  return util::Ok();
}

util::Result<std::string> StringField(const json& body, const char* field, bool required,
                                      size_t max_bytes, bool multiline) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    if (required) return util::InvalidArgument(fmt::format("field '{}' is required", field));
    return std::string();
  }
  if (!it->is_string())
    return util::InvalidArgument(fmt::format("field '{}' must be a string", field));
  std::string s = it->get<std::string>();
  if (s.size() > max_bytes)
    return util::InvalidArgument(
        fmt::format("field '{}' is longer than {} bytes", field, max_bytes));
  for (unsigned char c : s) {
    if (c == 0 || (!multiline && (c < 0x20 || c == 0x7f)) ||
        (multiline && c < 0x20 && c != '\n' && c != '\t' && c != '\r'))
      return util::InvalidArgument(fmt::format("field '{}' contains a control character", field));
  }
  return s;
}

util::Result<std::string> NameField(const json& body, const char* field, bool required) {
  std::string s = MLV_TRY(StringField(body, field, required, 400));
  if (required || !s.empty()) {
    size_t chars = 0;
    for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
    if (s.empty() || chars > 100)
      return util::InvalidArgument(fmt::format("field '{}' must be 1 to 100 characters", field));
    if (s.find_first_not_of(' ') == std::string::npos)
      return util::InvalidArgument(fmt::format("field '{}' must not be blank", field));
  }
  return s;
}

util::Result<std::optional<int64_t>> IntField(const json& body, const char* field, int64_t lo,
                                              int64_t hi) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer())
    return util::InvalidArgument(fmt::format("field '{}' must be an integer", field));
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(hi))
    return util::InvalidArgument(
        fmt::format("field '{}' must be between {} and {}", field, lo, hi));
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi)
    return util::InvalidArgument(
        fmt::format("field '{}' must be between {} and {}", field, lo, hi));
  return std::optional<int64_t>(v);
}

Reply Created(json body) {
  Reply r;
  r.status = 201;
  r.body = std::move(body);
  return r;
}
Reply Ok(json body) {
  Reply r;
  r.body = std::move(body);
  return r;
}
Reply Deleted(const std::string& id) { return Ok({{"id", id}, {"deleted", true}}); }

util::Result<std::string> CommandField(const json& body, const char* field) {
  std::string c = MLV_TRY(StringField(body, field, true, 4096));
  if (c.find_first_not_of(' ') == std::string::npos)
    return util::InvalidArgument(fmt::format("field '{}' must not be blank", field));
  return c;
}

std::string TimeOrNull(std::optional<util::TimeMicros> t) { return t ? util::FormatTime(*t) : ""; }

namespace {
json OptTime(std::optional<util::TimeMicros> t) {
  if (!t) return nullptr;
  return util::FormatTime(*t);
}
json OptInt(std::optional<int64_t> v) {
  if (!v) return nullptr;
  return *v;
}
json StateJson(json j, const ServiceState& s) {
  j["status"] = s.status;
  j["message"] = s.message;
  j["pid"] = OptInt(s.pid);
  j["port"] = OptInt(s.port);
  j["startedAt"] = OptTime(s.started_at);
  return j;
}
}  // namespace

json ToJson(const Project& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"createdAt", util::FormatTime(p.created_at)}};
}
json ToJson(const Job& j) {
  return {{"id", j.id},
          {"projectId", j.project_id},
          {"name", j.name},
          {"script", j.script},
          {"interpreter", j.interpreter},
          {"args", j.args},
          {"createdAt", util::FormatTime(j.created_at)}};
}
json ToJson(const Run& r) {
  return {{"id", r.id},
          {"jobId", r.job_id},
          {"projectId", r.project_id},
          {"status", r.status},
          {"exitCode", OptInt(r.exit_code)},
          {"startedAt", util::FormatTime(r.started_at)},
          {"finishedAt", OptTime(r.finished_at)},
          {"message", r.message}};
}
json ToJson(const Experiment& e) {
  return {{"id", e.id},
          {"projectId", e.project_id},
          {"name", e.name},
          {"description", e.description},
          {"createdAt", util::FormatTime(e.created_at)}};
}
json ToJson(const ExperimentRun& r) {
  json params = json::parse(r.params_json, nullptr, false);
  if (!params.is_object()) params = json::object();
  return {{"id", r.id},
          {"experimentId", r.experiment_id},
          {"name", r.name},
          {"status", r.status},
          {"params", params},
          {"startedAt", util::FormatTime(r.started_at)},
          {"endedAt", OptTime(r.ended_at)}};
}
json ToJson(const Model& m) {
  return {{"id", m.id},
          {"name", m.name},
          {"projectId", m.project_id},
          {"description", m.description},
          {"createdAt", util::FormatTime(m.created_at)}};
}
json ToJson(const Build& b) {
  json files = json::array();
  for (const auto& f : b.files)
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  return {{"id", b.id},
          {"modelId", b.model_id},
          {"status", "built"},
          {"serveCommand", b.serve_command},
          {"files", files},
          {"manifestSha256", b.manifest_sha256},
          {"createdAt", util::FormatTime(b.created_at)}};
}
json ToJson(const Deployment& d) {
  return StateJson({{"id", d.id},
                    {"modelId", d.model_id},
                    {"modelName", d.model_name},
                    {"buildId", d.build_id},
                    {"url", "/models/" + d.model_name + "/"},
                    {"createdAt", util::FormatTime(d.created_at)}},
                   d.state);
}
json ToJson(const App& a) {
  return StateJson({{"id", a.id},
                    {"projectId", a.project_id},
                    {"name", a.name},
                    {"subdomain", a.subdomain},
                    {"command", a.command},
                    {"url", "/apps/" + a.subdomain + "/"},
                    {"createdAt", util::FormatTime(a.created_at)}},
                   a.state);
}
json ToJson(const FileInfo& f) {
  return {{"path", f.path},
          {"size", f.size},
          {"sha256", f.sha256},
          {"modifiedAt", util::FormatTime(f.modified)}};
}

util::Result<std::string> ReadKeyFile(const std::string& path, const std::string& what) {
  auto text = util::ReadFile(path);
  if (!text)
    return util::InvalidArgument("cannot read the " + what + " file: " + text.error().message());
  std::string key = *text;
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  size_t start = key.find_first_not_of(" \t\r\n");
  key = start == std::string::npos ? "" : key.substr(start);
  if (key.size() < 16)
    return util::InvalidArgument("the " + what + " in " + path + " is shorter than 16 characters");
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      return util::InvalidArgument("the " + what + " in " + path +
                                   " contains a non-printable character or a space");
  return key;
}

}  // namespace mlvault::runtime
