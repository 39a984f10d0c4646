// The mlvault command line as an application object: it owns the global flags, the output
// streams and the api::Client, parses argv, runs one verb and returns the exit code. Verbs map
// their flags to the operation's request JSON (the --cli-input-json shape: camelCase of each
// flag) and call Client::Call; they never reach the catalog. Output goes one way (Output), an
// error's request field is named by the verb's flag (backupCrn -> --backup-crn).
//
// Tests drive an Application in-process with string streams. One Application runs one command
// line; not thread-safe. Included only by cli/ translation units (CLI11, nlohmann/json).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "api/client.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "util/error.h"

namespace mlvault::cli {

using nlohmann::json;

struct Globals {
  std::string output = "json";  // json | table | wide | text (cli/output.h)
  std::string endpoint;         // empty: embedded mode
  std::string profile;          // credentials profile
};

// Makes the client for the global flags: remote (api::RemoteClient) when --endpoint,
// MLVAULT_ENDPOINT or the profile's `endpoint =` names a server, else embedded.
using ClientFactory =
    std::function<util::Result<std::unique_ptr<api::Client>>(const Globals& globals)>;
ClientFactory EmbeddedClientFactory();

class Application;
class Verb;

// The flags that name a workspace: --workspace-crn, or --workspace-name with --environment-name
// (the control plane resolves the names). Returns `v`.
Verb& WorkspaceFlags(Verb& v);
// The flags that name a backup: --backup-crn, or --backup-name with the workspace's flags.
Verb& BackupFlags(Verb& v);

// One verb: its CLI11 subcommand, and the flags bound to request fields.
class Verb {
 public:
  Verb(Application& app, CLI::App* cli, std::string service, std::string operation);

  CLI::App* cli() { return cli_; }
  // Flags bound to the request field CamelCase(flag) ("--backup-crn" -> "backupCrn").
  Verb& String(const std::string& flag, const std::string& help, bool required = false);
  Verb& Int(const std::string& flag, const std::string& help);
  Verb& Flag(const std::string& flag, const std::string& help);  // a boolean field
  Verb& Strings(const std::string& flag, const std::string& help, bool required = false);
  // A list verb whose answer's array `list_field` is paginated (api/paging.h): adds
  // --max-items (at most that many items, with nextToken when more exist), --starting-token,
  // --page-size and --no-paginate (one page only). Without them the verb follows nextToken and
  // prints every item, as one answer.
  Verb& Paginated(const std::string& list_field);
  // --wait: a workflow-starting verb runs to its end (CallOptions::wait).
  Verb& Wait(const std::string& help);
  bool waiting() const { return *wait_; }

  // The request document of the flags given (absent flags are absent fields).
  json Request() const;
  // The value of a bound flag as given ("" if absent).
  std::string Value(const std::string& flag) const;
  const std::vector<std::string>& Values(const std::string& flag) const;
  bool Given(const std::string& flag) const;

  // The line that stays after a waited call succeeded: from its answer and its seconds.
  using Summarizer = std::function<std::string(const json& answer, double seconds)>;
  // Calls the verb's operation with `request`. With a `label`, a progress bar (cli/progress.h)
  // is drawn while it runs (on a terminal) and replaced by `summary`'s line when it succeeds.
  util::Result<json> Call(const json& request, const std::string& label = "",
                          const Summarizer& summary = {});
  // The default action: Call(Request()) and print the result.
  void RunDefault();
  // Replaces the default action.
  void OnRun(std::function<void(Verb&)> run);

  // "--backup-crn" for field "backupCrn" if this verb has that flag; else "".
  std::string FlagFor(const std::string& field) const;
  // `message` with every request field the verb has a flag for named by that flag.
  std::string WithFlagNames(std::string message) const;

 private:
  struct Binding {
    std::string flag, field;
    char kind;  // 's' string, 'i' int, 'b' bool, 'l' list
    std::string s;
    int64_t i = 0;
    bool b = false;
    std::vector<std::string> list;
    CLI::Option* option = nullptr;
  };
  Binding& Add(const std::string& flag, char kind);

