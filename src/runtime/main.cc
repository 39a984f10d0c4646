// mlvault-workspace: the reference ML workspace runtime (docs/workspace-api.md).
//   serve     run a workspace's server over its volumes
//   seed      fill a workspace with a realistic sample through its API
//   snapshot  print a canonical JSON of a workspace, to compare a restore with its source
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "runtime/server.h"
#include "runtime/tools.h"
#include "util/log.h"

namespace rt = mlvault::runtime;
namespace util = mlvault::util;

namespace {

int Fail(const util::Error& e) {
  std::fprintf(stderr, "mlvault-workspace: %s\n", e.message().c_str());
  return e.code() == util::ErrorCode::kInvalidArgument ? 2 : 1;
}

// Reads "api-key=K\ncontrol-key=K\n" from `fd` (a pipe the control plane filled) and closes it.
util::Status ReadKeysFromFd(int fd, rt::ServeOptions* options) {
  std::string text;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return util::InvalidArgument(std::string("--keys-fd: cannot read it: ") + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > 8192) break;
  }
  ::close(fd);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.starts_with("api-key="))
      options->api_key = line.substr(8);
    else if (line.starts_with("control-key="))
      options->control_key = line.substr(12);
    else if (!line.empty())
      return util::InvalidArgument(
          "--keys-fd: expected lines api-key=... and control-key=..., got another line");
  }
  if (options->api_key.empty() || options->control_key.empty())
    return util::InvalidArgument("--keys-fd: both api-key= and control-key= are required");
  return util::Ok();
}

