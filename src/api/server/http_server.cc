#include "api/server/http_server.h"

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "api/server/request_body.h"
#include "api/status.h"
#include "util/clock.h"
#include "util/random.h"

namespace mlvault::api {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kCsp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'";

// What the access log and the metrics need of the request this thread is answering. Set by
// the pre-routing handler, completed by the handlers, consumed by the logger (all on one thread).
struct RequestState {
  bool active = false;
  Clock::time_point start;
  std::string request_id;
  std::string label;  // metrics "operation" label
  std::string access_key_id;
  std::string principal;
  std::string error_code;
};
thread_local RequestState t_request;

std::string Peer(const httplib::Request& req) {
  return req.remote_addr + ":" + std::to_string(req.remote_port);
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, std::string_view code,
               const std::string& message, const std::string& field = "") {
  json e = {{"code", code}, {"message", message}, {"requestId", t_request.request_id}};
  if (!field.empty()) e["field"] = field;
  t_request.error_code = code;
  SendJson(res, status, {{"error", e}});
}

void SendUtilError(httplib::Response& res, const util::Error& error) {
  SendError(res, HttpStatusFor(error.code()), util::CodeName(error.code()), error.message(),
            error.field());
}

RequestView ViewOf(const httplib::Request& req, bool secure) {
  RequestView v;
  v.method = req.method;
  v.path = req.target;
  v.content_type = req.get_header_value("Content-Type");
  v.authorization = req.get_header_value("Authorization");
  v.date = req.get_header_value(std::string(kDateHeader));
  v.nonce = req.get_header_value(std::string(kNonceHeader));
  v.cookie = req.get_header_value("Cookie");
  v.csrf_token = req.get_header_value("X-CSRF-Token");
  v.body = req.body;
  v.source_ip = req.remote_addr;
  v.secure = secure;
  return v;
}

json SessionJson(const SessionInfo& s) {
  return {{"user",
           {{"userName", s.caller.principal_name},
            {"userCrn", s.caller.principal_crn},
            {"accountId", s.caller.account_id}}},
          {"csrfToken", s.csrf_token},
          {"accessKeyId", s.access_key_id},
          {"expiresAt", util::FormatTime(s.expires_at)}};
}

}  // namespace

ApiServer::ApiServer(ServerOptions options, ServerEnv env)
    : options_(std::move(options)),
      env_(std::move(env)),
      auth_(util::Clock::System(), env_.catalog_wide_auth),
      limiter_(options_.rate_limit_per_second, options_.rate_limit_burst) {
  openapi_ = OpenApiDocument(env_.operations).dump(2);
}

ApiServer::~ApiServer() {
  Stop();
  if (log_ && own_log_) fclose(log_);
}

catalog::Db* ApiServer::ThreadDb(std::string* error) {
  // One connection per (thread, server): the Db type is not thread-safe.
  thread_local std::map<const ApiServer*, std::unique_ptr<catalog::Db>> dbs;
  auto& slot = dbs[this];
  if (!slot) {
    auto db = env_.open_db();
    if (!db) {
      *error = db.error().message();
      return nullptr;
    }
    slot = std::move(*db);
  }
  return slot.get();
}

void ApiServer::Log(const json& line) {
  if (!log_) return;
  std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  util::MutexLock lock(log_mu_);
  fwrite(text.data(), 1, text.size(), log_);
  fflush(log_);
}

