// The workspace, backup, restore and workflow verbs (SPEC.md section 2), and `mlvault worker`.
// Flags to request JSON and the response printed; the work is the API's operations.
#include <cstdio>

#include "api/documents.h"
#include "api/embedded_client.h"
#include "cli/app.h"

namespace mlvault::cli {
namespace {

constexpr std::string_view ml = "ml";
constexpr std::string_view envs = "environments";

// The --cli-input-json document as a request: file://PATH or the text, read strictly (syntax
// errors with line and column, duplicate keys refused) and named as `what` in errors.
util::Result<json> InputDocument(Application& app, const std::string& value,
                                 std::string_view what) {
  std::string text = MLV_TRY(app.ReadInput("--cli-input-json", value));
  return api::ParseInputDocument(text, what);
}


std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// "workspace ws1 is running at http://127.0.0.1:8443 (ws1-1a2b.dev.mlvault.local), 2.3 s"
Verb::Summarizer WorkspaceSummary(const Verb& v, std::string done) {
  return [&v, done](const json& a, double s) -> std::string {
    if (!v.waiting()) return "";
    return "workspace " + Str(a, "workspaceCrn") + " " + done + " in " + HumanSeconds(s) + ": " +
           Str(a, "status") + " at " + Str(a, "endpoint") + " (" + Str(a, "domain") + ")";
  };
}

// "backup nightly-2 succeeded in 3.1 s: 2.1 GiB scanned, 12 MiB new, workspace paused 0.18 s"
Verb::Summarizer BackupSummary(Application& app, const Verb& v) {
  return [&app, &v](const json& a, double s) -> std::string {
    if (!v.waiting()) return "";
    std::string line = "backup " + Str(a, "backupCrn") + " " + Str(a, "backupStatus") + " in " +
                       HumanSeconds(s);
    auto client = app.client();
    if (!client) return line;
    auto d = (*client)->Call(ml, "describeWorkspaceBackup", {{"backupCrn", Str(a, "backupCrn")}},
                             {});
    if (!d) return line;
    const json& b = (*d)["backup"];
    uint64_t fresh = 0;
    for (const auto& rp : b["recoveryPoints"]) fresh += rp.value("bytesNew", uint64_t{0});
    line = "backup " + Str(b, "backupName") + " " + Str(b, "backupStatus") + " in " +
           HumanSeconds(s) + ": " +
           util::HumanBytes(b["sizes"].value("bytesTotal", uint64_t{0})) + " scanned, " +
           util::HumanBytes(fresh) + " new";
    if (b["quiescedSeconds"].is_number()) {
      char paused[32];
      std::snprintf(paused, sizeof paused, "%.2f s", b["quiescedSeconds"].get<double>());
      line += std::string(", workspace paused ") + paused;
    }
    return line;
  };
}

}  // namespace

void RegisterWorkspaceVerbs(Application& app, CLI::App& root) {
  // ---------------------------------------------------------------- environments
  app.AddVerb(root, envs, "createEnvironment", "create-environment",
              "Create an environment: a named place workspaces live in",
              "mlvault create-environment --environment-name dev")
      .String("--environment-name", "Name (lowercase letters, digits, dashes)", true)
      .String("--storage-root",
              "Folder for its workspaces (default $MLVAULT_HOME/environments/<name>)")
      .String("--region", "Region (default us-west-1)")
      .String("--vault-location",
              "Where the environment's vaults live: s3://BUCKET[/PREFIX] (object storage shared "
              "by several servers; MLVAULT_S3_* settings) or an absolute path (default "
              "$MLVAULT_HOME/vaults)")
      .String("--storage-kind",
              "auto (default: btrfs subvolumes, snapshotted by backups, where the storage root is "
              "on btrfs; else folders), btrfs (required) or folders")
      .Flag("--vault-object-lock",
            "Make the s3:// vault location's bucket with S3 Object Lock (or require that it has "
            "it), so vault locks are also enforced by the object store");
  app.AddVerb(root, envs, "listEnvironments", "list-environments", "List environments",
              "mlvault list-environments --output table");

  // ---------------------------------------------------------------- workspaces
  {
    Verb& v = app.AddVerb(
        root, ml, "createWorkspace", "create-workspace",
        "Provision a workspace (volumes, endpoint, runtime) from newWorkspaceParameters",
        "mlvault create-workspace --environment-name dev --workspace-name ws1 --wait\n"
        "  mlvault create-workspace --cli-input-json file://params.json");
    v.String("--cli-input-json", "newWorkspaceParameters as file://<path> or JSON text")
        .String("--environment-name", "Environment (with --workspace-name: defaults for the rest)")
        .String("--workspace-name", "Workspace name")
        .Wait("Wait until the workspace is running");
    v.OnRun([&app](Verb& v) {
      app.Emit(
          [&]() -> util::Result<json> {
            std::string input = v.Value("--cli-input-json"), env = v.Value("--environment-name"),
                        name = v.Value("--workspace-name");
            json doc;
            if (!input.empty()) {
              if (!env.empty() || !name.empty())
                return util::InvalidArgument(
                    "give either --cli-input-json, or --environment-name with --workspace-name "
                    "(not both)");
              doc = MLV_TRY(InputDocument(app, input, "create-workspace input"));
            } else {
              if (env.empty() || name.empty())
                return util::InvalidArgument(
                    "give --cli-input-json, or both --environment-name and --workspace-name");
              doc = json{{"environmentName", env}, {"workspaceName", name}};
            }
            return v.Call(doc, "create-workspace", WorkspaceSummary(v, "created"));
          }(),
          &v);
    });
  }
  app.AddVerb(root, ml, "listWorkspaces", "list-workspaces", "List workspaces",
              "mlvault list-workspaces --environment-name dev")
      .String("--environment-name", "Only this environment's")
      .Flag("--include-deleted", "Also deleted workspaces (with deletedAt)")
      .Paginated("workspaces");
  WorkspaceFlags(app.AddVerb(root, ml, "describeWorkspace", "describe-workspace",
              "Describe a workspace: status, endpoint, volumes, backups",
              "mlvault describe-workspace --workspace-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>"));
  WorkspaceFlags(app.AddVerb(root, ml, "deleteWorkspace", "delete-workspace",
              "Stop and remove a workspace (its backups stay, listable and restorable)",
              "mlvault delete-workspace --workspace-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>"));
  WorkspaceFlags(app.AddVerb(root, ml, "getWorkspaceApiKey", "get-workspace-api-key",
              "Print the API key of a workspace's REST API",
              "mlvault get-workspace-api-key --workspace-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>"));

  // ---------------------------------------------------------------- backups
  {
    Verb& v = app.AddVerb(
        root, ml, "backupWorkspace", "backup-workspace",
        "Back up every volume of a workspace at one consistent moment into its vault",
        "mlvault backup-workspace --workspace-crn "
        "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid> --backup-name nightly-1 --wait");
    WorkspaceFlags(v)
        .String("--backup-name", "Name, unique per workspace", true)
        .Int("--backup-job-timeout-minutes", "Fail the backup cleanly if it runs longer")
        .Wait("Wait until the backup ends (the exit code reflects its outcome)");
    v.OnRun([&app](Verb& v) {
      app.Emit(v.Call(v.Request(), "backup", BackupSummary(app, v)), &v);
    });
  }
  app.AddVerb(
         root, ml, "listWorkspaceBackups", "list-workspace-backups",
         "List a workspace's backups (by CRN, or by name + environment, also after it was deleted)",
         "mlvault list-workspace-backups --workspace-name ws1 --environment-name dev")
      .String("--workspace-crn", "Workspace CRN")
      .String("--workspace-name", "Workspace name (with --environment-name)")
      .String("--environment-name", "Environment name (with --workspace-name)")
      .Flag("--include-deleted", "Also deleted backups (backupStatus \"deleted\")")
      .Paginated("backups");
  BackupFlags(app.AddVerb(root, ml, "describeWorkspaceBackup", "describe-workspace-backup",
              "Everything known about a backup: sizes, recovery points, timings, progress, "
              "warnings, errors",
              "mlvault describe-workspace-backup --backup-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid>"));
  {
    Verb& v = app.AddVerb(
        root, ml, "deleteBackup", "delete-backup",
        "Delete a backup: remove its recovery points and reclaim the space no other backup uses",
        "mlvault delete-backup --backup-crn "
        "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid>");
    BackupFlags(v).Wait("Wait until the deletion ends");
    v.OnRun([&app](Verb& v) {
      app.Emit(v.Call(v.Request(), "delete",
                      [&v](const json& a, double s) {
                        return v.waiting() ? "backup deleted in " + HumanSeconds(s) +
                                                 " (workflow " + Str(a, "workflowId") + ")"
                                           : std::string();
                      }),
               &v);
    });
  }
  BackupFlags(app.AddVerb(root, ml, "cancelBackup", "cancel-backup",
              "Cancel a queued or running backup (the workspace is resumed)",
              "mlvault cancel-backup --backup-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid>"));
  {
    Verb& v = app.AddVerb(root, ml, "verifyBackup", "verify-backup",
                          "Prove a backup restorable without restoring it (--read-data re-reads "
                          "and checks every byte)",
                          "mlvault verify-backup --backup-crn "
                          "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid> --read-data");
    BackupFlags(v).Flag("--read-data", "Read back and authenticate every chunk");
    v.OnRun([&app](Verb& v) {
      auto r = v.Call(v.Request(), "verify", [](const json& a, double s) {
        return "backup " + Str(a, "backupCrn") + (a.value("ok", false) ? " verified" : " DAMAGED") +
               " in " + HumanSeconds(s) + ": " + std::to_string(a.value("chunks", 0)) +
               " chunks, " + util::HumanBytes(a.value("bytesRead", uint64_t{0})) + " read";
      });
      app.Emit(r, &v);
      if (r && !(*r)["ok"].get<bool>())
        app.SetExitCode(app.output().Error(util::Error(
            util::ErrorCode::kCorruption,
            "backup " + (*r)["backupCrn"].get<std::string>() + " failed verification: " +
                std::to_string((*r)["damaged"].size()) +
                " damaged object(s); see \"damaged\" for the affected files")));
    });
  }

  // ---------------------------------------------------------------- restore
  {
    Verb& v = app.AddVerb(
        root, ml, "restoreWorkspace", "restore-workspace", "Restore a backup into a new workspace",
        "mlvault restore-workspace --generate-cli-skeleton > restore-input.json\n"
        "  mlvault restore-workspace --cli-input-json file://restore-input.json --wait");
    v.String("--cli-input-json", "The restore input as file://<path> or JSON text")
        .Flag("--generate-cli-skeleton", "Print an input document to fill in")
        .String("--start-mode",
                "running (default: applications and deployments come back as they were) or "
                "paused (none started until resume-workspace); sets the input's startMode")
        .Wait("Wait until the new workspace is running");
    v.OnRun([&app](Verb& v) {
      std::string input = v.Value("--cli-input-json");
      if (v.Given("--generate-cli-skeleton")) {
        if (!input.empty())
          return app.Emit(util::InvalidArgument("--generate-cli-skeleton takes no --cli-input-json"));
        return app.output().Text(api::RestoreSkeleton());
      }
      if (input.empty())
        return app.Emit(util::InvalidArgument(
            "--cli-input-json is required (start from --generate-cli-skeleton)"));
      auto doc = InputDocument(app, input, "restore input");
      if (!doc) return app.Emit(std::unexpected(doc.error()));
      if (v.Given("--start-mode")) (*doc)["startMode"] = v.Value("--start-mode");
      app.Emit(v.Call(*doc, "restore", WorkspaceSummary(v, "restored")), &v);
    });
  }

  // ---------------------------------------------------------------- workflows
  app.AddVerb(root, ml, "describeWorkflow", "describe-workflow",
              "Status, progress, warnings and result of a backup, restore or delete",
              "mlvault describe-workflow --workflow-id 3f1c...-...")
      .String("--workflow-id", "Workflow id", true);
  {
    CLI::App* v = app.AddCommand(
        root, "worker",
        "Run a workflow (started by the verbs in the background), or recover interrupted ones",
        "mlvault worker --recover");
    auto id = std::make_shared<std::string>();
    auto recover = std::make_shared<bool>(false);
    v->add_option("--workflow-id", *id, "Run this workflow to its end");
    v->add_flag("--recover", *recover,
                "Resume or fail workflows whose worker died, running them here");
    v->callback([&app, id, recover] {
      if (id->empty() == !*recover)
        return app.Emit(util::InvalidArgument("give exactly one of --workflow-id and --recover"));
      app.CatchSignals();
      auto run = api::RunWorker("", *recover ? "" : *id, app.interrupted());
      if (!run) {
        util::Error e = run.error();
        if (e.field() == "workflowId")
          e = util::Error(e.code(), "--workflow-id" + e.message().substr(e.field().size()));
        return app.Emit(std::unexpected(e));
      }
      app.Emit(run->output);
      if (!run->outcome) app.SetExitCode(app.output().Error(run->outcome.error()));
    });
  }
}

}  // namespace mlvault::cli
