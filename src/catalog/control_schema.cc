#include "catalog/control_schema.h"

namespace mlvault::catalog {

std::vector<Migration> ControlMigrations() {
  return {
      {"0001_control_core", R"sql(
CREATE TABLE environments (
  id            TEXT PRIMARY KEY,
  account_id    TEXT NOT NULL,
  crn           TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  region        TEXT NOT NULL,
  storage_root  TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  CONSTRAINT environments_name_unique UNIQUE (account_id, name)
);

CREATE TABLE workspaces (
  id                        TEXT PRIMARY KEY,
  account_id                TEXT NOT NULL,
  crn                       TEXT NOT NULL UNIQUE,
  name                      TEXT NOT NULL,
  environment_id            TEXT NOT NULL REFERENCES environments (id),
  status                    TEXT NOT NULL,
  status_reason             TEXT NOT NULL DEFAULT '',
  version                   TEXT NOT NULL DEFAULT '',
  domain                    TEXT NOT NULL,
  endpoint                  TEXT NOT NULL DEFAULT '',
  runtime_pid               INTEGER NOT NULL DEFAULT 0,
  parameters                TEXT NOT NULL,
  api_key                   TEXT NOT NULL,
  control_key               TEXT NOT NULL,
  is_restored               INTEGER NOT NULL DEFAULT 0,
  restored_from_backup_crn  TEXT,
  created_by                TEXT NOT NULL,
  created_at                INTEGER NOT NULL,
  updated_at                INTEGER NOT NULL,
  deleted_at                INTEGER
);
-- A name is taken by one live workspace per environment; deleted ones free it.
CREATE UNIQUE INDEX workspaces_live_name ON workspaces (environment_id, name) WHERE deleted_at IS NULL;
CREATE INDEX workspaces_account ON workspaces (account_id, created_at);

CREATE TABLE backups (
  id                  TEXT PRIMARY KEY,
  account_id          TEXT NOT NULL,
  crn                 TEXT NOT NULL UNIQUE,
  name                TEXT NOT NULL,
  workspace_id        TEXT NOT NULL REFERENCES workspaces (id),
  workspace_crn       TEXT NOT NULL,
  workspace_name      TEXT NOT NULL,
  environment_id      TEXT NOT NULL,
  environment_name    TEXT NOT NULL,
  vault_name          TEXT NOT NULL,
  status              TEXT NOT NULL,
  creator_crn         TEXT NOT NULL,
  workspace_version   TEXT NOT NULL DEFAULT '',
  workflow_id         TEXT NOT NULL,
  delete_workflow_id  TEXT,
  timeout_minutes     INTEGER,
  created_at          INTEGER NOT NULL,
  started_at          INTEGER,
  finished_at         INTEGER,
  quiesced_micros     INTEGER,
  bytes_total         INTEGER NOT NULL DEFAULT 0,
  files_total         INTEGER NOT NULL DEFAULT 0,
  bytes_stored        INTEGER NOT NULL DEFAULT 0,
  details             TEXT NOT NULL DEFAULT '{}',
  warnings            TEXT NOT NULL DEFAULT '[]',
  error               TEXT NOT NULL DEFAULT '',
  deleted_at          INTEGER
);
-- Backup names are unique per workspace among backups that are not deleted.
CREATE UNIQUE INDEX backups_live_name ON backups (workspace_id, name) WHERE status <> 'deleted';
CREATE INDEX backups_by_workspace_name ON backups (account_id, environment_name, workspace_name, created_at);

CREATE TABLE recovery_points (
  backup_id           TEXT NOT NULL REFERENCES backups (id),
  volume              TEXT NOT NULL,
  kind                TEXT NOT NULL,
  vault_point_id      TEXT NOT NULL,
  source_path         TEXT NOT NULL,
  bytes_total         INTEGER NOT NULL DEFAULT 0,
  files               INTEGER NOT NULL DEFAULT 0,
  dirs                INTEGER NOT NULL DEFAULT 0,
  bytes_read          INTEGER NOT NULL DEFAULT 0,
  bytes_new           INTEGER NOT NULL DEFAULT 0,
  bytes_stored        INTEGER NOT NULL DEFAULT 0,
  files_unchanged     INTEGER NOT NULL DEFAULT 0,
  duration_micros     INTEGER NOT NULL DEFAULT 0,
  created_at          INTEGER NOT NULL,
  PRIMARY KEY (backup_id, volume)
);

CREATE TABLE workflows (
  id                TEXT PRIMARY KEY,
  account_id        TEXT NOT NULL,
  kind              TEXT NOT NULL,
  status            TEXT NOT NULL,
  queue_key         TEXT NOT NULL DEFAULT '',
  resource_crn      TEXT NOT NULL,
  caller            TEXT NOT NULL,
  input             TEXT NOT NULL,
  output            TEXT NOT NULL DEFAULT '{}',
  phase             TEXT NOT NULL DEFAULT '',
  bytes_done        INTEGER NOT NULL DEFAULT 0,
  bytes_total       INTEGER NOT NULL DEFAULT 0,
  files_done        INTEGER NOT NULL DEFAULT 0,
  files_total       INTEGER NOT NULL DEFAULT 0,
  warnings          TEXT NOT NULL DEFAULT '[]',
  error_code        TEXT NOT NULL DEFAULT '',
  error_message     TEXT NOT NULL DEFAULT '',
  attempts          INTEGER NOT NULL DEFAULT 0,
  max_attempts      INTEGER NOT NULL DEFAULT 1,
  timeout_seconds   INTEGER NOT NULL DEFAULT 0,
  lease_owner       TEXT NOT NULL DEFAULT '',
  lease_expires_at  INTEGER NOT NULL DEFAULT 0,
  cancel_requested  INTEGER NOT NULL DEFAULT 0,
  cancel_reason     TEXT NOT NULL DEFAULT '',
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  started_at        INTEGER,
  finished_at       INTEGER
);
CREATE INDEX workflows_active ON workflows (status, lease_expires_at);
CREATE INDEX workflows_queue ON workflows (queue_key, created_at);
)sql"},
      // listWorkspaceBackups by CRN reads one workspace's backups newest first: without this
      // index it scanned every backup of the catalog.
      {"0002_control_backups_by_workspace", R"sql(
CREATE INDEX backups_by_workspace ON backups (workspace_id, created_at);
)sql"},
      // Vaults of an environment may live elsewhere than <home>/vaults (object storage shared by
      // several servers); their keys are then kept sealed in the catalog, not in key files.
      {"0003_control_vault_locations", R"sql(
ALTER TABLE environments ADD COLUMN vault_location TEXT NOT NULL DEFAULT '';
CREATE TABLE vault_keys (
  vault_name TEXT PRIMARY KEY,
  sealed_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql"},
  };
}

}  // namespace mlvault::catalog
