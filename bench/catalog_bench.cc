// Catalog benchmark: bulk-loads a catalog of W workspaces x B backups (one workflow per backup)
// with set-based SQL (generate_series on PostgreSQL, a recursive CTE on SQLite; no per-row API
// calls), then measures the store calls behind two operations, each over many random keys:
//   listWorkspaceBackups (by CRN): WorkspaceStore::Get + BackupStore::ListByWorkspace
//   describeWorkflow:              WorkflowStore::Get
// and prints p50 / p99 / max latency in milliseconds. Driven by bench/catalog.sh.
//
//   catalog_bench --catalog <file | postgresql://...> [--workspaces 10000] [--backups 100]
//                 [--calls 2000] [--skip-load]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "catalog/control_schema.h"
#include "catalog/control_stores.h"
#include "catalog/db.h"

using namespace mlvault;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const std::string& what, const util::Error& e) {
  std::fprintf(stderr, "catalog_bench: %s: %s\n", what.c_str(), e.message().c_str());
  std::exit(1);
}

// A row source of integers 0..n-1 named g(i), in the engine's dialect.
std::string Series(bool pg, int64_t n) {
  if (pg) return "generate_series(0, " + std::to_string(n - 1) + ") AS g(i)";
  return "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < " +
         std::to_string(n - 1) + ") SELECT i FROM s) AS g";
}

void Load(catalog::Db& db, bool pg, int64_t workspaces, int64_t backups) {
  auto t0 = Clock::now();
  auto run = [&](const std::string& what, const std::string& sql) {
    auto t = Clock::now();
    if (auto r = db.Exec(sql); !r) Die(what, r.error());
    std::printf("  loaded %-12s in %6.1f s\n", what.c_str(),
                std::chrono::duration<double>(Clock::now() - t).count());
    std::fflush(stdout);
  };
  run("environment",
      "INSERT INTO environments (id, account_id, crn, name, region, storage_root, created_by, "
      "created_at) VALUES ('env-0', 'acct', 'crn:env-0', 'bench', 'us-west-1', '/bench', 'me', 0)");
  // ws id: ws-<i>; backup id: b-<i>-<j> with its workflow wf-<i>-<j>.
  run("workspaces",
      "INSERT INTO workspaces (id, account_id, crn, name, environment_id, status, domain, "
      "parameters, api_key, control_key, created_by, created_at, updated_at) "
      "SELECT 'ws-' || i, 'acct', 'crn:ws-' || i, 'ws' || i, 'env-0', 'running', 'd', '{}', 'k', "
      "'c', 'me', i, i FROM " +
          Series(pg, workspaces));
  std::string pairs = pg ? Series(pg, workspaces) + " CROSS JOIN generate_series(0, " +
                               std::to_string(backups - 1) + ") AS h(j)"
                         : Series(pg, workspaces) + " CROSS JOIN " + [&] {
                             std::string s = Series(pg, backups);
                             s.replace(s.rfind("AS g"), 4, "AS h");
                             return s;
                           }();
  std::string j = pg ? "j" : "h.i";
  std::string i = pg ? "i" : "g.i";
  run("backups",
      "INSERT INTO backups (id, account_id, crn, name, workspace_id, workspace_crn, "
      "workspace_name, environment_id, environment_name, vault_name, status, creator_crn, "
      "workflow_id, created_at, started_at, finished_at, bytes_total, files_total, bytes_stored) "
      "SELECT 'b-' || " +
          i + " || '-' || " + j + ", 'acct', 'crn:b-' || " + i + " || '-' || " + j +
          ", 'backup-' || " + j + ", 'ws-' || " + i + ", 'crn:ws-' || " + i + ", 'ws' || " + i +
          ", 'env-0', 'bench', 'mlv-ws-' || " + i + ", 'succeeded', 'me', 'wf-' || " + i +
          " || '-' || " + j + ", " + j + " * 1000000, " + j + " * 1000000, " + j +
          " * 1000000 + 5, 1000000, 100, 500000 FROM " + pairs);
  run("workflows",
      "INSERT INTO workflows (id, account_id, kind, status, queue_key, resource_crn, caller, "
      "input, created_at, updated_at, started_at, finished_at) "
      "SELECT 'wf-' || " +
          i + " || '-' || " + j + ", 'acct', 'backup', 'succeeded', 'ws-' || " + i +
          ", 'crn:b-' || " + i + " || '-' || " + j + ", '{}', '{}', " + j + ", " + j + ", " + j +
          ", " + j + " FROM " + pairs);
  run("analyze", "ANALYZE");  // fresh planner statistics, as autovacuum would gather
  std::printf("  load total %.1f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
}

struct Stats {
  double p50, p99, max;
};
Stats Summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  return {at(0.50), at(0.99), ms.back()};
}

}  // namespace

