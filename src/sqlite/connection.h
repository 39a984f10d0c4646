// One SQLite connection: statements with `?` parameters, rows materialised or streamed to a
// callback, transactions, and SQLite result codes turned into util::Error categories. The one
// SQLite wrapper of mlvault: the catalog's SQLite driver (catalog/sqlite_db.cc) and the workspace
// runtime's store (runtime/store.cc) are both built on it.
//
// Errors: kConflict for a constraint violation (UNIQUE, CHECK, a RAISE(ABORT) trigger),
// kUnavailable when the database stayed locked past the busy timeout, kCorruption for a damaged
// file or one that is not a database, kIoError for disk full / I/O / read-only, kInternal for SQL
// bugs. Messages name the database (`label` and path).
//
// Not thread-safe: use one connection per thread, or serialise access (runtime::Store holds a
// mutex around its connection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite/row.h"
#include "util/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mlvault::sqlite {

struct Options {
  std::string label = "database";  // how messages name it: "catalog", "metadata database"
  bool synchronous_full = false;   // synchronous=FULL (else NORMAL, durable at checkpoints)
  int busy_timeout_ms = 30000;     // how long a statement waits for another writer
};

class Connection {
 public:
  // Opens (creating) the database file with WAL, foreign keys on and the options' durability.
  // A file that is not a database fails here.
  static util::Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                        const Options& options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement and returns the rows it produced (empty for DML).
  util::Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params = {});
  // Runs one statement, calling `row` for each result row (return false to stop early).
  util::Status Query(std::string_view sql, const std::vector<Value>& params,
                     const std::function<bool(const Row&)>& row);
  // Runs one statement and returns the number of rows it changed.
  util::Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params = {});
  // Runs a script of statements without parameters (schema, PRAGMAs).
  util::Status ExecScript(const std::string& sql);

  // Runs `body` in a write transaction taken up front (BEGIN IMMEDIATE); commits if it returns
  // OK, rolls back otherwise. Nested calls join the outer transaction.
  util::Status Transaction(const std::function<util::Status()>& body);

  // PRAGMA wal_checkpoint(TRUNCATE): afterwards the main file alone holds every commit and the
  // -wal file is empty. kUnavailable if a reader blocked it.
  util::Status CheckpointTruncate();

  const std::string& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::string path, Options options);
  // Statements prepared earlier, most recently used last: the catalog runs the same few dozen
  // statements over and over, and parsing one (a batch insert's most of all) costs more than
  // running it.
  struct Cached {
    std::string sql;
    sqlite3_stmt* stmt = nullptr;
  };
  // A prepared statement for `sql`: the cached one if there is one (taken out of the cache while
  // it runs, so a statement run from a row callback gets its own), else a new one.
  util::Result<Cached> Take(std::string_view sql);
  // Resets the statement and keeps it for the next run of its text (the least recently used
  // one goes).
  void Give(Cached c);
  util::Status Run(std::string_view sql, const std::vector<Value>& params,
                   const std::function<bool(const Row&)>* row);
  std::unexpected<util::Error> Fail(int rc, const std::string& detail) const;

  sqlite3* db_;
  const std::string path_;
  const Options options_;
  int depth_ = 0;
  std::vector<Cached> cache_;
  static constexpr size_t kCachedStatements = 32;
};

}  // namespace mlvault::sqlite
