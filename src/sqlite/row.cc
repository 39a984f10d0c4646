#include "sqlite/row.h"

namespace mlvault::sqlite {

int64_t Row::Int(size_t i) const {
  if (auto* v = std::get_if<int64_t>(&values.at(i))) return *v;
  if (auto* d = std::get_if<double>(&values.at(i))) return static_cast<int64_t>(*d);
  if (auto* s = std::get_if<std::string>(&values.at(i)))
    return std::strtoll(s->c_str(), nullptr, 10);
  return 0;
}
double Row::Real(size_t i) const {
  if (auto* v = std::get_if<double>(&values.at(i))) return *v;
  if (auto* n = std::get_if<int64_t>(&values.at(i))) return static_cast<double>(*n);
  if (auto* s = std::get_if<std::string>(&values.at(i))) return std::strtod(s->c_str(), nullptr);
  return 0;
}
std::string Row::Text(size_t i) const {
  if (auto* v = std::get_if<std::string>(&values.at(i))) return *v;
  if (auto* n = std::get_if<int64_t>(&values.at(i))) return std::to_string(*n);
  return "";
}
std::optional<std::string> Row::OptText(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Text(i);
}
std::optional<int64_t> Row::OptInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}
bool Row::IsNull(size_t i) const { return std::holds_alternative<std::nullptr_t>(values.at(i)); }

}  // namespace mlvault::sqlite
