// `mlvault server` as a function: opens the catalog under $MLVAULT_HOME, wires the HTTP server
// (http_server.h) to the dispatcher with one control context per request thread, starts the
// workflow pool, and serves until SIGTERM/SIGINT, then drains (stop accepting, stop claiming
// workflows, wait for running ones up to the drain deadline).
#pragma once

#include <ostream>
#include <string>

#include "api/server/http_server.h"

namespace mlvault::api {

struct ServerCommandOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT (port 0: any free port, printed)
  std::string tls_cert, tls_key;
  int workers = 16;          // HTTP request threads
  int workflow_workers = 2;  // workflows run at once by this server
  std::string console_dir;   // "" : build/console/dist next to the binary's build tree, if any
  std::string access_log;    // file, "-" (stderr) or "" (none)
  double rate_limit = 100;   // requests per second per access key; 0: no limit
  size_t max_body_bytes = 1 << 20;
  double drain_seconds = 30;
  std::string home;  // "" : $MLVAULT_HOME
  // At start, start the runtime of every workspace whose status is running and whose runtime is
  // not (after a host restart; control/lifecycle.h). Issue 16.
  bool start_workspaces = true;
};

// Runs the server; returns the process exit code. Prints the URL it listens on to `out` as
// its first line ("mlvault server listening on http://127.0.0.1:8080").
int RunServer(const ServerCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mlvault::api
