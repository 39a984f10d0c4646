#include "catalog/inventory_store.h"

#include <algorithm>

namespace mlvault::catalog {

std::vector<Migration> InventoryMigrations() {
  return {{"0400_inventory", R"sql(
CREATE TABLE backup_inventories (
  backup_id          TEXT PRIMARY KEY REFERENCES backups (id),
  account_id         TEXT NOT NULL,
  backup_created_at  INTEGER NOT NULL,
  computed_at        INTEGER NOT NULL,
  document           TEXT NOT NULL
);
CREATE TABLE backup_inventory_items (
  backup_id          TEXT NOT NULL REFERENCES backups (id),
  account_id         TEXT NOT NULL,
  item_type          TEXT NOT NULL,
  name               TEXT NOT NULL,
  backup_created_at  INTEGER NOT NULL,
  PRIMARY KEY (backup_id, item_type, name)
);
CREATE INDEX backup_inventory_items_lookup
  ON backup_inventory_items (account_id, item_type, name, backup_created_at);
CREATE TABLE backup_inventory_files (
  backup_id          TEXT NOT NULL REFERENCES backups (id),
  account_id         TEXT NOT NULL,
  path               TEXT NOT NULL,
  volume             TEXT NOT NULL,
  volume_path        TEXT NOT NULL,
  size               INTEGER NOT NULL,
  content_id         TEXT NOT NULL,
  backup_created_at  INTEGER NOT NULL,
  PRIMARY KEY (backup_id, path)
);
CREATE INDEX backup_inventory_files_path
  ON backup_inventory_files (account_id, path, backup_created_at);
)sql"}};
}

namespace {

InventoryFile FileOf(const Row& r) {
  return InventoryFile{r.Text(0), r.Text(1), r.Text(2), r.Int(3), r.Text(4)};
}

// The smallest string greater than every string starting with `prefix` (for a range scan that
// an index answers on both engines; LIKE is not indexed under every collation).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c < 0x7f) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\x7f');
}

}  // namespace

util::Status InventoryStore::AddFiles(const std::string& backup_id, const std::string& account_id,
                                      int64_t backup_created_at,
                                      const std::vector<InventoryFile>& files) {
  // One multi-row INSERT per kFileBatch files: a round trip per batch, not per file (8 values a
  // row, 4,000 a statement: under both engines' limits), and the same text for every full batch
  // (SQLite keeps it prepared). A transaction per kFilesPerTransaction files.
  std::string sql;
  size_t sql_rows = 0;  // rows `sql` inserts
  std::vector<Value> values;
  auto insert = [&](size_t start, size_t n) -> util::Status {
    if (n != sql_rows) {
      sql =
          "INSERT INTO backup_inventory_files (backup_id, account_id, path, volume, volume_path, "
          "size, content_id, backup_created_at) VALUES ";
      for (size_t i = 0; i < n; ++i)
        sql += i == 0 ? "(?, ?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?, ?)";
      sql += " ON CONFLICT (backup_id, path) DO NOTHING";
      sql_rows = n;
    }
    values.clear();
    values.reserve(n * 8);
    for (size_t i = 0; i < n; ++i) {
      const InventoryFile& f = files[start + i];
      values.insert(values.end(), {backup_id, account_id, f.path, f.volume, f.volume_path, f.size,
                                   f.content_id, backup_created_at});
    }
    MLV_TRY(db_.Exec(sql, values));
    return util::Ok();
  };
  for (size_t tx = 0; tx < files.size(); tx += kFilesPerTransaction) {
    size_t end = std::min(files.size(), tx + kFilesPerTransaction);
    MLV_TRY(db_.Transaction([&]() -> util::Status {
      for (size_t start = tx; start < end; start += kFileBatch)
        MLV_TRY(insert(start, std::min(kFileBatch, end - start)));
      return util::Ok();
    }));
  }
  return util::Ok();
}

util::Result<bool> InventoryStore::Put(const InventoryRecord& r) {
  MLV_TRY(AddFiles(r.backup_id, r.account_id, r.backup_created_at, r.files));
  bool stored = false;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    auto have = MLV_TRY(
        db_.Query("SELECT backup_id FROM backup_inventories WHERE backup_id = ?", {r.backup_id}));
    if (!have.empty()) return util::Ok();
    MLV_TRY(db_.Exec(
        "INSERT INTO backup_inventories (backup_id, account_id, backup_created_at, computed_at, "
        "document) VALUES (?, ?, ?, ?, ?)",
        {r.backup_id, r.account_id, r.backup_created_at, r.computed_at, r.document}));
    for (const auto& i : r.items)
      MLV_TRY(db_.Exec(
          "INSERT INTO backup_inventory_items (backup_id, account_id, item_type, name, "
          "backup_created_at) VALUES (?, ?, ?, ?, ?)",
          {r.backup_id, r.account_id, i.item_type, i.name, r.backup_created_at}));
    stored = true;
    return util::Ok();
  }));
  return stored;
}