util::Status ApiServer::Bind() {
  if (options_.tls_cert.empty() != options_.tls_key.empty())
    return util::InvalidArgument("--tls-cert and --tls-key go together: give both or neither");
  if (!options_.tls_cert.empty()) {
    for (const auto& f : {options_.tls_cert, options_.tls_key})
      if (!std::filesystem::is_regular_file(f))
        return util::InvalidArgument("TLS file " + f + " does not exist or is not a file");
    auto ssl =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
    if (!ssl->is_valid())
      return util::InvalidArgument("cannot use --tls-cert " + options_.tls_cert +
                                   " and --tls-key " + options_.tls_key +
                                   ": not a PEM certificate and its unencrypted private key");
    http_ = std::move(ssl);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  if (!options_.access_log.empty()) {
    if (options_.access_log == "-") {
      log_ = stderr;
    } else {
      log_ = fopen(options_.access_log.c_str(), "ae");
      if (!log_) return util::ErrnoError("access log " + options_.access_log, errno);
      own_log_ = true;
    }
  }
  const int workers = std::max(1, options_.workers);
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_keep_alive_max_count(options_.keep_alive_max_requests);
  http_->set_keep_alive_timeout(options_.keep_alive_seconds);
  http_->set_read_timeout(std::min<time_t>(5, static_cast<time_t>(options_.header_timeout_seconds)),
                          0);
  http_->set_write_timeout(10, 0);
  http_->set_tcp_nodelay(true);
  Routes();
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ <= 0) return util::Unavailable("cannot listen on " + options_.host + " (any port)");
  } else {
    if (!http_->bind_to_port(options_.host, options_.port))
      return util::Unavailable("cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) +
                               " (in use, or not an address of this machine)");
    port_ = options_.port;
  }
  guard_ = std::make_unique<SlowClientGuard>(port_, options_.header_timeout_seconds,
                                             options_.body_timeout_seconds);
  return util::Ok();
}

void ApiServer::Serve() {
  if (http_) http_->listen_after_bind();
}

void ApiServer::Stop() {
  if (http_ && http_->is_running()) http_->stop();
}

