// Supervisor: starts the workspace's processes (job runs, deployments, applications) as
// children of the runtime, each the leader of its own process group, with its output appended
// to a log file; reports their exit; stops them by group.
//
// A waiter thread per child blocks in waitpid and then runs the child's exit callback. When a
// leader exits, the rest of its group is killed, so nothing a job left behind keeps a port or
// a file open. Children get an explicit environment and no descriptor but 0-2. The destructor stops
// every child still running and waits for all callbacks.
//
// Thread-safe: mu_ guards the table of live children and the count of waiter threads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/mutex.h"

namespace mlvault::runtime {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string cwd;
  // The child's environment: PATH, HOME, LANG, TZ and TMPDIR of ours, then these (which replace
  // same-named ones). Nothing else is inherited.
  std::vector<std::pair<std::string, std::string>> env;
  std::string log_path;  // stdout and stderr, appended
};

// How a child ended, from its wait status.
struct ExitInfo {
  bool exited = false;  // normal exit (then exit_code), else killed by `signal`
  int exit_code = 0;
  int signal = 0;
};

class Supervisor {
 public:
  using OnExit = std::function<void(pid_t pid, const ExitInfo& info)>;

  Supervisor() = default;
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts a child; returns its pid (= its process group id). `on_exit` runs on the child's
  // waiter thread once it has been reaped. kInvalidArgument if the program cannot be run,
  // kIo if the log cannot be opened.
  util::Result<pid_t> Spawn(const SpawnSpec& spec, OnExit on_exit);

  // Sends `sig` to the child's whole process group. No-op for unknown or exited children.
  void Signal(pid_t pid, int sig);

  // SIGTERM to the group, SIGKILL after `grace`; returns once the child has been reaped and its
  // callback has run (or at once if it is unknown).
  void Stop(pid_t pid, std::chrono::milliseconds grace);

  // Stop() of every child, all at once.
  void StopAll(std::chrono::milliseconds grace);

  // Pids of the children still running.
  std::vector<pid_t> Running();

 private:
  void Wait(pid_t pid, OnExit on_exit) MLV_EXCLUDES(mu_);

  util::Mutex mu_;
  util::CondVar changed_;                           // waited on with mu_: live_ or waiters_ changed
  std::map<pid_t, bool> live_ MLV_GUARDED_BY(mu_);  // pid -> exit callback finished
  int waiters_ MLV_GUARDED_BY(mu_) = 0;             // waiter threads not yet finished
};

}  // namespace mlvault::runtime
