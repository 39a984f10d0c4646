// The PostgreSQL driver of catalog::Db (libpq). See db.h for the contract and postgres_sql.h for
// the dialect translation.
//
// Transactions run at SERIALIZABLE isolation, so a store's read-then-write transaction behaves as
// it does under SQLite's single writer; a transaction that loses a serialization race (SQLSTATE
// 40001) or a deadlock (40P01) is rolled back and its body run again (bounded, with jittered
// backoff). Bodies therefore must only touch the database (the stores' bodies do).
#include <fmt/core.h>
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <thread>

#include "catalog/db.h"
#include "catalog/postgres_sql.h"

namespace mlvault::catalog {
namespace {

constexpr int kMaxAttempts = 30;
// pg_advisory_lock key of the migrations: any constant; "mlvmigr" in ASCII.
constexpr int64_t kMigrationLockKey = 0x6d6c766d696772;

// PostgreSQL type OIDs (pg_type.h) of the columns we turn into numbers.
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
              kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700;

// libpq's messages span lines ("...failed: refused\n\tIs the server running...?"): one line.
std::string OneLine(std::string msg) {
  std::string out;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') {
      while (i + 1 < msg.size() && (msg[i + 1] == '\t' || msg[i + 1] == ' ')) ++i;
      if (i + 1 < msg.size()) out += ' ';
    } else {
      out += msg[i];
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool Retryable(const std::string& state) { return state == "40001" || state == "40P01"; }

// A libpq URL or keyword string without its password, for messages.
std::string Redacted(PGconn* conn) {
  std::string user = PQuser(conn) ? PQuser(conn) : "";
  std::string host = PQhost(conn) ? PQhost(conn) : "";
  std::string port = PQport(conn) ? PQport(conn) : "";
  std::string db = PQdb(conn) ? PQdb(conn) : "";
  return "postgresql://" + (user.empty() ? "" : user + "@") + host +
         (port.empty() ? "" : ":" + port) + "/" + db;
}

class PostgresDb : public Db {
 public:
  explicit PostgresDb(PGconn* conn) : conn_(conn), name_(Redacted(conn)) {}
  ~PostgresDb() override { PQfinish(conn_); }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    int n = 0;
    std::string text = PostgresPlaceholders(sql, &n);
    if (n != static_cast<int>(params.size()))
      return util::Internal(
          fmt::format("catalog: statement takes {} parameters, given {}", n, params.size()));
    return Run(text, params, nullptr);
  }

  Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params) override {
    int n = 0;
    std::string text = PostgresPlaceholders(sql, &n);
    if (n != static_cast<int>(params.size()))
      return util::Internal(
          fmt::format("catalog: statement takes {} parameters, given {}", n, params.size()));
    int64_t changed = 0;
    MLV_TRY(Run(text, params, &changed));
    return changed;
  }

