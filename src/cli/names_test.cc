// Names instead of CRNs, in-process over real workspaces (the workspace runtime is started):
// every verb that takes a workspace or backup CRN also takes its name; the control plane
// resolves them; an ambiguous name is an error listing the candidates; the restore input names
// its backup by name; the skeleton is refused until filled in.
#include <fstream>

#include "cli/app_test_util.h"

namespace mlvault::cli {
namespace {

class NamesTest : public AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    ASSERT_EQ(Run({"grant-entitlement", "--entitlement-name", "ML_ENABLE_BACKUP_RESTORE"}), 0)
        << err_;
    ASSERT_EQ(Run({"create-environment", "--environment-name", "dev"}), 0) << err_;
  }
  // Creates workspace `name` in dev and backs it up as `backup`; returns the workspace CRN.
  std::string WorkspaceWithBackup(const std::string& name, const std::string& backup) {
    EXPECT_EQ(Run({"create-workspace", "--environment-name", "dev", "--workspace-name", name,
                   "--wait"}),
              0)
        << err_;
    std::string crn = Out()["workspaceCrn"];
    // Waiting answers where the new workspace is.
    EXPECT_EQ(Out()["status"], "running") << out_;
    EXPECT_EQ(Out()["endpoint"].get<std::string>().rfind("http://127.0.0.1:", 0), 0u) << out_;
    EXPECT_NE(Out()["domain"].get<std::string>().find(".dev."), std::string::npos) << out_;
    EXPECT_EQ(Run({"backup-workspace", "--workspace-name", name, "--environment-name", "dev",
                   "--backup-name", backup, "--wait"}),
              0)
        << err_;
    return crn;
  }
};

TEST_F(NamesTest, EveryWorkspaceAndBackupVerbTakesNames) {
  std::string ws = WorkspaceWithBackup("ws1", "nightly-1");
  const std::vector<std::string> by_ws = {"--workspace-name", "ws1", "--environment-name", "dev"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  ASSERT_EQ(Run(with({"describe-workspace"}, by_ws)), 0) << err_;
  EXPECT_EQ(Out()["workspace"]["crn"], ws);
  ASSERT_EQ(Run(with({"get-workspace-api-key"}, by_ws)), 0) << err_;
  EXPECT_FALSE(Out()["apiKey"].get<std::string>().empty());

  auto by_backup = with({"--backup-name", "nightly-1"}, by_ws);
  ASSERT_EQ(Run(with({"describe-workspace-backup"}, by_backup)), 0) << err_;
  std::string backup = Out()["backup"]["backupCrn"];
  EXPECT_EQ(Out()["backup"]["workspaceCrn"], ws);
  ASSERT_EQ(Run(with({"verify-backup"}, by_backup)), 0) << err_;
  EXPECT_EQ(Out()["backupCrn"], backup);
  EXPECT_TRUE(Out()["ok"]);
  // The backup's workspace also by CRN.
  ASSERT_EQ(Run({"describe-workspace-backup", "--backup-name", "nightly-1", "--workspace-crn", ws}),
            0)
      << err_;
  EXPECT_EQ(Out()["backup"]["backupCrn"], backup);

  // Names that match nothing are not found, named by their flags.
  EXPECT_EQ(Run({"describe-workspace", "--workspace-name", "ws9", "--environment-name", "dev"}), 3);
  EXPECT_EQ(err_, "mlvault: --workspace-name: no workspace named \"ws9\" in environment \"dev\"\n");
  EXPECT_EQ(Run(with({"describe-workspace-backup", "--backup-name", "nope"}, by_ws)), 3);
  EXPECT_TRUE(ErrHas("--backup-name: no backup named \"nope\" in workspace \"ws1\"")) << err_;
  // Neither, both, half.
  EXPECT_EQ(Run({"describe-workspace"}), 2);
  EXPECT_TRUE(ErrHas("give --workspace-crn, or --workspace-name with --environment-name")) << err_;
  EXPECT_EQ(Run(with({"describe-workspace", "--workspace-crn", ws}, by_ws)), 2);
  EXPECT_TRUE(ErrHas("(not both)")) << err_;
  EXPECT_EQ(Run({"describe-workspace", "--workspace-name", "ws1"}), 2);
  EXPECT_TRUE(ErrHas("--environment-name: is required with --workspace-name")) << err_;
  EXPECT_EQ(Run({"verify-backup", "--backup-name", "nightly-1"}), 2);
  EXPECT_TRUE(ErrHas("--backup-name needs its workspace")) << err_;

  // Restore by names, from a file; then delete the backup and the workspace by names.
  std::string input = home_ + "/restore.json";
  std::ofstream(input) << R"({"backupName": "nightly-1", "sourceWorkspaceName": "ws1",
    "sourceEnvironmentName": "dev", "newWorkspaceParameters": {"workspaceName": "ws1-copy"}})";
  ASSERT_EQ(Run({"restore-workspace", "--cli-input-json", "file://" + input, "--wait"}), 0)
      << err_;
  EXPECT_EQ(Out()["status"], "running") << out_;
  EXPECT_TRUE(Out().contains("endpoint") && Out().contains("domain")) << out_;
  ASSERT_EQ(Run({"describe-workspace", "--workspace-name", "ws1-copy", "--environment-name",
                 "dev"}),
            0)
      << err_;
  EXPECT_EQ(Out()["workspace"]["restoredFromBackupCrn"], backup);
  ASSERT_EQ(Run(with({"delete-backup", "--wait"}, by_backup)), 0) << err_;
  // Deleted backups are listed only when asked for.
  ASSERT_EQ(Run(with({"list-workspace-backups"}, by_ws)), 0) << err_;
  EXPECT_EQ(Out()["backups"].size(), 0u) << out_;
  ASSERT_EQ(Run(with({"list-workspace-backups", "--include-deleted"}, by_ws)), 0) << err_;
  ASSERT_EQ(Out()["backups"].size(), 1u) << out_;
  EXPECT_EQ(Out()["backups"][0]["backupStatus"], "deleted");
  ASSERT_EQ(Run(with({"delete-workspace"}, by_ws)), 0) << err_;
  EXPECT_EQ(Out()["workspaceCrn"], ws);
}