  // The paginated call of RunDefault (Paginated()).
  util::Result<json> CallPages(json request);

  Application& app_;
  CLI::App* cli_;
  std::string service_, operation_;
  std::string list_field_;  // Paginated(): the answer's array
  int64_t page_size_ = 0;
  bool no_paginate_ = false;
  std::vector<std::unique_ptr<Binding>> bindings_;
  std::shared_ptr<bool> wait_ = std::make_shared<bool>(false);
};

class Application {
 public:
  Application(std::ostream& out, std::ostream& err, ClientFactory clients = EmbeddedClientFactory());
  ~Application();

  // Parses and runs one command line; returns the process exit code.
  int Run(int argc, const char* const* argv);
  int Run(const std::vector<std::string>& args);  // args without the program name

  // --- for verbs
  const Globals& globals() const { return globals_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  Output& output() { return *output_; }
  // What the terminal is (main.cc asks; tests set it): the columns of stdout (0: not a
  // terminal, tables are not fitted) and whether stderr is a terminal (progress bars drawn).
  void SetTerminal(size_t stdout_columns, bool stderr_is_terminal);
  bool stderr_is_terminal() const { return stderr_is_terminal_; }
  // The client, made on first use.
  util::Result<api::Client*> client();
  // Adds a verb of the API operation (service, operation): the CLI verb name, its help and an
  // example (shown by --help); global flags are accepted after the verb too.
  Verb& AddVerb(CLI::App& parent, std::string_view service, std::string_view operation,
                const std::string& verb, const std::string& description,
                const std::string& example);
  // A verb that is not an API operation (engine-level: vault, worker).
  CLI::App* AddCommand(CLI::App& parent, const std::string& name, const std::string& description,
                       const std::string& example);
  // Prints the result (or the error, its field named by `verb`'s flag) and sets the exit code.
  void Emit(const util::Result<json>& result, const Verb* verb = nullptr);
  void SetExitCode(int code) { exit_code_ = code; }
  // Reads a flag's value given as file://PATH (at most kMaxInputBytes) or as the text itself.
  // A file that cannot be read is invalid-argument, or with `keep_category` its own category
  // (a missing policy document is not-found, exit 3, as docs/iam.md says).
  util::Result<std::string> ReadInput(const std::string& flag, const std::string& value,
                                      bool keep_category = false);
  // True once SIGINT/SIGTERM arrived during a waited run.
  const std::atomic<bool>* interrupted() const;
  void CatchSignals();

  static constexpr size_t kMaxInputBytes = 16u << 20;

 private:
  void RegisterVerbs(CLI::App& app);

  std::ostream& out_;
  std::ostream& err_;
  ClientFactory clients_;
  Globals globals_;
  OutputSettings output_settings_;
  bool stderr_is_terminal_ = false;
  std::unique_ptr<Output> output_;
  std::unique_ptr<api::Client> client_;
  std::vector<std::unique_ptr<Verb>> verbs_;
  int exit_code_ = 0;
};

// Each area registers its verbs (workspace_verbs.cc, iam_verbs.cc, vault_verbs.cc).
void RegisterWorkspaceVerbs(Application& app, CLI::App& root);
void RegisterIamVerbs(Application& app, CLI::App& root);
void RegisterVaultVerbs(Application& app, CLI::App& root);
void RegisterServerVerbs(Application& app, CLI::App& root);
void RegisterPlanVerbs(Application& app, CLI::App& root);  // plan_verbs.cc
void RegisterContentsVerbs(Application& app, CLI::App& root);  // contents_verbs.cc (issue 16)
// help [VERB], version, completion (help_verbs.cc).
void RegisterHelpVerbs(Application& app, CLI::App& root);
// "mlvault 0.1.0 (commit ..., catalog schema ...)\n" for --version.
std::string VersionLine();

}  // namespace mlvault::cli
