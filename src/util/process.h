// Processes mlvault starts and watches: detached children (workspace runtimes, workflow workers)
// and liveness checks that survive pid reuse; the clean environment every workspace process gets.
// Linux only (/proc). Thread-safe (no state).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace mlvault::util {

// What SpawnDetached starts and how.
struct DetachedSpec {
  std::vector<std::string> args;  // args[0] is the program's path (no PATH lookup)
  std::string log_file;           // stdout and stderr, appended (created 0600)
  // The child's whole environment ("KEY=VALUE"); nullopt inherits ours (workflow workers, which
  // act as this mlvault). Workspace processes get CleanEnvironment().
  std::optional<std::vector<std::string>> env;
  // When not empty: the child reads these bytes from fd 3 (a pipe, closed after them), the way
  // secrets reach a child without a file or its command line.
  std::string fd3_data;
  // Run as this uid/gid (supplementary groups dropped); -1 keeps ours. Needs root. With a uid,
  // the child also loses every capability for good (the bounding set is emptied) and gets
  // no_new_privs, so no set-user-id program or file capability gives it any back.
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  // When not empty: the child's working directory, entered before it gives up root (so it can
  // be a folder whose parents the uid above cannot traverse; the child then reaches its files
  // by paths relative to it).
  std::string cwd;
};

// Runs spec.args[0] in its own session, detached (double fork: it never becomes our zombie and
// outlives us), stdin from /dev/null, every other descriptor but 0-2 (and 3 with fd3_data)
// closed. The log is opened by the child before it changes uid, never through a symbolic link
// or as anything but a regular file (no log then). Returns its pid. kInvalidArgument for a secret larger than a pipe holds; kInternal if
// it could not be started.
Result<int> SpawnDetached(const DetachedSpec& spec);
// The same with the inherited environment.
Result<int> SpawnDetached(const std::vector<std::string>& args, const std::string& log_file);

// The explicit environment of a workspace process: PATH (a fixed system path), HOME, LANG
// (C.UTF-8 unless ours names another), TZ and TMPDIR and MLVAULT_LOG when we have them, then
// `extra`. Nothing else of ours (no MLVAULT_HOME, no credentials) is passed on.
std::vector<std::string> CleanEnvironment(
    const std::string& home, const std::vector<std::pair<std::string, std::string>>& extra = {});

// True if the process exists and is not a zombie.
bool ProcessAlive(int pid);

// The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or 0 if it
// does not exist. Together with the pid it names one process even when pids are reused.
uint64_t ProcessStartTicks(int pid);

// The command line of a process, arguments separated by spaces ("" if gone).
std::string ProcessCmdline(int pid);

// This machine's host name ("localhost" if unknown).
std::string HostName();

}  // namespace mlvault::util
