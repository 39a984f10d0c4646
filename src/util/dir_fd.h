// Directory file descriptors: walking below a root one component at a time without ever
// following a symbolic link, listing, emptiness, and removing a subtree. These are the building
// blocks for code that must not be redirected by a racing rename or a planted symlink (restore
// into a writable target, a workspace volume).
//
// All functions are thread-compatible (no shared state). Errors are util::Error from errno
// (ENOENT: kNotFound, EACCES/EPERM: kPermissionDenied, ...), naming the relative path given.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/files.h"

namespace mlvault::util {

// A duplicate of `fd` (close-on-exec).
Result<UniqueFd> DupFd(int fd);

// True when `name` is one path component: not empty, not "." or "..", no '/' and no NUL.
bool IsPathComponent(std::string_view name);

// Opens the directory `name` in `dirfd` (O_DIRECTORY | O_NOFOLLOW). A symlink, a file or a
// missing name is an error (ELOOP/ENOTDIR: kIo, ENOENT: kNotFound). `shown` names it in errors.
Result<UniqueFd> OpenDirAt(int dirfd, const std::string& name, std::string_view shown = {});

// Opens `parts` below `rootfd` one component at a time, never following a symlink. With
// `create`, missing directories are made with `mode`. kInvalidArgument for a part that is not
// a single path component. An empty `parts` gives a duplicate of rootfd.
Result<UniqueFd> OpenDirBeneath(int rootfd, std::span<const std::string> parts, bool create = false,
                                int mode = 0755);

// The names in the directory `fd` (without "." and ".."), in directory order. `fd` itself is
// not moved (a duplicate is read).
Result<std::vector<std::string>> ListDirFd(int fd, std::string_view shown = {});

// True if the directory `fd` holds nothing but "." and "..". False also when it cannot be read.
bool DirIsEmpty(int fd);

// Removes `name` in `dirfd` and everything below it (rm -rf) without following symlinks;
// directories on the way are made writable first. A missing name is fine.
Status RemoveTreeAt(int dirfd, const std::string& name, std::string_view shown = {});

// Raises the soft limit of open descriptors to the hard limit (at most 65536): walks that hold a
// descriptor per directory in progress need more than the common default of 1024. Harmless.
void RaiseFdLimit();

}  // namespace mlvault::util
