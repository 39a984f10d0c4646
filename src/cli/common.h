// What every CLI verb shares: global flags, and printing results and errors the one way
// SPEC.md describes (JSON on stdout by default, `--output table`; errors as one sentence on
// stderr plus a JSON error object, exit code from util::ExitCodeFor).
// Included only by cli/ translation units: it pulls in nlohmann/json and CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "util/error.h"

namespace mlvault::cli {

struct Globals {
  std::string output = "json";  // json | table
  std::string endpoint;         // empty: embedded mode
  std::string profile;          // credentials profile
};
Globals& GlobalFlags();

// The exit code the process returns; set by verbs' callbacks.
int& ExitCode();

// Prints `value` on stdout as pretty JSON, or as a table for --output table; returns 0.
int PrintResult(const nlohmann::json& value);
// Prints the error (sentence on stderr; with --output json also {"error": {...}} on stderr);
// returns its exit code.
int PrintError(const util::Error& error);
// PrintResult or PrintError, and stores the exit code in ExitCode().
void Emit(const util::Result<nlohmann::json>& result);

// Adds a verb with a description and an example shown by --help.
CLI::App* AddVerb(CLI::App& app, const std::string& name, const std::string& description,
                  const std::string& example);

// Each area registers its verbs (defined in vault_commands.cc, workspace_commands.cc,
// iam_commands.cc, server_commands.cc).
void RegisterVaultCommands(CLI::App& app);
void RegisterWorkspaceCommands(CLI::App& app);
void RegisterIamCommands(CLI::App& app);

}  // namespace mlvault::cli
