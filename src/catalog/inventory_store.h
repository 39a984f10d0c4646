// What a backup holds in ML terms, cached in the catalog (migration "0400_inventory"): one
// document per backup (its projects, jobs, experiments, models, applications, as the control
// layer computed them from the backup's own volumes), one row per named item and one per file,
// indexed so that "which backups hold model churn build 7" or "projects/p1/data/*.csv" is an
// index lookup over any number of backups.
//
// Portable SQL (SQLite and PostgreSQL). Not thread-safe: uses the Db it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/db.h"

namespace mlvault::catalog {

// Migrations "0400_inventory..."; appended to the others in control::AllMigrations.
std::vector<Migration> InventoryMigrations();

struct InventoryItem {
  std::string item_type;  // project | job | experiment | model | build | deployment | application
  std::string name;       // "p1"; builds "churn@7"; deployments "churn"
};

struct InventoryFile {
  std::string path;         // as users name it: "projects/p1/data/a.csv"
  std::string volume;       // the backup's volume holding it: "projects"
  std::string volume_path;  // its path inside the volume (recovery point)
  int64_t size = 0;
  std::string content_id;   // equal for equal content within one vault
};

struct InventoryRecord {
  std::string backup_id;
  std::string account_id;
  int64_t backup_created_at = 0;  // for "newest first" answers
  int64_t computed_at = 0;
  std::string document;  // JSON
  std::vector<InventoryItem> items;
  std::vector<InventoryFile> files;  // for Put only: Get leaves it empty (read them with Files)
};

// A backup that holds what a search asked for.
struct InventoryHit {
  std::string backup_id;
  int64_t backup_created_at = 0;
};

class InventoryStore {
 public:
  explicit InventoryStore(Db& db) : db_(db) {}
  // Stores a backup's inventory: its files (AddFiles), then its document and items in one
  // transaction, which makes it visible. A second Put for the same backup keeps the first
  // (another process computed it meanwhile): returns false then.
  util::Result<bool> Put(const InventoryRecord& record);
  // Adds files of an inventory being computed, before Put makes it visible (Get, FindPathPrefix
  // and BackupsWithoutInventory see a backup's files only after). A transaction per
  // kFilesPerTransaction files, so that a tree of millions never holds the catalog's write lock
  // for long; a file already there (an attempt that stopped half-way, or another process
  // computing the same inventory: its files are the same) is kept.
  util::Status AddFiles(const std::string& backup_id, const std::string& account_id,
                        int64_t backup_created_at, const std::vector<InventoryFile>& files);
  static constexpr size_t kFileBatch = 500;
  static constexpr size_t kFilesPerTransaction = 4 * kFileBatch;
  // The document and computation time (items and files are not loaded); nullopt if none yet.
  util::Result<std::optional<InventoryRecord>> Get(const std::string& backup_id);
  // Files of a backup by path order: at most `limit` whose path sorts after `after_path`
  // ("" : from the first). A keyset page: an index seek on (backup_id, path) however deep.
  util::Result<std::vector<InventoryFile>> Files(const std::string& backup_id,
                                                 const std::string& after_path, int64_t limit);
  // (number of files, their bytes) of a backup.
  util::Result<std::pair<int64_t, int64_t>> CountFiles(const std::string& backup_id);
  // Every file of a backup (for a diff or a file restore).
  util::Result<std::vector<InventoryFile>> AllFiles(const std::string& backup_id);
  // Backups of the account holding the item, newest first. `name_suffix`: match names ending in
  // it instead ("@7" for "build 7 of any model").
  util::Result<std::vector<InventoryHit>> FindItem(const std::string& account_id,
                                                   const std::string& item_type,
                                                   const std::string& name, bool name_suffix);
  // Backups of the account holding a file whose path starts with `prefix`, with that path:
  // (backup, path) pairs, newest backup first.
  util::Result<std::vector<std::pair<InventoryHit, std::string>>> FindPathPrefix(
      const std::string& account_id, const std::string& prefix);
  // Succeeded backups of the account that have no inventory yet, oldest first.
  util::Result<std::vector<std::string>> BackupsWithoutInventory(const std::string& account_id);
  // Drops a backup's inventory (when the backup is deleted).
  util::Status Remove(const std::string& backup_id);

 private:
  Db& db_;
};

}  // namespace mlvault::catalog
