#include "cli/output.h"

#include <algorithm>
#include <vector>

namespace mlvault::cli {
namespace {

using nlohmann::json;

std::string Cell(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

}  // namespace

// A list of objects becomes columns (keys of the first row); an object becomes key/value rows.
void Output::Table(const json& value) {
  const json* rows = nullptr;
  if (value.is_object() && value.size() == 1 && value.begin()->is_array()) rows = &*value.begin();
  else if (value.is_array()) rows = &value;
  std::vector<std::vector<std::string>> cells;
  if (rows && (rows->empty() || (*rows)[0].is_object())) {
    std::vector<std::string> cols;
    for (const auto& r : *rows)
      for (auto it = r.begin(); it != r.end(); ++it)
        if (std::find(cols.begin(), cols.end(), it.key()) == cols.end()) cols.push_back(it.key());
    if (cols.empty()) {
      out_ << "(none)\n";
      return;
    }
    cells.push_back(cols);
    for (const auto& r : *rows) {
      std::vector<std::string> line;
      for (const auto& c : cols) line.push_back(r.contains(c) ? Cell(r[c]) : "-");
      cells.push_back(line);
    }
  } else if (value.is_object()) {
    const json& obj = (value.size() == 1 && value.begin()->is_object()) ? *value.begin() : value;
    for (auto it = obj.begin(); it != obj.end(); ++it) cells.push_back({it.key(), Cell(it.value())});
  } else {
    out_ << Cell(value) << "\n";
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
    out_ << out << "\n";
  }
}

int Output::Result(const json& value) {
  if (format_ == "table") Table(value);
  else out_ << value.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  out_.flush();
  return 0;
}

int Output::Error(const util::Error& error) {
  err_ << "mlvault: " << error.message() << "\n";
  if (format_ == "json") {
    json j = {{"error", {{"code", std::string(util::CodeName(error.code()))},
                         {"message", error.message()},
                         {"exitCode", util::ExitCodeFor(error.code())}}}};
    err_ << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  }
  err_.flush();
  return util::ExitCodeFor(error.code());
}

void Output::Text(const std::string& text) {
  out_ << text;
  out_.flush();
}

void Output::Note(const std::string& line) {
  err_ << line << "\n";
  err_.flush();
}

}  // namespace mlvault::cli