int main(int argc, char** argv) {
  std::string location;
  int64_t workspaces = 10000, backups = 100, calls = 2000;
  bool load = true;
  for (int a = 1; a < argc; ++a) {
    std::string arg = argv[a];
    auto next = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "catalog_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++a];
    };
    if (arg == "--catalog")
      location = next();
    else if (arg == "--workspaces")
      workspaces = std::stoll(next());
    else if (arg == "--backups")
      backups = std::stoll(next());
    else if (arg == "--calls")
      calls = std::stoll(next());
    else if (arg == "--skip-load")
      load = false;
    else {
      std::fprintf(stderr,
                   "catalog_bench: unknown argument %s (see the header of catalog_bench.cc)\n",
                   arg.c_str());
      return 2;
    }
  }
  if (location.empty()) {
    std::fprintf(stderr, "catalog_bench: --catalog <file | postgresql://...> is required\n");
    return 2;
  }
  auto opened = catalog::OpenCatalog(location);
  if (!opened) Die("open " + location, opened.error());
  catalog::Db& db = **opened;
  const bool pg = catalog::IsPostgresLocation(location);
  if (auto st = db.Migrate(catalog::ControlMigrations()); !st) Die("migrate", st.error());
  std::printf("catalog %s: %lld workspaces x %lld backups\n", db.Describe().c_str(),
              static_cast<long long>(workspaces), static_cast<long long>(backups));
  if (load) Load(db, pg, workspaces, backups);

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> ws_pick(0, workspaces - 1), b_pick(0, backups - 1);
  catalog::WorkspaceStore wss(db);
  catalog::BackupStore bs(db);
  catalog::WorkflowStore wfs(db);
  std::vector<double> list_ms, describe_ms;
  for (int64_t c = 0; c < calls; ++c) {
    std::string ws = "ws-" + std::to_string(ws_pick(rng));
    auto t = Clock::now();
    auto w = wss.Get("acct", ws);
    if (!w) Die("get " + ws, w.error());
    auto list = bs.ListByWorkspace("acct", w->id);
    list_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    if (!list) Die("list " + ws, list.error());
    if (static_cast<int64_t>(list->size()) != backups) {
      std::fprintf(stderr, "catalog_bench: %s has %zu backups, expected %lld\n", ws.c_str(),
                   list->size(), static_cast<long long>(backups));
      return 1;
    }
    std::string wf = "wf-" + std::to_string(ws_pick(rng)) + "-" + std::to_string(b_pick(rng));
    t = Clock::now();
    auto got = wfs.Get("acct", wf);
    describe_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    if (!got) Die("describe " + wf, got.error());
  }
  Stats l = Summarise(list_ms), d = Summarise(describe_ms);
  std::printf(
      "listWorkspaceBackups (%lld rows each): p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%lld "
      "calls)\n",
      static_cast<long long>(backups), l.p50, l.p99, l.max, static_cast<long long>(calls));
  std::printf(
      "describeWorkflow:                    p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%lld calls)\n",
      d.p50, d.p99, d.max, static_cast<long long>(calls));
  return 0;
}
