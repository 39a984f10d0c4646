// The backup plan, retention, legal hold, vault lock and role verbs (docs/plans.md), and
// `mlvault scheduler`, the foreground loop that runs plans in embedded mode.
#include <chrono>
#include <thread>

#include "cli/app.h"
#include "control/embedded.h"
#include "util/clock.h"

namespace mlvault::cli {
namespace {

constexpr std::string_view ml = "ml";
constexpr char kBackupCrnExample[] = "crn:mlvault:ml:us-west-1:<account>:workspace_backup:<uuid>";

Verb& RetentionFlags(Verb& v, const std::string& extra) {
  return v.Int("--keep-last", "Keep the N newest backups" + extra)
      .Int("--keep-hourly", "Keep the newest backup of each of the N newest hours" + extra)
      .Int("--keep-daily", "Keep the newest backup of each of the N newest days" + extra)
      .Int("--keep-weekly", "Keep the newest backup of each of the N newest ISO weeks" + extra)
      .Int("--keep-monthly", "Keep the newest backup of each of the N newest months" + extra)
      .Int("--keep-yearly", "Keep the newest backup of each of the N newest years" + extra)
      .Int("--max-age-days", "Expire backups older than D days" + extra);
}

}  // namespace

void RegisterPlanVerbs(Application& app, CLI::App& root) {
  // ---------------------------------------------------------------- backup plans
  {
    Verb& v = app.AddVerb(
        root, ml, "createBackupPlan", "create-backup-plan",
        "Create a backup plan: scheduled backups of selected workspaces, with retention",
        "mlvault create-backup-plan --plan-name nightly --schedule \"cron(0 3 * * ? *)\" "
        "--time-zone Europe/Berlin --selection tag:env=prod --keep-daily 7 --keep-weekly 4");
    v.String("--plan-name", "Name (letters, digits, '.', '_', '-'; at most 64)", true)
        .String("--schedule", "cron(min hour day-of-month month day-of-week year) or rate(N hours)",
                true)
        .String("--time-zone", "IANA time zone the cron fields are read in (default UTC)")
        .Int("--start-window-minutes", "How late a slot may start before it counts as late "
                                       "(default 60)")
        .Strings("--selection", "Workspace CRNs and/or tag:<key>=<value>", true)
        .String("--iam-role-name",
                "Act as this role (it must trust backup.mlvault; default: as you)")
        .String("--copy-to-environment-name",
                "Also copy every backup into this environment's vault location (copy-backup)");
    RetentionFlags(v, "");
  }
  app.AddVerb(root, ml, "listBackupPlans", "list-backup-plans", "List backup plans",
              "mlvault list-backup-plans --output table")
      .Paginated("plans");
  app.AddVerb(root, ml, "describeBackupPlan", "describe-backup-plan",
              "Describe a backup plan: schedule, selection, retention, next run",
              "mlvault describe-backup-plan --plan-name nightly")
      .String("--plan-name", "Plan name", true);
  {
    Verb& v = app.AddVerb(root, ml, "updateBackupPlan", "update-backup-plan",
                          "Change a backup plan (only the flags given change)",
                          "mlvault update-backup-plan --plan-name nightly --keep-daily 14 "
                          "--keep-weekly 0");
    v.String("--plan-name", "Plan name", true)
        .String("--schedule", "New schedule")
        .String("--time-zone", "New time zone")
        .Int("--start-window-minutes", "New start window")
        .Strings("--selection", "New selection (replaces the old one)")
        .String("--iam-role-name", "Act as this role from now on (- : as the plan's owner)")
        .String("--copy-to-environment-name",
                "Copy backups into this environment from now on (- : stop copying)");
    RetentionFlags(v, " (0 removes the rule)");
  }
  app.AddVerb(root, ml, "deleteBackupPlan", "delete-backup-plan",
              "Delete a backup plan (the backups it made stay)",
              "mlvault delete-backup-plan --plan-name nightly")
      .String("--plan-name", "Plan name", true);
  app.AddVerb(root, ml, "listBackupPlanRuns", "list-backup-plan-runs",
              "The runs of a plan, newest first: backups started, expiries, errors",
              "mlvault list-backup-plan-runs --plan-name nightly")
      .String("--plan-name", "Plan name", true);
  app.AddVerb(root, ml, "previewRetention", "preview-retention",
              "Dry run of a plan's retention: which of its backups are kept or expired, and why",
              "mlvault preview-retention --plan-name nightly --output table")
      .String("--plan-name", "Plan name", true);

  app.AddVerb(root, ml, "getProtectionReport", "get-protection-report",
              "Every workspace: its plans, last succeeded backup and its age, and whether that "
              "meets the plans' recovery point objective",
              "mlvault get-protection-report --output table");

  // ---------------------------------------------------------------- restore tests (drills)
  app.AddVerb(root, ml, "createRestoreTestingPlan", "create-restore-testing-plan",
              "Create a restore testing plan: on its schedule, drill (start-restore-test) the "
              "newest backup of each selected workspace in a sandbox environment",
              "mlvault create-restore-testing-plan --plan-name weekly-drill --schedule "
              "\"cron(0 4 ? * SUN *)\" --selection tag:env=prod --sandbox-environment-name drills")
      .String("--plan-name", "Name (letters, digits, '.', '_', '-'; at most 64)", true)
      .String("--schedule", "cron(...) or rate(...), as for create-backup-plan", true)
      .String("--time-zone", "IANA time zone the cron fields are read in (default UTC)")
      .Int("--start-window-minutes", "How late a slot may start before it counts as late")
      .Strings("--selection", "Workspace CRNs and/or tag:<key>=<value>", true)
      .String("--sandbox-environment-name", "Environment the throw-away workspaces are made in",
              true)
      .String("--iam-role-name", "Act as this role (it must trust backup.mlvault; default: as you)");
  app.AddVerb(root, ml, "startRestoreTest", "start-restore-test",
              "Drill: restore a backup into a throw-away workspace of a sandbox environment, "
              "check that it works (runtime, entities, applications, models, file checksums), "
              "record the result and recovery time, delete the throw-away workspace",
              "mlvault start-restore-test --workspace-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid> "
              "--sandbox-environment-name drills")
      .String("--backup-crn", "The backup to test (or --workspace-crn)")
      .String("--workspace-crn", "Test this workspace's newest succeeded backup")
      .String("--sandbox-environment-name", "Environment the throw-away workspace is made in",
              true);
  app.AddVerb(root, ml, "listRestoreTests", "list-restore-tests",
              "Restore tests, newest first: status, recovery time, recovery point age, checks",
              "mlvault list-restore-tests --workspace-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid> --output table")
      .String("--workspace-crn", "Only the tests of this workspace")
      .Paginated("restoreTests");
  app.AddVerb(root, ml, "describeRestoreTest", "describe-restore-test",
              "One restore test: every check with its result, the recovery time, the cause of a "
              "failure",
              "mlvault describe-restore-test --restore-test-id <uuid>")
      .String("--restore-test-id", "The restore test's id", true);

  // ---------------------------------------------------------------- backup copies
  {
    Verb& v = app.AddVerb(
        root, ml, "copyBackup", "copy-backup",
        "Copy a backup into the vault location of another environment (a backup of the same "
        "workspace, deduplicated and encrypted there); restore either",
        std::string("mlvault copy-backup --backup-crn ") + kBackupCrnExample +
            " --destination-environment-name offsite --wait");
    v.String("--backup-crn", "The backup to copy (succeeded)", true)
        .String("--destination-environment-name",
                "Environment whose vault location receives the copy", true)
        .String("--backup-name", "The copy's name (default <name>-copy-<environment>)")
        .Wait("Wait until the copy ends (the exit code reflects its outcome)");
    v.OnRun([&app](Verb& v) {
      app.Emit(v.Call(v.Request(), "copy",
                      [&v](const json& a, double s) {
                        if (!v.waiting()) return std::string();
                        return "backup copy " + a.value("backupCrn", std::string()) + " " +
                               a.value("backupStatus", std::string()) + " in " +
                               std::to_string(static_cast<int>(s + 0.5)) + " s";
                      }),
               &v);
    });
  }

  // ---------------------------------------------------------------- legal holds
  app.AddVerb(root, ml, "putLegalHold", "put-legal-hold",
              "Hold a backup: nobody and no plan can delete it until the hold is released",
              std::string("mlvault put-legal-hold --backup-crn ") + kBackupCrnExample +
                  " --reason \"case 2026-17\"")
      .String("--backup-crn", "Backup CRN", true)
      .String("--reason", "Why it is held", true);
  app.AddVerb(root, ml, "releaseLegalHold", "release-legal-hold", "Release a backup's legal hold",
              std::string("mlvault release-legal-hold --backup-crn ") + kBackupCrnExample)
      .String("--backup-crn", "Backup CRN", true);
  app.AddVerb(root, ml, "listLegalHolds", "list-legal-holds", "List legal holds",
              "mlvault list-legal-holds --include-released")
      .Flag("--include-released", "Also the holds released");

  // ---------------------------------------------------------------- vault locks
  app.AddVerb(root, ml, "putVaultLock", "put-vault-lock",
              "Lock a workspace's vault: backups younger than the minimum retention cannot be "
              "deleted (governance: without ml:BypassVaultLock; compliance: by nobody)",
              "mlvault put-vault-lock --workspace-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid> --mode compliance "
              "--min-retention-days 30 --changeable-for-days 3")
      .String("--workspace-crn", "Workspace CRN", true)
      .String("--mode", "governance | compliance", true)
      .Int("--min-retention-days", "Days every backup is kept at least (required)")
      .Int("--max-retention-days", "Longest retention the lock allows (recorded)")
      .Int("--changeable-for-days",
           "Compliance: days the lock can still be changed or removed (default 3, at least 3)");
  app.AddVerb(root, ml, "describeVaultLock", "describe-vault-lock", "Show a workspace's vault lock",
              "mlvault describe-vault-lock --workspace-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>")
      .String("--workspace-crn", "Workspace CRN", true);
  app.AddVerb(root, ml, "deleteVaultLock", "delete-vault-lock",
              "Remove a vault lock (a compliance lock only within its changeable period)",
              "mlvault delete-vault-lock --workspace-crn "
              "crn:mlvault:ml:us-west-1:<account>:workspace:<uuid>")
      .String("--workspace-crn", "Workspace CRN", true);

  // ---------------------------------------------------------------- roles
  constexpr std::string_view iam = "iam";
  {
    Verb& v = app.AddVerb(
        root, iam, "createRole", "create-role",
        "Create a role: policies attach to it like to a user, and its trust policy says who may "
        "act as it (the backup service backup.mlvault for plans, named users)",
        "mlvault create-role --role-name backup-operator --trust-policy-document file://trust.json");
    v.String("--role-name", "Name of the role", true)
        .String("--trust-policy-document", "file://PATH, or the JSON document itself", true)
        .String("--description", "What the role is for");
    v.OnRun([&app](Verb& v) {
      app.Emit(
          [&]() -> util::Result<json> {
            std::string arg = v.Value("--trust-policy-document");
            json request = v.Request();
            request["trustPolicyDocument"] =
                MLV_TRY(app.ReadInput("--trust-policy-document", arg, true));
            return v.Call(request);
          }(),
          &v);
    });
  }
  app.AddVerb(root, iam, "listRoles", "list-roles", "List the account's roles",
              "mlvault list-roles");
  app.AddVerb(root, iam, "deleteRole", "delete-role",
              "Delete a role (not while a backup plan acts as it)",
              "mlvault delete-role --role-name backup-operator")
      .String("--role-name", "Name of the role", true);
  app.AddVerb(root, iam, "attachRolePolicy", "attach-role-policy", "Attach a policy to a role",
              "mlvault attach-role-policy --role-name backup-operator --policy-name backups")
      .String("--role-name", "Name of the role", true)
      .String("--policy-name", "Name of the policy", true);
  app.AddVerb(root, iam, "detachRolePolicy", "detach-role-policy", "Detach a policy from a role",
              "mlvault detach-role-policy --role-name backup-operator --policy-name backups")
      .String("--role-name", "Name of the role", true)
      .String("--policy-name", "Name of the policy", true);
  app.AddVerb(root, iam, "assumeRole", "assume-role",
              "Short-lived credentials acting as a role whose trust policy names you: use them "
              "as MLVAULT_ACCESS_KEY_ID / MLVAULT_PRIVATE_KEY or in a profile",
              "mlvault assume-role --role-name backup-operator --session-name fix-1234 "
              "--duration-seconds 900")
      .String("--role-name", "Name of the role", true)
      .String("--session-name", "Names this session in the audit log (2-64 of A-Z a-z 0-9 =,.@_-)",
              true)
      .Int("--duration-seconds", "How long the credentials work: 900 to 43200 (default 3600)");

  // ---------------------------------------------------------------- the scheduler
  {
    CLI::App* v = app.AddCommand(
        root, "scheduler",
        "Run backup plans: claim each due slot once, start its backups and expiries (foreground; "
        "a systemd unit is in docs/plans.md)",
        "mlvault scheduler --interval-seconds 30");
    auto once = std::make_shared<bool>(false);
    auto interval = std::make_shared<int>(30);
    v->add_flag("--once", *once, "Run one step and exit");
    v->add_option("--interval-seconds", *interval, "Seconds between steps (default 30)")
        ->check(CLI::Range(1, 3600));
    v->callback([&app, once, interval] {
      app.CatchSignals();
      control::EmbeddedOptions eo;
      eo.resolve_caller = false;  // each plan acts as its owner
      auto e = control::Embedded::Open(eo);
      if (!e) return app.Emit(std::unexpected(e.error()));
      for (;;) {
        auto step = (*e)->RunSchedulerStep(util::Clock::System().Now());
        if (!step) {
          if (*once) return app.Emit(std::unexpected(step.error()));
          app.output().Note("scheduler step failed: " + step.error().message());
        } else {
          for (const auto& line : *step) app.output().Note(line);
        }
        if (*once) return app.Emit(json{{"runs", step ? *step : std::vector<std::string>{}}});
        for (int i = 0; i < *interval * 10; ++i) {
          if (app.interrupted()->load()) return app.Emit(json{{"stopped", true}});
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    });
  }
}

}  // namespace mlvault::cli
