#include "control/model_samples.h"

#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "catalog/backup_copy_store.h"
#include "control/workload_status.h"
#include "crypto/ed25519.h"
#include "util/bytes.h"
#include "workspace/api_client.h"

namespace mlvault::control {

using nlohmann::json;

namespace {

constexpr size_t kKeptBody = 64 * 1024;  // the part of an answer kept for comparison and display

// Whether `s` can be kept as catalog text: UTF-8 without NUL (PostgreSQL refuses both).
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    if (c == 0) return false;
    if (c < 0x80)
      n = 0;
    else if ((c >> 5) == 6)
      n = 1;
    else if ((c >> 4) == 14)
      n = 2;
    else if ((c >> 3) == 30)
      n = 3;
    else
      return false;
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n + 1;
  }
  return true;
}

// The start of a body for a message: one line, at most 100 characters.
std::string Snippet(const std::string& body, int64_t total_bytes) {
  std::string s = body.substr(0, 100);
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (static_cast<int64_t>(s.size()) < total_bytes) s += "...";
  if (s.empty()) s = "(empty)";
  return s;
}

std::string Described(int status, const std::string& body, int64_t bytes,
                      const std::string& sha256) {
  std::string out = "HTTP " + std::to_string(status);
  if (body.empty() && bytes > 0)
    return out + " (" + std::to_string(bytes) + " bytes, SHA-256 " + sha256.substr(0, 12) + "...)";
  return out + " " + Snippet(body, bytes);
}

util::Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::NotFound(path);
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > kKeptBody)
    return util::InvalidArgument("larger than 64 KiB (" + std::to_string(text.size()) + " bytes)");
  return text;
}

}  // namespace

util::Result<SampleRequest> ParseSampleRequest(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return util::InvalidArgument(
        "not a JSON object; write {\"method\": \"POST\", \"path\": \"/predict\", \"body\": {...}}");
  SampleRequest r;
  for (const auto& [k, v] : j.items())
    if (k != "method" && k != "path" && k != "body" && k != "contentType" && k != "compare")
      return util::InvalidField(k,
                                "unknown field; the fields are method, path, body, "
                                "contentType and compare");
  if (j.contains("method")) {
    if (!j["method"].is_string() ||
        (j["method"] != "GET" && j["method"] != "POST" && j["method"] != "PUT"))
      return util::InvalidField("method", "must be \"GET\", \"POST\" or \"PUT\"");
    r.method = j["method"];
  }
  if (j.contains("path")) {
    if (!j["path"].is_string()) return util::InvalidField("path", "must be a string");
    r.path = j["path"];
    bool ok = !r.path.empty() && r.path[0] == '/' && r.path.size() <= 1024 &&
              r.path.find("..") == std::string::npos;
    for (unsigned char c : r.path)
      if (c <= ' ' || c >= 0x7f || c == '#') ok = false;
    if (!ok)
      return util::InvalidField("path",
                                "must start with / (below the model's URL), at most 1024 "
                                "printable ASCII characters without spaces, # or ..; got \"" +
                                    r.path.substr(0, 64) + "\"");
  }
  if (j.contains("body")) {
    if (j["body"].is_string()) {
      r.body = j["body"];
      r.content_type = "text/plain";
    } else if (!j["body"].is_null()) {
      r.body = j["body"].dump();
      r.content_type = "application/json";
    }
    if (r.method == "GET" && !r.body.empty())
      return util::InvalidField("body", "a GET request has no body; use \"method\": \"POST\"");
  }
  if (j.contains("contentType")) {
    if (!j["contentType"].is_string() || j["contentType"].get<std::string>().empty() ||
        j["contentType"].get<std::string>().size() > 200)
      return util::InvalidField("contentType", "must be a media type such as application/json");
    r.content_type = j["contentType"];
  }
  if (j.contains("compare")) {
    if (j["compare"] != "body" && j["compare"] != "status")
      return util::InvalidField("compare",
                                "must be \"body\" (status and body must match) or \"status\"");
    r.compare = j["compare"];
  }
  return r;
}

util::Result<SampleAnswer> SendSample(const std::string& endpoint, const std::string& api_key,
                                      const std::string& model, const SampleRequest& req,
                                      double timeout_seconds) {
  std::string path = "/models/" + model + req.path;
  std::string what = req.method + " " + path;
  httplib::Result res{nullptr, httplib::Error::Unknown};
  try {
    httplib::Client cli(endpoint);
    cli.set_connection_timeout(5, 0);
    auto secs = static_cast<time_t>(timeout_seconds);
    cli.set_read_timeout(secs, 0);
    cli.set_write_timeout(secs, 0);
    httplib::Headers headers = {{"Authorization", "Bearer " + api_key}};
    std::string type = req.content_type.empty() ? "application/octet-stream" : req.content_type;
    if (req.method == "GET")
      res = cli.Get(path, headers);
    else if (req.method == "PUT")
      res = cli.Put(path, headers, req.body, type);
    else
      res = cli.Post(path, headers, req.body, type);
  } catch (const std::exception& e) {
    return util::Unavailable(what + ": " + e.what());
  }
  if (!res) return util::Unavailable(what + ": no answer: " + httplib::to_string(res.error()));
  // The runtime's own answers for a model that is not running (503) or not answering (502).
  if ((res->status == 502 || res->status == 503) && res->body.find("\"code\"") != std::string::npos)
    return util::Unavailable(what + ": the runtime answered HTTP " + std::to_string(res->status) +
                             ": " + Snippet(res->body, static_cast<int64_t>(res->body.size())));
  return SampleAnswer{res->status, res->body};
}

