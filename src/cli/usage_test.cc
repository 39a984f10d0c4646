// The command line about itself, in-process: unknown verbs and flags named with a suggestion,
// help [VERB] and --help grouped with examples and global flags, version, completion scripts
// (run by a real bash), and errors printed once.
#include <cstdio>
#include <fstream>

#include "cli/app_test_util.h"
#include "cli/usage.h"
#include "util/strings.h"

namespace mlvault::cli {
namespace {

// The stdout of `bash -c <script>`.
std::string Bash(const std::string& script) {
  std::string path = ::testing::TempDir() + "/mlvault-completion-run.sh";
  std::ofstream(path) << script;
  std::FILE* p = ::popen(("bash " + path).c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (p != nullptr && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (p != nullptr) ::pclose(p);
  std::remove(path.c_str());
  return util::Trim(out);
}

TEST_F(AppTest, AnUnknownVerbIsNamedWithASuggestion) {
  EXPECT_EQ(Run({"bakup-workspace", "--workspace-crn", "x"}), 2);
  EXPECT_EQ(err_, "mlvault: unknown verb \"bakup-workspace\"; did you mean \"backup-workspace\"? "
                  "(mlvault help lists the verbs)\n");
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(Run({"--output", "table", "lst-environments"}), 2);
  EXPECT_TRUE(ErrHas("did you mean \"list-environments\"?")) << err_;
  EXPECT_EQ(Run({"frobnicate"}), 2);
  EXPECT_TRUE(ErrHas("unknown verb \"frobnicate\" (mlvault help")) << err_;
  EXPECT_FALSE(ErrHas("did you mean"));
  EXPECT_EQ(Run({"vault", "inti"}), 2);
  EXPECT_TRUE(ErrHas("unknown vault verb \"inti\"; did you mean \"init\"?")) << err_;
}

TEST_F(AppTest, AMistypedFlagIsNamedNotTheRequiredOneMissing) {
  EXPECT_EQ(Run({"describe-workspace", "--workspace-cnr", "crn:x"}), 2);
  EXPECT_TRUE(ErrHas("unknown flag --workspace-cnr for describe-workspace; did you mean "
                     "--workspace-crn?"))
      << err_;
  EXPECT_FALSE(ErrHas("is required"));
  // Global flags are known after the verb too, and a value is never taken for a flag.
  EXPECT_EQ(Run({"--outptu", "table", "list-environments"}), 2);
  EXPECT_TRUE(ErrHas("unknown flag --outptu; did you mean --output?")) << err_;
  EXPECT_EQ(Run({"create-environment", "--environment-name", "dev", "--output", "table"}), 0)
      << err_;
  EXPECT_EQ(Run({"list-environments", "--query=environments[].name", "--output=text"}), 0) << err_;
  EXPECT_EQ(out_, "dev\n");
}

TEST_F(AppTest, HelpListsTheVerbsGroupedWithExamplesAndGlobalFlags) {
  for (auto args : std::vector<std::vector<std::string>>{{"help"}, {"--help"}}) {
    ASSERT_EQ(Run(args), 0) << err_;
    size_t env = out_.find("Environments:"), backups = out_.find("Backups:"),
           iam = out_.find("Identity and access:"), ex = out_.find("Examples:");
    ASSERT_NE(env, std::string::npos) << out_;
    EXPECT_LT(env, backups);
    EXPECT_LT(backups, iam);
    EXPECT_LT(iam, ex);
    EXPECT_TRUE(OutHas("  backup-workspace "));
    EXPECT_TRUE(OutHas("mlvault backup-workspace --workspace-name ws1"));
    EXPECT_TRUE(OutHas("Global flags"));
    EXPECT_TRUE(OutHas("--endpoint"));
  }
  // A verb's help, by `help VERB` or `VERB --help`, shows its example and the global flags.
  for (auto args : std::vector<std::vector<std::string>>{{"help", "backup-workspace"},
                                                        {"backup-workspace", "--help"}}) {
    ASSERT_EQ(Run(args), 0) << err_;
    EXPECT_TRUE(OutHas("mlvault backup-workspace")) << out_;
    EXPECT_TRUE(OutHas("--backup-name"));
    EXPECT_TRUE(OutHas("Example:"));
    EXPECT_TRUE(OutHas("Global flags (before or after the verb):"));
    EXPECT_TRUE(OutHas("--output FORMAT"));
    EXPECT_TRUE(OutHas("--profile"));
  }
  ASSERT_EQ(Run({"help", "vault", "init"}), 0);
  EXPECT_TRUE(OutHas("mlvault vault init")) << out_;
  EXPECT_EQ(Run({"help", "bakup-workspace"}), 2);
  EXPECT_TRUE(ErrHas("did you mean \"backup-workspace\"?"));
  ASSERT_EQ(Run({"help", "query"}), 0);
  EXPECT_TRUE(OutHas("backups[?backupStatus=='succeeded'].backupName"));
  // No verb at all: the help, on stderr, and bad input.
  EXPECT_EQ(Run({}), 2);
  EXPECT_TRUE(ErrHas("Backups:"));
  EXPECT_TRUE(ErrHas("mlvault: give a verb"));
}

TEST_F(AppTest, VersionNamesTheCommitAndTheCatalogSchema) {
  VersionInfo v = Version();
  EXPECT_FALSE(v.version.empty());
  EXPECT_FALSE(v.commit.empty());
  EXPECT_GT(v.catalog_migrations, 0);
  ASSERT_EQ(Run({"--version"}), 0);
  EXPECT_EQ(out_, "mlvault " + v.version + " (commit " + v.commit + ", catalog schema " +
                      v.catalog_schema + ")\n");
  ASSERT_EQ(Run({"version"}), 0);
  EXPECT_EQ(Out()["catalogSchema"], v.catalog_schema);
  EXPECT_EQ(Out()["commit"], v.commit);
  ASSERT_EQ(Run({"version", "--query", "version", "--output", "text"}), 0);
  EXPECT_EQ(out_, v.version + "\n");
}

// The bash completion script, sourced by a real bash, completes verbs, flags and values.
TEST_F(AppTest, CompletionScriptsCompleteVerbsFlagsAndValues) {
  ASSERT_EQ(Run({"completion", "bash"}), 0) << err_;
  std::string script = home_ + "/completion.bash";
  std::ofstream(script) << out_;
  auto complete = [&](const std::string& words, int cword) {
    std::string cmd = "source " + script + "; COMP_WORDS=(" + words + "); COMP_CWORD=" +
                      std::to_string(cword) + "; _mlvault; echo \"${COMPREPLY[*]}\"";
    return Bash(cmd);
  };
  EXPECT_EQ(complete("mlvault backup-w", 1), "backup-workspace");
  EXPECT_EQ(complete("mlvault describe-workspace --workspace-c", 2), "--workspace-crn");
  EXPECT_EQ(complete("mlvault --output ta", 2), "table");
  EXPECT_EQ(complete("mlvault vault ini", 2), "init");
  EXPECT_EQ(complete("mlvault vault init --key-f", 3), "--key-file");
  EXPECT_EQ(complete("mlvault list-environments --pro", 2), "--profile");
  ASSERT_EQ(Run({"completion", "zsh"}), 0);
  EXPECT_TRUE(OutHas("#compdef mlvault"));
  EXPECT_TRUE(OutHas("bashcompinit"));
  EXPECT_EQ(Run({"completion", "fish"}), 2);
  EXPECT_TRUE(ErrHas("give bash or zsh"));
}

TEST_F(AppTest, TheFirstCommandSaysOnceThatItCreatedTheAccount) {
  ASSERT_EQ(Run({"list-environments"}), 0) << err_;
  EXPECT_EQ(err_, "mlvault: first use: created an account and its administrator \"admin\"; its "
                  "access key is in " + home_ + "/credentials (profile default). mlvault "
                  "get-caller-identity shows who you are.\n");
  EXPECT_EQ(Out()["environments"].size(), 0u);  // stdout is the answer alone
  ASSERT_EQ(Run({"list-environments"}), 0);
  EXPECT_TRUE(err_.empty()) << err_;
}

TEST_F(AppTest, AnErrorIsPrintedOnceAndAsJsonOnlyWhenAsked) {
  ASSERT_EQ(Run({"list-environments"}), 0);  // the account exists
  EXPECT_EQ(Run({"list-workspaces", "--environment-name", "nope"}), 3);
  EXPECT_EQ(std::count(err_.begin(), err_.end(), '\n'), 1) << err_;
  EXPECT_EQ(err_.rfind("mlvault: ", 0), 0u);
  EXPECT_FALSE(ErrHas("{\"error\""));
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(Run({"--output", "json", "list-workspaces", "--environment-name", "nope"}), 3);
  EXPECT_EQ(std::count(err_.begin(), err_.end(), '\n'), 1) << err_;
  json e = json::parse(err_);
  EXPECT_EQ(e["error"]["code"], "not-found");
  EXPECT_EQ(e["error"]["exitCode"], 3);
  EXPECT_FALSE(ErrHas("mlvault: "));
  EXPECT_TRUE(out_.empty());
}

}  // namespace
}  // namespace mlvault::cli
