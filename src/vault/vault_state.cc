#include "vault/vault_state.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "util/files.h"

namespace mlvault::vault {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "state/";
constexpr std::string_view kAadState = "mlvault/v1/state";
constexpr int kStateVersion = 1;

const char* OpName(VaultState::Op op) {
  switch (op) {
    case VaultState::Op::kBaseline:
      return "baseline";
    case VaultState::Op::kAdd:
      return "add";
    case VaultState::Op::kRemove:
      return "remove";
    case VaultState::Op::kRemoved:
      return "removed";
  }
  return "?";
}

// "state/<16 hex seq><32 hex random>" -> seq.
std::optional<uint64_t> SeqOfName(std::string_view name) {
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  if (name.size() != 16 + 32) return std::nullopt;
  uint64_t seq = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 16, seq, 16);
  if (ec != std::errc() || p != name.data() + 16) return std::nullopt;
  if (!ParseObjectId(name.substr(16))) return std::nullopt;
  return seq;
}

Bytes Aad(std::string_view name) {
  Bytes aad(kAadState.begin(), kAadState.end());
  aad.insert(aad.end(), name.begin(), name.end());
  return aad;
}

Result<uint64_t> HighestSeq(Repository* repo, bool* any) {
  auto objects = MLV_TRY_CTX(repo->backend()->List(kPrefix), "cannot list the vault state");
  uint64_t max = 0;
  *any = false;
  for (const auto& o : objects) {
    if (auto seq = SeqOfName(o.name)) {
      max = std::max(max, *seq);
      *any = true;
    }
  }
  return max;
}

Status WriteRecord(Repository* repo, uint64_t seq, VaultState::Op op,
                   const std::vector<ObjectId>& points) {
  json ids = json::array();
  for (const auto& p : points) ids.push_back(IdHex(p));
  json j = {{"version", kStateVersion},
            {"seq", seq},
            {"op", OpName(op)},
            {"points", ids},
            {"time", repo->options().clock->Now()}};
  const std::string name = fmt::format("{}{:016x}{}", kPrefix, seq, IdHex(NewObjectId()));
  const std::string text = j.dump();
  Bytes sealed = crypto::Seal(repo->keys().encrypt, util::AsBytes(text), Aad(name));
  return repo->backend()->Put(name, sealed);
}

}  // namespace

Result<VaultState> VaultState::Load(Repository* repo) {
  auto objects = MLV_TRY_CTX(repo->backend()->List(kPrefix), "cannot list the vault state");
  VaultState s;
  struct Change {
    ObjectId point;
    bool removed;    // "remove" or "removed"
    bool completed;  // "removed"
  };
  std::vector<Change> changes;
  for (const auto& o : objects) {
    auto seq = SeqOfName(o.name);
    if (!seq) continue;  // not a state record (a temporary file of the backend, say)
    auto data = repo->backend()->Get(o.name);
    if (!data) {
      if (data.error().code() == util::ErrorCode::kNotFound) continue;
      return std::unexpected(data.error().WithContext("vault state " + o.name));
    }
    auto plain = crypto::Open(repo->keys().encrypt, *data, Aad(o.name));
    if (!plain) return util::Corruption("vault state record " + o.name + " fails authentication");
    try {
      json j = json::parse(util::AsString(*plain));
      if (j.at("version") != kStateVersion)
        return util::Corruption("vault state record " + o.name + ": unsupported version");
      if (j.at("seq").get<uint64_t>() != *seq)
        return util::Corruption("vault state record " + o.name + " names another sequence");
      const std::string op = j.at("op").get<std::string>();
      if (op != "baseline" && op != "add" && op != "remove" && op != "removed")
        return util::Corruption("vault state record " + o.name + ": unknown operation " + op);
      for (const auto& p : j.at("points")) {
        auto id = ParseObjectId(p.get<std::string>());
        if (!id) return util::Corruption("vault state record " + o.name + ": bad point id");
        changes.push_back({*id, op == "remove" || op == "removed", op == "removed"});
      }
    } catch (const json::exception& e) {
      return util::Corruption("vault state record " + o.name + " does not decode: " + e.what());
    }
    s.seqs_.push_back(*seq);
    s.max_seq_ = std::max(s.max_seq_, *seq);
    ++s.records_;
  }
  std::sort(s.seqs_.begin(), s.seqs_.end());
  // Removal wins whatever the order (ids are random: a removed point never comes back).
  for (const auto& c : changes) {
    if (c.removed) s.removed_.insert(c.point);
    if (c.completed) s.completed_.insert(c.point);
  }
  for (const auto& c : changes)
    if (!c.removed && !s.removed_.contains(c.point)) s.listed_.insert(c.point);
  return s;
}

