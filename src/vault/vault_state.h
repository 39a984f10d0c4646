// The vault state: a signed, append-only history of which recovery points exist, so that a
// recovery point removed behind mlvault's back, or an old (deleted) manifest copied back into
// the vault (a rollback), is detected. Format: docs/vault-format.md section 7b.
//
// The state is a set of records `state/<seq><random>`, each sealed under the vault key (a
// record cannot be forged, altered or renamed without it) and never rewritten. Every backup adds
// one ("add <point>"); a delete records "remove <point>" before it removes the manifest and
// "removed <point>" after; the first record of a vault that had none is a baseline listing the
// recovery points present then. A point with a "remove" but no "removed" whose manifest is still
// there is a deletion that was interrupted (a failed write, a kill): it is deleted, not damage,
// and the next delete or GC removes its manifest (PendingDeletions). Sequence numbers are one above
// the highest listed when written, so they only grow. A client that passes
// Options::state_cache_dir also remembers, per vault, the highest sequence number and how many
// records it saw up to it, and reports a vault whose state went backwards (whole-vault rollback,
// or records removed).
//
// Thread-safety: VaultState is a value; Load and Append may run concurrently from several
// processes (records never collide: their names carry random bytes).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "vault/format.h"
#include "vault/repository.h"

namespace mlvault::vault {

// One problem the state reveals; `point` is the recovery point concerned (may be empty).
struct StateProblem {
  std::string object;   // "points/<id>" or "state/"
  std::string point;    // the recovery point id, when one is concerned
  std::string problem;  // one sentence
};

class VaultState {
 public:
  enum class Op { kBaseline, kAdd, kRemove, kRemoved };

  // Reads every state record. kCorruption naming the record if one fails authentication or
  // does not decode (a vault without records loads as empty()).
  static Result<VaultState> Load(Repository* repo);

  // Writes one record. When the vault has no state record yet, a baseline of the recovery
  // points present is written first (vaults made before the state existed).
  static Status Append(Repository* repo, Op op, const ObjectId& point);

  bool empty() const { return records_ == 0; }
  uint64_t max_seq() const { return max_seq_; }

  // Compares the state with the recovery points present (`present`, ids of every manifest
  // object, readable or not): a point whose removal was completed ("removed") but is present
  // (an old manifest copied back: a rollback), a point the state lists that is missing (removed
  // outside mlvault). Pending deletions are not problems.
  std::vector<StateProblem> Check(const std::vector<ObjectId>& present) const;

  // The points of `present` whose deletion was recorded ("remove") but never completed
  // ("removed"): a delete interrupted between its record and the manifest's removal. They are
  // deleted; only their manifests are left, for the next delete or GC to remove.
  std::vector<ObjectId> PendingDeletions(const std::vector<ObjectId>& present) const;

  // Compares with, then raises, this client's remembered state of vault `vault_id` in
  // `cache_dir` (a file per vault). A vault whose highest sequence number, or number of
  // records up to the remembered one, went down is reported. Errors writing the cache are
  // ignored (it is an extra check, not a requirement).
  std::vector<StateProblem> CheckClientCache(const std::string& cache_dir,
                                             const std::string& vault_id) const;

 private:
  uint64_t max_seq_ = 0;
  uint64_t records_ = 0;
  std::vector<uint64_t> seqs_;  // sorted
  std::set<ObjectId> listed_;   // added or in a baseline, and not removed
  std::set<ObjectId> removed_;    // a "remove" or "removed" names it
  std::set<ObjectId> completed_;  // a "removed" names it: its manifest was removed
};

}  // namespace mlvault::vault
