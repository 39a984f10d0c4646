// The OpenAPI 3.0 document served at /api/v1/openapi.json, made from the operation catalog.
#include "api/server/http_server.h"

namespace mlvault::api {

nlohmann::json OpenApiDocument(const std::vector<ServedOperation>& operations) {
  using nlohmann::json;
  json error_schema = {{"type", "object"},
                       {"required", {"error"}},
                       {"properties",
                        {{"error",
                          {{"type", "object"},
                           {"required", {"code", "message", "requestId"}},
                           {"properties",
                            {{"code", {{"type", "string"}}},
                             {"message", {{"type", "string"}}},
                             {"field", {{"type", "string"}}},
                             {"requestId", {{"type", "string"}}}}}}}}}};
  json paths = json::object();
  for (const auto& op : operations) {
    json responses = {{"200",
                       {{"description", "the answer, as `mlvault " + op.verb + "` prints it"},
                        {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}}};
    for (auto [code, what] : std::initializer_list<std::pair<const char*, const char*>>{
             {"400",
              "invalid input: malformed JSON, unknown field, bad value (error.field names it)"},
             {"401", "not authenticated: the sentence says which check failed"},
             {"403", "denied: names the action and the deciding statement"},
             {"404", "not found"},
             {"409", "conflict"},
             {"429", "rate limited (Retry-After)"},
             {"503", "unavailable"}})
      responses[code] = {
          {"description", what},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
    paths["/api/v1/" + op.service + "/" + op.operation] = {
        {"post",
         {{"operationId", op.operation},
          {"tags", {op.service}},
          {"summary", "mlvault " + op.verb},
          {"description", "IAM action " + op.action +
                              (op.mutates ? "; changes state" : "; read-only") +
                              (op.starts_workflow ? "; starts a workflow" : "")},
          {"x-mlvault-action", op.action},
          {"x-mlvault-cli-verb", op.verb},
          {"requestBody",
           {{"required", false},
            {"description", "the verb's --cli-input-json document"},
            {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}},
          {"responses", responses}}}};
  }
  return {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "mlvault API"},
        {"version", "1"},
        {"description",
         "Signed requests (MLVAULT-ED25519, see docs/api.md) or a console "
         "session cookie with X-CSRF-Token."}}},
      {"paths", paths},
      {"components",
       {{"schemas", {{"Error", error_schema}}},
        {"securitySchemes",
         {{"mlvaultSignature",
           {{"type", "apiKey"},
            {"in", "header"},
            {"name", "Authorization"},
            {"description",
             "MLVAULT-ED25519 Credential=<key id>, Signature=<base64>; with "
             "X-Mlvault-Date and X-Mlvault-Nonce"}}},
          {"consoleSession",
           {{"type", "apiKey"}, {"in", "cookie"}, {"name", "mlvault_session"}}}}}}},
      {"security", {{{"mlvaultSignature", json::array()}}, {{"consoleSession", json::array()}}}}};
}

}  // namespace mlvault::api
