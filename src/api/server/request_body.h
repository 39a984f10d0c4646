// What the API server reads from a request's untrusted bytes before it dispatches: the
// Content-Type check, the JSON body and the session cookie (the signature headers are parsed
// in signing.h). Fuzzed by fuzz/api_request_fuzz.cc. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/error.h"

namespace mlvault::api {

// True if the Content-Type is application/json (any case, parameters such as charset allowed).
bool IsJsonContentType(std::string_view content_type);

// The request body as a JSON object ({} for an empty or blank body). kInvalidArgument with the
// sentence the client sees (400): not JSON (with the parser's position), or not an object.
util::Result<nlohmann::json> ParseBody(std::string_view body);

// The value of cookie `name` in a Cookie header; "" if absent.
std::string CookieValue(std::string_view cookie_header, std::string_view name);

}  // namespace mlvault::api
