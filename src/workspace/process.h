// Processes mlvault starts and watches: detached children (workspace runtimes, workflow workers)
// and liveness checks that survive pid reuse. Linux only (/proc). Thread-safe (no state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/error.h"

namespace mlvault::workspace {

// Runs args[0] with args in its own session, detached (double fork: it never becomes our zombie
// and outlives us), stdin from /dev/null, stdout and stderr appended to `log_file` (mode 0600).
// The environment is inherited. Returns its pid.
util::Result<int> SpawnDetached(const std::vector<std::string>& args, const std::string& log_file);

// True if the process exists and is not a zombie.
bool ProcessAlive(int pid);

// The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or 0 if it
// does not exist. Together with the pid it names one process even when pids are reused.
uint64_t ProcessStartTicks(int pid);

// The command line of a process, arguments separated by spaces ("" if gone).
std::string ProcessCmdline(int pid);

// This machine's host name ("localhost" if unknown).
std::string HostName();

}  // namespace mlvault::workspace
