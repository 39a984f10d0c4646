// The workspace server's frame (docs/workspace-api.md): life cycle, routing, callers and their
// keys, body limits, health and quiesce, and forwarding to applications and deployed models. The
// request and reply helpers are in server_json.cc, the /api/v1 resources in api.cc.
#include <fmt/core.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include "runtime/server_internal.h"
#include "util/files.h"
#include "util/log.h"

namespace mlvault::runtime {

// ---- WorkspaceServer

WorkspaceServer::WorkspaceServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WorkspaceServer::~WorkspaceServer() { Stop(); }

util::Result<std::unique_ptr<WorkspaceServer>> WorkspaceServer::Create(ServeOptions o,
                                                                       const util::Clock& clock) {
  ListenAddress listen = MLV_TRY_CTX(ParseListenAddress(o.listen), "--listen");
  CidrSet allow = MLV_TRY_CTX(CidrSet::Parse(o.authorized_ip_ranges), "--authorized-ip-ranges");
  if (o.domain.empty()) return util::InvalidArgument("--domain is required");
  for (char c : o.domain)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
      return util::InvalidArgument("--domain '" + o.domain + "' is not a host name");
  if (o.workspace_crn.empty()) return util::InvalidArgument("--workspace-crn is required");
  if (o.projects_dir.empty() || o.models_dir.empty() || o.metadata_path.empty())
    return util::InvalidArgument("--projects, --models and --metadata are required");
  if (o.api_key.size() < 16 || o.control_key.size() < 16)
    return util::InvalidArgument("the API key and the control key must be at least 16 characters");
  if (o.api_key == o.control_key)
    return util::InvalidArgument("the API key and the control key must differ");
  if (o.quiesce_drain_seconds < 1 || o.quiesce_drain_seconds > 600)
    return util::InvalidArgument("--quiesce-drain-seconds must be between 1 and 600");
  if (o.app_start_timeout_seconds < 1 || o.app_start_timeout_seconds > 3600)
    return util::InvalidArgument("--app-start-timeout-seconds must be between 1 and 3600");
  if (o.max_upload_bytes < 1) return util::InvalidArgument("--max-upload-bytes must be positive");
  if (o.header_timeout_seconds < 1 || o.header_timeout_seconds > 600)
    return util::InvalidArgument("--header-timeout-seconds must be between 1 and 600");
  if (o.request_timeout_seconds < 1 || o.request_timeout_seconds > 86400)
    return util::InvalidArgument("--request-timeout-seconds must be between 1 and 86400");
  if (o.workers < 4 || o.workers > 1024)
    return util::InvalidArgument("--workers must be between 4 and 1024");
  return std::unique_ptr<WorkspaceServer>(new WorkspaceServer(
      std::make_unique<Impl>(std::move(o), clock, std::move(listen), std::move(allow))));
}

util::Result<int> WorkspaceServer::Start() { return impl_->Start(); }
void WorkspaceServer::Wait() { impl_->Wait(); }
void WorkspaceServer::Stop() { impl_->Stop(); }

// ---- Impl: life cycle

util::Result<int> WorkspaceServer::Impl::Start() {
  projects_ = MLV_TRY_CTX(Volume::Open(options_.projects_dir), "projects volume");
  models_ = MLV_TRY_CTX(Volume::Open(options_.models_dir), "models volume");
  std::string meta_dir = std::filesystem::path(options_.metadata_path).parent_path().string();
  if (!meta_dir.empty()) MLV_TRY(util::MakeDirs(meta_dir));
  store_ = MLV_TRY(Store::Open(options_.metadata_path));

  WriteGate::Hooks hooks;
  hooks.on_quiesced = [this]() -> util::Status {
    // Runs first, so that they stop changing project files before the flush.
    if (workloads_) workloads_->PauseRuns();
    MLV_TRY(projects_->Sync());
    MLV_TRY(models_->Sync());
    MLV_TRY(store_->Checkpoint());
    return util::Ok();
  };
  hooks.on_resumed = [this] {
    if (workloads_) workloads_->ContinueRuns();
  };
  gate_ = std::make_unique<WriteGate>(clock_, std::move(hooks));
  WorkloadOptions wo;
  wo.workspace_crn = options_.workspace_crn;
  wo.start_timeout = std::chrono::seconds(options_.app_start_timeout_seconds);
  wo.start_paused = options_.start_paused;
  workloads_ = std::make_unique<Workloads>(*store_, *gate_, *projects_, *models_, clock_, wo);

  // Timeouts, keep-alive and the worker pool are GuardedServer's (LimitsOf).
  http_.set_payload_max_length(options_.max_upload_bytes);
  http_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return PreRoute(req, res); });
  http_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                      httplib::Response& res) {
    // Our own errors and forwarded answers (marked by Via) are left as they are.
    if (!res.body.empty() || res.has_header("Via"))
      return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404) {
      std::string allow;
      for (const auto& r : routes_)
        if (r.method != req.method && std::regex_match(req.path, r.pattern))
          allow += (allow.empty() ? "" : ", ") + r.method;
      if (!allow.empty()) {
        res.set_header("Allow", allow);
        SendError(
            res, 405, "method-not-allowed",
            fmt::format("{} is not allowed on {} (allowed: {})", req.method, req.path, allow));
        return httplib::Server::HandlerResponse::Handled;
      }
      SendError(res, 404, "not-found", fmt::format("no such route: {} {}", req.method, req.path));
    } else if (res.status == 413 || (res.status == 400 && GuardedServer::BodyLimitHit())) {
      SendError(res, 413, "too-large", "the request body is too large");
    } else if (res.status == 400) {
      SendError(res, 400, "invalid-argument", "the request is malformed");
    } else {
      SendError(res, res.status, "error", fmt::format("HTTP {}", res.status));
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        util::Log(util::LogLevel::kError, "request failed: {}", what);
        SendError(res, 500, "internal", "internal error: " + what);
      });

  RegisterFrameRoutes();
  RegisterApiRoutes();

  if (listen_.port == 0) {
    port_ = http_.bind_to_any_port(listen_.host);
    if (port_ <= 0) return util::Unavailable("cannot bind " + listen_.host + " to a free port");
  } else {
    if (!http_.bind_to_port(listen_.host, listen_.port))
      return util::Unavailable(fmt::format("cannot bind {}:{} (in use or not a local address)",
                                           listen_.host, listen_.port));
    port_ = listen_.port;
  }
  listener_ = std::thread([this] {
    if (!http_.listen_after_bind())
      util::Log(util::LogLevel::kError, "the server stopped listening");
    util::MutexLock lock(life_mu_);
    listener_exited_ = true;
    life_cv_.NotifyAll();
  });

  if (!options_.ready_file.empty()) {
    std::string host = listen_.host;
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    json ready = {{"pid", static_cast<int64_t>(::getpid())},
                  {"port", port_},
                  {"endpoint", fmt::format("http://{}:{}", host, port_)}};
    MLV_TRY_CTX(util::WriteFileAtomic(options_.ready_file, ready.dump() + "\n"), "--ready-file");
  }
  workloads_->StartReconcile();
  util::Log(util::LogLevel::kInfo, "workspace {} serving {} on port {}", options_.workspace_crn,
            options_.domain, port_);
  return port_;
}

