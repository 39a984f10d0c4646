// The progress bar of waited verbs: what a line shows, and in-process over a real backup that
// the bar names its phases while it runs and leaves one summary line, only on a terminal.
#include "cli/app_test_util.h"
#include "cli/progress.h"

namespace mlvault::cli {
namespace {

TEST(ProgressBarTest, ALineNamesPhaseBytesFilesRateAndEta) {
  util::ProgressSnapshot p{512u << 20, 1024u << 20, 30, 120, "capturing: reading"};
  std::string line = ProgressBar::Line("backup", p, 4.0, 256u << 20);
  EXPECT_EQ(line,
            "backup: capturing: reading [############............]  50%  512.0 MiB / 1.0 GiB  "
            "30/120 files  64.0 MiB/s  ETA 8.0 s")
      << line;
  // Nothing known yet: the phase is still named, never empty.
  EXPECT_EQ(ProgressBar::Line("backup", {}, 0, 0), "backup: starting");
  // Bytes without a total: no bar, no ETA.
  EXPECT_EQ(ProgressBar::Line("restore", {2048, 0, 3, 0, "restoring"}, 0.1, 2048),
            "restore: restoring  2.0 KiB  3 files");
  EXPECT_EQ(HumanSeconds(125), "2 min 05 s");
}

TEST(ProgressBarTest, NotATerminalDrawsNothing) {
  std::ostringstream err;
  ProgressBar bar(err, "backup", false);
  bar.Report({1, 2, 1, 2, "prepass"});
  bar.Summary("backup done");
  EXPECT_TRUE(err.str().empty());
}

TEST(ProgressBarTest, TheSummaryReplacesTheBarAndStays) {
  std::ostringstream err;
  ProgressBar bar(err, "backup", true);
  bar.Report({1, 2, 1, 2, "prepass"});
  bar.Report({2, 2, 2, 2, "capturing"});  // a new phase is drawn at once
  bar.Summary("backup nightly-1 succeeded in 1.0 s");
  EXPECT_EQ(err.str(),
            "\r\033[Kbackup: prepass [############............]  50%  1 B / 2 B  1/2 files"
            "\r\033[Kbackup: capturing [########################] 100%  2 B / 2 B  2/2 files"
            "\r\033[Kbackup nightly-1 succeeded in 1.0 s\n");
}

TEST_F(AppTest, AWaitedBackupShowsItsPhasesThenASummaryLineOnATerminal) {
  ASSERT_EQ(Run({"grant-entitlement", "--entitlement-name", "ML_ENABLE_BACKUP_RESTORE"}), 0);
  ASSERT_EQ(Run({"create-environment", "--environment-name", "dev"}), 0);
  ASSERT_EQ(Run({"create-workspace", "--environment-name", "dev", "--workspace-name", "ws1",
                 "--wait"}),
            0)
      << err_;
  tty_stderr_ = true;
  ASSERT_EQ(Run({"backup-workspace", "--workspace-name", "ws1", "--environment-name", "dev",
                 "--backup-name", "nightly-1", "--wait"}),
            0)
      << err_;
  EXPECT_EQ(Out()["backupStatus"], "succeeded");  // stdout is the answer, unchanged
  for (std::string phase : {"prepass", "quiescing", "capturing", "finishing"})
    EXPECT_TRUE(ErrHas("\r\033[Kbackup: " + phase)) << phase << " in " << err_;
  EXPECT_FALSE(ErrHas("backup: \r")) << "an empty phase was drawn";
  // The last thing on stderr is the summary line, after the erased bar.
  size_t last = err_.rfind("\r\033[K");
  ASSERT_NE(last, std::string::npos);
  std::string summary = err_.substr(last + 4);
  EXPECT_EQ(summary.rfind("backup nightly-1 succeeded in ", 0), 0u) << summary;
  EXPECT_NE(summary.find(" scanned, "), std::string::npos) << summary;
  EXPECT_NE(summary.find(" new, workspace paused "), std::string::npos) << summary;
  EXPECT_EQ(std::count(summary.begin(), summary.end(), '\n'), 1) << summary;
  EXPECT_EQ(summary.back(), '\n');

  // Not a terminal: stderr stays empty.
  tty_stderr_ = false;
  ASSERT_EQ(Run({"backup-workspace", "--workspace-name", "ws1", "--environment-name", "dev",
                 "--backup-name", "nightly-2", "--wait"}),
            0);
  EXPECT_TRUE(err_.empty()) << err_;
}

}  // namespace
}  // namespace mlvault::cli
