#include "catalog/auth_state_store.h"

namespace mlvault::catalog {

std::vector<Migration> AuthStateMigrations() {
  return {{"0500_auth_state", R"sql(
CREATE TABLE auth_nonces (
  access_key_id  TEXT NOT NULL,
  nonce          TEXT NOT NULL,
  expires_at     INTEGER NOT NULL,
  PRIMARY KEY (access_key_id, nonce)
);
CREATE INDEX auth_nonces_by_expiry ON auth_nonces (expires_at);
CREATE TABLE console_challenges (
  challenge_hash TEXT PRIMARY KEY,
  access_key_id  TEXT NOT NULL,
  expires_at     INTEGER NOT NULL
);
CREATE INDEX console_challenges_by_expiry ON console_challenges (expires_at);
CREATE TABLE console_sessions (
  session_hash   TEXT PRIMARY KEY,
  access_key_id  TEXT NOT NULL,
  csrf_token     TEXT NOT NULL,
  source_ip      TEXT NOT NULL,
  secure         INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
)sql"}};
}

util::Result<bool> AuthStateStore::InsertNonce(const std::string& access_key_id,
                                               const std::string& nonce, int64_t expires_at,
                                               int64_t now) {
  auto inserted = db_.Exec(
      "INSERT INTO auth_nonces (access_key_id, nonce, expires_at) VALUES (?, ?, ?)",
      {access_key_id, nonce, expires_at});
  if (inserted) return true;
  if (inserted.error().code() != util::ErrorCode::kConflict)
    return std::unexpected(inserted.error());
  // Seen before. A row left behind after its expiry (not swept yet) does not count: take it
  // over, conditionally, so that of two servers racing for it only one wins.
  auto taken = MLV_TRY(db_.Exec(
      "UPDATE auth_nonces SET expires_at = ? WHERE access_key_id = ? AND nonce = ? AND "
      "expires_at < ?",
      {expires_at, access_key_id, nonce, now}));
  return taken == 1;
}

util::Status AuthStateStore::PutChallenge(const std::string& challenge_hash,
                                          const std::string& access_key_id, int64_t expires_at) {
  MLV_TRY(db_.Exec(
      "INSERT INTO console_challenges (challenge_hash, access_key_id, expires_at) VALUES (?, ?, ?)",
      {challenge_hash, access_key_id, expires_at}));
  return util::Ok();
}

util::Result<std::optional<std::string>> AuthStateStore::TakeChallenge(
    const std::string& challenge_hash, int64_t now) {
  std::optional<std::string> key;
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    key.reset();
    auto rows = MLV_TRY(db_.Query(
        "SELECT access_key_id, expires_at FROM console_challenges WHERE challenge_hash = ?",
        {challenge_hash}));
    if (rows.empty()) return util::Ok();
    // Whoever deletes the row owns the challenge (two servers cannot both take it).
    auto gone = MLV_TRY(
        db_.Exec("DELETE FROM console_challenges WHERE challenge_hash = ?", {challenge_hash}));
    if (gone == 1 && rows[0].Int(1) >= now) key = rows[0].Text(0);
    return util::Ok();
  }));
  return key;
}

util::Result<int64_t> AuthStateStore::CountChallenges(int64_t now) {
  auto rows = MLV_TRY(
      db_.Query("SELECT COUNT(*) FROM console_challenges WHERE expires_at >= ?", {now}));
  return rows.empty() ? 0 : rows[0].Int(0);
}

util::Status AuthStateStore::PutSession(const std::string& session_hash,
                                        const StoredSession& s) {
  MLV_TRY(db_.Exec(
      "INSERT INTO console_sessions (session_hash, access_key_id, csrf_token, source_ip, secure, "
      "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      {session_hash, s.access_key_id, s.csrf_token, s.source_ip, int64_t{s.secure ? 1 : 0},
       s.expires_at}));
  return util::Ok();
}

util::Result<std::optional<StoredSession>> AuthStateStore::GetSession(
    const std::string& session_hash, int64_t now) {
  auto rows = MLV_TRY(db_.Query(
      "SELECT access_key_id, csrf_token, source_ip, secure, expires_at FROM console_sessions "
      "WHERE session_hash = ?",
      {session_hash}));
  if (rows.empty()) return std::optional<StoredSession>();
  StoredSession s;
  s.access_key_id = rows[0].Text(0);
  s.csrf_token = rows[0].Text(1);
  s.source_ip = rows[0].Text(2);
  s.secure = rows[0].Int(3) != 0;
  s.expires_at = rows[0].Int(4);
  if (s.expires_at < now) {
    MLV_TRY(DeleteSession(session_hash));
    return std::optional<StoredSession>();
  }
  return std::optional<StoredSession>(std::move(s));
}

util::Status AuthStateStore::DeleteSession(const std::string& session_hash) {
  MLV_TRY(db_.Exec("DELETE FROM console_sessions WHERE session_hash = ?", {session_hash}));
  return util::Ok();
}

util::Status AuthStateStore::Sweep(int64_t now) {
  MLV_TRY(db_.Exec("DELETE FROM auth_nonces WHERE expires_at < ?", {now}));
  MLV_TRY(db_.Exec("DELETE FROM console_challenges WHERE expires_at < ?", {now}));
  MLV_TRY(db_.Exec("DELETE FROM console_sessions WHERE expires_at < ?", {now}));
  return util::Ok();
}

}  // namespace mlvault::catalog