void WorkspaceServer::Impl::Wait() {
  util::MutexLock lock(life_mu_);
  while (!done_ && !listener_exited_) life_cv_.Wait(life_mu_);
}

void WorkspaceServer::Impl::Stop() {
  {
    util::MutexLock lock(life_mu_);
    if (stopping_) {
      while (!done_) life_cv_.Wait(life_mu_);
      return;
    }
    stopping_ = true;
  }
  // Processes first: requests forwarded to them then end at once instead of holding the
  // server's shutdown for their read timeout. Requests arriving meanwhile get "stopping".
  if (workloads_) workloads_->Shutdown();
  http_.stop();
  http_.CloseAll();  // slow or idle clients do not hold the shutdown
  if (listener_.joinable()) listener_.join();
  util::MutexLock lock(life_mu_);
  done_ = true;
  life_cv_.NotifyAll();
}

void WorkspaceServer::Impl::Route(const std::string& method, const std::string& pattern,
                                  Access access, Handler h) {
  routes_.push_back({method, std::regex(pattern)});
  auto wrapped = [this, access, h = std::move(h)](const httplib::Request& req,
                                                  httplib::Response& res) {
    // JSON endpoints take small bodies (uploads and forwarding have their own routes).
    if (req.body.size() > kMaxJsonBody)
      return SendError(res, 413, "too-large",
                       fmt::format("the JSON body is {} bytes; at most {} are accepted",
                                   req.body.size(), kMaxJsonBody));
    std::optional<WriteGate::Ticket> ticket;
    if (access == Access::kWrite) {
      ticket = gate_->TryEnter();
      if (!ticket) return SendBackupInProgress(res);
    }
    Send(res, h(req));
  };
  if (method == "GET")
    http_.Get(pattern, wrapped);
  else if (method == "POST")
    http_.Post(pattern, wrapped);
  else if (method == "PUT")
    http_.Put(pattern, wrapped);
  else if (method == "DELETE")
    http_.Delete(pattern, wrapped);
  else if (method == "PATCH")
    http_.Patch(pattern, wrapped);
}

