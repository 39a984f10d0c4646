#include "api/server/remote_client.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "api/server/signing.h"
#include "util/clock.h"

namespace mlvault::api {
namespace {

using nlohmann::json;

util::ErrorCode CodeFromName(const std::string& name, int status) {
  static const std::pair<const char*, util::ErrorCode> kCodes[] = {
      {"invalid-argument", util::ErrorCode::kInvalidArgument},
      {"not-found", util::ErrorCode::kNotFound},
      {"conflict", util::ErrorCode::kConflict},
      {"permission-denied", util::ErrorCode::kPermissionDenied},
      {"unauthenticated", util::ErrorCode::kPermissionDenied},
      {"corruption", util::ErrorCode::kCorruption},
      {"unavailable", util::ErrorCode::kUnavailable},
      {"io", util::ErrorCode::kIo},
      {"cancelled", util::ErrorCode::kCancelled},
      {"internal", util::ErrorCode::kInternal}};
  for (auto [n, c] : kCodes)
    if (name == n) return c;
  if (status == 401 || status == 403) return util::ErrorCode::kPermissionDenied;
  if (status == 404) return util::ErrorCode::kNotFound;
  if (status == 409) return util::ErrorCode::kConflict;
  if (status >= 400 && status < 500) return util::ErrorCode::kInvalidArgument;
  return status == 503 || status == 429 ? util::ErrorCode::kUnavailable
                                        : util::ErrorCode::kInternal;
}

bool Terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

}  // namespace

RemoteClient::RemoteClient(RemoteOptions options) : options_(std::move(options)) {}
RemoteClient::~RemoteClient() = default;

util::Result<std::unique_ptr<RemoteClient>> RemoteClient::Open(RemoteOptions options) {
  const std::string& e = options.endpoint;
  if (!(e.starts_with("http://") || e.starts_with("https://")) || e.size() < 9)
    return util::InvalidArgument("--endpoint '" + e +
                                 "' is not a URL of an mlvault server: expected http://HOST:PORT "
                                 "or https://HOST:PORT");
  std::string base = e;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.find('/', base.find("//") + 2) != std::string::npos)
    return util::InvalidArgument("--endpoint '" + e +
                                 "' must be the server's root URL (scheme, host and port only)");
  // Refuse a key that cannot sign before any request goes out.
  MLV_TRY(SignRequest(options.access_key_id, options.private_key, options.origin, "POST", "/", "",
                      "", 0));
  options.endpoint = base;
  std::unique_ptr<RemoteClient> c(new RemoteClient(std::move(options)));
  c->http_ = std::make_unique<httplib::Client>(c->options_.endpoint);
  const auto secs = static_cast<time_t>(c->options_.timeout_seconds);
  c->http_->set_connection_timeout(10, 0);
  c->http_->set_read_timeout(secs, 0);
  c->http_->set_write_timeout(secs, 0);
  c->http_->set_keep_alive(true);
  if (!c->options_.ca_bundle.empty()) c->http_->set_ca_cert_path(c->options_.ca_bundle.c_str());
  if (c->options_.endpoint.starts_with("https://"))
    c->http_->enable_server_certificate_verification(true);
  return c;
}

util::Result<json> RemoteClient::Post(std::string_view service, std::string_view operation,
                                      const json& request) {
  const std::string path = "/api/v1/" + std::string(service) + "/" + std::string(operation);
  const std::string body = request.dump(-1, ' ', false, json::error_handler_t::replace);
  for (int attempt = 0;; ++attempt) {
    auto h =
        MLV_TRY(SignRequest(options_.access_key_id, options_.private_key, options_.origin, "POST",
                            path, "application/json", body, util::Clock::System().Now()));
    httplib::Headers headers = {{"Authorization", h.authorization},
                                {std::string(kDateHeader), h.date},
                                {std::string(kNonceHeader), h.nonce},
                                {"User-Agent", "mlvault-cli"}};
    auto r = http_->Post(path.c_str(), headers, body, "application/json");
    if (!r)
      return util::Unavailable("cannot reach the mlvault server at " + options_.endpoint + " (" +
                               httplib::to_string(r.error()) +
                               "); check --endpoint / MLVAULT_ENDPOINT and that the server runs");
    if (r->status == 429 && attempt < 5) {
      int wait = std::max(1, std::atoi(r->get_header_value("Retry-After").c_str()));
      std::this_thread::sleep_for(std::chrono::seconds(std::min(wait, 10)));
      continue;
    }
    json j = json::parse(r->body, nullptr, false);
    if (r->status == 200) {
      if (j.is_discarded())
        return util::Internal("the server at " + options_.endpoint + " answered " + path +
                              " with a body that is not JSON");
      return j;
    }
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      const json& e = j["error"];
      std::string field =
          e.contains("field") && e["field"].is_string() ? e["field"].get<std::string>() : "";
      return std::unexpected(
          util::Error(CodeFromName(e.value("code", ""), r->status), e.value("message", ""), field));
    }
    return util::MakeError(CodeFromName("", r->status), "the server at " + options_.endpoint +
                                                            " answered " + path + " with HTTP " +
                                                            std::to_string(r->status));
  }
}

