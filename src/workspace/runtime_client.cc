#include "workspace/runtime_client.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace mlvault::workspace {
namespace {

using nlohmann::json;

std::string Snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

util::Result<json> Call(const std::string& endpoint, const std::string& method,
                        const std::string& path, const std::string& bearer, const std::string& body,
                        double timeout) {
  try {
    httplib::Client cli(endpoint);
    auto secs = static_cast<time_t>(timeout);
    auto usecs = static_cast<time_t>((timeout - static_cast<double>(secs)) * 1e6);
    cli.set_connection_timeout(2, 0);
    cli.set_read_timeout(secs, usecs);
    cli.set_write_timeout(secs, usecs);
    httplib::Headers headers;
    if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
    httplib::Result res = method == "GET" ? cli.Get(path, headers)
                                          : cli.Post(path, headers, body, "application/json");
    if (!res)
      return util::Unavailable("workspace runtime at " + endpoint + " did not answer " + method +
                               " " + path + ": " + httplib::to_string(res.error()));
    if (res->status != 200)
      return util::Unavailable("workspace runtime at " + endpoint + " answered " + method + " " +
                               path + " with HTTP " + std::to_string(res->status) + ": " +
                               Snippet(res->body));
    json j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      return util::Unavailable("workspace runtime at " + endpoint + " answered " + path +
                               " with something that is not a JSON object: " + Snippet(res->body));
    return j;
  } catch (const std::exception& e) {
    return util::Unavailable("workspace runtime at " + endpoint + ": " + e.what());
  }
}

std::string StrOr(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool BoolOr(const json& j, const char* key, bool def) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
}

}  // namespace

RuntimeClient::RuntimeClient(std::string endpoint, std::string control_key, double timeout_seconds)
    : endpoint_(std::move(endpoint)),
      control_key_(std::move(control_key)),
      timeout_seconds_(timeout_seconds) {}

util::Result<Health> RuntimeClient::GetHealth() const {
  json j = MLV_TRY(Call(endpoint_, "GET", "/api/v1/health", control_key_, "", timeout_seconds_));
  Health h;
  h.status = StrOr(j, "status");
  h.version = StrOr(j, "version");
  h.workspace_crn = StrOr(j, "workspaceCrn");
  h.domain = StrOr(j, "domain");
  h.quiesced = BoolOr(j, "quiesced", false);
  h.reconciled = BoolOr(j, "reconciled", false);
  if (auto it = j.find("leaseGeneration"); it != j.end() && it->is_number_unsigned())
    h.lease_generation = it->get<uint64_t>();
  return h;
}

util::Result<Lease> RuntimeClient::Quiesce(int lease_seconds) const {
  json body = {{"leaseSeconds", lease_seconds}};
  json j = MLV_TRY(
      Call(endpoint_, "POST", "/internal/v1/quiesce", control_key_, body.dump(), timeout_seconds_));
  if (!BoolOr(j, "quiesced", false))
    return util::Unavailable("workspace runtime at " + endpoint_ +
                             " did not confirm the quiesce: " + j.dump());
  Lease lease;
  if (auto it = j.find("leaseExpiresAt"); it != j.end() && it->is_string())
    if (auto t = util::ParseTime(it->get<std::string>())) lease.expires_at = *t;
  if (auto it = j.find("leaseGeneration"); it != j.end() && it->is_number_unsigned())
    lease.generation = it->get<uint64_t>();
  return lease;
}

util::Status RuntimeClient::LeaseHeld(uint64_t generation) const {
  json j =
      MLV_TRY(Call(endpoint_, "GET", "/internal/v1/status", control_key_, "", timeout_seconds_));
  auto it = j.find("leaseGeneration");
  if (it == j.end() || !it->is_number_unsigned())
    return util::Unavailable("workspace runtime at " + endpoint_ +
                             " does not report a lease generation, so the quiesce cannot be "
                             "verified; upgrade the runtime");
  uint64_t now = it->get<uint64_t>();
  bool quiesced = BoolOr(j, "quiesced", false);
  if (now == generation && quiesced) return util::Ok();
  return util::Unavailable(
      "the workspace's quiesce lease was not held for the whole consistent pass: it was granted "
      "as generation " +
      std::to_string(generation) + ", and the runtime now reports generation " +
      std::to_string(now) + (quiesced ? " (quiesced again by someone else)" : " (not quiesced)") +
      " — the lease lapsed, or another caller resumed or quiesced the workspace meanwhile");
}

util::Status RuntimeClient::Resume() const {
  json j =
      MLV_TRY(Call(endpoint_, "POST", "/internal/v1/resume", control_key_, "{}", timeout_seconds_));
  if (BoolOr(j, "quiesced", true))
    return util::Unavailable("workspace runtime at " + endpoint_ +
                             " did not confirm the resume: " + j.dump());
  return util::Ok();
}

util::Result<std::vector<ResumedService>> RuntimeClient::ResumeServices() const {
  json j = MLV_TRY(Call(endpoint_, "POST", "/internal/v1/resume-services", control_key_, "{}",
                        timeout_seconds_));
  if (!j.contains("started") || !j["started"].is_array())
    return util::Unavailable("workspace runtime at " + endpoint_ +
                             " answered resume-services without \"started\": " + j.dump());
  std::vector<ResumedService> out;
  for (const json& s : j["started"]) {
    if (!s.is_object()) continue;
    out.push_back({s.value("type", ""), s.value("name", ""), s.value("status", ""),
                   s.value("message", "")});
  }
  return out;
}

}  // namespace mlvault::workspace