void ApiServer::Routes() {
  httplib::Server& s = *http_;
  const bool secure = tls();

  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request = RequestState{};
    t_request.active = true;
    t_request.start = Clock::now();
    t_request.request_id = req.get_header_value(std::string(kRequestIdHeader));
    if (t_request.request_id.empty() || t_request.request_id.size() > 64)
      t_request.request_id = util::RandomHex(12);
    t_request.label = "static";
    res.set_header(std::string(kRequestIdHeader), t_request.request_id);
    res.set_header("X-Content-Type-Options", "nosniff");
    if (guard_) guard_->HeadersReceived(Peer(req));
    // Refuse an oversized body by its declared length, before reading a byte of it.
    if (req.has_header("Content-Length")) {
      uint64_t len = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
      if (len > options_.max_body_bytes) {
        res.set_header("Connection", "close");
        SendError(res, 413, "invalid-argument",
                  "the request body is " + std::to_string(len) + " bytes; the limit is " +
                      std::to_string(options_.max_body_bytes));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Metrics and the access log are written just before the answer goes out (so a client that
  // reads /metrics after its answer sees its request counted).
  s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    RequestState st = t_request.active ? t_request : RequestState{};
    t_request.active = false;
    if (st.request_id.empty()) {
      st.request_id = util::RandomHex(12);
      res.set_header(std::string(kRequestIdHeader), st.request_id);
    }
    double secs = st.active ? std::chrono::duration<double>(Clock::now() - st.start).count() : 0;
    metrics_.Record(st.label.empty() ? "other" : st.label, res.status, secs);
    json line = {{"time", util::FormatTime(util::Clock::System().Now())},
                 {"requestId", st.request_id},
                 {"remoteAddr", req.remote_addr},
                 {"method", req.method},
                 {"path", req.path},
                 {"operation", st.label},
                 {"status", res.status},
                 {"durationMs", secs * 1000},
                 {"bytesIn", req.body.size()},
                 {"bytesOut", res.body.size()}};
    if (!st.access_key_id.empty()) line["accessKeyId"] = st.access_key_id;
    if (!st.principal.empty()) line["principal"] = st.principal;
    if (!st.error_code.empty()) line["errorCode"] = st.error_code;
    if (req.has_header("User-Agent")) line["userAgent"] = req.get_header_value("User-Agent");
    Log(line);
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response&) {
    if (guard_) guard_->Answered(Peer(req));
  });

  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404)
      SendError(res, 404, "not-found", "no such endpoint: " + req.method + " " + req.path);
    else if (res.status == 413)
      SendError(res, 413, "invalid-argument", "the request body is larger than the limit");
    else
      SendError(res, res.status, "invalid-argument",
                "the request could not be handled (HTTP " + std::to_string(res.status) + ")");
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, 500, "internal", "internal error: " + what);
      });

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    t_request.label = "/healthz";
    SendJson(res, 200, {{"status", "ok"}});
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    t_request.label = "/readyz";
    std::string err;
    catalog::Db* db = ThreadDb(&err);
    if (!db) return SendError(res, 503, "unavailable", "catalog unreachable: " + err);
    util::Status st = env_.ready ? env_.ready(*db) : util::Ok();
    if (!st) return SendError(res, 503, "unavailable", st.error().message());
    SendJson(res, 200, {{"status", "ready"}, {"catalog", db->Describe()}});
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    t_request.label = "/metrics";
    std::string err;
    catalog::Db* db = ThreadDb(&err);
    if (!db) return SendError(res, 503, "unavailable", "catalog unreachable: " + err);
    std::string text = metrics_.Render(*db);
    text +=
        "# HELP mlvault_http_slow_connections_cut_total Connections cut for sending too slowly.\n"
        "# TYPE mlvault_http_slow_connections_cut_total counter\n"
        "mlvault_http_slow_connections_cut_total " +
        std::to_string(guard_ ? guard_->cut() : 0) + "\n";
    if (env_.extra_metrics) text += env_.extra_metrics();
    res.status = 200;
    res.set_content(text, "text/plain; version=0.0.4");
  });
  s.Get("/api/v1/openapi.json", [this](const httplib::Request&, httplib::Response& res) {
    t_request.label = "/api/v1/openapi.json";
    res.status = 200;
    res.set_content(openapi_, "application/json");
  });

  // --- console sessions (AGREEMENTS.md section 2)
  auto cookie = [secure](const std::string& value, int max_age) {
    return std::string(kSessionCookie) + "=" + value +
           "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age) +
           (secure ? "; Secure" : "");
  };
  s.Post("/api/v1/console/challenge", [this](const httplib::Request& req, httplib::Response& res) {
    t_request.label = "console/challenge";
    if (guard_) guard_->BodyReceived(Peer(req));
    auto body = ParseBody(req.body);
    if (!body) return SendUtilError(res, body.error());
    if (!body->contains("accessKeyId") || !(*body)["accessKeyId"].is_string())
      return SendError(res, 400, "invalid-argument", "accessKeyId (a string) is required",
                       "accessKeyId");
    std::string err;
    catalog::Db* db = ThreadDb(&err);
    if (!db) return SendError(res, 503, "unavailable", "catalog unreachable: " + err);
    auto c = auth_.Challenge(*db, (*body)["accessKeyId"], req.remote_addr);
    if (!c) return SendError(res, c.error().status, "unauthenticated", c.error().message);
    SendJson(res, 200, {{"challenge", c->first}, {"expiresAt", util::FormatTime(c->second)}});
  });
  s.Post("/api/v1/console/login",
         [this, secure, cookie](const httplib::Request& req, httplib::Response& res) {
           t_request.label = "console/login";
           if (guard_) guard_->BodyReceived(Peer(req));
           auto body = ParseBody(req.body);
           if (!body) return SendUtilError(res, body.error());
           for (const char* f : {"accessKeyId", "challenge", "signature"})
             if (!body->contains(f) || !(*body)[f].is_string())
               return SendError(res, 400, "invalid-argument",
                                std::string(f) + " (a string) is required", f);
           std::string err;
           catalog::Db* db = ThreadDb(&err);
           if (!db) return SendError(res, 503, "unavailable", "catalog unreachable: " + err);
           auto s = auth_.Login(*db, (*body)["accessKeyId"], (*body)["challenge"],
                                (*body)["signature"], req.remote_addr, secure);
           if (!s) return SendError(res, s.error().status, "unauthenticated", s.error().message);
           t_request.access_key_id = s->access_key_id;
           t_request.principal = s->caller.principal_crn;
           res.set_header("Set-Cookie", cookie(s->session_id, static_cast<int>(kSessionSeconds)));
           SendJson(res, 200, SessionJson(*s));
         });
  s.Get("/api/v1/console/session", [this](const httplib::Request& req, httplib::Response& res) {
    t_request.label = "console/session";
    std::string err;
    catalog::Db* db = ThreadDb(&err);
    if (!db) return SendError(res, 503, "unavailable", "catalog unreachable: " + err);
    auto s = auth_.Session(*db, req.get_header_value("Cookie"));
    if (!s) return SendError(res, s.error().status, "unauthenticated", s.error().message);
    res.set_header("Cache-Control", "no-store");
    SendJson(res, 200, SessionJson(*s));
  });
  s.Post("/api/v1/console/logout",
         [this, cookie](const httplib::Request& req, httplib::Response& res) {
           t_request.label = "console/logout";
           std::string err;
           catalog::Db* db = ThreadDb(&err);
           if (!db) return SendError(res, 503, "unavailable", "catalog unreachable: " + err);
           if (auto out = auth_.Logout(*db, req.get_header_value("Cookie")); !out)
             return SendError(res, out.error().status, "unavailable", out.error().message);
           res.set_header("Set-Cookie", cookie("", 0));
           res.status = 204;
         });

  // --- the API
  s.Post(R"(/api/v1/([a-z]+)/([A-Za-z0-9]+))", [this, secure](const httplib::Request& req,
                                                              httplib::Response& res) {
    if (guard_) guard_->BodyReceived(Peer(req));
    const std::string service = req.matches[1], operation = req.matches[2];
    t_request.label = service + "/" + operation;
    std::string err;
    catalog::Db* db = ThreadDb(&err);
    if (!db) return SendError(res, 503, "unavailable", "catalog unreachable: " + err);
    // Nobody without a key learns anything: authentication comes first.
    auto who = auth_.Authenticate(*db, ViewOf(req, secure));
    if (!who)
      return SendError(res, who.error().status,
                       who.error().status == 401 ? "unauthenticated" : "permission-denied",
                       who.error().message);
    t_request.access_key_id = who->access_key_id;
    t_request.principal = who->caller.principal_crn;
    if (int wait = limiter_.Take(who->access_key_id); wait > 0) {
      metrics_.RecordRateLimited();
      res.set_header("Retry-After", std::to_string(wait));
      return SendError(res, 429, "unavailable",
                       "access key " + who->access_key_id + " sent more than " +
                           std::to_string(static_cast<int>(options_.rate_limit_per_second)) +
                           " requests per second; retry after " + std::to_string(wait) + " s");
    }
    if (!IsJsonContentType(req.get_header_value("Content-Type")))
      return SendError(res, 400, "invalid-argument",
                       "the Content-Type must be application/json, got '" +
                           req.get_header_value("Content-Type") + "'");
    if (!env_.operations.empty()) {
      bool known = false;
      for (const auto& op : env_.operations)
        known = known || (op.service == service && op.operation == operation);
      if (!known)
        return SendError(res, 400, "invalid-argument",
                         "unknown operation " + service + "/" + operation +
                             " (the operations are listed at /api/v1/openapi.json)");
    }
    auto body = ParseBody(req.body);
    if (!body) return SendUtilError(res, body.error());
    auto result = env_.dispatch(who->caller, service, operation, *body);
    if (!result) return SendUtilError(res, result.error());
    SendJson(res, 200, *result);
  });

  // --- the console's files
  if (!options_.console_dir.empty() && std::filesystem::is_directory(options_.console_dir)) {
    s.set_mount_point("/", options_.console_dir,
                      {{"Content-Security-Policy", kCsp}, {"X-Frame-Options", "DENY"}});
  }
}

}  // namespace mlvault::api
