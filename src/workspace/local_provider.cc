#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "util/clock.h"
#include "util/files.h"
#include "util/log.h"
#include "util/random.h"
#include "workspace/provider.h"

namespace mlvault::workspace {
namespace {

namespace fs = std::filesystem;

struct Paths {
  std::string root, projects, models, metadata_dir, metadata_file, run, api_key, control_key, ready, log;
};

Paths PathsOf(const WorkspaceSpec& ws) {
  Paths p;
  p.root = LocalWorkspaceRoot(ws);
  p.projects = p.root + "/projects";
  p.models = p.root + "/models";
  p.metadata_dir = p.root + "/metadata";
  p.metadata_file = p.metadata_dir + "/workspace.db";
  p.run = p.root + "/run";
  p.api_key = p.run + "/api.key";
  p.control_key = p.run + "/control.key";
  p.ready = p.run + "/ready.json";
  p.log = p.run + "/runtime.log";
  return p;
}

bool IsExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Alive and not a zombie (a reaper-less PID 1 may leave zombies behind).
bool ProcessAlive(int pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  auto stat = util::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size()) return false;
  char state = (*stat)[paren + 2];
  return state != 'Z' && state != 'X';
}

std::string Cmdline(int pid) {
  auto c = util::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!c) return "";
  std::string s = *c;
  for (char& ch : s)
    if (ch == '\0') ch = ' ';
  return s;
}

std::string LogTail(const std::string& path) {
  auto text = util::ReadFile(path);
  if (!text || text->empty()) return "(its log " + path + " is empty)";
  std::string t = text->size() > 600 ? text->substr(text->size() - 600) : *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  for (char& c : t)
    if (c == '\n') c = '|';
  return "last log lines: " + t;
}

class LocalProvider : public Provider {
 public:
  explicit LocalProvider(LocalProviderOptions o) : options_(std::move(o)) {}

  util::Status CreateVolumes(const WorkspaceSpec& ws) override {
    Paths p = PathsOf(ws);
    std::error_code ec;
    if (fs::exists(p.root, ec) && !fs::is_empty(p.root, ec))
      return util::Conflict("workspace folder " + p.root + " already exists and is not empty");
    MLV_TRY(util::MakeDirs(p.projects));
    MLV_TRY(util::MakeDirs(p.models));
    MLV_TRY(util::MakeDirs(p.metadata_dir));
    MLV_TRY(util::MakeDirs(p.run, 0700));
    return util::FsyncDir(p.root);
  }

  std::vector<Volume> Volumes(const WorkspaceSpec& ws) const override {
    Paths p = PathsOf(ws);
    return {{"projects", VolumeKind::kFilesystem, p.projects},
            {"models", VolumeKind::kFilesystem, p.models},
            {"metadata", VolumeKind::kBlock, p.metadata_file}};
  }

