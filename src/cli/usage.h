// What the command line tells a person about itself: unknown verbs and flags named with a
// "did you mean" suggestion (checked before CLI11 parses, so a mistyped flag is not reported as
// the real one missing), the top-level help grouped as in the README with examples, the global
// flags shown under every verb's help, the version, and shell completion scripts generated from
// the verb tree. Pure functions over a built CLI::App: thread-compatible.
// Included only by cli/ translation units.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace mlvault::cli {

// Checks `args` (without the program name) against the verb tree of `root`: kInvalidArgument
// `unknown verb "bakup-workspace"; did you mean "backup-workspace"?` or
// `unknown flag --workspace-cnr for describe-workspace; did you mean --workspace-crn?`.
// Stops at "--" and at a verb's positional arguments; values of flags are skipped.
util::Status CheckArguments(const CLI::App& root, const std::vector<std::string>& args);

// The closest of `candidates` to `word` if it is close enough to be a likely typo, or "".
std::string Suggest(std::string_view word, const std::vector<std::string>& candidates);

// The deepest verb the arguments select (the root if none), for help on it.
const CLI::App* SelectedVerb(const CLI::App& root);

// `mlvault --help`: the verbs grouped as in the README (verbs of no group under "Other verbs"),
// examples, and the global flags.
std::string TopLevelHelp(const CLI::App& root);
// The "Global flags" paragraph appended to every verb's help.
std::string GlobalFlagsHelp(const CLI::App& root);

// "mlvault 0.1.0 (commit 1a2b3c4d5e6f, catalog schema 0100_iam_core)" parts.
struct VersionInfo {
  std::string version;
  std::string commit;
  std::string catalog_schema;  // id of the newest catalog migration this binary applies
  int catalog_migrations = 0;
};
VersionInfo Version();

// `mlvault completion bash|zsh`: a script completing verbs, their flags and --output values.
// kInvalidArgument for another shell.
util::Result<std::string> CompletionScript(const CLI::App& root, std::string_view shell);

}  // namespace mlvault::cli
