// The workflow store (catalog/control_stores.h, WorkflowStore): the workflows table, its queues
// and leases. Apart from control_stores.cc (environments, workspaces, backups) to keep each
// file to one table's store.
#include "catalog/control_stores.h"

#include "sqlite/mapping.h"

namespace mlvault::catalog {
namespace {

using sqlite::Col;

const sqlite::Table<WorkflowRecord> kWorkflows(
    "workflows", {Col("id", &WorkflowRecord::id),
                  Col("account_id", &WorkflowRecord::account_id),
                  Col("kind", &WorkflowRecord::kind),
                  Col("status", &WorkflowRecord::status),
                  Col("queue_key", &WorkflowRecord::queue_key),
                  Col("resource_crn", &WorkflowRecord::resource_crn),
                  Col("caller", &WorkflowRecord::caller),
                  Col("input", &WorkflowRecord::input),
                  Col("output", &WorkflowRecord::output),
                  Col("phase", &WorkflowRecord::phase),
                  Col("bytes_done", &WorkflowRecord::bytes_done),
                  Col("bytes_total", &WorkflowRecord::bytes_total),
                  Col("files_done", &WorkflowRecord::files_done),
                  Col("files_total", &WorkflowRecord::files_total),
                  Col("warnings", &WorkflowRecord::warnings),
                  Col("error_code", &WorkflowRecord::error_code),
                  Col("error_message", &WorkflowRecord::error_message),
                  Col("attempts", &WorkflowRecord::attempts),
                  Col("max_attempts", &WorkflowRecord::max_attempts),
                  Col("timeout_seconds", &WorkflowRecord::timeout_seconds),
                  Col("lease_owner", &WorkflowRecord::lease_owner),
                  Col("lease_expires_at", &WorkflowRecord::lease_expires_at),
                  Col("cancel_requested", &WorkflowRecord::cancel_requested),
                  Col("cancel_reason", &WorkflowRecord::cancel_reason),
                  Col("created_at", &WorkflowRecord::created_at),
                  Col("updated_at", &WorkflowRecord::updated_at),
                  Col("started_at", &WorkflowRecord::started_at),
                  Col("finished_at", &WorkflowRecord::finished_at)});

std::vector<WorkflowRecord> AllWorkflows(const std::vector<Row>& rows) {
  std::vector<WorkflowRecord> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(kWorkflows.FromRow(r));
  return out;
}

constexpr char kActive[] = "('queued', 'pending', 'running')";
// A workflow row `owner` may claim at time `now` (parameters: owner, now).
constexpr char kClaimable[] = "(lease_owner = '' OR lease_owner = ? OR lease_expires_at <= ?)";

}  // namespace

// ============================================================================ workflows

util::Result<WorkflowStatus> WorkflowStore::Insert(const WorkflowRecord& w) {
  WorkflowStatus status = WorkflowStatus::kPending;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    // Decided afresh on every attempt: PostgreSQL re-runs the body after a serialization failure.
    status = WorkflowStatus::kPending;
    if (!w.queue_key.empty()) {
      auto rows = MLV_TRY(db_.Query(
          std::string("SELECT COUNT(*) FROM workflows WHERE queue_key = ? AND status IN ") +
              kActive,
          {w.queue_key}));
      if (rows[0].Int(0) > 0) status = WorkflowStatus::kQueued;
    }
    WorkflowRecord row = w;
    row.status = status;
    MLV_TRY(db_.Exec(kWorkflows.InsertSql(), kWorkflows.Values(row)));
    return util::Ok();
  }));
  return status;
}

util::Result<WorkflowRecord> WorkflowStore::Get(const std::string& account_id,
                                                const std::string& id) {
  std::string sql = kWorkflows.SelectSql() + "WHERE id = ?";
  std::vector<Value> params = {id};
  if (!account_id.empty()) {
    sql += " AND account_id = ?";
    params.push_back(account_id);
  }
  auto rows = MLV_TRY(db_.Query(sql, params));
  if (rows.empty()) return util::NotFound("workflow " + id + " does not exist");
  return kWorkflows.FromRow(rows[0]);
}

