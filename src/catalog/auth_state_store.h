// The API server's authentication state kept in the catalog (migration "0500_auth_state"), so
// that several servers sharing one catalog share it: the nonces of signed requests seen within
// the clock window (a request replayed to another server is refused too), the console's pending
// login challenges and its sessions (a browser may be served by any server).
//
// Session ids and challenges are secrets: callers pass their hashes (the API server passes
// SHA-256 hex), so a cookie or an unused challenge cannot be read back from the catalog.
// Expired rows are deleted by Sweep.
//
// Portable SQL (SQLite and PostgreSQL). Not thread-safe: uses the Db it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/db.h"

namespace mlvault::catalog {

// Migrations "0500_auth_state..."; appended to the others in control::AllMigrations.
std::vector<Migration> AuthStateMigrations();

struct StoredSession {
  std::string access_key_id;
  std::string csrf_token;
  std::string source_ip;
  bool secure = false;
  int64_t expires_at = 0;  // unix microseconds
};

class AuthStateStore {
 public:
  explicit AuthStateStore(Db& db) : db_(db) {}

  // Records (access key, nonce) until `expires_at`. true if it is new; false if it was seen
  // before and has not expired (a replay). Errors: the catalog's (kUnavailable when down).
  util::Result<bool> InsertNonce(const std::string& access_key_id, const std::string& nonce,
                                 int64_t expires_at, int64_t now);

  // A one-use console login challenge for `access_key_id`.
  util::Status PutChallenge(const std::string& challenge_hash, const std::string& access_key_id,
                            int64_t expires_at);
  // Consumes the challenge (whatever the outcome: it cannot be taken twice, even by two
  // servers at once) and returns the key it was issued for; nullopt if unknown or expired.
  util::Result<std::optional<std::string>> TakeChallenge(const std::string& challenge_hash,
                                                         int64_t now);
  // Pending (unexpired) challenges, to bound them.
  util::Result<int64_t> CountChallenges(int64_t now);

  util::Status PutSession(const std::string& session_hash, const StoredSession& session);
  // The session if it exists and has not expired (an expired one is deleted).
  util::Result<std::optional<StoredSession>> GetSession(const std::string& session_hash,
                                                        int64_t now);
  // Removes the session; a missing one is OK.
  util::Status DeleteSession(const std::string& session_hash);

  // Deletes expired nonces, challenges and sessions.
  util::Status Sweep(int64_t now);

 private:
  Db& db_;
};

}  // namespace mlvault::catalog
