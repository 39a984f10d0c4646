#include "cli/common.h"

#include <cstdio>
#include <iostream>

namespace mlvault::cli {

Globals& GlobalFlags() {
  static Globals g;
  return g;
}

int& ExitCode() {
  static int code = 0;
  return code;
}

namespace {

std::string Cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_array() || v.is_object()) return v.dump();
  return v.dump();
}

// A list of objects becomes columns (keys of the first row); an object becomes key/value rows.
void PrintTable(const nlohmann::json& value) {
  const nlohmann::json* rows = nullptr;
  if (value.is_object() && value.size() == 1 && value.begin()->is_array()) rows = &*value.begin();
  else if (value.is_array()) rows = &value;
  std::vector<std::vector<std::string>> cells;
  if (rows && (rows->empty() || (*rows)[0].is_object())) {
    std::vector<std::string> cols;
    for (const auto& r : *rows)
      for (auto it = r.begin(); it != r.end(); ++it)
        if (std::find(cols.begin(), cols.end(), it.key()) == cols.end()) cols.push_back(it.key());
    if (cols.empty()) {
      std::cout << "(none)\n";
      return;
    }
    cells.push_back(cols);
    for (const auto& r : *rows) {
      std::vector<std::string> line;
      for (const auto& c : cols) line.push_back(r.contains(c) ? Cell(r[c]) : "-");
      cells.push_back(line);
    }
  } else if (value.is_object()) {
    const nlohmann::json& obj = (value.size() == 1 && value.begin()->is_object()) ? *value.begin() : value;
    for (auto it = obj.begin(); it != obj.end(); ++it) cells.push_back({it.key(), Cell(it.value())});
  } else {
    std::cout << Cell(value) << "\n";
    return;
  }
  std::vector<size_t> width;
  for (const auto& line : cells)
    for (size_t i = 0; i < line.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], std::min<size_t>(line[i].size(), 80));
    }
  for (const auto& line : cells) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      std::string c = line[i].size() > 80 ? line[i].substr(0, 77) + "..." : line[i];
      out += c;
      if (i + 1 < line.size()) out += std::string(width[i] - c.size() + 2, ' ');
    }
    std::cout << out << "\n";
  }
}

}  // namespace

int PrintResult(const nlohmann::json& value) {
  if (GlobalFlags().output == "table") PrintTable(value);
  else std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  std::cout.flush();
  return 0;
}

int PrintError(const util::Error& error) {
  std::cerr << "mlvault: " << error.message() << "\n";
  if (GlobalFlags().output == "json") {
    nlohmann::json j = {{"error", {{"code", std::string(util::CodeName(error.code()))},
                                   {"message", error.message()},
                                   {"exitCode", util::ExitCodeFor(error.code())}}}};
    std::cerr << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return util::ExitCodeFor(error.code());
}

void Emit(const util::Result<nlohmann::json>& result) {
  ExitCode() = result ? PrintResult(*result) : PrintError(result.error());
}

CLI::App* AddVerb(CLI::App& app, const std::string& name, const std::string& description,
                  const std::string& example) {
  CLI::App* verb = app.add_subcommand(name, description);
  verb->footer("Example:\n  " + example);
  return verb;
}

}  // namespace mlvault::cli
