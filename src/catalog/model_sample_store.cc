#include "catalog/model_sample_store.h"

#include "sqlite/mapping.h"

namespace mlvault::catalog {

std::vector<Migration> ModelSampleMigrations() {
  return {{"0306_model_samples", R"sql(
CREATE TABLE backup_model_samples (
  backup_id        TEXT NOT NULL,
  model_name       TEXT NOT NULL,
  deployment_id    TEXT NOT NULL DEFAULT '',
  build_id         TEXT NOT NULL DEFAULT '',
  source           TEXT NOT NULL DEFAULT '',
  method           TEXT NOT NULL,
  path             TEXT NOT NULL,
  content_type     TEXT NOT NULL DEFAULT '',
  request_body     TEXT NOT NULL DEFAULT '',
  compare          TEXT NOT NULL DEFAULT 'body',
  status_code      INTEGER NOT NULL DEFAULT 0,
  response_body    TEXT NOT NULL DEFAULT '',
  response_sha256  TEXT NOT NULL DEFAULT '',
  response_bytes   INTEGER NOT NULL DEFAULT 0,
  error            TEXT NOT NULL DEFAULT '',
  recorded_at      INTEGER NOT NULL,
  PRIMARY KEY (backup_id, model_name)
);
)sql"}};
}

namespace {

using sqlite::Col;
using R = ModelSampleRecord;

const sqlite::Table<R> kSamples(
    "backup_model_samples",
    {Col("backup_id", &R::backup_id), Col("model_name", &R::model_name),
     Col("deployment_id", &R::deployment_id), Col("build_id", &R::build_id),
     Col("source", &R::source), Col("method", &R::method), Col("path", &R::path),
     Col("content_type", &R::content_type), Col("request_body", &R::request_body),
     Col("compare", &R::compare), Col("status_code", &R::status_code),
     Col("response_body", &R::response_body), Col("response_sha256", &R::response_sha256),
     Col("response_bytes", &R::response_bytes), Col("error", &R::error),
     Col("recorded_at", &R::recorded_at)});

}  // namespace

util::Status ModelSampleStore::Replace(const std::string& backup_id,
                                       const std::vector<ModelSampleRecord>& samples) {
  return db_.Transaction([&]() -> util::Status {
    MLV_TRY(db_.Exec("DELETE FROM backup_model_samples WHERE backup_id = ?", {backup_id}));
    for (ModelSampleRecord s : samples) {
      s.backup_id = backup_id;
      MLV_TRY(db_.Exec(kSamples.InsertSql(), kSamples.Values(s)));
    }
    return util::Ok();
  });
}

util::Result<std::vector<ModelSampleRecord>> ModelSampleStore::List(const std::string& backup_id) {
  auto rows = MLV_TRY(
      db_.Query(kSamples.SelectSql() + "WHERE backup_id = ? ORDER BY model_name", {backup_id}));
  std::vector<R> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(kSamples.FromRow(r));
  return out;
}

util::Status ModelSampleStore::DeleteForBackup(const std::string& backup_id) {
  MLV_TRY(db_.Exec("DELETE FROM backup_model_samples WHERE backup_id = ?", {backup_id}));
  return util::Ok();
}

}  // namespace mlvault::catalog
