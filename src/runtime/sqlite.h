// A small wrapper over one SQLite connection: statements with positional arguments, row
// callbacks, transactions, and SQLite result codes turned into util::Error categories
// (a UNIQUE violation is kConflict, busy/locked is kUnavailable, a damaged file kCorruption).
//
// Not thread-safe: the owner serialises access (Store holds a mutex around it).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "util/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mlvault::runtime {

using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string>;

// One result row; valid only inside the callback.
class SqlRow {
 public:
  explicit SqlRow(sqlite3_stmt* stmt) : stmt_(stmt) {}
  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Real(int col) const;
  std::string Text(int col) const;

 private:
  sqlite3_stmt* stmt_;
};

class Sqlite {
 public:
  // Opens (creating) the database file with WAL, synchronous=FULL and foreign keys on.
  static util::Result<std::unique_ptr<Sqlite>> Open(const std::string& path);
  ~Sqlite();
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;

  // Runs one statement; returns the number of rows it changed.
  util::Result<int> Exec(std::string_view sql, std::initializer_list<SqlValue> args = {});
  // Runs a script of statements without arguments (schema).
  util::Status ExecScript(const std::string& sql);
  // Runs a query, calling `row` for each result row (stop early by returning false).
  util::Status Query(std::string_view sql, std::initializer_list<SqlValue> args,
                     const std::function<bool(const SqlRow&)>& row);

  // Runs `body` in a transaction (BEGIN IMMEDIATE); commits if it succeeds, rolls back if not.
  util::Status Transaction(const std::function<util::Status()>& body);

  // PRAGMA wal_checkpoint(TRUNCATE): afterwards the main file alone holds every commit and the
  // -wal file is empty. kUnavailable if a reader blocked it.
  util::Status CheckpointTruncate();

  const std::string& path() const { return path_; }

 private:
  Sqlite(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  util::Result<sqlite3_stmt*> Prepare(std::string_view sql, std::initializer_list<SqlValue> args);
  std::unexpected<util::Error> Fail(int rc, std::string_view what) const;

  sqlite3* db_;
  const std::string path_;
};

}  // namespace mlvault::runtime