// ---- Impl: frame

void WorkspaceServer::Impl::SendError(httplib::Response& res, int status, std::string_view code,
                                      const std::string& msg) {
  res.status = status;
  res.set_content(DumpJson({{"error", msg}, {"code", code}}), "application/json");
}

void WorkspaceServer::Impl::SendBackupInProgress(httplib::Response& res) {
  int64_t retry = 1;
  if (auto exp = gate_->lease_expires_at()) {
    double left = static_cast<double>(*exp - clock_.Now()) / 1e6;
    retry = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(left)));
  }
  res.set_header("Retry-After", std::to_string(retry));
  SendError(res, 503, "unavailable", "backup in progress");
}

void WorkspaceServer::Impl::Send(httplib::Response& res, const util::Result<Reply>& reply) {
  if (!reply) {
    const util::Error& e = reply.error();
    int status = HttpStatusFor(e.code());
    if (status >= 500 && status != 503)
      util::Log(util::LogLevel::kError, "request failed: {}", e.ToString());
    if (status == 503) res.set_header("Retry-After", "1");
    SendError(res, status, util::CodeName(e.code()), e.message());
    return;
  }
  res.status = reply->status;
  for (const auto& [k, v] : reply->headers) res.set_header(k, v);
  if (reply->raw)
    res.set_content(*reply->raw, reply->content_type);
  else
    res.set_content(DumpJson(reply->body), "application/json");
}

namespace {
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}
bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
}  // namespace

ConnectionLimits WorkspaceServer::Impl::LimitsOf(const ServeOptions& o) {
  ConnectionLimits l;
  l.workers = o.workers;
  l.header_timeout = std::chrono::seconds(o.header_timeout_seconds);
  l.request_timeout = std::chrono::seconds(o.request_timeout_seconds);
  return l;
}

WorkspaceServer::Impl::Caller WorkspaceServer::Impl::CallerOf(const httplib::Request& req) const {
  std::string auth = req.get_header_value("Authorization");
  if (auth.size() <= 7 || !(StartsWith(auth, "Bearer ") || StartsWith(auth, "bearer ")))
    return Caller::kNone;
  std::string_view token = std::string_view(auth).substr(7);
  if (ConstantTimeEquals(token, options_.control_key)) return Caller::kControl;
  if (ConstantTimeEquals(token, options_.api_key)) return Caller::kApi;
  return Caller::kNone;
}

uint64_t WorkspaceServer::Impl::BodyLimitFor(const httplib::Request& req) const {
  if (StartsWith(req.path, "/apps/") || StartsWith(req.path, "/models/")) return kMaxForwardBody;
  // File uploads stream to disk: PUT /api/v1/projects/<id>/files/<path>.
  if (req.method == "PUT" && StartsWith(req.path, "/api/v1/projects/") &&
      req.path.find("/files/") != std::string::npos)
    return options_.max_upload_bytes;
  return kMaxJsonBody;
}

