// WorkspaceServer: the mlvault-workspace server — the workspace's REST API (docs/workspace-api.md),
// the forwarder to its applications and deployed models, and the control plane's quiesce and
// resume — over the state on the workspace's volumes.
//
// Start() opens the volumes and the database, binds the listen address, writes the ready file
// and begins reconciling; Wait() serves until Stop() (or a signal handled by the caller). Stop()
// stops the server and every process it started.
//
// Thread-safe: Stop may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "util/clock.h"
#include "util/error.h"

namespace mlvault::runtime {

inline constexpr const char* kWorkspaceVersion = "1.4.0";

struct ServeOptions {
  std::string listen = "127.0.0.1:0";
  std::string domain;
  std::string workspace_crn;
  std::string projects_dir;
  std::string models_dir;
  std::string metadata_path;
  std::string api_key;  // the keys themselves, read from their files by the caller
  std::string control_key;
  std::string ready_file;            // optional
  std::string authorized_ip_ranges;  // comma-separated CIDRs; empty: everyone
  uint64_t max_upload_bytes = uint64_t{1} << 30;
  int quiesce_drain_seconds = 30;
  int app_start_timeout_seconds = 60;
  // Start no application or deployment (they become "paused") until POST
  // /internal/v1/resume-services: a restore with --start-mode paused.
  bool start_paused = false;
  // Connection handling (runtime/connections.h): request line and headers must arrive within
  // header_timeout_seconds, the rest of a request (body, answer) within request_timeout_seconds;
  // `workers` connections are served at once, the slowest closed to make room for new ones.
  int header_timeout_seconds = 10;
  int request_timeout_seconds = 600;
  int workers = 32;
};

class WorkspaceServer {
 public:
  // Validates the options (kInvalidArgument naming the bad one); opens nothing yet.
  static util::Result<std::unique_ptr<WorkspaceServer>> Create(ServeOptions options,
                                                               const util::Clock& clock);
  ~WorkspaceServer();

  // Opens the state, binds, writes the ready file, starts reconciling. Returns the bound port.
  // kInvalidArgument for a database of a newer schema, kIo/kUnavailable when the volumes or the
  // port cannot be used.
  util::Result<int> Start();
  // Serves until Stop(); returns once the server and every process it started have stopped.
  void Wait();
  void Stop();

 private:
  class Impl;
  explicit WorkspaceServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a key file: trimmed, at least 16 characters. kInvalidArgument otherwise.
util::Result<std::string> ReadKeyFile(const std::string& path, const std::string& what);

}  // namespace mlvault::runtime
