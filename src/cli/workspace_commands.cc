// The workspace, backup, restore and workflow verbs (SPEC.md section 2), and `mlvault worker`.
// Parsing and printing only: the work is control::Operations.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "cli/common.h"
#include "control/embedded.h"
#include "util/files.h"
#include "util/progress.h"
#include "util/random.h"
#include "workspace/parameters.h"

namespace mlvault::cli {
namespace {

using control::Embedded;
using nlohmann::json;

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted = true; }

// SIGINT/SIGTERM during a waited run cancel the workflow cleanly (the workspace is resumed).
void CatchSignals() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

util::Result<std::unique_ptr<Embedded>> OpenEmbedded(bool resolve_caller = true) {
  if (!GlobalFlags().endpoint.empty())
    return util::Unavailable(
        "--endpoint " + GlobalFlags().endpoint +
        ": talking to an mlvault server is not available in this build; run without --endpoint "
        "(embedded mode)");
  control::EmbeddedOptions o;
  o.profile = GlobalFlags().profile;
  o.resolve_caller = resolve_caller;
  return Embedded::Open(o);
}

// Runs `body` against an embedded control plane and prints its result.
void Run(const std::function<util::Result<json>(Embedded&)>& body) {
  auto e = OpenEmbedded();
  if (!e) return Emit(std::unexpected(e.error()));
  Emit(body(**e));
}

// --cli-input-json: "file://<path>" or the JSON text itself.
util::Result<std::string> ReadInput(const std::string& flag, const std::string& value) {
  if (value.rfind("file://", 0) == 0) {
    std::string path = value.substr(7);
    auto text = util::ReadFile(path);
    if (!text)
      return util::InvalidArgument(flag + ": cannot read " + path + ": " + text.error().message());
    return *text;
  }
  if (value.find('{') == std::string::npos)
    return util::InvalidArgument(flag + ": give file://<path> or the JSON document itself, got \"" +
                                 value.substr(0, 64) + "\"");
  return value;
}

// Global flags (--output, --profile) are accepted after the verb too, as users type them.
CLI::App* Verb(CLI::App& app, const std::string& name, const std::string& description,
               const std::string& example) {
  CLI::App* v = AddVerb(app, name, description, example);
  v->fallthrough();
  return v;
}

control::Wait MakeWait(bool wait, util::ProgressSink* progress) {
  if (wait) CatchSignals();
  return control::Wait{wait, progress, &g_interrupted};
}

}  // namespace

