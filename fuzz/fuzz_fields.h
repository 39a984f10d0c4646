// The input of the fuzz targets that read several fields: the bytes cut at '\n' into exactly
// `n` fields, the last one taking the rest (missing fields are empty). Header-only, so each
// target still compiles only its decoder's own sources (fuzz/CMakeLists.txt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace mlvault::fuzz {

inline std::vector<std::string_view> Fields(const uint8_t* data, size_t size, size_t n) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  out.push_back(in);
  out.resize(n);
  return out;
}

}  // namespace mlvault::fuzz
