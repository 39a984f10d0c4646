#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "util/clock.h"
#include "util/files.h"
#include "util/log.h"
#include "util/process.h"
#include "util/random.h"
#include "workspace/btrfs.h"
#include "workspace/owner.h"
#include "workspace/provider.h"

namespace mlvault::workspace {
namespace {

namespace fs = std::filesystem;

struct Paths {
  std::string root, projects, models, metadata_dir, metadata_file, run, home, api_key, control_key,
      ready, log, snapshots;
  // The folders that hold the volumes (a subvolume each on btrfs), with their volume names.
  std::vector<std::pair<std::string, std::string>> VolumeDirs() const {
    return {{"projects", projects}, {"models", models}, {"metadata", metadata_dir}};
  }
};

Paths PathsOf(const WorkspaceSpec& ws) {
  Paths p;
  p.root = LocalWorkspaceRoot(ws);
  p.projects = p.root + "/projects";
  p.models = p.root + "/models";
  p.metadata_dir = p.root + "/metadata";
  p.metadata_file = p.metadata_dir + "/workspace.db";
  p.run = p.root + "/run";
  p.home = p.run + "/home";
  // Written by earlier versions; removed at start (the keys now travel over a pipe).
  p.api_key = p.run + "/api.key";
  p.control_key = p.run + "/control.key";
  p.ready = p.run + "/ready.json";
  p.log = p.run + "/runtime.log";
  p.snapshots = p.root + "/.snapshots";
  return p;
}

constexpr const char* kStorageKindFile = ".mlvault-storage";

// The storage kind chosen for an environment root ("auto" when none was).
std::string StorageKindOf(const std::string& root) {
  auto text = util::ReadFile(root + "/" + kStorageKindFile);
  if (!text) return "auto";
  std::string k = *text;
  while (!k.empty() && (k.back() == '\n' || k.back() == ' ')) k.pop_back();
  return k;
}

bool IsExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Reads a file the workspace's uid may have replaced: never through a symbolic link, never a
// FIFO or device (root reads it), at most the last 64 KiB.
std::optional<std::string> ReadWorkspaceFile(const std::string& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  off_t from = st.st_size > 65536 ? st.st_size - 65536 : 0;
  std::string out(static_cast<size_t>(st.st_size - from), '\0');
  ssize_t n = ::pread(fd.get(), out.data(), out.size(), from);
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string LogTail(const std::string& path) {
  auto text = ReadWorkspaceFile(path);
  if (!text || text->empty()) return "(its log " + path + " is empty)";
  std::string t = text->size() > 600 ? text->substr(text->size() - 600) : *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  for (char& c : t)
    if (c == '\n') c = '|';
  return "last log lines: " + t;
}

// A snapshot tag names one folder under .snapshots/: letters, digits, '-' and '_' only.
bool SafeTag(const std::string& tag) {
  if (tag.empty() || tag.size() > 100) return false;
  for (char c : tag)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

class LocalProvider : public Provider {
 public:
  explicit LocalProvider(LocalProviderOptions o) : options_(std::move(o)) {}

  util::Status CreateVolumes(const WorkspaceSpec& ws) override {
    Paths p = PathsOf(ws);
    std::error_code ec;
    if (fs::exists(p.root, ec) && !fs::is_empty(p.root, ec))
      return util::Conflict("workspace folder " + p.root + " already exists and is not empty");
    MLV_TRY(util::MakeDirs(p.root));
    // As root, the workspace runs as its own uid (workspace/owner.h): claimed here, before
    // anything is made in the folder.
    std::optional<WorkspaceOwner> owner;
    if (WorkspaceOwnersApply()) {
      MLV_TRY(CheckSearchable(ws.environment_root));
      owner = MLV_TRY(ClaimOwner(p.root, ws.workspace_id));
    }
    // On btrfs each volume is a subvolume, so that a backup can snapshot it.
    std::string kind = StorageKindOf(ws.environment_root);
    bool subvolumes = kind != "folders" && btrfs::IsBtrfs(p.root);
    if (kind == "btrfs" && !subvolumes)
      return util::InvalidArgument("environment storage root " + ws.environment_root +
                                   " was created with storage kind btrfs but is not on btrfs now "
                                   "(mount the btrfs filesystem there again)");
    for (const auto& [name, dir] : p.VolumeDirs()) {
      if (subvolumes) {
        std::error_code ec2;
        if (fs::is_directory(dir, ec2) && fs::is_empty(dir, ec2)) ::rmdir(dir.c_str());
        MLV_TRY(btrfs::CreateSubvolume(dir));
      } else {
        MLV_TRY(util::MakeDirs(dir));
      }
    }
    MLV_TRY(util::MakeDirs(p.run, 0700));
    if (owner) {
      std::vector<std::string> dirs = {p.run};
      for (const auto& [name, dir] : p.VolumeDirs()) dirs.push_back(dir);
      for (const auto& dir : dirs)
        if (::lchown(dir.c_str(), owner->uid, owner->gid) != 0)
          return util::ErrnoError(
              "cannot give " + dir + " to the workspace's uid " + std::to_string(owner->uid),
              errno);
      // Not yet adopted: a restore writes the files next, with the owners of its backup; the
      // first start gives them to the workspace.
    }
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
    std::optional<WorkspaceOwner> owner = MLV_TRY(PrepareOwner(ws, p));
    MLV_TRY(util::MakeDirs(p.run, 0700));
    MLV_TRY(util::MakeDirs(p.home, 0700));
    if (owner)
      for (const auto& dir : {p.run, p.home})
        if (::lchown(dir.c_str(), owner->uid, owner->gid) != 0)
          return util::ErrnoError("cannot give " + dir + " to the workspace's uid", errno);
    for (const std::string& old : {p.api_key, p.control_key})
      if (::unlink(old.c_str()) != 0 && errno != ENOENT)
        return util::ErrnoError("remove " + old, errno);
    if (::unlink(p.ready.c_str()) != 0 && errno != ENOENT)
      return util::ErrnoError("remove " + p.ready, errno);

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
                                     "--keys-fd",
                                     "3",
                                     "--ready-file",
                                     p.ready,
                                     "--log-file",
                                     p.log};
    if (ws.start_paused) args.push_back("--start-paused");
    if (!ws.authorized_ip_ranges.empty()) {
      std::string joined;
      for (const auto& r : ws.authorized_ip_ranges) joined += (joined.empty() ? "" : ",") + r;
      args.push_back("--authorized-ip-ranges");
      args.push_back(joined);
    }
    // The runtime gets a clean environment (no MLVAULT_HOME, no credentials of ours) and its
    // keys on fd 3, never in a file or on its command line that its jobs could read.
    util::DetachedSpec spawn;
    spawn.args = std::move(args);
    spawn.log_file = p.run + "/runtime.out";
    spawn.env = util::CleanEnvironment(p.home);
    spawn.fd3_data = "api-key=" + ws.api_key + "\ncontrol-key=" + ws.control_key + "\n";
    spawn.cwd = p.root;
    if (owner) {
      spawn.uid = owner->uid;
      spawn.gid = owner->gid;
    }
    int pid = MLV_TRY(util::SpawnDetached(spawn));
    util::Log(util::LogLevel::kInfo, "started workspace runtime pid {} for {}{}", pid,
              ws.workspace_crn, owner ? " as uid " + std::to_string(owner->uid) : std::string());

    double deadline = util::MonotonicSeconds() + options_.ready_timeout_seconds;
    for (;;) {
      if (auto text = ReadWorkspaceFile(p.ready)) {
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (j.is_object() && j.contains("port") && j["port"].is_number_integer() &&
            j.contains("endpoint") && j["endpoint"].is_string()) {
          RuntimeInfo info;
          info.pid = j.contains("pid") && j["pid"].is_number_integer() ? j["pid"].get<int>() : pid;
          // Written by the workspace's uid: the pid mlvault signals later is the one it started.
          if (owner) info.pid = pid;
          info.port = j["port"].get<int>();
          info.endpoint = j["endpoint"].get<std::string>();
          return info;
        }
      }
      if (!util::ProcessAlive(pid))
        return util::Unavailable("the workspace runtime (" + bin + ") exited while starting; " +
                                 LogTail(p.run + "/runtime.out") + "; " + LogTail(p.log));
      if (util::MonotonicSeconds() > deadline) {
        (void)StopRuntime(ws, pid);
        return util::Unavailable("the workspace runtime did not get ready within " +
                                 std::to_string(static_cast<int>(options_.ready_timeout_seconds)) +
                                 " s; " + LogTail(p.log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  bool RuntimeAlive(const WorkspaceSpec& ws, int pid) const override {
    // The pid may have been reused by another process: it must be this workspace's runtime.
    return util::ProcessAlive(pid) &&
           util::ProcessCmdline(pid).find(ws.workspace_crn) != std::string::npos;
  }

  util::Status StopRuntime(const WorkspaceSpec& ws, int pid) override {
    if (!RuntimeAlive(ws, pid)) return util::Ok();
    ::kill(pid, SIGTERM);
    double deadline = util::MonotonicSeconds() + options_.stop_grace_seconds;
    while (util::ProcessAlive(pid) && util::MonotonicSeconds() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (util::ProcessAlive(pid)) {
      util::Log(util::LogLevel::kWarn, "workspace runtime pid {} ignored SIGTERM; killing it", pid);
      ::kill(pid, SIGKILL);
      deadline = util::MonotonicSeconds() + 5;
      while (util::ProcessAlive(pid) && util::MonotonicSeconds() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (util::ProcessAlive(pid))
        return util::Internal("workspace runtime pid " + std::to_string(pid) + " did not stop");
    }
    return util::Ok();
  }

  util::Status RemoveVolumes(const WorkspaceSpec& ws) override {
    std::string root = LocalWorkspaceRoot(ws);
    // Never remove something that is not a workspace folder of ours.
    if (ws.workspace_id.empty() || !util::IsUuid(ws.workspace_id) || ws.environment_root.empty())
      return util::Internal("refusing to remove " + root + ": not a workspace folder");
    std::error_code ec;
    if (!fs::exists(root, ec)) return util::Ok();
    ReleaseOwner(root);
    if (btrfs::IsBtrfs(root)) {
      // Read-only snapshots cannot be emptied file by file; subvolumes go in one call each.
      MLV_TRY(DropSnapshots(ws, ""));
      for (const auto& [name, dir] : PathsOf(ws).VolumeDirs()) {
        if (!btrfs::IsSubvolume(dir)) continue;
        // Without the privilege to delete a subvolume, emptying it and rmdir (Linux 4.18+) do.
        if (auto d = btrfs::DeleteSubvolume(dir);
            !d && d.error().code() != util::ErrorCode::kPermissionDenied)
          return d;
      }
    }
    return util::RemoveAll(root);
  }

  util::Result<uint64_t> FreeBytes(const WorkspaceSpec& ws) const override {
    return util::FreeSpace(ws.environment_root);
  }

  SnapshotSupport Snapshots(const WorkspaceSpec& ws) const override {
    Paths p = PathsOf(ws);
    if (!btrfs::IsBtrfs(p.root) || StorageKindOf(ws.environment_root) == "folders") return {};
    for (const auto& [name, dir] : p.VolumeDirs())
      if (!btrfs::IsSubvolume(dir))
        return {false, "volume " + name + " (" + dir +
                           ") is on btrfs but is a plain folder, not a subvolume (the workspace "
                           "was created before its storage was btrfs, or the folder was "
                           "replaced), so it cannot be snapshotted"};
    return {true, ""};
  }

  util::Status FlushVolumes(const WorkspaceSpec& ws) override {
    return btrfs::Sync(PathsOf(ws).root);
  }

  util::Result<std::vector<Volume>> SnapshotVolumes(const WorkspaceSpec& ws,
                                                    const std::string& tag) override {
    if (!SafeTag(tag)) return util::Internal("snapshot tag \"" + tag + "\" is not a name");
    SnapshotSupport support = Snapshots(ws);
    if (!support.available)
      return util::InvalidArgument("the volumes of workspace " + ws.workspace_crn +
                                   " cannot be snapshotted" +
                                   (support.why_not.empty() ? std::string(": not on btrfs")
                                                            : ": " + support.why_not));
    Paths p = PathsOf(ws);
    std::string dir = p.snapshots + "/" + tag;
    std::error_code ec;
    if (fs::exists(dir, ec))
      return util::Conflict("snapshots " + dir + " exist already (an earlier attempt left them)");
    MLV_TRY(util::MakeDirs(dir, 0700));
    // In parallel: the snapshots then share one transaction commit instead of waiting for three.
    auto dirs = p.VolumeDirs();
    std::vector<util::Status> results(dirs.size(), util::Ok());
    {
      std::vector<std::thread> threads;
      for (size_t i = 0; i < dirs.size(); ++i)
        threads.emplace_back([&, i] {
          results[i] = btrfs::CreateReadOnlySnapshot(dirs[i].second, dir + "/" + dirs[i].first);
        });
      for (auto& t : threads) t.join();
    }
    util::Status st = util::Ok();
    for (const auto& r : results)
      if (!r && st) st = r;
    if (!st) {
      (void)DropSnapshots(ws, tag);
      return std::unexpected(st.error());
    }
    return std::vector<Volume>{{"projects", VolumeKind::kFilesystem, dir + "/projects"},
                               {"models", VolumeKind::kFilesystem, dir + "/models"},
                               {"metadata", VolumeKind::kBlock, dir + "/metadata/workspace.db"}};
  }

  util::Result<int> DropSnapshots(const WorkspaceSpec& ws, const std::string& tag) override {
    Paths p = PathsOf(ws);
    std::vector<std::string> dirs;
    std::error_code ec;
    if (!tag.empty()) {
      if (!SafeTag(tag)) return util::Internal("snapshot tag \"" + tag + "\" is not a name");
      if (fs::exists(p.snapshots + "/" + tag, ec)) dirs.push_back(p.snapshots + "/" + tag);
    } else if (fs::is_directory(p.snapshots, ec)) {
      for (const auto& e : fs::directory_iterator(p.snapshots, ec)) dirs.push_back(e.path().string());
    }
    int removed = 0;
    for (const auto& dir : dirs) {
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string path = e.path().string();
        if (btrfs::IsSubvolume(path)) {
          MLV_TRY(btrfs::DeleteSubvolume(path));
          ++removed;
        }
      }
      MLV_TRY(util::RemoveAll(dir));
    }
    return removed;
  }

 private:
  // The owner the runtime runs as (nullopt when mlvault is not root). A workspace made before
  // owners existed gets one now; files not yet adopted (a restore wrote them with the owners
  // its backup recorded, or the workspace predates owners) are given to it first.
  static util::Result<std::optional<WorkspaceOwner>> PrepareOwner(const WorkspaceSpec& ws,
                                                                  const Paths& p) {
    if (!WorkspaceOwnersApply()) return std::nullopt;
    MLV_TRY(CheckSearchable(ws.environment_root));
    std::optional<WorkspaceOwner> owner = MLV_TRY(ReadOwner(p.root));
    if (!owner) owner = MLV_TRY(ClaimOwner(p.root, ws.workspace_id));
    if (!owner->adopted) {
      std::vector<std::string> dirs = {p.run};
      for (const auto& [name, dir] : p.VolumeDirs()) dirs.push_back(dir);
      for (const auto& dir : dirs)
        MLV_TRY_CTX(ChownTree(dir, owner->uid, owner->gid),
                    "giving the workspace's files to its uid " + std::to_string(owner->uid));
      MLV_TRY(MarkAdopted(p.root, *owner));
      owner->adopted = true;
      util::Log(util::LogLevel::kInfo, "workspace {}: its files now belong to uid {}",
                ws.workspace_crn, owner->uid);
    }
    return owner;
  }

  const LocalProviderOptions options_;
};

}  // namespace

std::string_view KindName(VolumeKind kind) {
  return kind == VolumeKind::kBlock ? "block" : "filesystem";
}

std::string MakeDomain(std::string_view workspace_name, std::string_view environment_name) {
  return std::string(workspace_name) + "-" + util::RandomHex(4) + "." +
         std::string(environment_name) + ".mlvault.local";
}

util::Status SetStorageKind(const std::string& root, const std::string& kind) {
  if (kind.empty() || kind == "auto") return util::Ok();
  if (kind != "btrfs" && kind != "folders")
    return util::InvalidField("storageKind",
                              "must be auto, btrfs or folders, got \"" + kind + "\"");
  if (kind == "btrfs" && !btrfs::IsBtrfs(root))
    return util::InvalidField("storageKind",
                              "btrfs was asked for, but " + root +
                                  " is not on a btrfs filesystem: give a --storage-root on btrfs, "
                                  "or leave --storage-kind out");
  return util::WriteFileAtomic(root + "/" + kStorageKindFile, kind + "\n");
}

std::string LocalWorkspaceRoot(const WorkspaceSpec& ws) {
  return ws.environment_root + "/" + ws.workspace_id;
}

util::Result<std::string> FindRuntimeBinary() {
  if (const char* env = std::getenv("MLVAULT_WORKSPACE_BIN"); env && *env) {
    if (IsExecutable(env)) return std::string(env);
    return util::NotFound(std::string("MLVAULT_WORKSPACE_BIN=") + env +
                          " is not an executable file");
  }
  std::string looked;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // Installed side by side; or in a build tree, the runtime's own output folder.
    for (const fs::path& cand :
         {self.parent_path() / "mlvault-workspace",
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
      if (!dir.empty() && IsExecutable(dir + "/mlvault-workspace"))
        return dir + "/mlvault-workspace";
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
