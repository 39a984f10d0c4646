// The control plane's tables: environments, workspaces, backups and their recovery points, and
// workflows. (Accounts, IAM and audit tables are the iam area's migrations, "0100_iam...".)
//
// Portable SQL only (TEXT/INTEGER columns, partial unique indexes, no SQLite-only syntax), so a
// PostgreSQL driver runs the same migrations. Times are INTEGER microseconds since the epoch (UTC);
// JSON documents are TEXT written and read by the control layer. Ids are UUID text.
#pragma once

#include <vector>

#include "catalog/db.h"

namespace mlvault::catalog {

// Migrations "0001_control..."; apply with every other area's: db.Migrate(all).
std::vector<Migration> ControlMigrations();

}  // namespace mlvault::catalog
