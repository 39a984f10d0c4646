// Providers: where a workspace's volumes live and how its runtime is started and stopped.
//
// The control layer provisions, protects and removes workspaces only through this interface, so a
// cloud provider can be added without touching the operations. The local provider (the embedded
// default, SPEC.md section 7) makes a workspace out of a folder:
//
//   <environment root>/<workspace-uuid>/
//     projects/              volume "projects"  (filesystem)
//     models/                volume "models"    (filesystem)
//     metadata/workspace.db  volume "metadata"  (block: the runtime's SQLite file)
//     run/                   (0700) ready.json, runtime.log, home/ (the runtime's HOME): not backed up
//     .snapshots/<tag>/      read-only snapshots of the volumes while a backup reads them (btrfs)
//
// On a btrfs storage root (detected by its statfs magic) projects/, models/ and metadata/ are
// btrfs subvolumes, so a backup's consistent moment is a read-only snapshot of each (taken in
// milliseconds while the workspace is quiesced) instead of a second pass over the files.
//
// and runs `mlvault-workspace serve` for it as a detached process (its own session), so the
// workspace outlives the mlvault command that started it. The runtime gets a clean environment
// (util::CleanEnvironment: nothing of mlvault's, no credentials) and its API and control keys on
// a pipe (fd 3), never in a file its jobs could read (docs/workspace-api.md, "Keys").
//
// Provider implementations are thread-safe (they keep no mutable state).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace mlvault::workspace {

enum class VolumeKind { kFilesystem, kBlock };
std::string_view KindName(VolumeKind kind);  // "filesystem" | "block"

struct Volume {
  std::string name;  // "projects", "models", "metadata"
  VolumeKind kind;
  std::string path;  // a directory (filesystem) or a file (block)
};

// Whether a workspace's volumes can be snapshotted atomically.
struct SnapshotSupport {
  bool available = false;
  // When not available: empty if the storage has no snapshots at all (a plain filesystem: the
  // normal case, nothing to say), else one sentence saying why not although it could (e.g. a
  // volume on btrfs that is a plain folder, not a subvolume), for a warning.
  std::string why_not;
};

// What a provider needs to know about one workspace.
struct WorkspaceSpec {
  std::string workspace_id;  // UUID
  std::string workspace_crn;
  std::string workspace_name;
  std::string environment_name;
  std::string environment_root;  // the environment's storage root folder
  std::string domain;
  bool public_bind = false;                       // usePublicLoadBalancer
  std::vector<std::string> authorized_ip_ranges;  // enforced by the runtime when not empty
  std::string api_key;
  std::string control_key;
  // StartRuntime starts no application or deployment (restore --start-mode paused).
  bool start_paused = false;
};

struct RuntimeInfo {
  int pid = 0;
  int port = 0;
  std::string endpoint;  // "http://127.0.0.1:<port>"
};

class Provider {
 public:
  virtual ~Provider() = default;

  // Creates the workspace's empty volumes. kConflict if its storage already holds data.
  virtual util::Status CreateVolumes(const WorkspaceSpec& ws) = 0;
  // The volumes of the workspace, in a fixed order (projects, models, metadata).
  virtual std::vector<Volume> Volumes(const WorkspaceSpec& ws) const = 0;
  // Starts the runtime and returns once it serves (its ready file is written). kUnavailable
  // (with the tail of its log) if it exits or does not get ready in time.
  virtual util::Result<RuntimeInfo> StartRuntime(const WorkspaceSpec& ws) = 0;
  // True if `pid` is this workspace's runtime and it is alive.
  virtual bool RuntimeAlive(const WorkspaceSpec& ws, int pid) const = 0;
  // Stops the runtime (SIGTERM, then SIGKILL after a grace period). OK if it is not running.
  virtual util::Status StopRuntime(const WorkspaceSpec& ws, int pid) = 0;
  // Removes the workspace's storage. OK if it is gone already.
  virtual util::Status RemoveVolumes(const WorkspaceSpec& ws) = 0;
  // Free bytes where the workspace's volumes live (for pre-flight checks of a restore).
  virtual util::Result<uint64_t> FreeBytes(const WorkspaceSpec& ws) const = 0;

  // -- Snapshots (the consistent moment of a backup on storage that has them).
  virtual SnapshotSupport Snapshots(const WorkspaceSpec& ws) const = 0;
  // Flushes the volumes' dirty data, so that a snapshot taken next is quick. Call it before
  // quiescing. Errors as for a write (kIo).
  virtual util::Status FlushVolumes(const WorkspaceSpec& ws) = 0;
  // Takes a read-only snapshot of every volume under `tag` (a backup id) and returns the volumes
  // as they are in the snapshots (same names and kinds, paths inside the snapshots). On an error
  // the snapshots it made are removed again. kInvalidArgument if snapshots are not available,
  // kConflict if snapshots under `tag` exist already, kIo/kPermissionDenied from the filesystem.
  virtual util::Result<std::vector<Volume>> SnapshotVolumes(const WorkspaceSpec& ws,
                                                            const std::string& tag) = 0;
  // Removes the snapshots under `tag`, or all of the workspace's when `tag` is empty (recovery
  // after a crash). Returns how many snapshots it removed (0 if there were none).
  virtual util::Result<int> DropSnapshots(const WorkspaceSpec& ws, const std::string& tag) = 0;
};

// The domain of a new workspace: "<workspace-name>-<8 hex>.<environment>.mlvault.local".
std::string MakeDomain(std::string_view workspace_name, std::string_view environment_name);

// The runtime binary: $MLVAULT_WORKSPACE_BIN, else `mlvault-workspace` next to the running
// executable, else on $PATH. kNotFound naming the places looked at.
util::Result<std::string> FindRuntimeBinary();

struct LocalProviderOptions {
  std::string runtime_binary;         // empty: FindRuntimeBinary() when first needed
  double ready_timeout_seconds = 30;  // how long StartRuntime waits for the ready file
  double stop_grace_seconds = 10;     // SIGTERM → SIGKILL
};
std::unique_ptr<Provider> MakeLocalProvider(LocalProviderOptions options = {});

// How the local provider lays out the volumes of an environment's workspaces: "auto" (btrfs
// subvolumes where the storage root is on btrfs, else folders), "btrfs" (required) or "folders"
// (plain folders, also on btrfs). The choice is kept in <root>/.mlvault-storage (no file: auto).
// kInvalidArgument (field storageKind) for another value or "btrfs" on a root not on btrfs;
// kIo if the choice cannot be written.
util::Status SetStorageKind(const std::string& root, const std::string& kind);

// The local provider's folder of a workspace: <environment_root>/<workspace_id>.
std::string LocalWorkspaceRoot(const WorkspaceSpec& ws);

}  // namespace mlvault::workspace
