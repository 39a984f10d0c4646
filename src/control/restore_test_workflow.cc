// The restore_test workflow (drills, docs/plans.md): runs one drill
// (Operations::ExecuteRestoreTest) under the workflow engine's lease and heartbeat, as the caller
// who started it (a person, or a restore testing plan's role or owner).
//
// A drill is not repeated half-way: when the process running it dies, recovery requeues the
// workflow and its second attempt ends the drill -- waits for the sandbox's restore to end,
// deletes the sandbox workspace, and records the drill as failed ("interrupted", naming the dead
// worker). Out of attempts, OnStatus records the drill as failed with the workflow's error.
#include <nlohmann/json.hpp>

#include "catalog/restore_test_store.h"
#include "control/embedded.h"
#include "control/handlers_internal.h"
#include "control/operations.h"

namespace mlvault::control {

using catalog::WorkflowRecord;
using nlohmann::json;

namespace {

class RestoreTestHandler : public WorkflowHandler {
 public:
  explicit RestoreTestHandler(const HandlerEnv& env) : env_(env) {}

  util::Result<std::string> Run(WorkflowContext& ctx) override {
    const WorkflowRecord& wf = ctx.workflow();
    if (!env_.authorizer)
      return util::Internal("a restore test needs an authorizer to act as its caller");
    // The drill's restore runs here, to its end, as a workflow of its own: an engine on this
    // worker's connection (its heartbeat thread opens another, as this process's engine does).
    EngineOptions eo;
    eo.home = env_.home;
    eo.self_exe = SelfExe();
    eo.clock = env_.clock;
    std::string location = CatalogLocation(env_.home);
    eo.open_db = [location]() { return catalog::OpenCatalog(location); };
    WorkflowEngine engine(ctx.db(), std::move(eo), MakeHandlerFactory(env_));
    OperationsEnv oe;
    oe.home = env_.home;
    oe.db = &ctx.db();
    oe.authorizer = env_.authorizer;
    oe.caller = CallerFromJson(wf.caller);
    oe.clock = env_.clock;
    oe.provider = env_.provider;
    oe.engine = &engine;
    Operations ops(std::move(oe));
    auto rec = MLV_TRY(ops.ExecuteRestoreTest(InputString(wf, "restoreTestId"), &ctx));
    return json{{"restoreTestId", rec.id},
                {"status", catalog::RestoreTestStatusName(rec.status)},
                {"sandboxWorkspaceCrn", rec.sandbox_workspace_crn},
                {"sandboxDeleted", rec.sandbox_deleted},
                {"error", rec.error}}
        .dump();
  }

  util::Status OnStatus(catalog::Db& db, const WorkflowRecord& wf, catalog::WorkflowStatus status,
                        const util::Error* error, const std::string&,
                        util::TimeMicros now) override {
    if (status != catalog::WorkflowStatus::kFailed && status != catalog::WorkflowStatus::kCancelled)
      return util::Ok();
    catalog::RestoreTestStore store(db);
    auto rec = store.Get(wf.account_id, InputString(wf, "restoreTestId"));
    if (!rec || rec->status != catalog::RestoreTestStatus::kRunning) return util::Ok();
    rec->status = catalog::RestoreTestStatus::kFailed;
    rec->finished_at = now;
    rec->error = "the drill's workflow " + wf.id + " " + catalog::WorkflowStatusName(status) + ": " +
                 (error ? error->message() : std::string("unknown cause")) +
                 (rec->sandbox_workspace_crn.empty()
                      ? std::string()
                      : "; delete its sandbox workspace with mlvault delete-workspace "
                        "--workspace-crn " +
                            rec->sandbox_workspace_crn);
    return store.Update(*rec);
  }

  std::vector<std::string> Compensate(catalog::Db&, const WorkflowRecord&) override {
    return {
        "the drill is not repeated: its next attempt deletes the sandbox workspace and "
        "records the drill as interrupted"};
  }

  void AfterEnd(catalog::Db& db, const WorkflowRecord& wf) override {
    // A drill that ended itself wrote its audit record; one ended by its workflow's failure not.
    if (wf.status == catalog::WorkflowStatus::kSucceeded) return;
    AuditEnd(env_, wf, "ml:StartRestoreTest", wf.resource_crn);
    (void)db;
  }

 private:
  const HandlerEnv& env_;
};

}  // namespace

std::unique_ptr<WorkflowHandler> MakeRestoreTestHandler(const HandlerEnv& env) {
  return std::make_unique<RestoreTestHandler>(env);
}

}  // namespace mlvault::control
