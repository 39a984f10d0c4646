// The verbs of issue 16: describe-backup-contents, diff-backups, search-backups, restore-files,
// restore-workspace-items; stop-workspace, start-workspace and resume-workspace. Flags to request
// JSON; the work is the API's.
#include "cli/app.h"

namespace mlvault::cli {
namespace {

constexpr std::string_view ml = "ml";

// One line per item for --output table.
json TableRow(const json& item) {
  std::string type = item.value("itemType", "");
  std::string detail;
  if (type == "project") {
    detail = std::to_string(item.value("files", 0)) + " files, " +
             std::to_string(item.value("bytes", 0)) + " bytes";
  } else if (type == "job") {
    detail = std::to_string(item.value("runs", 0)) + " runs";
    if (item.contains("lastRunStatus") && item["lastRunStatus"].is_string())
      detail += ", last " + item["lastRunStatus"].get<std::string>();
  } else if (type == "experiment") {
    detail = std::to_string(item.value("runs", json::array()).size()) + " runs";
  } else if (type == "model") {
    detail = std::to_string(item.value("builds", json::array()).size()) + " builds, " +
             std::to_string(item.value("deployments", json::array()).size()) + " deployments";
  } else if (type == "application") {
    detail = item.value("status", "") + " at /apps/" + item.value("subdomain", "") + "/";
  } else if (type == "file") {
    detail = std::to_string(item.value("size", 0)) + " bytes";
  }
  return {{"itemType", type},
          {"name", item.value("name", "")},
          {"project", item.value("project", "-")},
          {"detail", detail}};
}

// A workspace by CRN, or by name within its environment (control resolves the name).
Verb& ByWorkspace(Verb& v) {
  return v.String("--workspace-crn", "Workspace CRN (or --workspace-name with --environment-name)")
      .String("--workspace-name", "Workspace name (with --environment-name)")
      .String("--environment-name", "The workspace's environment (with --workspace-name)");
}

// A backup by CRN, or by name within its workspace (control resolves the names).
Verb& ByBackup(Verb& v) {
  v.String("--backup-crn", "Backup CRN (or --backup-name with its workspace)")
      .String("--backup-name",
              "Backup name, with --workspace-name + --environment-name (or --workspace-crn)");
  return ByWorkspace(v);
}

}  // namespace

void RegisterContentsVerbs(Application& app, CLI::App& root) {
  {
    Verb& v = app.AddVerb(
        root, ml, "describeBackupContents", "describe-backup-contents",
        "What a backup holds in ML terms: projects (files, bytes), jobs and runs, experiments and "
        "runs (parameters, metrics), models with builds and deployments, applications; or its "
        "files",
        "mlvault describe-backup-contents --backup-crn "
        "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid> --item-type model\n"
        "  mlvault describe-backup-contents --backup-name nightly-1 --workspace-name ws1 "
        "--environment-name dev\n"
        "  mlvault describe-backup-contents --backup-crn ... --item-type file --max-items 50");
    ByBackup(v)
        .String("--item-type", "project, job, experiment, model, application or file "
                               "(default: all but files)")
        .Int("--max-items", "Items per page (1-1000, default 100)")
        .String("--starting-token", "The nextToken of the previous page");
    v.OnRun([&app](Verb& v) {
      auto r = v.Call(v.Request());
      if (r && app.globals().output == "table") {
        json rows = json::array();
        for (const auto& item : (*r)["items"]) rows.push_back(TableRow(item));
        app.Emit(json{{"items", rows}}, &v);
        if (r->contains("nextToken"))
          app.output().Note("more: --starting-token " + (*r)["nextToken"].get<std::string>());
        return;
      }
      app.Emit(r, &v);
    });
  }
  app.AddVerb(root, ml, "diffBackups", "diff-backups",
              "What changed between two backups: projects and files (with sizes), jobs, "
              "experiments and runs, models, builds and deployments, applications",
              "mlvault diff-backups --from-backup-crn <older> --to-backup-crn <newer>\n"
              "  mlvault diff-backups --from-backup-name nightly-1 --to-backup-name nightly-2 "
              "--workspace-name ws1 --environment-name dev")
      .String("--from-backup-crn", "The backup to compare from (or --from-backup-name)")
      .String("--to-backup-crn", "The backup to compare to (or --to-backup-name)")
      .String("--from-backup-name", "The backup to compare from, by name within the workspace "
                                    "--workspace-name + --environment-name (or --workspace-crn)")
      .String("--to-backup-name", "The backup to compare to, by name within that workspace")
      .String("--workspace-crn", "The workspace of the backups named by name")
      .String("--workspace-name", "The workspace of the backups named by name (with "
                                  "--environment-name)")
      .String("--environment-name", "That workspace's environment (with --workspace-name)");
  {
    Verb& v = app.AddVerb(
        root, ml, "searchBackups", "search-backups",
        "Which backups hold an item or a path, newest first (of the workspaces you may search)",
        "mlvault search-backups --query 'model:churn build:7'\n"
        "  mlvault search-backups --path 'projects/p1/data/*.csv'");
    v.String("--query", "Terms type:name (project, job, experiment, model, build, deployment, "
                        "application), all of which must hold")
        .String("--path", "A glob over backup paths (* and ? within a folder, ** across)")
        .Int("--max-items", "At most this many backups (1-1000, default 100)");
    v.OnRun([&app](Verb& v) {
      auto r = v.Call(v.Request());
      if (r && app.globals().output == "table") {
        json rows = json::array();
        for (const auto& b : (*r)["backups"])
          rows.push_back({{"createdAt", b["createdAt"]},
                          {"backupName", b["backupName"]},
                          {"workspaceName", b["workspaceName"]},
                          {"environmentName", b["environmentName"]},
                          {"backupCrn", b["backupCrn"]}});
        return app.Emit(json{{"backups", rows}}, &v);
      }
      app.Emit(r, &v);
    });
  }
  ByBackup(app.AddVerb(root, ml, "restoreFiles", "restore-files",
                       "Copy plain files of a backup into a local folder (never outside it); on "
                       "this machine only, not through a server",
                       "mlvault restore-files --backup-crn <crn> --path 'projects/p1/**' --target "
                       "./out\n"
                       "  mlvault restore-files --backup-name nightly-1 --workspace-name ws1 "
                       "--environment-name dev --path 'projects/p1/**' --target ./out"))
      .Strings("--path", "Glob over backup paths (repeatable): 'projects/<project>/...', "
                         "'models/<model>/build-<n>/...'",
               true)
      .String("--target", "Folder to write into (created if missing)", true)
      .Flag("--overwrite", "Replace files that exist in the target");
  {
    Verb& v = app.AddVerb(
        root, ml, "restoreWorkspaceItems", "restore-workspace-items",
        "Restore single items of a backup into a running workspace (through its API, without "
        "stopping it): projects with files and jobs, models with builds and deployment, "
        "experiments with runs and metrics, jobs, applications",
        "mlvault restore-workspace-items --backup-crn <crn> --target-workspace-crn <crn> \\\n"
        "      --items project:p1,model:churn@build-7,experiment:e2 --conflict-policy rename --wait\n"
        "  mlvault restore-workspace-items --backup-name nightly-1 --workspace-name ws1 "
        "--environment-name dev \\\n"
        "      --target-workspace-name ws1 --target-environment-name dev --items project:p1 --wait");
    ByBackup(v)
        .String("--target-workspace-crn",
                "The running workspace to restore into (or --target-workspace-name with "
                "--target-environment-name)")
        .String("--target-workspace-name", "The target workspace by name (with "
                                           "--target-environment-name)")
        .String("--target-environment-name", "The target workspace's environment")
        .Strings("--items",
                 "Comma-separated type:name (project, model[@build-N], experiment, job, "
                 "application)",
                 true)
        .String("--conflict-policy", "When the target has an item of that name: fail (default), "
                                     "rename (restore under a new name) or overwrite")
        .Wait("Wait until every item is restored and print each item's result");
    v.OnRun([&app](Verb& v) {
      auto r = v.Call(v.Request(), "restore items");
      app.Emit(r, &v);
      if (!r || !r->contains("results")) return;
      std::string refused, failed;
      for (const auto& item : (*r)["results"]) {
        std::string line = item.value("item", "") + ": " + item.value("reason", "");
        if (item.value("result", "") == "refused") refused += (refused.empty() ? "" : "; ") + line;
        if (item.value("result", "") == "failed") failed += (failed.empty() ? "" : "; ") + line;
      }
      if (!failed.empty())
        app.SetExitCode(app.output().Error(util::Error(util::ErrorCode::kUnavailable, "not restored: " + failed)));
      else if (!refused.empty())
        app.SetExitCode(app.output().Error(util::Error(util::ErrorCode::kConflict, "refused: " + refused)));
    });
  }

  // ---------------------------------------------------------------- workspace lifecycle
  ByWorkspace(app.AddVerb(root, ml, "stopWorkspace", "stop-workspace",
                          "Stop a workspace's runtime (its volumes, keys and backups stay)",
                          "mlvault stop-workspace --workspace-name ws1 --environment-name dev\n"
                          "  mlvault stop-workspace --workspace-crn "
                          "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>"));
  {
    Verb& v = app.AddVerb(
        root, ml, "startWorkspace", "start-workspace",
        "Start a stopped workspace and wait until it serves; --all starts every workspace that "
        "was running and is not (after a host restart)",
        "mlvault start-workspace --workspace-name ws1 --environment-name dev\n"
        "  mlvault start-workspace --workspace-crn crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>\n"
        "  mlvault start-workspace --all");
    ByWorkspace(v).Flag("--all", "Every workspace that should be running and is not");
    v.OnRun([&app](Verb& v) {
      auto r = v.Call(v.Request());
      app.Emit(r, &v);
      if (!r) return;
      std::string failed;
      for (const auto& w : (*r)["workspaces"])
        if (w.value("status", "") == "failed")
          failed += (failed.empty() ? "" : "; ") + w.value("workspaceName", "") + ": " +
                    w.value("reason", "");
      if (!failed.empty())
        app.SetExitCode(app.output().Error(
            util::Error(util::ErrorCode::kUnavailable, "not started: " + failed)));
    });
  }
  {
    Verb& v = app.AddVerb(
        root, ml, "resumeWorkspace", "resume-workspace",
        "Start the applications and deployments of a workspace restored with --start-mode paused",
        "mlvault resume-workspace --workspace-name ws1-copy --environment-name dev");
    ByWorkspace(v);
    v.OnRun([&app](Verb& v) {
      auto r = v.Call(v.Request());
      app.Emit(r, &v);
      if (!r) return;
      std::string failed;
      for (const auto& s : (*r)["started"])
        if (s.value("status", "") == "failed")
          failed += (failed.empty() ? "" : "; ") + s.value("type", "") + " " +
                    s.value("name", "") + ": " + s.value("message", "");
      if (!failed.empty())
        app.SetExitCode(app.output().Error(
            util::Error(util::ErrorCode::kUnavailable, "not started: " + failed)));
    });
  }
}

}  // namespace mlvault::cli
