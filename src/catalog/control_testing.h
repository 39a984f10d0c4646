// Test support for the control stores: the rows that store tests need before the one they test
// (an environment, a workspace in it), built in one place so the fixtures cannot drift apart.
// Header-only, for tests; plain values, thread-safe.
#pragma once

#include <string>

#include "catalog/control_stores.h"

namespace mlvault::catalog {

// Environment "e1" (named "dev") of account "acct".
inline EnvironmentRecord TestEnvironment() {
  return {"e1", "acct", "crn:e1", "dev", "us-west-1", "/r", "me", 1};
}

// A running workspace `id` named `name` in TestEnvironment(), with CRN "crn:<id>".
inline WorkspaceRecord TestWorkspace(const std::string& id, const std::string& name) {
  WorkspaceRecord w;
  w.id = id;
  w.account_id = "acct";
  w.crn = "crn:" + id;
  w.name = name;
  w.environment_id = "e1";
  w.status = WorkspaceStatus::kRunning;
  w.domain = "d";
  w.parameters = "{}";
  w.api_key = "k";
  w.control_key = "c";
  w.created_by = "me";
  return w;
}

// Backup `id` named `name` of workspace `workspace_id` (named "ws", in "dev"), in `status`,
// with CRN "crn:<id>" and workflow "wf".
inline BackupRecord TestBackup(const std::string& id, const std::string& name,
                               const std::string& workspace_id, const std::string& status) {
  BackupRecord b;
  b.id = id;
  b.account_id = "acct";
  b.crn = "crn:" + id;
  b.name = name;
  b.workspace_id = workspace_id;
  b.workspace_name = "ws";
  b.environment_name = "dev";
  b.status = ParseBackupStatus(status).value();  // a test's own literal: a typo throws
  b.workflow_id = "wf";
  return b;
}

}  // namespace mlvault::catalog