void RegisterWorkspaceCommands(CLI::App& app) {
  // ---------------------------------------------------------------- environments
  {
    auto* v =
        Verb(app, "create-environment", "Create an environment: a named place workspaces live in",
             "mlvault create-environment --environment-name dev");
    auto name = std::make_shared<std::string>();
    auto root = std::make_shared<std::string>();
    auto region = std::make_shared<std::string>();
    v->add_option("--environment-name", *name, "Name (lowercase letters, digits, dashes)")
        ->required();
    v->add_option("--storage-root", *root,
                  "Folder for its workspaces (default $MLVAULT_HOME/environments/<name>)");
    v->add_option("--region", *region, "Region (default us-west-1)");
    v->callback([=] {
      Run([&](Embedded& e) { return e.ops().CreateEnvironment(*name, *root, *region); });
    });
  }
  {
    auto* v = Verb(app, "list-environments", "List environments",
                   "mlvault list-environments --output table");
    v->callback([=] { Run([&](Embedded& e) { return e.ops().ListEnvironments(); }); });
  }

  // ---------------------------------------------------------------- workspaces
  {
    auto* v = Verb(app, "create-workspace",
                   "Provision a workspace (volumes, endpoint, runtime) from newWorkspaceParameters",
                   "mlvault create-workspace --environment-name dev --workspace-name ws1 --wait\n"
                   "  mlvault create-workspace --cli-input-json file://params.json");
    auto input = std::make_shared<std::string>();
    auto env = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    auto wait = std::make_shared<bool>(false);
    v->add_option("--cli-input-json", *input,
                  "newWorkspaceParameters as file://<path> or JSON text");
    v->add_option("--environment-name", *env,
                  "Environment (with --workspace-name: defaults for the rest)");
    v->add_option("--workspace-name", *name, "Workspace name");
    v->add_flag("--wait", *wait, "Wait until the workspace is running");
    v->callback([=] {
      Run([&](Embedded& e) -> util::Result<json> {
        std::string doc;
        if (!input->empty()) {
          if (!env->empty() || !name->empty())
            return util::InvalidArgument(
                "give either --cli-input-json, or --environment-name with --workspace-name (not "
                "both)");
          doc = MLV_TRY(ReadInput("--cli-input-json", *input));
        } else {
          if (env->empty() || name->empty())
            return util::InvalidArgument(
                "give --cli-input-json, or both --environment-name and --workspace-name");
          doc = json{{"environmentName", *env}, {"workspaceName", *name}}.dump();
        }
        util::TerminalProgress bar("create-workspace");
        return e.ops().CreateWorkspace(doc, MakeWait(*wait, &bar));
      });
    });
  }
  {
    auto* v = Verb(app, "list-workspaces", "List workspaces",
                   "mlvault list-workspaces --environment-name dev");
    auto env = std::make_shared<std::string>();
    v->add_option("--environment-name", *env, "Only this environment's");
    v->callback([=] { Run([&](Embedded& e) { return e.ops().ListWorkspaces(*env); }); });
  }
  {
    auto* v =
        Verb(app, "describe-workspace", "Describe a workspace: status, endpoint, volumes, backups",
             "mlvault describe-workspace --workspace-crn "
             "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>");
    auto crn = std::make_shared<std::string>();
    v->add_option("--workspace-crn", *crn, "Workspace CRN")->required();
    v->callback([=] { Run([&](Embedded& e) { return e.ops().DescribeWorkspace(*crn); }); });
  }
  {
    auto* v = Verb(app, "delete-workspace",
                   "Stop and remove a workspace (its backups stay, listable and restorable)",
                   "mlvault delete-workspace --workspace-crn "
                   "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>");
    auto crn = std::make_shared<std::string>();
    v->add_option("--workspace-crn", *crn, "Workspace CRN")->required();
    v->callback([=] { Run([&](Embedded& e) { return e.ops().DeleteWorkspace(*crn); }); });
  }
  {
    auto* v = Verb(app, "get-workspace-api-key", "Print the API key of a workspace's REST API",
                   "mlvault get-workspace-api-key --workspace-crn "
                   "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>");
    auto crn = std::make_shared<std::string>();
    v->add_option("--workspace-crn", *crn, "Workspace CRN")->required();
    v->callback([=] { Run([&](Embedded& e) { return e.ops().GetWorkspaceApiKey(*crn); }); });
  }

  // ---------------------------------------------------------------- backups
  {
    auto* v = Verb(app, "backup-workspace",
                   "Back up every volume of a workspace at one consistent moment into its vault",
                   "mlvault backup-workspace --workspace-crn "
                   "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid> "
                   "--backup-name nightly-1 --wait");
    auto crn = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    auto timeout = std::make_shared<int64_t>(0);
    auto wait = std::make_shared<bool>(false);
    v->add_option("--workspace-crn", *crn, "Workspace CRN")->required();
    v->add_option("--backup-name", *name, "Name, unique per workspace")->required();
    v->add_option("--backup-job-timeout-minutes", *timeout,
                  "Fail the backup cleanly if it runs longer");
    v->add_flag("--wait", *wait, "Wait until the backup ends (the exit code reflects its outcome)");
    v->callback([=] {
      Run([&](Embedded& e) {
        util::TerminalProgress bar("backup");
        std::optional<int64_t> t;
        if (v->count("--backup-job-timeout-minutes")) t = *timeout;
        return e.ops().BackupWorkspace(*crn, *name, t, MakeWait(*wait, &bar));
      });
    });
  }
  {
    auto* v = Verb(
        app, "list-workspace-backups",
        "List a workspace's backups (by CRN, or by name + environment, also after it was deleted)",
        "mlvault list-workspace-backups --workspace-name ws1 --environment-name dev");
    auto crn = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    auto env = std::make_shared<std::string>();
    v->add_option("--workspace-crn", *crn, "Workspace CRN");
    v->add_option("--workspace-name", *name, "Workspace name (with --environment-name)");
    v->add_option("--environment-name", *env, "Environment name (with --workspace-name)");
    v->callback(
        [=] { Run([&](Embedded& e) { return e.ops().ListWorkspaceBackups(*crn, *name, *env); }); });
  }
  {
    auto* v = Verb(app, "describe-workspace-backup",
                   "Everything known about a backup: sizes, recovery points, timings, progress, "
                   "warnings, errors",
                   "mlvault describe-workspace-backup --backup-crn "
                   "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid>");
    auto crn = std::make_shared<std::string>();
    v->add_option("--backup-crn", *crn, "Backup CRN")->required();
    v->callback([=] { Run([&](Embedded& e) { return e.ops().DescribeWorkspaceBackup(*crn); }); });
  }
  {
    auto* v = Verb(
        app, "delete-backup",
        "Delete a backup: remove its recovery points and reclaim the space no other backup uses",
        "mlvault delete-backup --backup-crn "
        "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid>");
    auto crn = std::make_shared<std::string>();
    auto wait = std::make_shared<bool>(false);
    v->add_option("--backup-crn", *crn, "Backup CRN")->required();
    v->add_flag("--wait", *wait, "Wait until the deletion ends");
    v->callback([=] {
      Run([&](Embedded& e) {
        util::TerminalProgress bar("delete");
        return e.ops().DeleteBackup(*crn, MakeWait(*wait, &bar));
      });
    });
  }
  {
    auto* v =
        Verb(app, "cancel-backup", "Cancel a queued or running backup (the workspace is resumed)",
             "mlvault cancel-backup --backup-crn "
             "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid>");
    auto crn = std::make_shared<std::string>();
    v->add_option("--backup-crn", *crn, "Backup CRN")->required();
    v->callback([=] { Run([&](Embedded& e) { return e.ops().CancelBackup(*crn); }); });
  }
  {
    auto* v = Verb(app, "verify-backup",
                   "Prove a backup restorable without restoring it (--read-data re-reads and "
                   "checks every byte)",
                   "mlvault verify-backup --backup-crn "
                   "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid> "
                   "--read-data");
    auto crn = std::make_shared<std::string>();
    auto read_data = std::make_shared<bool>(false);
    v->add_option("--backup-crn", *crn, "Backup CRN")->required();
    v->add_flag("--read-data", *read_data, "Read back and authenticate every chunk");
    v->callback([=] {
      auto e = OpenEmbedded();
      if (!e) return Emit(std::unexpected(e.error()));
      util::TerminalProgress bar("verify");
      auto r = (*e)->ops().VerifyBackup(*crn, *read_data, &bar);
      if (!r) return Emit(r);
      PrintResult(*r);
      if (!(*r)["ok"].get<bool>()) {
        size_t n = (*r)["damaged"].size();
        ExitCode() = PrintError(
            util::Error(util::ErrorCode::kCorruption,
                        "backup " + *crn + " failed verification: " + std::to_string(n) +
                            " damaged object(s); see \"damaged\" for the affected files"));
      }
    });
  }

  // ---------------------------------------------------------------- restore
  {
    auto* v = Verb(app, "restore-workspace", "Restore a backup into a new workspace",
                   "mlvault restore-workspace --generate-cli-skeleton > restore-input.json\n"
                   "  mlvault restore-workspace --cli-input-json file://restore-input.json --wait");
    auto input = std::make_shared<std::string>();
    auto skeleton = std::make_shared<bool>(false);
    auto wait = std::make_shared<bool>(false);
    v->add_option("--cli-input-json", *input, "The restore input as file://<path> or JSON text");
    v->add_flag("--generate-cli-skeleton", *skeleton, "Print an input document to fill in");
    v->add_flag("--wait", *wait, "Wait until the new workspace is running");
    v->callback([=] {
      if (*skeleton) {
        if (!input->empty())
          return Emit(util::InvalidArgument("--generate-cli-skeleton takes no --cli-input-json"));
        std::cout << workspace::RestoreSkeleton();
        return;
      }
      if (input->empty())
        return Emit(util::InvalidArgument(
            "--cli-input-json is required (start from --generate-cli-skeleton)"));
      Run([&](Embedded& e) -> util::Result<json> {
        std::string doc = MLV_TRY(ReadInput("--cli-input-json", *input));
        util::TerminalProgress bar("restore");
        return e.ops().RestoreWorkspace(doc, MakeWait(*wait, &bar));
      });
    });
  }

  // ---------------------------------------------------------------- workflows
  {
    auto* v = Verb(app, "describe-workflow",
                   "Status, progress, warnings and result of a backup, restore or delete",
                   "mlvault describe-workflow --workflow-id 3f1c...-...");
    auto id = std::make_shared<std::string>();
    v->add_option("--workflow-id", *id, "Workflow id")->required();
    v->callback([=] { Run([&](Embedded& e) { return e.ops().DescribeWorkflow(*id); }); });
  }
  {
    auto* v =
        Verb(app, "worker",
             "Run a workflow (started by the verbs in the background), or recover interrupted ones",
             "mlvault worker --recover");
    auto id = std::make_shared<std::string>();
    auto recover = std::make_shared<bool>(false);
    v->add_option("--workflow-id", *id, "Run this workflow to its end");
    v->add_flag("--recover", *recover,
                "Resume or fail workflows whose worker died, running them here");
    v->callback([=] {
      if (id->empty() == !*recover)
        return Emit(util::InvalidArgument("give exactly one of --workflow-id and --recover"));
      control::EmbeddedOptions o;
      o.resolve_caller = false;
      o.recover = false;
      auto e = Embedded::Open(o);
      if (!e) return Emit(std::unexpected(e.error()));
      CatchSignals();
      if (*recover) {
        auto r = (*e)->engine().Recover(/*run_inline=*/true);
        if (!r) return Emit(std::unexpected(r.error()));
        return Emit(json{{"recovered", *r}});
      }
      if (!util::IsUuid(*id))
        return Emit(util::InvalidArgument("--workflow-id: must be a lowercase UUID"));
      (void)(*e)->engine().Recover(false);
      auto wf = (*e)->engine().Run(*id, nullptr, &g_interrupted);
      if (!wf) return Emit(std::unexpected(wf.error()));
      json out = {{"workflowId", wf->id}, {"kind", wf->kind}, {"status", wf->status}};
      if (auto o2 = control::WorkflowOutcome(*wf); !o2) {
        PrintResult(out);
        ExitCode() = PrintError(o2.error());
        return;
      }
      Emit(out);
    });
  }
}

}  // namespace mlvault::cli