httplib::Server::HandlerResponse WorkspaceServer::Impl::PreRoute(const httplib::Request& req,
                                                                 httplib::Response& res) {
  using HR = httplib::Server::HandlerResponse;
  // The headers are in: from here the request deadline applies, and no more body is read than
  // the route takes (a chunked body's framing may add to it; the decoded size is checked again).
  const uint64_t limit = BodyLimitFor(req);
  const bool chunked = req.has_header("Transfer-Encoding");
  std::optional<uint64_t> length;
  if (req.has_header("Content-Length")) {
    const std::string v = req.get_header_value("Content-Length");
    uint64_t len = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), len);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
      GuardedServer::HeadersDone(0);
      GuardedServer::CloseAfterResponse();
      SendError(res, 400, "invalid-argument", "the Content-Length header is not a number");
      return HR::Handled;
    }
    length = len;
  }
  GuardedServer::HeadersDone(chunked ? 2 * limit + 65536 : length.value_or(0));
  // Refused before its body was read: the connection cannot carry another request.
  const bool has_body = chunked || length.value_or(0) > 0;
  auto refuse = [&] {
    if (has_body) GuardedServer::CloseAfterResponse();
    return HR::Handled;
  };

  if (!req.has_header("Host")) {
    SendError(res, 400, "invalid-argument", "the request has no Host header");
    return refuse();
  }
  std::string host = req.get_header_value("Host");
  if (!HostIsForWorkspace(host, options_.domain, listen_.host)) {
    SendError(res, 421, "misdirected",
              "this endpoint serves workspace " + options_.domain + ", not '" + host + "'");
    return refuse();
  }
  bool internal = StartsWith(req.path, "/internal/");
  if (!internal && !allow_.empty() && !allow_.Contains(req.remote_addr)) {
    SendError(
        res, 403, "forbidden",
        "client address " + req.remote_addr + " is not in the workspace's authorized IP ranges");
    return refuse();
  }
  bool health = req.path == "/api/v1/health" && (req.method == "GET" || req.method == "HEAD");
  if (!health) {
    std::string auth = req.get_header_value("Authorization");
    Caller caller = CallerOf(req);
    if (caller != (internal ? Caller::kControl : Caller::kApi)) {
      res.set_header("WWW-Authenticate", "Bearer");
      SendError(res, 401, "unauthenticated",
                auth.empty() ? std::string("an Authorization: Bearer token is required")
                             : std::string(internal ? "the control key is not valid"
                                                    : "the API key is not valid"));
      return refuse();
    }
  }
  // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3); say so,
  // because the HTTP library would otherwise refuse such a POST as malformed.
  if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH") && !length &&
      !chunked) {
    const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
  }
  // A body larger than the route takes is refused before it is read: a small excess is read
  // and dropped (the client, still sending, then sees the answer), a large one closes the
  // connection after the answer.
  if (length && *length > limit) {
    if (*length > kDrainLimit || !GuardedServer::DrainBody(*length)) {
      res.set_header("Connection", "close");
      GuardedServer::CloseAfterResponse();
    }
    SendError(res, 413, "too-large",
              fmt::format("the request body is {} bytes; at most {} are accepted here", *length,
                          limit));
    return HR::Handled;
  }
  return HR::Unhandled;
}

util::Result<Reply> WorkspaceServer::Impl::Health(const httplib::Request& req) {
  Reply r;
  auto exp = gate_->lease_expires_at();
  r.body = {{"status", "ok"},
            {"version", kWorkspaceVersion},
            {"quiesced", exp.has_value()},
            {"leaseExpiresAt", exp ? json(util::FormatTime(*exp)) : json(nullptr)},
            {"reconciled", workloads_->reconciled()}};
  // Who the workspace is, only to a caller with one of its keys.
  if (CallerOf(req) != Caller::kNone) {
    r.body["workspaceCrn"] = options_.workspace_crn;
    r.body["domain"] = options_.domain;
    r.body["leaseGeneration"] = gate_->lease_generation();
  }
  return r;
}

