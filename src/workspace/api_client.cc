#include "workspace/api_client.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <thread>

#include "util/clock.h"

namespace mlvault::workspace {
namespace {

std::string Snippet(const std::string& body) {
  std::string s = body.substr(0, 300);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// The runtime's {"error": "..."} sentence, or the body's start.
std::string Reason(const std::string& body) {
  const std::string key = "\"error\":";
  size_t at = body.find(key);
  if (at == std::string::npos) return Snippet(body);
  size_t q1 = body.find('"', at + key.size());
  size_t q2 = q1 == std::string::npos ? q1 : body.find('"', q1 + 1);
  while (q2 != std::string::npos && body[q2 - 1] == '\\') q2 = body.find('"', q2 + 1);
  if (q2 == std::string::npos) return Snippet(body);
  return body.substr(q1 + 1, q2 - q1 - 1);
}

}  // namespace

WorkspaceApiClient::WorkspaceApiClient(std::string endpoint, std::string api_key,
                                       double timeout_seconds, double busy_wait_seconds)
    : endpoint_(std::move(endpoint)),
      api_key_(std::move(api_key)),
      timeout_seconds_(timeout_seconds),
      busy_wait_seconds_(busy_wait_seconds) {}

std::string WorkspaceApiClient::EncodePath(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

util::Result<std::string> WorkspaceApiClient::Call(const std::string& method,
                                                   const std::string& path,
                                                   const std::string& json_body) const {
  return Send(method, path, json_body, "application/json");
}

util::Result<std::string> WorkspaceApiClient::PutBytes(const std::string& path,
                                                       util::ByteView data) const {
  return Send("PUT", path, std::string(util::AsString(data)), "application/octet-stream");
}

util::Result<std::string> WorkspaceApiClient::Send(const std::string& method,
                                                   const std::string& path,
                                                   const std::string& body,
                                                   const std::string& content_type) const {
  double deadline = util::MonotonicSeconds() + busy_wait_seconds_;
  std::string what = method + " " + path;
  while (true) {
    httplib::Result res{nullptr, httplib::Error::Unknown};
    try {
      httplib::Client cli(endpoint_);
      cli.set_connection_timeout(5, 0);
      cli.set_read_timeout(static_cast<time_t>(timeout_seconds_), 0);
      cli.set_write_timeout(static_cast<time_t>(timeout_seconds_), 0);
      httplib::Headers headers = {{"Authorization", "Bearer " + api_key_}};
      if (method == "GET") res = cli.Get(path, headers);
      else if (method == "DELETE") res = cli.Delete(path, headers);
      else if (method == "PUT") res = cli.Put(path, headers, body, content_type);
      else res = cli.Post(path, headers, body.empty() ? "{}" : body, content_type);
    } catch (const std::exception& e) {
      return util::Unavailable("workspace runtime at " + endpoint_ + ": " + e.what());
    }
    if (!res)
      return util::Unavailable("workspace runtime at " + endpoint_ + " did not answer " + what +
                               ": " + httplib::to_string(res.error()));
    int status = res->status;
    if (status >= 200 && status < 300) return res->body;
    std::string why = "workspace runtime answered " + what + " with HTTP " +
                      std::to_string(status) + ": " + Reason(res->body);
    if (status == 503 && util::MonotonicSeconds() < deadline) {
      double wait = 1;
      if (res->has_header("Retry-After"))
        wait = std::clamp(std::atof(res->get_header_value("Retry-After").c_str()), 0.2, 10.0);
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(wait * 1000)));
      continue;
    }
    if (status == 400) return util::InvalidArgument(why);
    if (status == 404) return util::NotFound(why);
    if (status == 409) return util::Conflict(why);
    if (status == 401 || status == 403) return util::PermissionDenied(why);
    return util::Unavailable(why);
  }
}

}  // namespace mlvault::workspace
