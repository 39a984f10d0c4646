#include "workspace/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "util/files.h"

namespace mlvault::workspace {
namespace {

// Fields after the command name (which may contain spaces and parentheses).
std::vector<std::string> StatFields(int pid) {
  auto stat = util::ReadFile("/proc/" + std::to_string(pid) + "/stat");
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

util::Result<int> SpawnDetached(const std::vector<std::string>& args, const std::string& log_file) {
  if (args.empty()) return util::Internal("SpawnDetached: no program");
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const char* log_path = log_file.c_str();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return util::ErrnoError("pipe", errno);
  pid_t mid = ::fork();
  if (mid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return util::ErrnoError("fork", err);
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
      int log = ::open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      ::close_range(3, ~0U, 0);
      ::execv(argv[0], argv.data());
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
  if (n != sizeof(child) || child <= 0) return util::Internal("could not start " + args[0]);
  return static_cast<int>(child);
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
  auto c = util::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
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

}  // namespace mlvault::workspace
