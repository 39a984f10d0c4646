#include "api/server/server_main.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "api/dispatch.h"
#include "api/operations.h"
#include "api/server/workflow_pool.h"
#include "catalog/db.h"
#include "control/embedded.h"
#include "control/handlers.h"
#include "control/iam_authorizer.h"
#include "control/iam_ops.h"
#include "control/identity.h"
#include "control/operations.h"
#include "control/lifecycle.h"
#include "control/scheduler.h"
#include "util/log.h"
#include "workspace/provider.h"

namespace mlvault::api {
namespace {

// What one thread needs to run operations and workflows: its own catalog connection and the
// objects over it (none of them is thread-safe).
struct ThreadControl {
  std::unique_ptr<catalog::Db> db;
  std::unique_ptr<control::Authorizer> authz;
  std::unique_ptr<workspace::Provider> provider;
  control::HandlerEnv handler_env;
  std::unique_ptr<control::WorkflowEngine> engine;
  std::unique_ptr<control::IamOperations> iam;
};

util::Result<std::unique_ptr<ThreadControl>> MakeThreadControl(const std::string& home) {
  auto t = std::make_unique<ThreadControl>();
  const std::string path = control::CatalogLocation(home);
  t->db = MLV_TRY(catalog::OpenCatalog(path));
  t->authz = control::MakeIamAuthorizer(*t->db, util::Clock::System());
  t->provider = workspace::MakeLocalProvider();
  t->handler_env.home = home;
  t->handler_env.provider = t->provider.get();
  t->handler_env.authorizer = t->authz.get();
  control::EngineOptions eo;
  eo.home = home;
  eo.self_exe = control::SelfExe();
  eo.open_db = [path]() { return catalog::OpenCatalog(path); };
  eo.spawn_workers = false;  // the pool runs them
  t->engine = std::make_unique<control::WorkflowEngine>(
      *t->db, std::move(eo), control::MakeHandlerFactory(t->handler_env));
  t->iam = std::make_unique<control::IamOperations>(*t->db, *t->authz, util::Clock::System());
  return t;
}

std::vector<ServedOperation> Catalog() {
  std::vector<ServedOperation> out;
  for (const auto& op : AllOperations()) {
    if (op.embedded_only) continue;
    out.push_back({std::string(op.service), std::string(op.name), std::string(op.verb),
                   std::string(op.action), op.mutates, op.starts_workflow});
  }
  return out;
}

util::Result<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
  if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
  bool digits = !port.empty() && port.size() <= 5 &&
                port.find_first_not_of("0123456789") == std::string::npos;
  if (host.empty() || !digits || std::stoi(port) > 65535)
    return util::InvalidArgument(
        "--listen '" + listen + "' must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)");
  return std::make_pair(host, std::stoi(port));
}

std::string DefaultConsoleDir() {
  // The binary is build/src/cli/mlvault; the console bundle is built into build/console/dist.
  std::filesystem::path exe = control::SelfExe();
  for (auto p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (std::filesystem::is_directory(p / "console" / "dist"))
      return (p / "console" / "dist").string();
    if (std::filesystem::exists(p / "CMakeCache.txt")) break;
  }
  std::filesystem::path installed =
      exe.parent_path().parent_path() / "share" / "mlvault" / "console";
  return std::filesystem::is_directory(installed) ? installed.string() : "";
}

}  // namespace