  util::Result<RuntimeInfo> StartRuntime(const WorkspaceSpec& ws) override {
    std::string bin = options_.runtime_binary;
    if (bin.empty()) bin = MLV_TRY(FindRuntimeBinary());
    Paths p = PathsOf(ws);
    MLV_TRY(util::MakeDirs(p.run, 0700));
    MLV_TRY(util::WriteFileAtomic(p.api_key, ws.api_key + "\n", true, 0600));
    MLV_TRY(util::WriteFileAtomic(p.control_key, ws.control_key + "\n", true, 0600));
    if (::unlink(p.ready.c_str()) != 0 && errno != ENOENT) return util::ErrnoError("remove " + p.ready, errno);

    std::vector<std::string> args = {bin,
                                     "serve",
                                     "--listen",
                                     std::string(ws.public_bind ? "0.0.0.0" : "127.0.0.1") + ":0",
                                     "--domain",
                                     ws.domain,
                                     "--workspace-crn",
                                     ws.workspace_crn,
                                     "--projects",
                                     p.projects,
                                     "--models",
                                     p.models,
                                     "--metadata",
                                     p.metadata_file,
                                     "--api-key-file",
                                     p.api_key,
                                     "--control-key-file",
                                     p.control_key,
                                     "--ready-file",
                                     p.ready,
                                     "--log-file",
                                     p.log};
    if (!ws.authorized_ip_ranges.empty()) {
      std::string joined;
      for (const auto& r : ws.authorized_ip_ranges) joined += (joined.empty() ? "" : ",") + r;
      args.push_back("--authorized-ip-ranges");
      args.push_back(joined);
    }
    int pid = MLV_TRY(SpawnDetached(args, p.run + "/runtime.out"));
    util::Log(util::LogLevel::kInfo, "started workspace runtime pid {} for {}", pid, ws.workspace_crn);

    double deadline = util::MonotonicSeconds() + options_.ready_timeout_seconds;
    for (;;) {
      if (auto text = util::ReadFile(p.ready)) {
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (j.is_object() && j.contains("port") && j["port"].is_number_integer() && j.contains("endpoint") &&
            j["endpoint"].is_string()) {
          RuntimeInfo info;
          info.pid = j.contains("pid") && j["pid"].is_number_integer() ? j["pid"].get<int>() : pid;
          info.port = j["port"].get<int>();
          info.endpoint = j["endpoint"].get<std::string>();
          return info;
        }
      }
      if (!ProcessAlive(pid))
        return util::Unavailable("the workspace runtime (" + bin + ") exited while starting; " +
                                 LogTail(p.run + "/runtime.out") + "; " + LogTail(p.log));
      if (util::MonotonicSeconds() > deadline) {
        (void)StopRuntime(ws, pid);
        return util::Unavailable("the workspace runtime did not get ready within " +
                                 std::to_string(static_cast<int>(options_.ready_timeout_seconds)) + " s; " +
                                 LogTail(p.log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  bool RuntimeAlive(const WorkspaceSpec& ws, int pid) const override {
    // The pid may have been reused by another process: it must be this workspace's runtime.
    return ProcessAlive(pid) && Cmdline(pid).find(ws.workspace_crn) != std::string::npos;
  }

  util::Status StopRuntime(const WorkspaceSpec& ws, int pid) override {
    if (!RuntimeAlive(ws, pid)) return util::Ok();
    ::kill(pid, SIGTERM);
    double deadline = util::MonotonicSeconds() + options_.stop_grace_seconds;
    while (ProcessAlive(pid) && util::MonotonicSeconds() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (ProcessAlive(pid)) {
      util::Log(util::LogLevel::kWarn, "workspace runtime pid {} ignored SIGTERM; killing it", pid);
      ::kill(pid, SIGKILL);
      deadline = util::MonotonicSeconds() + 5;
      while (ProcessAlive(pid) && util::MonotonicSeconds() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (ProcessAlive(pid)) return util::Internal("workspace runtime pid " + std::to_string(pid) + " did not stop");
    }
    return util::Ok();
  }

  util::Status RemoveVolumes(const WorkspaceSpec& ws) override {
    std::string root = LocalWorkspaceRoot(ws);
    // Never remove something that is not a workspace folder of ours.
    if (ws.workspace_id.empty() || !util::IsUuid(ws.workspace_id) || ws.environment_root.empty())
      return util::Internal("refusing to remove " + root + ": not a workspace folder");
    return util::RemoveAll(root);
  }

  util::Result<uint64_t> FreeBytes(const WorkspaceSpec& ws) const override {
    return util::FreeSpace(ws.environment_root);
  }

 private:
  // Runs args[0] in its own session, detached (double fork: it is not our child and never our
  // zombie), stdout and stderr appended to `out_log`. Returns its pid.
  static util::Result<int> SpawnDetached(const std::vector<std::string>& args, const std::string& out_log) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
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
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, 0);
        int log = ::open(out_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (log >= 0) {
          ::dup2(log, 1);
          ::dup2(log, 2);
        }
        ::close_range(3, ~0U, 0);
        ::execv(argv[0], argv.data());
        const char msg[] = "mlvault: cannot execute the workspace runtime\n";
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
    if (n != sizeof(child) || child <= 0) return util::Internal("could not start the workspace runtime " + args[0]);
    return static_cast<int>(child);
  }

  const LocalProviderOptions options_;
};

}  // namespace

std::string_view KindName(VolumeKind kind) { return kind == VolumeKind::kBlock ? "block" : "filesystem"; }

std::string MakeDomain(std::string_view workspace_name, std::string_view environment_name) {
  return std::string(workspace_name) + "-" + util::RandomHex(4) + "." + std::string(environment_name) +
         ".mlvault.local";
}

std::string LocalWorkspaceRoot(const WorkspaceSpec& ws) { return ws.environment_root + "/" + ws.workspace_id; }

util::Result<std::string> FindRuntimeBinary() {
  if (const char* env = std::getenv("MLVAULT_WORKSPACE_BIN"); env && *env) {
    if (IsExecutable(env)) return std::string(env);
    return util::NotFound(std::string("MLVAULT_WORKSPACE_BIN=") + env + " is not an executable file");
  }
  std::string looked;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // Installed side by side; or in a build tree, the runtime's own output folder.
    for (const fs::path& cand : {self.parent_path() / "mlvault-workspace",
                                 self.parent_path().parent_path() / "runtime" / "mlvault-workspace"}) {
      if (IsExecutable(cand.string())) return cand.lexically_normal().string();
      looked += cand.lexically_normal().string() + ", ";
    }
  }
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string dir(rest.substr(0, colon));
      if (!dir.empty() && IsExecutable(dir + "/mlvault-workspace")) return dir + "/mlvault-workspace";
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  return util::NotFound("cannot find the workspace runtime mlvault-workspace (looked at " + looked +
                        "and $PATH); set MLVAULT_WORKSPACE_BIN to its path");
}

std::unique_ptr<Provider> MakeLocalProvider(LocalProviderOptions options) {
  return std::make_unique<LocalProvider>(std::move(options));
}

}  // namespace mlvault::workspace
