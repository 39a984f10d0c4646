#include "cli/output.h"

#include <algorithm>
#include <vector>

#include "cli/query.h"

namespace mlvault::cli {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

bool EndsWith(const std::string& s, std::string_view tail) { return s.ends_with(tail); }

std::string Cell(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_array() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); })) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x.get<std::string>();
    return s.empty() ? "-" : s;
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Names an identifier: a CRN, an id, a key -- what a user copies from a table.
bool IsIdentifying(const std::string& key) {
  return key == "crn" || EndsWith(key, "Crn") || EndsWith(key, "Id") || key == "id" ||
         EndsWith(key, "Key") || key == "endpoint";
}

// How readily a column is given up when the table is too wide (higher: sooner).
int Importance(const std::string& key) {
  if (key == "name" || EndsWith(key, "Name")) return 1;
  if (key == "status" || EndsWith(key, "Status") || key == "decision" || key == "outcome")
    return 2;
  if (EndsWith(key, "At") || IsIdentifying(key)) return 4;  // timestamps, secondary CRNs
  return 3;
}

// The identifying column of rows with these keys: the first CRN, else the first id.
size_t IdColumn(const std::vector<std::string>& cols) {
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i] == "crn" || EndsWith(cols[i], "Crn")) return i;
  for (size_t i = 0; i < cols.size(); ++i)
    if (IsIdentifying(cols[i])) return i;
  return 0;
}

size_t TotalWidth(const std::vector<size_t>& w) {
  size_t t = 0;
  for (size_t x : w) t += x;
  return w.empty() ? 0 : t + 2 * (w.size() - 1);
}

std::string Shorten(const std::string& s, size_t width) {
  if (s.size() <= width) return s;
  if (width <= 3) return s.substr(0, width);
  return s.substr(0, width - 3) + "...";
}

void Print(std::ostream& out, const Rows& rows) {
  std::vector<size_t> width;
  for (const auto& line : rows)
    for (size_t i = 0; i < line.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], line[i].size());
    }
  for (const auto& line : rows) {
    std::string s;
    for (size_t i = 0; i < line.size(); ++i) {
      s += line[i];
      if (i + 1 < line.size()) s += std::string(width[i] - line[i].size() + 2, ' ');
    }
    out << s << "\n";
  }
}

// An object as key/value rows, nested objects flattened to dotted keys.
void Flatten(const json& obj, const std::string& prefix, Rows& rows) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it.value().is_object() && !it.value().empty()) Flatten(it.value(), key, rows);
    else rows.push_back({key, Cell(it.value())});
  }
}

}  // namespace

Rows FitTable(Rows rows, size_t id_column, size_t width) {
  if (rows.empty() || width == 0) return rows;
  const std::vector<std::string> header = rows[0];
  std::vector<size_t> keep;  // column indexes still shown
  for (size_t i = 0; i < header.size(); ++i) keep.push_back(i);
  auto widths = [&] {
    std::vector<size_t> w;
    for (size_t c : keep) {
      size_t m = 0;
      for (const auto& r : rows) m = std::max(m, r[c].size());
      w.push_back(m);
    }
    return w;
  };
  // 1. Drop the least important columns (timestamps, secondary CRNs, details) from the right.
  auto drop_while_too_wide = [&](int min_importance) {
    for (int imp = 4; imp >= min_importance; --imp)
      for (size_t k = keep.size(); k-- > 0 && TotalWidth(widths()) > width;)
        if (keep[k] != id_column && Importance(header[keep[k]]) == imp)
          keep.erase(keep.begin() + static_cast<std::ptrdiff_t>(k));
  };
  drop_while_too_wide(4);
  // 2. Shorten the widest other column, down to its header's width (at least 8).
  for (;;) {
    auto w = widths();
    size_t total = TotalWidth(w);
    if (total <= width) break;
    size_t widest = keep.size();
    for (size_t k = 0; k < keep.size(); ++k) {
      size_t floor = std::max<size_t>(8, header[keep[k]].size());
      if (keep[k] != id_column && w[k] > floor && (widest == keep.size() || w[k] > w[widest]))
        widest = k;
    }
    if (widest == keep.size()) break;
    size_t floor = std::max<size_t>(8, header[keep[widest]].size());
    size_t to = std::max(floor, w[widest] - std::min(w[widest] - floor, total - width));
    for (auto& r : rows) r[keep[widest]] = Shorten(r[keep[widest]], to);
  }
  // 3. Still too wide: give up names and statuses too, never the identifying column.
  drop_while_too_wide(1);
  Rows out;
  for (const auto& r : rows) {
    std::vector<std::string> line;
    for (size_t c : keep) line.push_back(r[c]);
    out.push_back(std::move(line));
  }
  return out;
}

