// The verbs about the command line itself: help [VERB], version, completion bash|zsh.
#include "cli/app.h"
#include "cli/usage.h"

namespace mlvault::cli {
namespace {

constexpr std::string_view kQueryHelp =
    "--query EXPR selects part of an answer before it is printed (any --output), in a subset of\n"
    "JMESPath (https://jmespath.org):\n"
    "  workspace.status                          a field of a field\n"
    "  backups[0].backupCrn   backups[-1]        an element by index (negative: from the end)\n"
    "  backups[].backupCrn                       every element's field (a projection)\n"
    "  backups[?backupStatus=='succeeded'].backupName\n"
    "                                            elements whose field is (==) or is not (!=) a\n"
    "                                            'string' or `json literal`\n"
    "  backups[].[backupName, backupStatus]      several fields per element\n"
    "  workspaces[].{name: name, crn: crn}       renamed fields per element\n"
    "  length(backups)                           the length of an array, object or string\n"
    "With --output text a selected list prints one value per line, e.g.\n"
    "  mlvault list-workspace-backups --workspace-name ws1 --environment-name dev \\\n"
    "      --query 'backups[].backupName' --output text\n";

}  // namespace

void RegisterHelpVerbs(Application& app, CLI::App& root) {
  {
    auto topic = std::make_shared<std::vector<std::string>>();
    CLI::App* v = app.AddCommand(root, "help", "Show the verbs, or one verb's flags and example",
                                 "mlvault help backup-workspace");
    v->add_option("verb", *topic, "A verb (or `query` for the --query syntax)");
    v->callback([&app, &root, topic] {
      if (topic->empty()) return app.output().Text(TopLevelHelp(root));
      if (topic->size() == 1 && topic->front() == "query")
        return app.output().Text(std::string(kQueryHelp));
      const CLI::App* cur = &root;
      std::string prefix = "mlvault";
      for (const auto& word : *topic) {
        auto subs = cur->get_subcommands([&](const CLI::App* a) { return a->get_name() == word; });
        if (subs.empty()) {
          std::vector<std::string> names;
          for (const CLI::App* a :
               cur->get_subcommands([](const CLI::App* a) { return !a->get_name().empty(); }))
            names.push_back(a->get_name());
          std::string hint = Suggest(word, names);
          return app.Emit(util::InvalidArgument(
              "help: unknown verb \"" + word + "\"" +
              (hint.empty() ? "" : "; did you mean \"" + hint + "\"?")));
        }
        if (cur != &root) prefix += " " + cur->get_name();
        cur = subs.front();
      }
      app.output().Text(cur->help(prefix));
    });
  }
  {
    CLI::App* v = app.AddCommand(root, "version",
                                 "Show the version, the commit it was built from and the catalog "
                                 "schema it uses (also: --version)",
                                 "mlvault version --output text");
    v->callback([&app] {
      VersionInfo info = Version();
      app.Emit(json{{"version", info.version},
                    {"commit", info.commit},
                    {"catalogSchema", info.catalog_schema},
                    {"catalogMigrations", info.catalog_migrations}});
    });
  }
  {
    auto shell = std::make_shared<std::string>();
    CLI::App* v = app.AddCommand(root, "completion",
                                 "Print a shell completion script for bash or zsh",
                                 "eval \"$(mlvault completion bash)\"   # in ~/.bashrc");
    v->add_option("shell", *shell, "bash or zsh")->required();
    v->callback([&app, &root, shell] {
      auto script = CompletionScript(root, *shell);
      if (!script) return app.Emit(std::unexpected(script.error()));
      app.output().Text(*script);
    });
  }
}

std::string VersionLine() {
  VersionInfo v = Version();
  return "mlvault " + v.version + " (commit " + v.commit + ", catalog schema " + v.catalog_schema +
         ")\n";
}

}  // namespace mlvault::cli
