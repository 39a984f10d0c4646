// The catalog's database connection: a small SQL interface that stores are written against.
//
// Stores (workspace_store, iam_store, ...) speak portable SQL with `?` placeholders through
// this interface only, so a PostgreSQL driver can implement Db later without touching them.
// The SQLite driver is the embedded default: WAL mode, a busy timeout, and write transactions
// that take the write lock up front (BEGIN IMMEDIATE), so concurrent mlvault processes on one
// catalog never lose an update.
//
// A Db is NOT thread-safe: use one per thread (they are cheap to open).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/error.h"

namespace mlvault::catalog {

using util::Result;
using util::Status;

// A SQL value: NULL, integer, real or text. Blobs are stored as text (hex or base64) by stores.
using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

struct Row {
  std::vector<Value> values;
  // Accessors: kInternal-free convenience; a NULL reads as 0 / "" / nullopt.
  int64_t Int(size_t i) const;
  double Real(size_t i) const;
  std::string Text(size_t i) const;
  std::optional<std::string> OptText(size_t i) const;
  std::optional<int64_t> OptInt(size_t i) const;
  bool IsNull(size_t i) const;
};

// One schema migration; applied once, in id order, recorded in schema_migrations.
struct Migration {
  std::string id;   // sortable, e.g. "0001_core", "0100_iam"
  std::string sql;  // one or more statements
};

class Db {
 public:
  virtual ~Db() = default;

  // Runs a statement; returns the rows it produced (empty for DML).
  // Errors: kConflict for a uniqueness/constraint violation (message names the constraint),
  // kUnavailable when the database stayed locked past the busy timeout, kInternal for SQL bugs.
  virtual Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params = {}) = 0;

  // Convenience: Query and return only the number of rows changed.
  virtual Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;

  // Runs `body` in a write transaction; commits if it returns OK, rolls back otherwise.
  // Nested calls join the outer transaction.
  virtual Status Transaction(const std::function<Status()>& body) = 0;

  // Applies the migrations not applied yet, each in its own transaction. Safe to call from
  // several processes at once.
  virtual Status Migrate(const std::vector<Migration>& migrations) = 0;

  virtual std::string Describe() const = 0;
};

// Opens (creating if needed) the SQLite catalog at `path`.
Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path);

}  // namespace mlvault::catalog