// A list of objects becomes columns; an object becomes key/value rows.
void Output::Table(const json& value, bool wide) {
  size_t width = wide ? 0 : settings_.width;
  const json* rows = nullptr;
  if (value.is_object() && value.size() == 1 && value.begin()->is_array()) rows = &*value.begin();
  else if (value.is_array()) rows = &value;
  if (rows && (rows->empty() || (*rows)[0].is_object())) {
    std::vector<std::string> cols;
    for (const auto& r : *rows)
      for (auto it = r.begin(); it != r.end(); ++it)
        if (std::find(cols.begin(), cols.end(), it.key()) == cols.end()) cols.push_back(it.key());
    // The identifying column first, then names, statuses, the rest, timestamps last.
    if (!cols.empty()) {
      std::string id = cols[IdColumn(cols)];
      std::stable_sort(cols.begin(), cols.end(), [&](const std::string& a, const std::string& b) {
        auto rank = [&](const std::string& k) { return k == id ? 0 : Importance(k); };
        return rank(a) < rank(b);
      });
    }
    if (cols.empty()) {
      out_ << "(none)\n";
      return;
    }
    Rows cells = {cols};
    for (const auto& r : *rows) {
      std::vector<std::string> line;
      for (const auto& c : cols) line.push_back(r.contains(c) ? Cell(r[c]) : "-");
      cells.push_back(std::move(line));
    }
    Print(out_, FitTable(std::move(cells), IdColumn(cols), width));
    return;
  }
  if (rows) {  // an array of scalars: one per line
    for (const auto& v : *rows) out_ << Cell(v) << "\n";
    return;
  }
  if (!value.is_object()) {
    out_ << Cell(value) << "\n";
    return;
  }
  const json& obj = (value.size() == 1 && value.begin()->is_object()) ? *value.begin() : value;
  Rows cells;
  Flatten(obj, "", cells);
  if (width > 0) {
    size_t key_width = 0;
    for (const auto& r : cells) key_width = std::max(key_width, r[0].size());
    size_t room = width > key_width + 2 + 16 ? width - key_width - 2 : 16;
    for (auto& r : cells) {
      std::string last = r[0].substr(r[0].rfind('.') + 1);
      if (!IsIdentifying(last)) r[1] = Shorten(r[1], room);
    }
  }
  Print(out_, cells);
}

void Output::PlainText(const json& value) {
  auto line_of = [](const json& v) {
    if (v.is_object() || v.is_array()) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : "\t") + Cell(x);
      return s;
    }
    return Cell(v);
  };
  if (value.is_null()) return;
  if (value.is_array()) {
    for (const auto& v : value) out_ << line_of(v) << "\n";
    return;
  }
  if (!value.is_object()) {
    out_ << Cell(value) << "\n";
    return;
  }
  if (value.size() == 1 && (value.begin()->is_array() || value.begin()->is_object()))
    return PlainText(*value.begin());
  Rows cells;
  Flatten(value, "", cells);
  for (const auto& r : cells) out_ << r[0] << "\t" << r[1] << "\n";
}

int Output::Result(const json& answer) {
  json selected;
  const json* value = &answer;
  if (!settings_.query.empty()) {
    auto q = ApplyQuery(settings_.query, answer);
    if (!q) return Error(q.error());
    selected = std::move(*q);
    value = &selected;
  }
  if (format_ == "table" || format_ == "wide") Table(*value, format_ == "wide");
  else if (format_ == "text") PlainText(*value);
  else out_ << value->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  out_.flush();
  return 0;
}

int Output::Error(const util::Error& error) {
  if (format_ == "json" && settings_.format_given) {
    json j = {{"error", {{"code", std::string(util::CodeName(error.code()))},
                         {"message", error.message()},
                         {"exitCode", util::ExitCodeFor(error.code())}}}};
    err_ << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    err_ << "mlvault: " << error.message() << "\n";
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
