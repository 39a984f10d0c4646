// The fixture of the in-process CLI tests: cli::Application with captured streams over a real
// embedded control plane in a temporary $MLVAULT_HOME.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "util/files.h"

namespace mlvault::cli {

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("MLVAULT_ACCESS_KEY_ID");
    ::unsetenv("MLVAULT_PRIVATE_KEY");
    ::unsetenv("MLVAULT_PROFILE");
    ::unsetenv("MLVAULT_ENDPOINT");
    home_ = *util::MakeTempDir("mlvault-cli-test");
    ::setenv("MLVAULT_HOME", home_.c_str(), 1);
#ifdef MLVAULT_TEST_WORKSPACE_BIN
    ::setenv("MLVAULT_WORKSPACE_BIN", MLVAULT_TEST_WORKSPACE_BIN, 0);
#endif
  }
  void TearDown() override {
    // Stop the runtimes of the workspaces a test provisioned.
    std::ostringstream out, err;
    Application list(out, err);
    if (::access((home_ + "/catalog.db").c_str(), F_OK) == 0 &&
        list.Run({"list-workspaces", "--query", "workspaces[].crn", "--output", "text"}) == 0) {
      std::istringstream crns(out.str());
      for (std::string crn; std::getline(crns, crn);) {
        std::ostringstream o, e;
        Application(o, e).Run({"delete-workspace", "--workspace-crn", crn});
      }
    }
    ::unsetenv("MLVAULT_HOME");
    ASSERT_TRUE(util::RemoveAll(home_));
  }
  // Runs one command line; keeps stdout, stderr and the exit code. `columns` is the terminal
  // width of stdout (0: not a terminal); `tty_stderr` makes stderr a terminal (progress bars).
  int Run(const std::vector<std::string>& args) { return RunOn(args, columns_, tty_stderr_); }
  int RunOn(const std::vector<std::string>& args, size_t columns, bool tty_stderr) {
    std::ostringstream out, err;
    Application app(out, err);
    app.SetTerminal(columns, tty_stderr);
    rc_ = app.Run(args);
    out_ = out.str();
    err_ = err.str();
    return rc_;
  }
  json Out() const { return json::parse(out_); }
  bool OutHas(const std::string& s) const { return out_.find(s) != std::string::npos; }
  bool ErrHas(const std::string& s) const { return err_.find(s) != std::string::npos; }

  std::string home_, out_, err_;
  int rc_ = -1;
  size_t columns_ = 0;
  bool tty_stderr_ = false;
};

}  // namespace mlvault::cli