util::Result<Reply> WorkspaceServer::Impl::Quiesce(const httplib::Request& req) {
  json body = MLV_TRY(ParseJsonBody(req, /*allow_empty=*/true));
  MLV_TRY(OnlyFields(body, {"leaseSeconds", "drainTimeoutSeconds"}));
  auto lease = MLV_TRY(IntField(body, "leaseSeconds", 1, 3600));
  auto drain = MLV_TRY(IntField(body, "drainTimeoutSeconds", 1, 600));
  uint64_t generation = 0;
  auto expiry = MLV_TRY(
      gate_->Quiesce(std::chrono::seconds(lease.value_or(60)),
                     std::chrono::seconds(drain.value_or(options_.quiesce_drain_seconds)),
                     &generation));
  Reply r;
  r.body = {{"quiesced", true},
            {"leaseExpiresAt", util::FormatTime(expiry)},
            {"leaseGeneration", generation}};
  return r;
}

void WorkspaceServer::Impl::RegisterFrameRoutes() {
  Route("GET", "/api/v1/health", Access::kRead,
        [this](const httplib::Request& req) { return Health(req); });
  Route("POST", "/internal/v1/quiesce", Access::kRead,
        [this](const httplib::Request& req) { return Quiesce(req); });
  Route("POST", "/internal/v1/resume", Access::kRead,
        [this](const httplib::Request& req) -> util::Result<Reply> {
          json body = MLV_TRY(ParseJsonBody(req, true));
          MLV_TRY(OnlyFields(body, {}));
          gate_->Resume();
          Reply r;
          r.body = {{"quiesced", false}, {"leaseGeneration", gate_->lease_generation()}};
          return r;
        });
  // Starts the applications and deployments a paused start left "paused".
  Route("POST", "/internal/v1/resume-services", Access::kRead,
        [this](const httplib::Request& req) -> util::Result<Reply> {
          json body = MLV_TRY(ParseJsonBody(req, true));
          MLV_TRY(OnlyFields(body, {}));
          json started = json::array();
          for (const ResumedService& s : MLV_TRY(workloads_->ResumePaused()))
            started.push_back({{"type", s.type},
                               {"id", s.id},
                               {"name", s.name},
                               {"status", s.status},
                               {"message", s.message}});
          Reply r;
          r.body = {{"started", started}};
          return r;
        });
  Route("GET", "/internal/v1/status", Access::kRead,
        [this](const httplib::Request&) -> util::Result<Reply> {
          auto exp = gate_->lease_expires_at();
          Reply r;
          r.body = {{"quiesced", exp.has_value()},
                    {"leaseExpiresAt", exp ? json(util::FormatTime(*exp)) : json(nullptr)},
                    {"leaseGeneration", gate_->lease_generation()},
                    {"writesInFlight", gate_->in_flight()},
                    {"reconciled", workloads_->reconciled()}};
          return r;
        });

  // Forwarding: every method.
  for (bool is_app : {true, false}) {
    std::string pattern =
        std::string(is_app ? "/apps/([^/]+)" : "/models/([^/]+)") + "(/[\\s\\S]*)?";
    auto fwd = [this, is_app](const httplib::Request& req, httplib::Response& res) {
      Forward(req, res, is_app);
    };
    http_.Get(pattern, fwd);
    http_.Post(pattern, fwd);
    http_.Put(pattern, fwd);
    http_.Patch(pattern, fwd);
    http_.Delete(pattern, fwd);
    http_.Options(pattern, fwd);
  }
}

