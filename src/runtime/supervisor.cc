#include "runtime/supervisor.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "util/log.h"

namespace mlvault::runtime {

Supervisor::~Supervisor() {
  StopAll(std::chrono::seconds(5));
  util::MutexLock lock(mu_);
  while (waiters_ != 0) changed_.Wait(mu_);
}

util::Result<pid_t> Supervisor::Spawn(const SpawnSpec& spec, OnExit on_exit) {
  if (spec.argv.empty()) return util::InvalidArgument("no program to run");
  int log_fd = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return util::ErrnoError("cannot open log " + spec.log_path, errno);

  // Environment: explicit, never ours (the runtime's own is already clean, but a child gets
  // only what it is meant to have): the base names below from ours, then the spec's entries.
  std::vector<std::string> env_strings;
  for (const char* name : {"PATH", "HOME", "LANG", "TZ", "TMPDIR"}) {
    bool replaced = false;
    for (const auto& [k, v] : spec.env) replaced = replaced || k == name;
    if (const char* v = std::getenv(name); v && !replaced)
      env_strings.push_back(std::string(name) + "=" + v);
  }
  for (const auto& [k, v] : spec.env) env_strings.push_back(fmt::format("{}={}", k, v));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = spec.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
  // Nothing else of the runtime's reaches the child: not its client connections, not its
  // database, whatever the close-on-exec flags say.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group (stopped as a whole); default signal dispositions and an empty mask,
  // because the runtime blocks SIGTERM/SIGINT in its threads and ignores SIGPIPE.
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD, SIGQUIT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int rc;
  {
    // Registered under the lock so that Stop/Running never miss a child that exists.
    util::MutexLock lock(mu_);
    rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    if (rc == 0) {
      live_[pid] = false;
      ++waiters_;
    }
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(log_fd);
  if (rc != 0)
    return util::InvalidArgument("cannot start '" + spec.argv[0] + "': " + std::strerror(rc));
  std::thread(&Supervisor::Wait, this, pid, std::move(on_exit)).detach();
  return pid;
}

void Supervisor::Wait(pid_t pid, OnExit on_exit) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Whatever the leader left in its group goes with it.
  ::kill(-pid, SIGKILL);
  ExitInfo info;
  if (WIFEXITED(status)) {
    info.exited = true;
    info.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  }
  if (on_exit) on_exit(pid, info);
  util::MutexLock lock(mu_);
  live_.erase(pid);
  --waiters_;
  changed_.NotifyAll();
}

void Supervisor::Signal(pid_t pid, int sig) {
  util::MutexLock lock(mu_);
  if (live_.count(pid)) ::kill(-pid, sig);
}

void Supervisor::Stop(pid_t pid, std::chrono::milliseconds grace) {
  util::MutexLock lock(mu_);
  if (!live_.count(pid)) return;
  ::kill(-pid, SIGCONT);  // a paused (quiesced) job must be able to act on SIGTERM
  ::kill(-pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (live_.count(pid) && changed_.WaitUntil(mu_, deadline)) {
  }
  if (live_.count(pid)) {
    ::kill(-pid, SIGKILL);
    while (live_.count(pid)) changed_.Wait(mu_);
  }
}

void Supervisor::StopAll(std::chrono::milliseconds grace) {
  util::MutexLock lock(mu_);
  for (const auto& [pid, done] : live_) {
    ::kill(-pid, SIGCONT);
    ::kill(-pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!live_.empty() && changed_.WaitUntil(mu_, deadline)) {
  }
  if (!live_.empty()) {
    for (const auto& [pid, done] : live_) {
      util::Log(util::LogLevel::kWarn, "process group {} did not stop on SIGTERM; killing it", pid);
      ::kill(-pid, SIGKILL);
    }
    while (!live_.empty()) changed_.Wait(mu_);
  }
}

std::vector<pid_t> Supervisor::Running() {
  util::MutexLock lock(mu_);
  std::vector<pid_t> out;
  for (const auto& [pid, done] : live_) out.push_back(pid);
  return out;
}

}  // namespace mlvault::runtime
