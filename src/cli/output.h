// The one output path of the CLI (SPEC.md): a result goes to stdout as
//   json   pretty JSON (the default, the product contract);
//   table  a table that fits the terminal: less important columns are dropped or shortened
//          first, the identifying column (a CRN, an id) is never cut;
//   wide   the same table with every column, nothing cut;
//   text   one value per line (array elements; an object's fields as "key<TAB>value"; a row of
//          an array of objects as its values separated by tabs) -- for scripts without jq.
// --query (cli/query.h) selects part of the answer first, whatever the format.
// An error goes to stderr once: one sentence ("mlvault: ..."), or, only when --output json was
// given explicitly, the JSON object {"error": {"code", "message", "exitCode"}}. The exit code
// comes from util::ExitCodeFor. Included only by cli/ translation units.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "util/error.h"

namespace mlvault::cli {

// What the output flags and the terminal say; read at each call (flags are parsed after the
// Output is made).
struct OutputSettings {
  std::string query;           // --query; empty: the whole answer
  bool format_given = false;   // --output was given explicitly
  size_t width = 0;            // terminal columns of stdout; 0: not a terminal (no fitting)
};

class Output {
 public:
  // `format` ("json" | "table" | "wide" | "text") and `settings` are read at each call.
  Output(std::ostream& out, std::ostream& err, const std::string& format,
         const OutputSettings& settings)
      : out_(out), err_(err), format_(format), settings_(settings) {}

  // Prints `value` (after --query); returns 0, or the exit code of a --query error.
  int Result(const nlohmann::json& value);
  // Prints the error; returns its exit code.
  int Error(const util::Error& error);
  // Raw text on stdout (skeletons, help).
  void Text(const std::string& text);
  // One line on stderr (a note that is not an error object).
  void Note(const std::string& line);
  // The stream for live lines on stderr (the progress bar).
  std::ostream& err() { return err_; }

 private:
  void Table(const nlohmann::json& value, bool wide);
  void PlainText(const nlohmann::json& value);

  std::ostream& out_;
  std::ostream& err_;
  const std::string& format_;
  const OutputSettings& settings_;
};

// The rows of a table (the header first) fitted into `width` columns (0: no limit): columns
// are dropped, least important first (timestamps and secondary CRNs, then the rest from the
// right), then shortened with "..."; the identifying column (`id_column`) is never cut.
// Exposed for tests.
std::vector<std::vector<std::string>> FitTable(std::vector<std::vector<std::string>> rows,
                                               size_t id_column, size_t width);

}  // namespace mlvault::cli
