// Workspace owners: the unprivileged uid/gid a workspace's processes run as when mlvault runs
// as root (issue 10, finding 1; the model is in docs/workspace-api.md, "Who the workspace runs
// as").
//
// Each workspace gets its own bare numeric id (uid = gid, no /etc/passwd entry) from the range
// MLVAULT_WORKSPACE_UIDS ("FIRST-LAST", default 1900000000-2099999999: above the ranges systemd
// and container tools hand out, below 2^31). The id is claimed machine-wide in a registry
// folder (MLVAULT_WORKSPACE_UID_REGISTRY, default /var/lib/mlvault/workspace-uids, root 0700):
// a symbolic link named after the id pointing at the workspace's folder, made under an flock,
// so two workspaces (of any catalog on the machine) never share one. The search starts at a
// hash of the workspace id; a claim whose workspace folder no longer records that id is stale
// and taken over. The workspace folder records its owner in <root>/.mlvault-owner
// ("<uid> <gid> new|adopted", root 0600), the folder itself being root:<gid> 0750.
//
// "adopted" means every file in the workspace's volumes belongs to the owner: a restore (which
// writes files with the owners the backup recorded) and a workspace made before owners existed
// are adopted once, at the runtime's next start.
//
// Not root: none of this applies (WorkspaceOwnersApply() is false); the workspace runs as the
// user running mlvault. Thread-safe (no state; the registry is locked with flock).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace mlvault::workspace {

struct WorkspaceOwner {
  uid_t uid = 0;
  gid_t gid = 0;
  bool adopted = false;  // every file of the volumes belongs to uid:gid
};

// Where an environment created as root without --storage-root keeps its workspaces when
// $MLVAULT_HOME may not be searched by other users (e.g. under /root, 0700):
// <kSystemStorageDir>/<environment id>.
inline constexpr const char* kSystemStorageDir = "/var/lib/mlvault/storage";

// True when mlvault runs as root: workspaces then run as their own owner.
bool WorkspaceOwnersApply();

// The owner recorded in `workspace_root`, nullopt if none is (created by a non-root mlvault or
// before owners existed). kCorruption if the record is unreadable.
util::Result<std::optional<WorkspaceOwner>> ReadOwner(const std::string& workspace_root);

// Claims a free id for the workspace (see above), records it in `workspace_root` (which must
// exist) as not yet adopted, and gives the folder to root:<gid> 0750. kInvalidArgument for a
// malformed MLVAULT_WORKSPACE_UIDS, kUnavailable if every id of the range is taken, kIo or
// kPermissionDenied from the registry.
util::Result<WorkspaceOwner> ClaimOwner(const std::string& workspace_root,
                                        const std::string& workspace_id);

// Marks the recorded owner adopted.
util::Status MarkAdopted(const std::string& workspace_root, const WorkspaceOwner& owner);

// Frees the id claimed for `workspace_root` (no-op if it has none or the claim names another
// folder). Call before the folder is removed.
void ReleaseOwner(const std::string& workspace_root);

// The entries of $MLVAULT_HOME others must be able to search, for util::EnsurePrivateDir(home,
// searchable) (util/private_dir.h): as root {"environments"} (the path to the default storage
// roots, $MLVAULT_HOME/environments/<name>), else none (everything private, 0700).
std::vector<std::string> SearchableHomeEntries();

// OK if every folder from / down to `dir` (included) may be searched (x) by other users, so that
// a workspace's uid reaches its folder below `dir` by its path (tools such as SQLite resolve
// every path to an absolute one). kPermissionDenied naming the first folder that may not, and
// the fix; kNotFound if a folder is missing.
util::Status CheckSearchable(const std::string& dir);

// Gives `path` and everything below it to uid:gid, never following a symbolic link (links
// themselves are changed). Holds one descriptor at a time (climbs back with "..", checking it
// reaches the same directory), so any depth works. Set-user-id bits and file capabilities are
// dropped by the kernel as for any chown. kIo naming the file that could not be changed.
util::Status ChownTree(const std::string& path, uid_t uid, gid_t gid);

}  // namespace mlvault::workspace