Status VaultState::Append(Repository* repo, Op op, const ObjectId& point) {
  bool any = false;
  uint64_t max = MLV_TRY(HighestSeq(repo, &any));
  if (!any) {
    // First record of this vault: the recovery points present now are its baseline.
    auto objects = MLV_TRY_CTX(repo->backend()->List("points/"), "cannot list recovery points");
    std::vector<ObjectId> present;
    for (const auto& o : objects)
      if (auto id = IdFromName(o.name, "points/")) present.push_back(*id);
    MLV_TRY_CTX(WriteRecord(repo, ++max, Op::kBaseline, present),
                "cannot write the vault state baseline");
  }
  return WriteRecord(repo, max + 1, op, {point});
}

std::vector<StateProblem> VaultState::Check(const std::vector<ObjectId>& present) const {
  std::vector<StateProblem> out;
  if (empty()) return out;
  std::set<ObjectId> here(present.begin(), present.end());
  for (const auto& id : here) {
    if (completed_.contains(id)) {
      out.push_back({PointName(id), IdHex(id),
                     "recovery point " + IdHex(id) +
                         " was deleted (the signed vault state records it) but its manifest is "
                         "back: an old manifest was copied into the vault (a rollback); delete "
                         "it again"});
    }
  }
  for (const auto& id : listed_) {
    if (!here.contains(id)) {
      out.push_back({PointName(id), IdHex(id),
                     "recovery point " + IdHex(id) +
                         " is in the signed vault state but its manifest is missing: it was "
                         "removed outside mlvault"});
    }
  }
  return out;
}

std::vector<ObjectId> VaultState::PendingDeletions(const std::vector<ObjectId>& present) const {
  std::vector<ObjectId> out;
  for (const auto& id : present)
    if (removed_.contains(id) && !completed_.contains(id)) out.push_back(id);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<StateProblem> VaultState::CheckClientCache(const std::string& cache_dir,
                                                       const std::string& vault_id) const {
  std::vector<StateProblem> out;
  if (cache_dir.empty()) return out;
  const std::string path = cache_dir + "/" + vault_id;
  uint64_t seen_seq = 0, seen_count = 0;
  if (auto text = util::ReadFile(path)) {
    std::sscanf(text->c_str(), "mlvault-state 1 %lu %lu", &seen_seq, &seen_count);
  }
  const uint64_t upto =
      static_cast<uint64_t>(std::upper_bound(seqs_.begin(), seqs_.end(), seen_seq) - seqs_.begin());
  if (max_seq_ < seen_seq) {
    out.push_back({"state/", "",
                   fmt::format("the vault state went back from sequence {} (seen by this client) "
                               "to {}: the vault was rolled back to an older copy, or state "
                               "records were removed",
                               seen_seq, max_seq_)});
  } else if (upto < seen_count) {
    out.push_back({"state/", "",
                   fmt::format("{} vault state record(s) up to sequence {} seen by this client "
                               "are missing: state records were removed",
                               seen_count - upto, seen_seq)});
  }
  // Remember the highest state seen (never lower it: a rolled-back vault keeps being reported).
  uint64_t keep_seq = std::max(seen_seq, max_seq_);
  uint64_t keep_count = max_seq_ >= seen_seq ? std::max(records_, seen_count) : seen_count;
  if (keep_seq != seen_seq || keep_count != seen_count) {
    (void)util::MakeDirs(cache_dir, 0700);
    (void)util::WriteFileAtomic(path, fmt::format("mlvault-state 1 {} {}\n", keep_seq, keep_count),
                                /*durable=*/false, 0600);
  }
  return out;
}

}  // namespace mlvault::vault
