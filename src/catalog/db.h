// The catalog's database connection: a small SQL interface that stores are written against.
//
// Stores (workspace_store, iam_store, ...) speak portable SQL with `?` placeholders through
// this interface only; two drivers implement it:
//  - SQLite, the embedded default: WAL mode, a busy timeout, and write transactions that take the
//    write lock up front (BEGIN IMMEDIATE), so concurrent mlvault processes on one catalog never
//    lose an update.
//  - PostgreSQL (libpq), for several servers sharing one catalog: the same SQL translated by
//    postgres_sql.h, SERIALIZABLE transactions retried when they lose a race, migrations under an
//    advisory lock. Connection loss is kUnavailable (the next call reconnects).
// Portable SQL means: `?` placeholders; TEXT, INTEGER (64-bit) and REAL columns; partial unique
// indexes; no engine-specific functions (no datetime(), group_concat, INSERT OR ..., RETURNING);
// conditional UPDATEs (`... WHERE status = ?`) instead of row locks.
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

#include "sqlite/row.h"
#include "util/error.h"

namespace mlvault::catalog {

using util::Result;
using util::Status;

// SQL values and rows (sqlite/row.h: shared by both drivers and by the row mappings).
using Value = sqlite::Value;
using Row = sqlite::Row;

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
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         const std::vector<Value>& params = {}) = 0;

  // Convenience: Query and return only the number of rows changed.
  virtual Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;

  // Runs `body` in a write transaction; commits if it returns OK, rolls back otherwise.
  // Nested calls join the outer transaction. `body` may run more than once (PostgreSQL runs it
  // again after a serialization failure, which may come at COMMIT): every value it hands out
  // must be decided inside it, afresh on each run (catalog/testing.h RacingDb tests that).
  virtual Status Transaction(const std::function<Status()>& body) = 0;

  // Applies the migrations not applied yet, each in its own transaction. Safe to call from
  // several processes at once.
  virtual Status Migrate(const std::vector<Migration>& migrations) = 0;

  virtual std::string Describe() const = 0;
};

// Opens (creating if needed) the SQLite catalog at `path`.
Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path);

// Connects to a PostgreSQL catalog: a libpq URL (postgresql://user[:password]@host:port/db?...)
// or keyword string. kUnavailable (with the server's reason) when it cannot connect.
Result<std::unique_ptr<Db>> OpenPostgres(const std::string& url);

// A catalog by location: `postgresql://...` or `postgres://...` -> PostgreSQL; anything else is a
// file path -> SQLite. kInvalidArgument for another `scheme://`. Migrations are the caller's.
Result<std::unique_ptr<Db>> OpenCatalog(const std::string& location);

// True if `location` names a PostgreSQL catalog.
bool IsPostgresLocation(std::string_view location);

}  // namespace mlvault::catalog
