// SQL values and result rows, shared by every database driver (SQLite here, PostgreSQL in the
// catalog) and by the row mappings of mapping.h. Plain values: thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mlvault::sqlite {

// A SQL value: NULL, integer (64-bit), real or text. Blobs are stored as text (hex or base64).
using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

// One result row. Accessors convert leniently: a NULL reads as 0 / "" / nullopt, an integer
// column read as text gives its decimal form. Out-of-range columns throw std::out_of_range (a bug).
struct Row {
  std::vector<Value> values;
  int64_t Int(size_t i) const;
  double Real(size_t i) const;
  std::string Text(size_t i) const;
  std::optional<std::string> OptText(size_t i) const;
  std::optional<int64_t> OptInt(size_t i) const;
  bool IsNull(size_t i) const;
};

}  // namespace mlvault::sqlite