TEST_F(NamesTest, AnAmbiguousNameIsAnErrorListingTheCandidates) {
  std::string first = WorkspaceWithBackup("ws1", "nightly-1");
  ASSERT_EQ(Run({"delete-workspace", "--workspace-crn", first}), 0) << err_;
  std::string second = WorkspaceWithBackup("ws1", "nightly-1");  // the name again
  ASSERT_EQ(Run({"list-workspaces", "--query", "workspaces[].crn"}), 0);
  EXPECT_EQ(Out(), json({second}));
  ASSERT_EQ(Run({"list-workspaces", "--include-deleted", "--query",
                 "workspaces[?deletedAt != `null`].crn"}),
            0);
  EXPECT_EQ(Out(), json({first}));
  ASSERT_EQ(Run({"list-workspace-backups", "--workspace-name", "ws1", "--environment-name", "dev",
                 "--query", "backups[].backupCrn", "--output", "text"}),
            0);
  std::istringstream lines(out_);
  std::string a, b;
  std::getline(lines, a);
  std::getline(lines, b);
  EXPECT_EQ(Run({"describe-workspace-backup", "--backup-name", "nightly-1", "--workspace-name",
                 "ws1", "--environment-name", "dev"}),
            2);
  EXPECT_TRUE(ErrHas("--backup-name: \"nightly-1\" names 2 backups")) << err_;
  EXPECT_TRUE(ErrHas("give --backup-crn, one of:")) << err_;
  EXPECT_TRUE(ErrHas("\n  " + a + " (succeeded")) << err_;
  EXPECT_TRUE(ErrHas("\n  " + b + " (succeeded")) << err_;
  // The live workspace of a name wins over a deleted one; by CRN the backup is unambiguous.
  ASSERT_EQ(Run({"describe-workspace", "--workspace-name", "ws1", "--environment-name", "dev"}), 0);
  EXPECT_EQ(Out()["workspace"]["crn"], second);
  ASSERT_EQ(Run({"describe-workspace-backup", "--backup-name", "nightly-1", "--workspace-crn",
                 second}),
            0)
      << err_;
}

TEST_F(AppTest, TheRestoreSkeletonIsRefusedUntilFilledIn) {
  ASSERT_EQ(Run({"restore-workspace", "--generate-cli-skeleton"}), 0);
  json skeleton = Out();
  EXPECT_EQ(skeleton["backupName"], "");
  EXPECT_EQ(skeleton["newWorkspaceParameters"]["workspaceName"], "");
  // Nothing with a value to plant: no tags, no instance types, one environment name at most.
  EXPECT_FALSE(OutHas("\"tags\""));
  EXPECT_FALSE(OutHas("instanceType"));
  EXPECT_FALSE(OutHas("\"k\""));
  std::string path = home_ + "/skeleton.json";
  std::ofstream(path) << out_;
  EXPECT_EQ(Run({"restore-workspace", "--cli-input-json", "file://" + path}), 2);
  EXPECT_TRUE(ErrHas("must not be empty") || ErrHas("give backupCrn, or backupName")) << err_;
}

TEST_F(AppTest, JsonInputErrorsNameTheMistakeAndItsPlace) {
  std::string path = home_ + "/bad.json";
  std::ofstream(path) << "{\n  \"backupName\": \"x\",\n  \"a\": 1,\n}\n";
  EXPECT_EQ(Run({"restore-workspace", "--cli-input-json", "file://" + path}), 2);
  EXPECT_EQ(err_,
            "mlvault: restore input is not valid JSON: trailing comma after the last member of the "
            "object at line 3, column 9; remove this ','\n");
  EXPECT_EQ(Run({"create-workspace", "--cli-input-json", "{\"a\": 1, \"a\": 2}"}), 2);
  EXPECT_TRUE(ErrHas("create-workspace input is not valid JSON: ")) << err_;
  EXPECT_TRUE(ErrHas("at line 1, column")) << err_;
}

}  // namespace
}  // namespace mlvault::cli
