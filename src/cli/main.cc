// mlvault: one binary, every verb. Parsing and printing only; the work is in the libraries.
#include "cli/common.h"

int main(int argc, char** argv) {
  using namespace mlvault::cli;
  CLI::App app{"mlvault: consistent, deduplicated, encrypted backups of ML platform workspaces"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show every verb's help");
  auto& g = GlobalFlags();
  app.add_option("--output", g.output, "Output format")
      ->check(CLI::IsMember({"json", "table"}))
      ->capture_default_str();
  app.add_option("--endpoint", g.endpoint, "Talk to an mlvault server at this URL instead of running embedded")
      ->envname("MLVAULT_ENDPOINT");
  app.add_option("--profile", g.profile, "Credentials profile (from $MLVAULT_HOME/credentials)")
      ->envname("MLVAULT_PROFILE");
  // Exported to the environment: the embedded catalog reads it there, and workers inherit it.
  app.add_option_function<std::string>(
         "--catalog",
         [](const std::string& v) { setenv("MLVAULT_CATALOG", v.c_str(), 1); },
         "Catalog: a SQLite file or postgresql://user@host:port/db (default "
         "$MLVAULT_HOME/catalog.db)")
      ->envname("MLVAULT_CATALOG");
  RegisterVaultCommands(app);
  RegisterWorkspaceCommands(app);
  RegisterIamCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    PrintError(mlvault::util::Error(mlvault::util::ErrorCode::kInvalidArgument, e.what()));
    return 2;
  }
  return ExitCode();
}