int RunServer(const ServerCommandOptions& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const util::Error& e) {
    err << "mlvault: " << e.message() << "\n";
    return util::ExitCodeFor(e.code());
  };
  auto hp = ParseListen(o.listen);
  if (!hp) return fail(hp.error());
  const std::string home = o.home.empty() ? control::MlvaultHomeFromEnv() : o.home;

  // The catalog with every migration applied; an account (created now, like first use, when the
  // catalog is new: its administrator's key goes to <home>/credentials).
  auto db = control::OpenCatalog(home);
  if (!db) return fail(db.error());
  auto init = control::InitAccount(**db, home, control::InitOptions{}, util::Clock::System());
  if (!init) return fail(init.error());
  if (init->created)
    err << "mlvault: created account '" << init->account_name << "' with administrator '"
        << init->admin_user_name << "'; its access key is in " << init->credentials_file << "\n";

  // Signals go to one thread (sigwait below), never to request or workflow threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ServerOptions so;
  so.host = hp->first;
  so.port = hp->second;
  so.tls_cert = o.tls_cert;
  so.tls_key = o.tls_key;
  so.workers = o.workers;
  so.console_dir = o.console_dir.empty() ? DefaultConsoleDir() : o.console_dir;
  so.access_log = o.access_log;
  so.rate_limit_per_second = o.rate_limit;
  so.rate_limit_burst = std::max(1.0, 2 * o.rate_limit);
  so.max_body_bytes = o.max_body_bytes;

  ServerEnv env;
  const std::string path = control::CatalogLocation(home);
  env.open_db = [path] { return catalog::OpenCatalog(path); };
  // Several servers share a PostgreSQL catalog: replay protection and sessions must span them.
  env.catalog_wide_auth = catalog::IsPostgresLocation(path);
  env.operations = Catalog();
  env.ready = [](catalog::Db& db) -> util::Status {
    MLV_TRY(db.Query("SELECT COUNT(*) FROM accounts"));
    auto applied = MLV_TRY(db.Query("SELECT id FROM schema_migrations"));
    for (const auto& m : control::AllMigrations()) {
      bool found = false;
      for (const auto& r : applied) found = found || r.Text(0) == m.id;
      if (!found) return util::Unavailable("catalog migration " + m.id + " is not applied");
    }
    return util::Ok();
  };
  env.dispatch = [home](const control::Caller& caller, const std::string& service,
                        const std::string& operation,
                        const nlohmann::json& body) -> util::Result<nlohmann::json> {
    thread_local std::unique_ptr<ThreadControl> t;
    if (!t) t = MLV_TRY(MakeThreadControl(home));
    control::OperationsEnv oe;
    oe.home = home;
    oe.db = t->db.get();
    oe.authorizer = t->authz.get();
    oe.caller = caller;
    oe.provider = t->provider.get();
    oe.engine = t->engine.get();
    control::Operations ops(std::move(oe));
    ControlContext ctx;
    ctx.ops = &ops;
    ctx.iam = t->iam.get();
    ctx.caller = caller;
    ctx.embedded = false;
    ctx.db = t->db.get();
    ctx.home = home;
    return Dispatch(ctx, service, operation, body, CallOptions{});
  };

  WorkflowPool pool(o.workflow_workers,
                    [home]() -> util::Result<std::unique_ptr<PoolThreadContext>> {
                      auto t = MLV_TRY(MakeThreadControl(home));
                      auto ctx = std::make_unique<PoolThreadContext>();
                      ctx->db = std::move(t->db);
                      ctx->engine = std::move(t->engine);
                      // The engine's handlers point into the rest of t (provider, authorizer,
                      // handler env).
                      ctx->keep_alive = std::shared_ptr<ThreadControl>(t.release());
                      return ctx;
                    });
  env.extra_metrics = [&pool] { return pool.MetricsText(); };

  ApiServer server(so, env);
  if (auto st = server.Bind(); !st) return fail(st.error());
  if (auto st = pool.Start(); !st) return fail(st.error());
  out << "mlvault server listening on " << (server.tls() ? "https" : "http") << "://" << so.host
      << ":" << server.port() << (so.console_dir.empty() ? "" : " (console at /)") << std::endl;

  // Backup plans (docs/plans.md): one scheduler step every 30 s on its own catalog connection;
  // servers sharing a catalog run each slot once, and the pool runs the backups it starts.
  std::atomic<bool> scheduler_stop{false};
  std::thread scheduler_thread([&scheduler_stop, home] {
    auto t = MakeThreadControl(home);
    if (!t) return util::Log(util::LogLevel::kError, "scheduler: {}", t.error().message());
    control::SchedulerEnv se{home, (*t)->db.get(), (*t)->authz.get(), &util::Clock::System(),
                             (*t)->provider.get(), (*t)->engine.get(), ""};
    while (!scheduler_stop.load()) {
      if (auto runs = control::SchedulerTick(se); !runs)
        util::Log(util::LogLevel::kWarn, "scheduler step failed: {}", runs.error().message());
      else
        for (const auto& r : *runs) util::Log(util::LogLevel::kInfo, "{}", control::DescribeRun(r));
      for (int i = 0; i < 300 && !scheduler_stop.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  // Workspaces that were running before a host restart come back (control/lifecycle.h), in the
  // background: the server answers meanwhile; each start is logged and audited.
  std::thread bring_back([home, enabled = o.start_workspaces] {
    if (!enabled) return;
    auto t = MakeThreadControl(home);
    if (!t) return util::Log(util::LogLevel::kError, "bringing workspaces back: {}", t.error().message());
    control::BringBackEnv be;
    be.db = (*t)->db.get();
    be.authorizer = (*t)->authz.get();
    be.provider = (*t)->provider.get();
    auto states = control::BringBackWorkspaces(be);
    if (!states)
      return util::Log(util::LogLevel::kError, "bringing workspaces back: {}", states.error().message());
    for (const auto& s : *states)
      if (s.status == "running")
        util::Log(util::LogLevel::kWarn, "workspace {} ({}) was running before; started again at {}",
                  s.workspace_name, s.workspace_crn, s.endpoint);
      else if (s.status == "unchanged")
        util::Log(util::LogLevel::kInfo, "workspace {} ({}) left as it is: {}", s.workspace_name,
                  s.workspace_crn, s.reason.value_or(""));
      else if (s.status == "failed")
        util::Log(util::LogLevel::kError, "workspace {} ({}) was running before and could not be started: {}",
                  s.workspace_name, s.workspace_crn, s.reason.value_or(""));
  });

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    util::Log(util::LogLevel::kInfo, "signal {}: draining", sig);
    server.Stop();
  });
  server.Serve();                                        // returns after Stop()
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // if it stopped for another reason
  scheduler_stop = true;
  scheduler_thread.join();
  bring_back.join();
  int left = pool.Drain(std::chrono::milliseconds(static_cast<int64_t>(o.drain_seconds * 1000)));
  signal_thread.join();
  if (left > 0) {
    err << "mlvault server: " << left << " workflow(s) still running after the " << o.drain_seconds
        << " s drain deadline; they will be resumed by the next server (or any mlvault)\n";
    std::fflush(nullptr);
    _exit(0);  // the pool's threads still run: leave without destroying what they use
  }
  err << "mlvault server: stopped\n";
  return 0;
}

}  // namespace mlvault::api
