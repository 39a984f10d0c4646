// Pagination of list operations, as cloud CLIs do it: a request may carry `maxItems` (page size,
// at most kMaxPageSize; absent: kMaxPageSize) and `startingToken` (the `nextToken` of the
// previous page); an answer with more items after it carries `nextToken`. A token is opaque to
// callers: the sort key of the last item answered (its time and id), so a page is found by an
// index seek however deep it is, and items inserted or deleted meanwhile neither repeat nor
// shift the pages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace mlvault::api {

inline constexpr int64_t kMaxPageSize = 1000;

struct PageRequest {
  std::optional<int64_t> max_items;  // absent: kMaxPageSize
  std::string starting_token;  // "" : the first page
};

// Where a page starts: after the item with this sort key.
struct PageKey {
  int64_t time = 0;
  std::string id;
};

std::string EncodePageToken(const PageKey& key);
// kInvalidArgument naming `startingToken` for a token no answer gave.
util::Result<PageKey> DecodePageToken(std::string_view token);
// The page size of a request: kInvalidArgument naming `maxItems` below 1.
util::Result<int64_t> PageSize(const PageRequest& page);

}  // namespace mlvault::api
