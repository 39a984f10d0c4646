// `mlvault server`: the control plane as a service (api/server/server_main.h); flags map to
// api::ServerCommandOptions. Not an API operation: it runs the server in this process.
#include "api/server/server_main.h"
#include "cli/app.h"

namespace mlvault::cli {

void RegisterServerVerbs(Application& app, CLI::App& root) {
  auto o = std::make_shared<api::ServerCommandOptions>();
  CLI::App* cmd = app.AddCommand(
      root, "server",
      "Serve the control plane over HTTP(S): the signed REST API (docs/api.md), the web console, "
      "/healthz, /readyz and /metrics; workflows run in the server's pool. SIGTERM drains.",
      "mlvault server --listen 127.0.0.1:8080 --tls-cert cert.pem --tls-key key.pem");
  cmd->add_option("--listen", o->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate (serve HTTPS; needs --tls-key)");
  cmd->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--workers", o->workers, "HTTP request threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--workflow-workers", o->workflow_workers, "Workflows this server runs at once")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  cmd->add_option("--console-dir", o->console_dir,
                  "Folder of the web console's files (default: the one built or installed with "
                  "this binary)");
  cmd->add_option("--access-log", o->access_log,
                  "JSON-lines access log: a file, or - for standard error (default: none)");
  cmd->add_option("--rate-limit", o->rate_limit,
                  "Requests per second per access key (429 beyond; 0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", o->max_body_bytes, "Largest request body accepted (413)")
      ->capture_default_str();
  cmd->add_option("--drain-seconds", o->drain_seconds,
                  "On SIGTERM, how long running workflows may take to finish before the server "
                  "leaves them to be resumed")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--start-workspaces,!--no-start-workspaces", o->start_workspaces,
                "At start, start every workspace that was running before (after a host restart; the default), or not")
      ->capture_default_str();
  cmd->callback([&app, o] {
    if (o->tls_cert.empty() != o->tls_key.empty()) {
      app.Emit(util::InvalidArgument("--tls-cert and --tls-key go together: give both to serve "
                                     "HTTPS, or neither for HTTP"));
      return;
    }
    app.SetExitCode(api::RunServer(*o, app.out(), app.err()));
  });
}

}  // namespace mlvault::cli
