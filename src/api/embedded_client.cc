#include "api/embedded_client.h"

#include "api/dispatch.h"
#include "api/operations.h"
#include "control/embedded.h"
#include "util/log.h"
#include "util/random.h"

namespace mlvault::api {

EmbeddedClient::EmbeddedClient(EmbeddedClientOptions options) : options_(std::move(options)) {}
EmbeddedClient::~EmbeddedClient() = default;

util::Result<nlohmann::json> EmbeddedClient::Call(std::string_view service,
                                                  std::string_view operation,
                                                  const nlohmann::json& request,
                                                  const CallOptions& options) {
  auto op = FindOperation(service, operation);
  // init runs before any caller exists: it opens the catalog without resolving one.
  if (op && op->name == "init") {
    control::EmbeddedOptions eo{options_.home, options_.profile, /*resolve_caller=*/false,
                                /*recover=*/false};
    auto e = MLV_TRY(control::Embedded::Open(eo));
    ControlContext c;
    c.db = &e->db();
    c.home = e->home();
    c.profile = options_.profile;
    return Dispatch(c, service, operation, request, options);
  }
  if (!embedded_) {
    control::EmbeddedOptions eo;
    eo.home = options_.home;
    eo.profile = options_.profile;
    embedded_ = MLV_TRY(control::Embedded::Open(eo));
  }
  ControlContext c;
  c.ops = &embedded_->ops();
  c.iam = &embedded_->iam();
  c.caller = embedded_->caller();
  c.db = &embedded_->db();
  c.home = embedded_->home();
  c.profile = options_.profile;
  return Dispatch(c, service, operation, request, options);
}

util::Result<WorkerRun> RunWorker(const std::string& home, const std::string& workflow_id,
                                  const std::atomic<bool>* interrupted) {
  control::EmbeddedOptions o;
  o.home = home;
  o.resolve_caller = false;
  o.recover = false;
  auto e = MLV_TRY(control::Embedded::Open(o));
  if (workflow_id.empty()) {
    auto recovered = MLV_TRY(e->engine().Recover(/*run_inline=*/true));
    return WorkerRun{nlohmann::json{{"recovered", recovered}}, util::Ok()};
  }
  if (!util::IsUuid(workflow_id))
    return util::InvalidField("workflowId", "must be a lowercase UUID");
  if (auto r = e->engine().Recover(false); !r)
    util::Log(util::LogLevel::kWarn, "workflow recovery failed: {}", r.error().message());
  auto wf = MLV_TRY(e->engine().Run(workflow_id, nullptr, interrupted));
  return WorkerRun{
      nlohmann::json{{"workflowId", wf.id}, {"kind", wf.kind}, {"status", wf.status}},
      control::WorkflowOutcome(wf)};
}

}  // namespace mlvault::api