void WorkspaceServer::Impl::Forward(const httplib::Request& req, httplib::Response& res,
                                    bool is_app) {
  std::string name = req.matches[1];
  std::string rest = req.matches[2];
  std::string prefix = std::string(is_app ? "/apps/" : "/models/") + name;
  if (!IsDnsLabel(name))
    return SendError(res, 404, "not-found",
                     "'" + name + "' is not a valid " + (is_app ? "subdomain" : "model name"));
  std::optional<int> port;
  if (is_app) {
    port = workloads_->AppPort(name);
    if (!port) {
      auto apps = store_->ListApps(std::nullopt);
      bool known = false;
      if (apps)
        for (const auto& a : *apps) known = known || a.subdomain == name;
      if (!known)
        return SendError(res, 404, "not-found", "no application has the subdomain '" + name + "'");
      res.set_header("Retry-After", "1");
      return SendError(res, 503, "unavailable", "application '" + name + "' is not running");
    }
  } else {
    auto model = store_->GetModelByName(name);
    if (!model) return SendError(res, 404, "not-found", model.error().message());
    port = workloads_->ModelPort(name);
    if (!port) {
      res.set_header("Retry-After", "1");
      return SendError(res, 503, "unavailable", "model '" + name + "' has no running deployment");
    }
  }
  if (rest.empty()) {
    // "/apps/x" -> "/apps/x/" so that relative links in the application resolve below it.
    std::string query;
    size_t q = req.target.find('?');
    if (q != std::string::npos) query = req.target.substr(q);
    res.set_redirect(prefix + "/" + query, 308);
    return;
  }
  // Keep the client's own encoding of the rest of the target when it is recognisable.
  std::string target;
  if (StartsWith(req.target, prefix + "/")) {
    target = req.target.substr(prefix.size());
  } else {
    static const char* kHex = "0123456789ABCDEF";
    for (unsigned char c : rest) {
      if (std::isalnum(c) || std::strchr("/-._~!$&'()*+,;=:@", c)) {
        target += static_cast<char>(c);
      } else {
        target += '%';
        target += kHex[c >> 4];
        target += kHex[c & 15];
      }
    }
    size_t q = req.target.find('?');
    if (q != std::string::npos) target += req.target.substr(q);
  }

  httplib::Request up;
  up.method = req.method;
  up.path = target;
  static const char* kDropped[] = {"Host",
                                   "Authorization",
                                   "Connection",
                                   "Keep-Alive",
                                   "Proxy-Connection",
                                   "Transfer-Encoding",
                                   "TE",
                                   "Trailer",
                                   "Upgrade",
                                   "Content-Length",
                                   "REMOTE_ADDR",
                                   "REMOTE_PORT",
                                   "LOCAL_ADDR",
                                   "LOCAL_PORT"};
  for (const auto& [k, v] : req.headers) {
    bool drop = false;
    for (const char* d : kDropped) drop = drop || strcasecmp(k.c_str(), d) == 0;
    if (!drop) up.headers.emplace(k, v);
  }
  up.headers.emplace("X-Forwarded-For", req.remote_addr);
  up.headers.emplace("X-Forwarded-Host", req.get_header_value("Host"));
  up.headers.emplace("X-Forwarded-Prefix", prefix);
  up.body = req.body;
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
    up.headers.emplace("Content-Length", std::to_string(req.body.size()));

  httplib::Client cli("127.0.0.1", *port);
  cli.set_url_encode(false);
  cli.set_connection_timeout(2, 0);
  cli.set_read_timeout(60, 0);
  cli.set_write_timeout(60, 0);
  auto result = cli.send(up);
  if (!result) {
    return SendError(res, 502, "bad-gateway",
                     fmt::format("{} '{}' did not answer: {}", is_app ? "application" : "model",
                                 name, httplib::to_string(result.error())));
  }
  res.status = result->status;
  res.set_header("Via", "1.1 mlvault-workspace");
  std::string content_type = "application/octet-stream";
  for (const auto& [k, v] : result->headers) {
    if (strcasecmp(k.c_str(), "Content-Type") == 0) {
      content_type = v;
      continue;
    }
    bool drop = false;
    for (const char* d : kDropped) drop = drop || strcasecmp(k.c_str(), d) == 0;
    if (!drop) res.headers.emplace(k, v);
  }
  res.set_content(result->body, content_type);
}

}  // namespace mlvault::runtime
