// `mlvault server`'s HTTP front: the REST API (POST /api/v1/<service>/<operation>), the console's
// session endpoints and static files, and the operations endpoints (/healthz, /readyz,
// /metrics, /api/v1/openapi.json). docs/api.md is the contract.
//
// Every request gets a request id (header X-Request-Id, in every error body and in the JSON-lines
// access log). API requests are authenticated (signature or console session + CSRF token),
// rate-limited per access key, checked for content type, size and JSON syntax, and then handed
// to the injected dispatch function with the caller; its util::Error becomes
// {"error": {"code", "message", "field", "requestId"}} with the HTTP status of the category.
//
// Thread-safety: the server runs requests on `workers` threads; the dispatch function and the
// catalog opener are called from all of them (each thread opens its own catalog connection).
// log_mu_ guards the writes to the access log (the stream is chosen by Bind, before serving).
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/server/auth.h"
#include "api/server/guards.h"
#include "api/server/metrics.h"
#include "catalog/db.h"
#include "control/authorizer.h"
#include "util/error.h"
#include "util/mutex.h"

namespace httplib {
class Server;
}

namespace mlvault::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                // 0: any free port (see ApiServer::port())
  std::string tls_cert, tls_key;  // both or neither
  int workers = 16;               // HTTP request threads
  std::string console_dir;        // "" or missing: no console
  size_t max_body_bytes = 1 << 20;
  double header_timeout_seconds = 10;
  double body_timeout_seconds = 30;
  double rate_limit_per_second = 100;  // per access key; <= 0 disables
  double rate_limit_burst = 200;
  int keep_alive_max_requests = 1000;
  int keep_alive_seconds = 5;
  std::string access_log;  // file path; "-" for stderr; "" for none
};

// What one operation of the API is, for routing and the OpenAPI document.
struct ServedOperation {
  std::string service;    // "ml"
  std::string operation;  // "listWorkspaceBackups"
  std::string verb;       // "list-workspace-backups"
  std::string action;     // "ml:ListWorkspaceBackups"
  bool mutates = false;
  bool starts_workflow = false;
};

using DispatchFn = std::function<util::Result<nlohmann::json>(
    const control::Caller& caller, const std::string& service, const std::string& operation,
    const nlohmann::json& request)>;
using DbOpener = std::function<util::Result<std::unique_ptr<catalog::Db>>()>;

struct ServerEnv {
  DbOpener open_db;  // a catalog connection (one per request thread)
  DispatchFn dispatch;
  std::vector<ServedOperation> operations;  // routing of unknown operations and OpenAPI
  // /readyz: OK when the catalog is reachable and its migrations are current.
  std::function<util::Status(catalog::Db&)> ready;
  // Extra lines for /metrics (e.g. the workflow pool's), may be null.
  std::function<std::string()> extra_metrics;
  // Request nonces and console sessions in the catalog, shared with every server on it (a
  // shared PostgreSQL catalog), instead of this process's memory (Authenticator).
  bool catalog_wide_auth = false;
};

class ApiServer {
 public:
  ApiServer(ServerOptions options, ServerEnv env);
  ~ApiServer();

  // Binds the port (kUnavailable if it is taken, kInvalidArgument for unreadable TLS files).
  util::Status Bind();
  // Serves until Stop(); returns when stopped.
  void Serve();
  // Stops accepting and returns Serve() once in-flight requests finished. Thread-safe.
  void Stop();
  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert.empty(); }
  Authenticator& authenticator() { return auth_; }
  const ServerOptions& options() const { return options_; }

 private:
  void Routes();
  catalog::Db* ThreadDb(std::string* error);
  void Log(const nlohmann::json& line);

  ServerOptions options_;
  ServerEnv env_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  Authenticator auth_;
  Metrics metrics_;
  RateLimiter limiter_;
  std::unique_ptr<SlowClientGuard> guard_;
  util::Mutex log_mu_;
  FILE* log_ MLV_PT_GUARDED_BY(log_mu_) = nullptr;  // written with log_mu_ held
  bool own_log_ = false;
  std::string openapi_;
};

// The OpenAPI 3.0 document of `operations` (docs/api.md is its prose).
nlohmann::json OpenApiDocument(const std::vector<ServedOperation>& operations);

}  // namespace mlvault::api
