#include "catalog/db.h"

namespace mlvault::catalog {

bool IsPostgresLocation(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

Result<std::unique_ptr<Db>> OpenCatalog(const std::string& location) {
  if (location.empty())
    return util::InvalidArgument(
        "no catalog given: pass a file path or postgresql://user@host:port/db");
  if (IsPostgresLocation(location)) return OpenPostgres(location);
  if (auto scheme = location.find("://"); scheme != std::string::npos)
    return util::InvalidArgument("catalog location '" + location.substr(0, scheme + 3) +
                                 "...' has an unknown scheme: use a file path (SQLite) or "
                                 "postgresql://user@host:port/db");
  return OpenSqlite(location);
}

}  // namespace mlvault::catalog
