// What a backup holds in ML terms, read from the backup's own recovery points (never from the
// live workspace): its metadata volume (the runtime's SQLite database, restored into a private
// temporary folder under $MLVAULT_HOME/tmp) for projects, jobs and runs, experiments and runs with
// parameters and metrics, models with builds and deployments, applications; its projects and
// models volumes' trees (no file data is read) for files, counts and sizes.
//
// Computed once per backup and cached in the catalog (catalog/inventory_store.h): at the end of a
// backup, or on first ask for older backups. Internal to the control layer; not thread-safe (uses
// the Db it is given).
//
// The document (JSON text):
//   {"projects": [{"id","name","description","files","bytes","createdAt"}],
//    "jobs": [{"id","name","project","script","interpreter","args","runs","lastRunStatus"}],
//    "experiments": [{"id","name","project","description","runs": [{"id","name","status",
//                     "params", "metrics": {"<key>": {"last","step","points"}}}]}],
//    "models": [{"id","name","project","description","builds": [{"number","id","files",
//                "manifestSha256","serveCommand","createdAt"}],
//                "deployments": [{"id","build","status"}]}],
//    "applications": [{"id","name","project","subdomain","command","status"}]}
// Builds are numbered 1, 2, ... per model in the order they were made ("churn@7" is the seventh
// build of model churn). File paths are "projects/<project>/<path>" and
// "models/<model>/build-<n>/<path>".
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "catalog/control_stores.h"
#include "catalog/inventory_store.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/progress.h"
#include "vault/vault.h"

namespace mlvault::control {

// A backup's metadata volume (the runtime's SQLite database) restored into a private folder under
// $MLVAULT_HOME/tmp and opened; the folder is removed when this is destroyed.
class BackupMetadata {
 public:
  static util::Result<std::unique_ptr<BackupMetadata>> Open(const std::string& home,
                                                            vault::Vault& v,
                                                            const std::string& point_id,
                                                            const util::CancelToken* cancel);
  ~BackupMetadata();
  catalog::Db& db() { return *db_; }

 private:
  std::string dir_;
  std::unique_ptr<catalog::Db> db_;
};

// Reads the inventory of succeeded backup `b` from its recovery points (does not store it). Its
// files go to `sink` a batch at a time as the trees are read (the record returned has none), so
// memory does not grow with the number of files; an error of `sink` stops it.
// kConflict if the backup did not succeed; kNotFound if its vault or a recovery point is gone;
// the vault's errors otherwise.
using InventoryFilesSink = std::function<util::Status(const std::vector<catalog::InventoryFile>&)>;
util::Result<catalog::InventoryRecord> ComputeInventory(catalog::Db& db, const std::string& home,
                                                        const catalog::BackupRecord& b,
                                                        util::TimeMicros now,
                                                        const util::CancelToken* cancel,
                                                        const InventoryFilesSink& sink);

// The cached inventory of `b`, computing and storing it first if there is none yet.
util::Result<catalog::InventoryRecord> EnsureInventory(catalog::Db& db, const std::string& home,
                                                       const catalog::BackupRecord& b,
                                                       util::TimeMicros now,
                                                       const util::CancelToken* cancel = nullptr);

// The changes from inventory `from` to inventory `to` (documents and files), as the JSON text of
// diffBackups' "changes": per kind ("projects", "files", "jobs", "experiments",
// "experimentRuns", "models", "builds", "deployments", "applications") the names "added" and
// "removed" and, for what exists in both but differs, "changed" with the fields that differ
// ({"name", "fields": {"<field>": {"from", "to"}}}; files: {"path", "fromSize", "toSize"}).
std::string DiffInventories(const std::string& from_document,
                            const std::vector<catalog::InventoryFile>& from_files,
                            const std::string& to_document,
                            const std::vector<catalog::InventoryFile>& to_files);

// One item of restore-workspace-items: "project:p1", "model:churn", "model:churn@build-7"
// (or "@7"), "experiment:e2", "job:nightly", "application:dash".
struct ItemRef {
  std::string type;  // project | model | experiment | job | application
  std::string name;
  int build = 0;  // models: the build number, 0 for every build
  std::string text;  // as given
};
// kInvalidArgument (field "items") for anything else.
util::Result<ItemRef> ParseItemRef(const std::string& text);
// The inventory document's entry of `item` (a JSON object's text), or kNotFound naming the item
// and the backup ("model:churn@build-9: backup ... has no build 9 of model churn").
util::Result<std::string> FindItemInInventory(const std::string& document, const ItemRef& item,
                                              const std::string& backup_crn);

// Inventory path globs: `*` and `?` stay within one path segment, `**` spans segments
// ("projects/p1/**", "projects/*/data/*.csv", "models/**/manifest.json").
bool PathGlobMatch(std::string_view glob, std::string_view path);
// The literal part of `glob` before its first wildcard (what an index range can look up).
std::string GlobLiteralPrefix(std::string_view glob);

}  // namespace mlvault::control