int Serve(rt::ServeOptions options, int keys_fd, const std::string& api_key_file,
          const std::string& control_key_file, const std::string& log_file) {
  // Jobs run as our uid: they must not read our memory (the keys) through /proc or ptrace.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::perror("mlvault-workspace: prctl(PR_SET_DUMPABLE)");
    return 1;
  }
  // Signals are taken by one thread with sigwait; every other thread (and, through the
  // spawn attributes, no child) has them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (!log_file.empty()) {
    if (!std::freopen(log_file.c_str(), "a", stderr)) {
      std::perror(("mlvault-workspace: cannot open --log-file " + log_file).c_str());
      return 1;
    }
    setvbuf(stderr, nullptr, _IOLBF, 0);
  }
  if (keys_fd >= 0) {
    if (!api_key_file.empty() || !control_key_file.empty())
      return Fail(
          util::InvalidArgument(
              "give the keys either with --keys-fd or with --api-key-file/--control-key-file")
              .error());
    if (auto st = ReadKeysFromFd(keys_fd, &options); !st) return Fail(st.error());
  } else {
    if (api_key_file.empty() || control_key_file.empty())
      return Fail(
          util::InvalidArgument(
              "the keys are required: --keys-fd N, or --api-key-file and --control-key-file")
              .error());
    auto api_key = rt::ReadKeyFile(api_key_file, "API key");
    if (!api_key) return Fail(api_key.error());
    auto control_key = rt::ReadKeyFile(control_key_file, "control key");
    if (!control_key) return Fail(control_key.error());
    options.api_key = *api_key;
    options.control_key = *control_key;
  }

  auto server = rt::WorkspaceServer::Create(std::move(options), util::Clock::System());
  if (!server) return Fail(server.error());
  auto port = (*server)->Start();
  if (!port) {
    (*server)->Stop();
    return Fail(port.error());
  }
  std::atomic<bool> done{false};
  std::thread signals([&] {
    timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        util::Log(util::LogLevel::kInfo, "signal {}: stopping", sig);
        (*server)->Stop();
        return;
      }
    }
  });
  (*server)->Wait();
  (*server)->Stop();
  done = true;
  signals.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlvault-workspace: the reference ML workspace runtime (docs/workspace-api.md)"};
  app.require_subcommand(1);

  rt::ServeOptions so;
  std::string api_key_file, control_key_file, log_file;
  int keys_fd = -1;
  auto* serve = app.add_subcommand("serve", "Serve a workspace over its volumes");
  serve->add_option("--listen", so.listen, "HOST:PORT to bind (port 0: a free one)")
      ->capture_default_str();
  serve->add_option("--domain", so.domain, "the workspace's domain (checked against Host)")
      ->required();
  serve->add_option("--workspace-crn", so.workspace_crn, "the workspace's CRN")->required();
  serve->add_option("--projects", so.projects_dir, "the projects volume (a directory)")->required();
  serve->add_option("--models", so.models_dir, "the models volume (a directory)")->required();
  serve->add_option("--metadata", so.metadata_path, "the metadata database file")->required();
  serve->add_option("--keys-fd", keys_fd,
                    "read 'api-key=K' and 'control-key=K' lines from this inherited descriptor "
                    "(how mlvault passes them: no file a job could read)");
  serve->add_option("--api-key-file", api_key_file, "file with the workspace API key");
  serve->add_option("--control-key-file", control_key_file, "file with the control plane's key");
  serve->add_option("--ready-file", so.ready_file, "written with {pid,port,endpoint} once serving");
  serve->add_option("--authorized-ip-ranges", so.authorized_ip_ranges,
                    "comma-separated CIDR allow-list");
  serve->add_option("--log-file", log_file, "append the runtime's log here instead of stderr");
  serve->add_option("--max-upload-bytes", so.max_upload_bytes, "largest file upload")
      ->capture_default_str();
  serve
      ->add_option("--quiesce-drain-seconds", so.quiesce_drain_seconds,
                   "default bound on waiting for in-flight writes when quiescing")
      ->capture_default_str();
  serve
      ->add_option("--app-start-timeout-seconds", so.app_start_timeout_seconds,
                   "applications and deployments must answer HTTP within this")
      ->capture_default_str();
  serve
      ->add_option("--header-timeout-seconds", so.header_timeout_seconds,
                   "a request line and its headers must arrive within this")
      ->capture_default_str();
  serve
      ->add_option("--request-timeout-seconds", so.request_timeout_seconds,
                   "the rest of a request (body and answer) must be done within this")
      ->capture_default_str();
  serve->add_option("--workers", so.workers, "connections served at once")->capture_default_str();
  serve->add_flag("--start-paused", so.start_paused,
                  "start no application or deployment (they show \"paused\") until POST "
                  "/internal/v1/resume-services");
  serve->footer(
      "Example:\n  mlvault-workspace serve --listen 127.0.0.1:0 --domain ws1.local "
      "--workspace-crn crn:mlvault:ml:us-west-1:<account>:workspace:<uuid> --projects ws/projects "
      "--models ws/models --metadata ws/metadata/workspace.db --api-key-file ws/api.key "
      "--control-key-file ws/control.key --ready-file ws/ready.json\n(mlvault itself passes the "
      "keys with --keys-fd 3)");

  rt::ClientOptions co;
  auto* seed =
      app.add_subcommand("seed", "Fill a workspace with a realistic sample through its API");
  auto* snapshot = app.add_subcommand(
      "snapshot", "Print a canonical JSON of a workspace's entities and file checksums");
  for (auto* sub : {seed, snapshot}) {
    sub->add_option("--endpoint", co.endpoint, "the workspace endpoint, e.g. http://127.0.0.1:8080")
        ->required();
    sub->add_option("--api-key", co.api_key, "the workspace API key")->required();
    sub->add_option("--domain", co.host, "Host header to send (default: the endpoint's host)");
    sub->add_option("--timeout-seconds", co.timeout_seconds,
                    "how long to wait for runs and services")
        ->capture_default_str();
  }
  seed->footer(
      "Example:\n  mlvault-workspace seed --endpoint http://127.0.0.1:8080 --api-key $(cat "
      "ws/api.key)");
  snapshot->footer(
      "Example:\n  mlvault-workspace snapshot --endpoint http://127.0.0.1:8080 --api-key $(cat "
      "ws/api.key) > before.json");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (*serve) return Serve(std::move(so), keys_fd, api_key_file, control_key_file, log_file);
  auto out = *seed ? rt::Seed(co) : rt::Snapshot(co);
  if (!out) return Fail(out.error());
  std::cout << *out << std::endl;
  return 0;
}
