// The catalog of model sample requests (docs/plans.md, "Model samples"): at backup time the
// backup sends each running model deployment of the workspace one sample request and records the
// request and its answer here, keyed by the backup; a restore test (drill) of that backup sends
// the same request to the restored deployment and compares. Migration "0306_model_samples"
// (ModelSampleMigrations, applied with the plan migrations), on SQLite and PostgreSQL alike.
//
// A store is a thin object over a Db (which must outlive it), NOT thread-safe. Errors:
// kUnavailable when the catalog stayed locked; others as the Db reports them.
#pragma once

#include <string>
#include <vector>

#include "catalog/db.h"
#include "util/clock.h"

namespace mlvault::catalog {

std::vector<Migration> ModelSampleMigrations();

// One model's sample at backup time. status_code 0: the deployment did not answer (error says
// why); the drill then only checks that the restored deployment answers.
struct ModelSampleRecord {
  std::string backup_id;
  std::string model_name;
  std::string deployment_id;
  std::string build_id;
  std::string source;  // where the request came from: the build's sample file or the default probe
  std::string method = "GET";
  std::string path = "/";  // below /models/<name>
  std::string content_type;
  std::string request_body;
  std::string compare = "body";  // body: status and body must match; status: the status only
  int64_t status_code = 0;
  std::string response_body;  // the answer's first 64 KiB when it is text, else ""
  std::string response_sha256;
  int64_t response_bytes = 0;
  std::string error;
  util::TimeMicros recorded_at = 0;
};

class ModelSampleStore {
 public:
  explicit ModelSampleStore(Db& db) : db_(db) {}
  // Replaces every sample of `backup_id` by `samples` (a retried backup records afresh), in one
  // transaction.
  util::Status Replace(const std::string& backup_id, const std::vector<ModelSampleRecord>& samples);
  // The samples of a backup, by model name; empty for a backup that recorded none (made before
  // samples existed, or with no running deployment).
  util::Result<std::vector<ModelSampleRecord>> List(const std::string& backup_id);
  util::Status DeleteForBackup(const std::string& backup_id);

 private:
  Db& db_;
};

}  // namespace mlvault::catalog