util::Result<json> RemoteClient::Call(std::string_view service, std::string_view operation,
                                      const json& request, const CallOptions& options) {
  json answer = MLV_TRY(Post(service, operation, request));
  if (options.wait && answer.is_object() && answer.contains("workflowId") &&
      answer["workflowId"].is_string())
    return FollowWorkflow(operation, std::move(answer), options);
  return answer;
}

util::Result<json> RemoteClient::FollowWorkflow(std::string_view operation, json answer,
                                                const CallOptions& options) {
  const std::string id = answer["workflowId"];
  json wf;
  for (;;) {
    if (options.interrupted && options.interrupted->load())
      return util::Cancelled("interrupted; workflow " + id +
                             " goes on in the server (mlvault describe-workflow --workflow-id " +
                             id + ")");
    json d = MLV_TRY(Post("ml", "describeWorkflow", json{{"workflowId", id}}));
    wf = d.value("workflow", json::object());
    if (options.progress && wf.contains("progress") && wf["progress"].is_object()) {
      const json& p = wf["progress"];
      auto num = [&](const char* k) {
        return p.contains(k) && p[k].is_number() ? p[k].get<uint64_t>() : uint64_t{0};
      };
      options.progress->Report(util::ProgressSnapshot{num("bytesDone"), num("bytesTotal"),
                                                      num("filesDone"), num("filesTotal"),
                                                      p.value("phase", wf.value("phase", ""))});
    }
    if (Terminal(wf.value("status", ""))) break;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int>(options_.poll_seconds * 1000)));
  }
  const std::string status = wf.value("status", "");
  if (answer.contains("backupStatus") && answer.contains("backupCrn")) {
    auto b = Post("ml", "describeWorkspaceBackup", json{{"backupCrn", answer["backupCrn"]}});
    if (b && b->contains("backup")) answer["backupStatus"] = (*b)["backup"].value("status", status);
  }
  // A waited create or restore answers where the workspace is, as embedded does.
  if ((operation == "createWorkspace" || operation == "restoreWorkspace") &&
      answer.contains("workspaceCrn") && status == "succeeded") {
    auto w = Post("ml", "describeWorkspace", json{{"workspaceCrn", answer["workspaceCrn"]}});
    if (w && w->contains("workspace")) {
      const json& ws = (*w)["workspace"];
      for (const char* k : {"status", "endpoint", "domain"})
        if (ws.contains(k) && ws[k].is_string()) answer[k] = ws[k];
    }
    // issue 16: how a restore started and what it re-pointed, from the workflow's output.
    if (operation == "restoreWorkspace" && wf.contains("output") && wf["output"].is_object())
      for (const char* k : {"startMode", "repointed"})
        if (wf["output"].contains(k)) answer[k] = wf["output"][k];
  }
  if (status != "succeeded") {
    const json& e = wf.value("error", json::object());
    std::string msg = e.is_object() && !e.value("message", "").empty() ? e.value("message", "")
                                                                       : "it ended " + status;
    util::ErrorCode code = status == "cancelled"
                               ? util::ErrorCode::kCancelled
                               : CodeFromName(e.is_object() ? e.value("code", "") : "", 500);
    util::Error err(code,
                    "workflow " + id + " (" + wf.value("kind", "") + ") " + status + ": " + msg);
    if (operation == "backupWorkspace" && answer.contains("backupCrn"))
      err = err.WithContext("backup " + answer["backupCrn"].get<std::string>());
    return std::unexpected(std::move(err));
  }
  return answer;
}

}  // namespace mlvault::api
