#include "api/server/request_body.h"

#include <cctype>
#include <tuple>

namespace mlvault::api {

using json = nlohmann::json;

bool IsJsonContentType(std::string_view ct) {
  std::string base(ct.substr(0, ct.find(';')));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (auto& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return base == "application/json";
}

util::Result<json> ParseBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    try {
      // Parsed again only for the exception, which names the place; the value is not wanted.
      std::ignore = json::parse(body);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for a huge number
      std::string what = e.what();
      size_t at = what.find("] ");
      return util::InvalidArgument("the request body is not valid JSON: " +
                                   (at == std::string::npos ? what : what.substr(at + 2)));
    }
    return util::InvalidArgument("the request body is not valid JSON");
  }
  if (!j.is_object())
    return util::InvalidArgument(std::string("the request body must be a JSON object, got ") +
                                 j.type_name());
  return j;
}

std::string CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view item = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.starts_with(name) && item[name.size()] == '=')
      return std::string(item.substr(name.size() + 1));
  }
  return "";
}

}  // namespace mlvault::api
