// Small string helpers shared by every layer (one copy of each).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mlvault::util {

// Levenshtein distance, ASCII case-insensitive (for "did you mean ...?" suggestions).
size_t EditDistance(std::string_view a, std::string_view b);

// `s` without leading and trailing white space (space, tab, CR, LF, VT, FF).
std::string Trim(std::string_view s);

}  // namespace mlvault::util