util::Result<ClaimOutcome> WorkflowStore::Claim(const std::string& id, const std::string& owner,
                                                TimeMicros now, int64_t lease_micros) {
  ClaimOutcome outcome = ClaimOutcome::kFinished;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    outcome = ClaimOutcome::kFinished;  // every attempt decides afresh (see Insert)
    WorkflowRecord w = MLV_TRY(Get("", id));
    if (w.terminal()) {
      outcome = ClaimOutcome::kFinished;
      return util::Ok();
    }
    bool ours = w.lease_owner == owner;
    if (w.status == WorkflowStatus::kRunning ||
        (!ours && !w.lease_owner.empty() && w.lease_expires_at > now)) {
      // A running workflow belongs to its worker; if that worker died, recovery takes it over.
      outcome = (w.status == WorkflowStatus::kRunning && ours) ? ClaimOutcome::kClaimed
                                                               : ClaimOutcome::kOwnedByOther;
      return util::Ok();
    }
    if (!w.queue_key.empty()) {
      auto rows = MLV_TRY(db_.Query(
          std::string(
              "SELECT COUNT(*) FROM workflows WHERE queue_key = ? AND id <> ? AND status IN ") +
              kActive +
              " AND (status = 'running' OR created_at < ? OR (created_at = ? AND id < ?))",
          {w.queue_key, id, w.created_at, w.created_at, id}));
      if (rows[0].Int(0) > 0) {
        int64_t n = MLV_TRY(db_.Exec(
            "UPDATE workflows SET status = 'queued', lease_owner = ?, lease_expires_at = ?, "
            "updated_at = ? WHERE id = ? AND status IN ('queued', 'pending') AND " +
                std::string(kClaimable),
            {owner, now + lease_micros, now, id, owner, now}));
        outcome = n == 1 ? ClaimOutcome::kWaiting : ClaimOutcome::kOwnedByOther;
        return util::Ok();
      }
    }
    // The claim itself is a conditional UPDATE: it takes the row only if it is still unclaimed
    // (or ours, or its lease ran out), so two workers never both win, whatever the isolation
    // level and without a lock on anything but this row.
    int64_t n = MLV_TRY(
        db_.Exec("UPDATE workflows SET status = 'running', lease_owner = ?, lease_expires_at = ?, "
                 "attempts = attempts + 1, started_at = COALESCE(started_at, ?), updated_at = ? "
                 "WHERE id = ? AND status IN ('queued', 'pending') AND " +
                     std::string(kClaimable),
                 {owner, now + lease_micros, now, now, id, owner, now}));
    outcome = n == 1 ? ClaimOutcome::kClaimed : ClaimOutcome::kOwnedByOther;
    return util::Ok();
  }));
  return outcome;
}

util::Result<HeartbeatResult> WorkflowStore::Heartbeat(const std::string& id,
                                                       const std::string& owner, TimeMicros now,
                                                       int64_t lease_micros,
                                                       const util::ProgressSnapshot* p) {
  HeartbeatResult hr;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    hr = {};  // every attempt decides afresh (see Insert)
    int64_t n;
    if (p) {
      n = MLV_TRY(db_.Exec(
          "UPDATE workflows SET lease_expires_at = ?, updated_at = ?, bytes_done = ?, bytes_total "
          "= ?, "
          "files_done = ?, files_total = ?, phase = CASE WHEN ? = '' THEN phase ELSE ? END "
          "WHERE id = ? AND lease_owner = ? AND status IN " +
              std::string(kActive),
          {now + lease_micros, now, static_cast<int64_t>(p->bytes_done),
           static_cast<int64_t>(p->bytes_total), static_cast<int64_t>(p->files_done),
           static_cast<int64_t>(p->files_total), p->phase, p->phase, id, owner}));
    } else {
      n =
          MLV_TRY(db_.Exec("UPDATE workflows SET lease_expires_at = ?, updated_at = ? WHERE id = ? "
                           "AND lease_owner = ? "
                           "AND status IN " +
                               std::string(kActive),
                           {now + lease_micros, now, id, owner}));
    }
    if (n == 0)
      return util::Conflict("workflow " + id + " is no longer owned by this worker (" + owner +
                            ")");
    auto rows = MLV_TRY(
        db_.Query("SELECT cancel_requested, cancel_reason FROM workflows WHERE id = ?", {id}));
    hr.cancel_requested = rows[0].Int(0) != 0;
    hr.cancel_reason = rows[0].Text(1);
    return util::Ok();
  }));
  return hr;
}

util::Status WorkflowStore::SetPhase(const std::string& id, const std::string& owner,
                                     const std::string& phase, TimeMicros now) {
  MLV_TRY(
      db_.Exec("UPDATE workflows SET phase = ?, updated_at = ? WHERE id = ? AND lease_owner = ?",
               {phase, now, id, owner}));
  return util::Ok();
}

