// Row helpers shared by the runtime store's sources (store.cc, store_serving.cc); internal to
// the runtime library.
#pragma once

#include <optional>
#include <string>

#include "sqlite/connection.h"
#include "util/error.h"

namespace mlvault::runtime::store_rows {

inline sqlite::Value Opt(const std::optional<int64_t>& v) {
  if (v) return *v;
  return nullptr;
}
inline std::optional<int64_t> OptInt(const sqlite::Row& r, int col) {
  if (r.IsNull(col)) return std::nullopt;
  return r.Int(col);
}

// Turns a UNIQUE violation into a sentence about the thing that already exists.
template <class T>
util::Result<T> Named(util::Result<T> r, const std::string& what) {
  if (!r && r.error().code() == util::ErrorCode::kConflict)
    return util::Conflict(what + " already exists");
  return r;
}

inline util::Status NotFoundUnless(bool found, const std::string& what, const std::string& id) {
  if (!found) return util::NotFound(what + " '" + id + "' does not exist");
  return util::Ok();
}

}  // namespace mlvault::runtime::store_rows