util::Result<std::optional<InventoryRecord>> InventoryStore::Get(const std::string& backup_id) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT account_id, backup_created_at, computed_at, document FROM backup_inventories "
      "WHERE backup_id = ?",
      {backup_id}));
  if (rows.empty()) return std::optional<InventoryRecord>();
  InventoryRecord r;
  r.backup_id = backup_id;
  r.account_id = rows[0].Text(0);
  r.backup_created_at = rows[0].Int(1);
  r.computed_at = rows[0].Int(2);
  r.document = rows[0].Text(3);
  return std::optional<InventoryRecord>(std::move(r));
}

util::Result<std::vector<InventoryFile>> InventoryStore::Files(const std::string& backup_id,
                                                               const std::string& after_path,
                                                               int64_t limit) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT path, volume, volume_path, size, content_id FROM backup_inventory_files "
      "WHERE backup_id = ? AND path > ? ORDER BY path LIMIT ?",
      {backup_id, after_path, limit}));
  std::vector<InventoryFile> out;
  for (const auto& r : rows) out.push_back(FileOf(r));
  return out;
}

util::Result<std::pair<int64_t, int64_t>> InventoryStore::CountFiles(
    const std::string& backup_id) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM backup_inventory_files WHERE backup_id = ?",
      {backup_id}));
  if (rows.empty()) return std::make_pair<int64_t, int64_t>(0, 0);
  return std::make_pair(rows[0].Int(0), rows[0].Int(1));
}

util::Result<std::vector<InventoryFile>> InventoryStore::AllFiles(const std::string& backup_id) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT path, volume, volume_path, size, content_id FROM backup_inventory_files "
      "WHERE backup_id = ? ORDER BY path",
      {backup_id}));
  std::vector<InventoryFile> out;
  for (const auto& r : rows) out.push_back(FileOf(r));
  return out;
}

util::Result<std::vector<InventoryHit>> InventoryStore::FindItem(const std::string& account_id,
                                                                 const std::string& item_type,
                                                                 const std::string& name,
                                                                 bool name_suffix) {
  std::vector<Row> rows;
  if (name_suffix) {
    rows = MLV_TRY(db_.Query(
        "SELECT backup_id, backup_created_at, name FROM backup_inventory_items "
        "WHERE account_id = ? AND item_type = ? ORDER BY backup_created_at DESC",
        {account_id, item_type}));
  } else {
    rows = MLV_TRY(db_.Query(
        "SELECT backup_id, backup_created_at, name FROM backup_inventory_items "
        "WHERE account_id = ? AND item_type = ? AND name = ? ORDER BY backup_created_at DESC",
        {account_id, item_type, name}));
  }
  std::vector<InventoryHit> out;
  for (const auto& r : rows) {
    std::string n = r.Text(2);
    if (name_suffix && (n.size() < name.size() || n.compare(n.size() - name.size(), name.size(),
                                                            name) != 0))
      continue;
    if (!out.empty() && out.back().backup_id == r.Text(0)) continue;
    out.push_back({r.Text(0), r.Int(1)});
  }
  return out;
}

util::Result<std::vector<std::pair<InventoryHit, std::string>>> InventoryStore::FindPathPrefix(
    const std::string& account_id, const std::string& prefix) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT f.backup_id, f.backup_created_at, f.path FROM backup_inventory_files f "
      "WHERE f.account_id = ? AND f.path >= ? AND f.path < ? AND EXISTS (SELECT 1 FROM "
      "backup_inventories i WHERE i.backup_id = f.backup_id) "
      "ORDER BY f.backup_created_at DESC, f.path",
      {account_id, prefix, PrefixEnd(prefix)}));
  std::vector<std::pair<InventoryHit, std::string>> out;
  for (const auto& r : rows) out.push_back({{r.Text(0), r.Int(1)}, r.Text(2)});
  return out;
}

util::Result<std::vector<std::string>> InventoryStore::BackupsWithoutInventory(
    const std::string& account_id) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT b.id FROM backups b LEFT JOIN backup_inventories i ON i.backup_id = b.id "
      "WHERE b.account_id = ? AND b.status = 'succeeded' AND i.backup_id IS NULL "
      "ORDER BY b.created_at",
      {account_id}));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.Text(0));
  return out;
}

util::Status InventoryStore::Remove(const std::string& backup_id) {
  return db_.Transaction([&]() -> util::Status {
    MLV_TRY(db_.Exec("DELETE FROM backup_inventory_files WHERE backup_id = ?", {backup_id}));
    MLV_TRY(db_.Exec("DELETE FROM backup_inventory_items WHERE backup_id = ?", {backup_id}));
    MLV_TRY(db_.Exec("DELETE FROM backup_inventories WHERE backup_id = ?", {backup_id}));
    return util::Ok();
  });
}

}  // namespace mlvault::catalog
