// The one output path of the CLI (SPEC.md): a result is JSON on stdout (pretty) or, with
// --output table, a table; an error is one sentence on stderr ("mlvault: ...") and, with
// --output json, also {"error": {"code", "message", "exitCode"}} on stderr. The exit code comes
// from util::ExitCodeFor. Included only by cli/ translation units.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "util/error.h"

namespace mlvault::cli {

class Output {
 public:
  // `format` ("json" | "table") is read at each call (flags are parsed after construction).
  Output(std::ostream& out, std::ostream& err, const std::string& format)
      : out_(out), err_(err), format_(format) {}

  // Prints `value`; returns 0.
  int Result(const nlohmann::json& value);
  // Prints the error; returns its exit code.
  int Error(const util::Error& error);
  // Raw text on stdout (skeletons).
  void Text(const std::string& text);
  // One line on stderr (a note that is not an error object).
  void Note(const std::string& line);

 private:
  void Table(const nlohmann::json& value);

  std::ostream& out_;
  std::ostream& err_;
  const std::string& format_;
};

}  // namespace mlvault::cli