util::Status WorkflowStore::AddWarning(const std::string& id, const std::string& warnings_json,
                                       TimeMicros now) {
  MLV_TRY(db_.Exec("UPDATE workflows SET warnings = ?, updated_at = ? WHERE id = ?",
                   {warnings_json, now, id}));
  return util::Ok();
}

util::Status WorkflowStore::Finish(const std::string& id, const std::string& owner,
                                   WorkflowStatus status, const std::string& output,
                                   const std::string& warnings_json, const std::string& error_code,
                                   const std::string& error_message, TimeMicros now) {
  std::string sql =
      "UPDATE workflows SET status = ?, output = ?, warnings = ?, error_code = ?, error_message = "
      "?, "
      "lease_owner = '', lease_expires_at = 0, finished_at = ?, updated_at = ? WHERE id = ? AND "
      "status IN " +
      std::string(kActive);
  std::vector<Value> params = {
      WorkflowStatusName(status), output, warnings_json, error_code, error_message, now, now, id};
  if (!owner.empty()) {
    sql += " AND lease_owner = ?";
    params.push_back(owner);
  }
  int64_t n = MLV_TRY(db_.Exec(sql, params));
  if (n == 0)
    return util::Conflict("workflow " + id + " was not finished by " +
                          (owner.empty() ? "recovery" : owner) +
                          ": it ended already or another worker owns it");
  return util::Ok();
}

util::Result<bool> WorkflowStore::RequestCancel(const std::string& id, const std::string& reason,
                                                TimeMicros now) {
  bool ended = false;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    // Decided afresh on every attempt: PostgreSQL re-runs the body after a serialization failure
    // (a worker may have claimed the workflow in between: then it is only flagged).
    ended = false;
    WorkflowRecord w = MLV_TRY(Get("", id));
    if (w.terminal())
      return util::Conflict("workflow " + id + " has already ended (" +
                            WorkflowStatusName(w.status) + ")");
    if (w.status == WorkflowStatus::kRunning) {
      MLV_TRY(
          db_.Exec("UPDATE workflows SET cancel_requested = 1, cancel_reason = ?, updated_at = ? "
                   "WHERE id = ?",
                   {reason, now, id}));
      return util::Ok();
    }
    MLV_TRY(db_.Exec(
        "UPDATE workflows SET status = 'cancelled', cancel_requested = 1, cancel_reason = ?, "
        "error_code = 'cancelled', error_message = ?, lease_owner = '', lease_expires_at = 0, "
        "finished_at = ?, updated_at = ? WHERE id = ?",
        {reason, reason, now, now, id}));
    ended = true;
    return util::Ok();
  }));
  return ended;
}

util::Result<std::vector<WorkflowRecord>> WorkflowStore::ListActive() {
  auto rows = MLV_TRY(db_.Query(kWorkflows.SelectSql() + "WHERE status IN " + kActive +
                                " ORDER BY created_at, id"));
  return AllWorkflows(rows);
}

util::Result<std::vector<WorkflowRecord>> WorkflowStore::ListActiveInQueue(
    const std::string& queue_key) {
  auto rows = MLV_TRY(db_.Query(kWorkflows.SelectSql() + "WHERE queue_key = ? AND status IN " +
                                    kActive + " ORDER BY created_at, id",
                                {queue_key}));
  return AllWorkflows(rows);
}

util::Result<bool> WorkflowStore::TakeOver(const WorkflowRecord& seen, const std::string& new_owner,
                                           TimeMicros now, int64_t lease_micros) {
  int64_t n = MLV_TRY(
      db_.Exec("UPDATE workflows SET lease_owner = ?, lease_expires_at = ?, updated_at = ? "
               "WHERE id = ? AND status = ? AND "
               "lease_owner = ? AND lease_expires_at = ? AND updated_at = ?",
               {new_owner, now + lease_micros, now, seen.id, WorkflowStatusName(seen.status),
                seen.lease_owner, seen.lease_expires_at, seen.updated_at}));
  return n == 1;
}

util::Status WorkflowStore::Requeue(const std::string& id, const std::string& owner,
                                    const std::string& warnings_json, TimeMicros now) {
  int64_t n = MLV_TRY(db_.Exec(
      "UPDATE workflows SET status = CASE WHEN status = 'queued' THEN 'queued' ELSE 'pending' END, "
      "warnings = ?, lease_owner = '', "
      "lease_expires_at = 0, phase = '', updated_at = ? WHERE id = ? AND lease_owner = ?",
      {warnings_json, now, id, owner}));
  if (n == 0) return util::Conflict("workflow " + id + " is no longer owned by " + owner);
  return util::Ok();
}

}  // namespace mlvault::catalog