  Status Transaction(const std::function<Status()>& body) override {
    if (depth_ > 0) {
      ++depth_;
      Status st = body();
      --depth_;
      return st;
    }
    std::mt19937 rng(std::random_device{}());
    for (int attempt = 1;; ++attempt) {
      last_state_.clear();
      MLV_TRY(Script("BEGIN ISOLATION LEVEL SERIALIZABLE"));
      depth_ = 1;
      Status st = body();
      depth_ = 0;
      if (st) st = Script("COMMIT");
      if (st) return st;
      bool retry = Retryable(last_state_);
      (void)Script("ROLLBACK");
      if (!retry || attempt >= kMaxAttempts) return st;
      // Another transaction won the race: back off a little (jittered, growing) and run again.
      int cap_ms = std::min(200, 2 << std::min(attempt, 7));
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::uniform_int_distribution<int>(100, cap_ms * 1000)(rng)));
    }
  }

  Status Migrate(const std::vector<Migration>& migrations) override {
    // Fast path, one round trip: every migration is applied already (the usual case).
    if (auto done = Run("SELECT id FROM schema_migrations", {}, nullptr); done) {
      std::set<std::string> have;
      for (const auto& r : *done) have.insert(r.Text(0));
      if (std::all_of(migrations.begin(), migrations.end(),
                      [&](const Migration& m) { return have.contains(m.id); }))
        return util::Ok();
    }
    // One migrator at a time across every process sharing the database: a session-level
    // advisory lock, held until every migration is applied (or one failed).
    MLV_TRY(Run(fmt::format("SELECT pg_advisory_lock({})", kMigrationLockKey), {}, nullptr));
    Status st = MigrateLocked(migrations);
    auto unlock = Run(fmt::format("SELECT pg_advisory_unlock({})", kMigrationLockKey), {}, nullptr);
    if (!st) return st;
    if (!unlock) return std::unexpected(unlock.error());
    return util::Ok();
  }

  std::string Describe() const override { return name_; }

 private:
  Status MigrateLocked(const std::vector<Migration>& migrations) {
    MLV_TRY(Script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT "
        "NULL)"));
    std::vector<Migration> sorted = migrations;
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.id < b.id; });
    for (const auto& m : sorted) {
      std::string sql = MLV_TRY_CTX(PostgresMigration(m.sql), "migration " + m.id);
      MLV_TRY(Transaction([&]() -> Status {
        auto done = MLV_TRY(Query("SELECT 1 FROM schema_migrations WHERE id = ?", {m.id}));
        if (!done.empty()) return util::Ok();
        MLV_TRY_CTX(Script(sql), "migration " + m.id);
        MLV_TRY(Exec(
            "INSERT INTO schema_migrations (id, applied_at) VALUES (?, to_char(now() AT TIME ZONE "
            "'UTC', 'YYYY-MM-DD HH24:MI:SS'))",
            {m.id}));
        return util::Ok();
      }));
    }
    return util::Ok();
  }

  // A connection that broke between statements is re-opened before the next one (never in the
  // middle of a transaction: that transaction is lost and its caller gets kUnavailable).
  Status EnsureConnected() {
    if (PQstatus(conn_) == CONNECTION_OK) return util::Ok();
    if (depth_ > 0)
      return util::Unavailable("lost the connection to the catalog " + name_ +
                               " inside a transaction; retry the operation");
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK)
      return util::Unavailable("cannot reconnect to the catalog " + name_ + ": " +
                               OneLine(PQerrorMessage(conn_)) +
                               " (check that the server is running)");
    return util::Ok();
  }

  // Runs a script of statements without parameters (simple query protocol).
  Status Script(const std::string& sql) {
    MLV_TRY(EnsureConnected());
    std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn_, sql.c_str()), PQclear);
    ExecStatusType s = PQresultStatus(res.get());
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) return Fail(res.get());
    return util::Ok();
  }

  Result<std::vector<Row>> Run(const std::string& sql, const std::vector<Value>& params,
                               int64_t* changed) {
    MLV_TRY(EnsureConnected());
    // Every parameter goes as text of unknown type, so the server infers it from the context
    // (as SQLite's dynamic typing does): '42' compared with a BIGINT column is the number 42.
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (std::holds_alternative<std::nullptr_t>(v)) {
        values[i] = nullptr;
        continue;
      }
      if (auto* n = std::get_if<int64_t>(&v))
        text[i] = std::to_string(*n);
      else if (auto* d = std::get_if<double>(&v))
        text[i] = fmt::format("{}", *d);
      else
        text[i] = std::get<std::string>(v);
      values[i] = text[i].c_str();
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> res(
        PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                     nullptr, nullptr, 0),
        PQclear);
    ExecStatusType s = PQresultStatus(res.get());
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) return Fail(res.get());
    if (changed) {
      const char* t = PQcmdTuples(res.get());
      *changed = (t && *t) ? std::strtoll(t, nullptr, 10) : 0;
    }
    std::vector<Row> rows;
    int nrows = PQntuples(res.get()), ncols = PQnfields(res.get());
    rows.reserve(nrows);
    for (int r = 0; r < nrows; ++r) {
      Row row;
      row.values.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res.get(), r, c)) {
          row.values.emplace_back(nullptr);
          continue;
        }
        const char* p = PQgetvalue(res.get(), r, c);
        switch (PQftype(res.get(), c)) {
          case kInt2Oid:
          case kInt4Oid:
          case kInt8Oid:
          case kOidOid:
            row.values.emplace_back(static_cast<int64_t>(std::strtoll(p, nullptr, 10)));
            break;
          case kBoolOid:
            row.values.emplace_back(static_cast<int64_t>(p[0] == 't' ? 1 : 0));
            break;
          case kFloat4Oid:
          case kFloat8Oid:
          case kNumericOid:
            row.values.emplace_back(std::strtod(p, nullptr));
            break;
          default:
            row.values.emplace_back(std::string(p, PQgetlength(res.get(), r, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  // Maps a failed result (or a broken connection) to the error categories of db.h.
  std::unexpected<util::Error> Fail(const PGresult* res) {
    const char* st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    last_state_ = st ? st : "";
    std::string msg = res && PQresultErrorMessage(res) && *PQresultErrorMessage(res)
                          ? PQresultErrorMessage(res)
                          : PQerrorMessage(conn_);
    msg = OneLine(msg);
    if (PQstatus(conn_) != CONNECTION_OK || last_state_.starts_with("08") ||
        last_state_ == "57P01" || last_state_ == "57P02" || last_state_ == "57P03")
      return util::Unavailable("lost the connection to the catalog " + name_ + ": " + msg +
                               " (check that the server is running, then retry)");
    if (last_state_.starts_with("23")) {
      const char* c = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
      const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
      return util::Conflict(std::string("catalog constraint") + (c ? std::string(" ") + c : "") +
                            ": " + (primary ? primary : msg));
    }
    if (Retryable(last_state_))
      return util::Unavailable("catalog " + name_ +
                               ": the transaction kept colliding with concurrent ones: " + msg);
    if (last_state_.starts_with("53") || last_state_ == "55P03" || last_state_ == "57014")
      return util::Unavailable("catalog " + name_ + " is busy: " + msg);
    return util::Internal("catalog: " + msg);
  }

  PGconn* conn_;
  std::string name_;
  int depth_ = 0;
  std::string last_state_;  // SQLSTATE of the last failure
};

}  // namespace

Result<std::unique_ptr<Db>> OpenPostgres(const std::string& url) {
  // connect_timeout first: a value in the URL overrides it (expand_dbname).
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* vals[] = {"10", "mlvault", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, vals, 1);
  if (!conn) return util::Unavailable("cannot connect to the catalog: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = OneLine(PQerrorMessage(conn));
    std::string where = Redacted(conn);
    PQfinish(conn);
    return util::Unavailable("cannot connect to the catalog " + where + ": " + msg +
                             " (check the URL given with --catalog / MLVAULT_CATALOG and that "
                             "the server is running)");
  }
  auto db = std::make_unique<PostgresDb>(conn);
  // Quiet NOTICEs (e.g. "relation already exists, skipping") instead of printing them to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  MLV_TRY(db->Exec("SET TIME ZONE 'UTC'", {}));
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace mlvault::catalog
