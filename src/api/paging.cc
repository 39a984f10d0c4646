#include "api/paging.h"

#include <charconv>

#include "util/bytes.h"

namespace mlvault::api {
namespace {

constexpr std::string_view kPrefix = "v1:";

std::unexpected<util::Error> BadToken() {
  return util::InvalidField("startingToken",
                            "is not a nextToken of an earlier answer of this "
                            "operation; start again without --starting-token");
}

}  // namespace

std::string EncodePageToken(const PageKey& key) {
  std::string plain = std::string(kPrefix) + std::to_string(key.time) + ":" + key.id;
  return util::ToHex(util::AsBytes(plain));
}

util::Result<PageKey> DecodePageToken(std::string_view token) {
  if (token.size() > 512) return BadToken();
  auto bytes = util::FromHex(token);
  if (!bytes) return BadToken();
  std::string plain(bytes->begin(), bytes->end());
  if (!plain.starts_with(kPrefix)) return BadToken();
  std::string_view rest = std::string_view(plain).substr(kPrefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return BadToken();
  PageKey key;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + colon, key.time);
  if (ec != std::errc() || p != rest.data() + colon) return BadToken();
  key.id = std::string(rest.substr(colon + 1));
  if (key.id.empty() || key.id.find_first_of("'\"\\\n") != std::string::npos)
    return BadToken();
  return key;
}

util::Result<int64_t> PageSize(const PageRequest& page) {
  if (!page.max_items) return kMaxPageSize;
  if (*page.max_items < 1)
    return util::InvalidField("maxItems", "must be at least 1 (got " +
                                              std::to_string(*page.max_items) + ")");
  return std::min(*page.max_items, kMaxPageSize);
}

}  // namespace mlvault::api