std::vector<std::string> RecordModelSamples(catalog::Db& db, const std::string& backup_id,
                                            const std::string& endpoint, const std::string& api_key,
                                            const std::string& models_dir, util::TimeMicros now,
                                            double timeout_seconds) {
  std::vector<std::string> warnings;
  workspace::WorkspaceApiClient api(endpoint, api_key, timeout_seconds, timeout_seconds);
  auto listed = api.Call("GET", "/api/v1/deployments");
  json deps = listed ? json::parse(*listed, nullptr, false) : json();
  if (!listed || !deps.contains("deployments") || !deps["deployments"].is_array()) {
    warnings.push_back(
        "no model sample requests were recorded (a drill of this backup checks "
        "only that each model answers): listing the deployments: " +
        (listed ? std::string("the answer is not a deployment list") : listed.error().message()));
    return warnings;
  }
  std::vector<catalog::ModelSampleRecord> samples;
  for (const auto& d : deps["deployments"]) {
    if (ServiceStatusIn(d) != ServiceStatus::kRunning) continue;
    catalog::ModelSampleRecord s;
    s.model_name = d.value("modelName", "");
    s.deployment_id = d.value("id", "");
    s.build_id = d.value("buildId", "");
    s.recorded_at = now;
    if (s.model_name.empty()) continue;
    SampleRequest req;
    s.source = "default probe GET /";
    std::string file = models_dir + "/" + d.value("modelId", "") + "/" + s.build_id + "/" +
                       std::string(kSampleRequestFile);
    if (auto text = ReadSmallFile(file); text) {
      s.source = "build file " + std::string(kSampleRequestFile);
      auto parsed = ParseSampleRequest(*text);
      if (!parsed) {
        s.error = std::string(kSampleRequestFile) + ": " + parsed.error().message();
      } else {
        req = *parsed;
      }
    } else if (text.error().code() != util::ErrorCode::kNotFound) {
      s.error = std::string(kSampleRequestFile) + ": " + text.error().message();
    }
    s.method = req.method;
    s.path = req.path;
    s.content_type = req.content_type;
    s.request_body = req.body;
    s.compare = req.compare;
    if (s.error.empty()) {
      auto answer = SendSample(endpoint, api_key, s.model_name, req, timeout_seconds);
      if (!answer) {
        s.error = answer.error().message();
      } else {
        s.status_code = answer->status;
        s.response_bytes = static_cast<int64_t>(answer->body.size());
        s.response_sha256 = crypto::Sha256Hex(util::AsBytes(answer->body));
        std::string kept = answer->body.substr(0, kKeptBody);
        if (ValidUtf8(kept)) s.response_body = std::move(kept);
      }
    }
    if (!s.error.empty())
      warnings.push_back(
          "model " + s.model_name +
          ": no sample answer recorded (a drill checks only that it answers): " + s.error);
    samples.push_back(std::move(s));
  }
  if (auto st = catalog::ModelSampleStore(db).Replace(backup_id, samples); !st)
    warnings.push_back("the model sample requests could not be recorded: " + st.error().message());
  return warnings;
}

util::Result<std::vector<catalog::ModelSampleRecord>> SamplesOfBackup(
    catalog::Db& db, const catalog::BackupRecord& backup) {
  catalog::ModelSampleStore store(db);
  auto own = MLV_TRY(store.List(backup.id));
  if (!own.empty()) return own;
  if (auto copy = MLV_TRY(catalog::BackupCopyStore(db).Get(backup.id)))
    return store.List(copy->source_backup_id);
  return own;
}

std::string CompareSample(const catalog::ModelSampleRecord& recorded, int status,
                          const std::string& body) {
  std::string request = recorded.method + " " + recorded.path;
  std::string sha = crypto::Sha256Hex(util::AsBytes(body));
  auto now_kept = body.substr(0, kKeptBody);
  std::string now = Described(status, ValidUtf8(now_kept) ? now_kept : "",
                              static_cast<int64_t>(body.size()), sha);
  std::string then = Described(static_cast<int>(recorded.status_code), recorded.response_body,
                               recorded.response_bytes, recorded.response_sha256);
  if (status != recorded.status_code)
    return request + " answered " + then + " at backup time, now " + now;
  if (recorded.compare == "status" || sha == recorded.response_sha256) return "";
  // The same JSON written differently (key order, spacing) is the same answer.
  if (static_cast<int64_t>(recorded.response_body.size()) == recorded.response_bytes &&
      recorded.response_bytes > 0) {
    json a = json::parse(recorded.response_body, nullptr, false);
    json b = json::parse(body, nullptr, false);
    if (!a.is_discarded() && !b.is_discarded() && a == b) return "";
  }
  return request + " answered " + then + " at backup time, now " + now;
}

}  // namespace mlvault::control
