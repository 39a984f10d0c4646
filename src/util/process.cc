#include "util/process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "util/files.h"

extern char** environ;

namespace mlvault::util {
namespace {

// Fields after the command name (which may contain spaces and parentheses).
std::vector<std::string> StatFields(int pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::vector<std::string> out;
  if (!stat) return out;
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return out;
  std::string rest = stat->substr(paren + 1);
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    size_t j = rest.find(' ', i);
    if (j == std::string::npos) j = rest.size();
    if (j > i) out.push_back(rest.substr(i, j - i));
    i = j;
  }
  return out;  // out[0] is field 3 (state)
}

}  // namespace

Result<int> SpawnDetached(const std::vector<std::string>& args, const std::string& log_file) {
  DetachedSpec spec;
  spec.args = args;
  spec.log_file = log_file;
  return SpawnDetached(spec);
}

Result<int> SpawnDetached(const DetachedSpec& spec) {
  if (spec.args.empty()) return Internal("SpawnDetached: no program");
  if (spec.fd3_data.size() > 4096)
    return InvalidArgument("SpawnDetached: at most 4096 bytes can be handed over on fd 3");
  // Everything the child uses is prepared here: after fork only async-signal-safe calls.
  std::vector<std::string> args = spec.args;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  char** child_env = environ;
  if (spec.env) {
    env_strings = *spec.env;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    child_env = envp.data();
  }
  const char* log_path = spec.log_file.c_str();
  UniqueFd secret;
  if (!spec.fd3_data.empty()) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe", errno);
    UniqueFd w(p[1]);
    secret.reset(p[0]);
    // A pipe holds at least 4096 bytes: the write completes without a reader.
    MLV_TRY(WriteAll(w.get(), AsBytes(spec.fd3_data), "the secret pipe"));
  }
  const int secret_fd = secret.get();
  const uid_t uid = spec.uid;
  const gid_t gid = spec.gid;
  const char* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe", errno);
  pid_t mid = ::fork();
  if (mid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return ErrnoError("fork", err);
  }
  if (mid == 0) {
    // Only async-signal-safe calls from here on.
    ::setsid();
    pid_t child = ::fork();
    if (child == 0) {
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      // (as root in a folder the workspace's uid may own: no link followed, no FIFO waited on)
      int log = ::open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0600);
      struct stat log_st;
      if (log >= 0 && (::fstat(log, &log_st) != 0 || !S_ISREG(log_st.st_mode))) {
        ::close(log);
        log = -1;
      }
      if (log >= 0) {
        ::fcntl(log, F_SETFL, O_WRONLY | O_APPEND);
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      int keep = 3;
      if (secret_fd >= 0) {
        if (secret_fd == 3)
          ::fcntl(3, F_SETFD, 0);
        else
          ::dup2(secret_fd, 3);
        keep = 4;
      }
      ::close_range(keep, ~0U, 0);
      auto fail = [](const char* msg, size_t n) {
        (void)!::write(2, msg, n);
        ::_exit(126);
      };
      if (cwd && ::chdir(cwd) != 0) {
        const char msg[] = "mlvault: cannot enter the working directory\n";
        fail(msg, sizeof(msg) - 1);
      }
      // Opened while still root: the program's folder (a build tree under /root, say) need not
      // be traversable by the uid it runs as. Not close-on-exec, so that a script's interpreter
      // can read it through /dev/fd.
      int exe = uid != static_cast<uid_t>(-1) ? ::open(argv[0], O_RDONLY) : -1;
      if (uid != static_cast<uid_t>(-1)) {
        // Capabilities go for good: emptied bounding set (needs CAP_SETPCAP, which root has).
        for (int cap = 0; cap < 64; ++cap)
          if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;
      }
      if (gid != static_cast<gid_t>(-1)) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0) {
          const char msg[] = "mlvault: cannot change to the workspace's group id\n";
          fail(msg, sizeof(msg) - 1);
        }
      }
      if (uid != static_cast<uid_t>(-1)) {
        if (::setresuid(uid, uid, uid) != 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
          const char msg[] = "mlvault: cannot change to the workspace's user id\n";
          fail(msg, sizeof(msg) - 1);
        }
      }
      if (exe >= 0) ::fexecve(exe, argv.data(), child_env);
      ::execve(argv[0], argv.data(), child_env);
      const char msg[] = "mlvault: cannot execute the program\n";
      (void)!::write(2, msg, sizeof(msg) - 1);
      ::_exit(127);
    }
    int32_t v = child;
    (void)!::write(fds[1], &v, sizeof(v));
    ::_exit(child < 0 ? 1 : 0);
  }
  ::close(fds[1]);
  int32_t child = -1;
  ssize_t n;
  do {
    n = ::read(fds[0], &child, sizeof(child));
  } while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof(child) || child <= 0) return Internal("could not start " + spec.args[0]);
  return static_cast<int>(child);
}

std::vector<std::string> CleanEnvironment(
    const std::string& home, const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home};
  const char* lang = std::getenv("LANG");
  env.push_back(std::string("LANG=") + (lang && *lang ? lang : "C.UTF-8"));
  for (const char* name : {"TZ", "TMPDIR", "MLVAULT_LOG"})
    if (const char* v = std::getenv(name); v && *v) env.push_back(std::string(name) + "=" + v);
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

bool ProcessAlive(int pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  auto f = StatFields(pid);
  if (f.empty()) return false;
  return f[0] != "Z" && f[0] != "X";
}

uint64_t ProcessStartTicks(int pid) {
  auto f = StatFields(pid);
  // starttime is field 22; f[0] is field 3.
  if (f.size() < 20) return 0;
  try {
    return std::stoull(f[19]);
  } catch (...) {
    return 0;
  }
}

std::string ProcessCmdline(int pid) {
  auto c = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!c) return "";
  std::string s = *c;
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& ch : s)
    if (ch == '\0') ch = ' ';
  return s;
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace mlvault::util
