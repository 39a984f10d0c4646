// Model sample requests (docs/plans.md, "Model samples"): at backup time every running model
// deployment of the workspace is sent one sample request and the request and its answer are
// recorded with the backup (catalog/model_sample_store.h); a restore test (drill) sends the same
// request to the restored deployment and compares the answers.
//
// The request is the one the model's build declares in the build file
// `mlvault-sample-request.json`:
//   {"method": "POST", "path": "/predict", "body": {...} | "text",
//    "contentType": "application/json", "compare": "body" | "status"}
// (every field optional: GET, "/", no body; a JSON body is sent as application/json, a string as
// text/plain; "compare": "status" for a model whose answers legitimately vary), else the default
// probe `GET /`. It is sent through the runtime's forwarding, `/models/<name><path>`.
// Internal to the control layer; the functions are thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "catalog/control_stores.h"
#include "catalog/db.h"
#include "catalog/model_sample_store.h"
#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

inline constexpr std::string_view kSampleRequestFile = "mlvault-sample-request.json";

struct SampleRequest {
  std::string method = "GET";
  std::string path = "/";
  std::string content_type;
  std::string body;
  std::string compare = "body";
};

// Parses a sample request file. kInvalidArgument naming the field and what is allowed.
util::Result<SampleRequest> ParseSampleRequest(std::string_view text);

// An answer from behind the runtime's forwarding; status 0 never (no answer is an error).
struct SampleAnswer {
  int status = 0;
  std::string body;
};

// Sends `req` to model `model` of the runtime at `endpoint` (with the workspace API key).
// kUnavailable when nothing answered, or the runtime answered for the model that it is not
// running (503) or does not answer (502).
util::Result<SampleAnswer> SendSample(const std::string& endpoint, const std::string& api_key,
                                      const std::string& model, const SampleRequest& req,
                                      double timeout_seconds);

// At backup time: records one sample per running deployment of the workspace served at
// `endpoint` (build files under `models_dir`, the workspace's models volume) for `backup_id`,
// replacing what an earlier attempt recorded. Best effort: returns warnings (a model that did not
// answer, a malformed sample file), never fails the backup.
std::vector<std::string> RecordModelSamples(catalog::Db& db, const std::string& backup_id,
                                            const std::string& endpoint, const std::string& api_key,
                                            const std::string& models_dir, util::TimeMicros now,
                                            double timeout_seconds = 10);

// The samples recorded with `backup`; for a copy (which recorded none) those of its source.
util::Result<std::vector<catalog::ModelSampleRecord>> SamplesOfBackup(
    catalog::Db& db, const catalog::BackupRecord& backup);

// "" when the answer (`status`, `body`) matches what `recorded` holds, else what differs
// ("POST /predict answered HTTP 200 {...} at backup time, now HTTP 200 {...}").
std::string CompareSample(const catalog::ModelSampleRecord& recorded, int status,
                          const std::string& body);

}  // namespace mlvault::control
