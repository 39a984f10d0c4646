// The client-side verbs of mlvault-workspace: `seed` fills a workspace with a realistic sample
// through its API, `snapshot` prints a canonical JSON of everything a restore must reproduce.
// Both talk HTTP to a running workspace; they are thread-compatible.
#pragma once

#include <string>

#include "util/error.h"

namespace mlvault::runtime {

struct ClientOptions {
  std::string endpoint;  // http://host:port
  std::string api_key;
  std::string host;  // Host header to send; empty: the endpoint's
  int timeout_seconds = 60;
};

// Creates the sample (see docs/workspace-api.md) and waits until its run finished and its
// deployment and application are running. Returns a JSON summary of what it made. kConflict
// if the workspace already holds one of the sample's names; kUnavailable if a service did not
// come up in time.
util::Result<std::string> Seed(const ClientOptions& options);

// Waits for the workspace to be reconciled, then returns its canonical snapshot: sorted keys,
// entities sorted by id, files by path, volatile fields (pids, ports, process start times,
// logs of unfinished runs and of services) left out.
util::Result<std::string> Snapshot(const ClientOptions& options);

}  // namespace mlvault::runtime
