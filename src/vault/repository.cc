#include "vault/repository.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <future>
#include <limits>
#include <nlohmann/json.hpp>

#include "util/log.h"
#include "vault/compress.h"
#include "vault/manifest_codec.h"

namespace mlvault::vault {

// Declared in vault.h; defined here, beside the manifest code that writes and reads the names
// (so the manifest decoder links without the rest of the vault: fuzz/vault_manifest).
const char* VolumeKindName(VolumeKind kind) {
  return kind == VolumeKind::kBlock ? "block" : "filesystem";
}

Result<VolumeKind> ParseVolumeKind(const std::string& name) {
  if (name == "filesystem") return VolumeKind::kFilesystem;
  if (name == "block") return VolumeKind::kBlock;
  return util::InvalidArgument("volume kind must be \"filesystem\" or \"block\", not \"" + name +
                               "\"");
}

namespace {

using nlohmann::json;

constexpr uint64_t kTreeCacheBytes = 48ull << 20;
constexpr uint64_t kTreePackWholeReadMax = 32ull << 20;

// Objects a load reads at once from remote storage (the vault's index files, its manifests):
// one GET after another costs a round trip each, which grows with the vault.
constexpr size_t kLoadReadsInFlight = 8;

// Computes fetch(i) for i in [0, n) with up to `width` calls running at once (on their own
// threads when width > 1) and hands each result to use(i, result) in order, on this thread.
// Stops at the first error use() returns (the calls still running are waited for).
template <class T, class Fetch, class Use>
Status InOrder(size_t n, size_t width, Fetch fetch, Use use) {
  if (width <= 1 || n <= 1) {
    for (size_t i = 0; i < n; ++i) MLV_TRY(use(i, fetch(i)));
    return util::Ok();
  }
  std::deque<std::future<T>> ahead;
  size_t issued = 0;
  for (size_t i = 0; i < n; ++i) {
    while (issued < n && issued < i + width) {
      ahead.push_back(std::async(std::launch::async, fetch, issued));
      ++issued;
    }
    T r = ahead.front().get();
    ahead.pop_front();
    MLV_TRY(use(i, std::move(r)));
  }
  return util::Ok();
}

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

std::string PrintablePath(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  auto esc = [&](unsigned char c) { out += fmt::format("\\x{:02x}", c); };
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      esc(c);
      ++i;
      continue;
    }
    if (c < 0x80) {
      if (c == '\\')
        out += "\\\\";
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    // Accept a well-formed UTF-8 sequence as is.
    size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool good = len > 0 && i + len <= s.size();
    for (size_t k = 1; good && k < len; ++k) {
      good = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    }
    if (good && len == 2 && c < 0xc2) good = false;  // overlong
    if (good && len == 3) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0))
        good = false;  // overlong, surrogates
    }
    if (good && len == 4) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xf0 && c1 < 0x90) || c > 0xf4 || (c == 0xf4 && c1 >= 0x90)) good = false;
    }
    if (good) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      esc(c);
      ++i;
    }
  }
  return out;
}

bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    unsigned char c1 = len > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (len == 2 && c < 0xc2) return false;  // overlong
    if (len == 3 && ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)))
      return false;  // overlong, surrogate
    if (len == 4 && ((c == 0xf0 && c1 < 0x90) || c > 0xf4 || (c == 0xf4 && c1 >= 0x90)))
      return false;
    i += len;
  }
  return true;
}

RecoveryPointInfo InfoOf(const Manifest& m) {
  RecoveryPointInfo i;
  i.id = IdHex(m.id);
  i.kind = m.kind;
  i.source = m.source;
  i.time = m.time;
  i.labels = m.labels;
  i.parent = m.parent;
  i.files = m.stats.files;
  i.dirs = m.stats.dirs;
  i.bytes_total = m.stats.bytes_total;
  i.bytes_stored = m.stats.bytes_stored;
  i.duration_seconds = m.stats.duration_seconds;
  return i;
}

// ---- open / init -------------------------------------------------------------------------------

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<backend::Backend> backend,
                                                     const KeySource& key, const InitOptions& init,
                                                     const Options& options) {
  auto existing = backend->Stat("config");
  if (existing) return util::Conflict("a vault already exists in " + backend->Describe());
  if (existing.error().code() != util::ErrorCode::kNotFound)
    return std::unexpected(existing.error());
  for (const char* prefix : {"data/", "index/", "points/"}) {
    auto objs = MLV_TRY(backend->List(prefix));
    if (!objs.empty()) {
      return util::Conflict(
          fmt::format("{} holds vault objects ({}) but no config; refusing to init over them",
                      backend->Describe(), objs.front().name));
    }
  }
  auto cfg = MLV_TRY(CreateConfig(key, init));
  MLV_TRY_CTX(backend->Put("config", util::AsBytes(cfg.json)), "cannot write the vault config");
  return std::unique_ptr<Repository>(
      new Repository(std::move(backend), std::move(cfg.opened), options));
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<backend::Backend> backend,
                                                     const KeySource& key, const Options& options) {
  auto text = backend->Get("config");
  if (!text) {
    if (text.error().code() == util::ErrorCode::kNotFound) {
      return util::NotFound("no vault in " + backend->Describe() + " (run `mlvault vault init`)");
    }
    return std::unexpected(text.error().WithContext("cannot read the vault config"));
  }
  auto cfg = MLV_TRY(OpenConfig(util::AsString(*text), key));
  return std::unique_ptr<Repository>(new Repository(std::move(backend), std::move(cfg), options));
}

BlobId Repository::HashBlob(BlobType type, ByteView plain) const {
  return crypto::HmacSha256(type == BlobType::kTree ? keys().id_tree : keys().id_data, plain);
}

// ---- index -------------------------------------------------------------------------------------

Result<std::shared_ptr<MasterIndex>> Repository::LoadIndex(std::vector<ObjectId>* files,
                                                           std::vector<LoadProblem>* problems,
                                                           bool keep_raw) {
  auto objects = MLV_TRY_CTX(backend_->List("index/"), "cannot list index files");
  auto index = std::make_shared<MasterIndex>(keep_raw);
  uint64_t total = 0;
  for (const auto& o : objects) total += o.size;
  // An index file holds ~40-45 bytes per blob entry and never fewer than 37 (a 32-byte id, its
  // kind and compression bytes and three varints; index files are not compressed): total / 36
  // entries at most.
  index->Reserve(total / 40 + 16, total / 36 + 16);
  const size_t width = std::min<size_t>(
      kLoadReadsInFlight, static_cast<size_t>(std::max(1, backend_->ConcurrentReads())));
  // Read ahead in parallel; authenticate, decode and add in listing order on this thread.
  MLV_TRY(InOrder<Result<Bytes>>(
      objects.size(), width,
      [&](size_t i) -> Result<Bytes> {
        if (!IdFromName(objects[i].name, "index/")) return Bytes{};
        return backend_->Get(objects[i].name);
      },
      [&](size_t i, Result<Bytes> data) -> Status {
        const auto& o = objects[i];
        auto id = IdFromName(o.name, "index/");
        if (!id) return util::Ok();
        auto fail = [&](const util::Error& e) -> Status {
          if (problems != nullptr) {
            problems->push_back({o.name, e.message()});
            return util::Ok();
          }
          return std::unexpected(e.WithContext(o.name));
        };
        if (!data) {
          if (data.error().code() == util::ErrorCode::kNotFound)
            return util::Ok();  // removed by a GC meanwhile
          return fail(data.error());
        }
        auto plain = crypto::Open(keys().encrypt, *data, LabelAad(kAadIndex, *id));
        Bytes().swap(*data);  // a large vault's index file is tens of MB: hold one copy at a time
        if (!plain)
          return fail(util::Error(util::ErrorCode::kCorruption, "index file fails authentication"));
        auto packs = DecodeIndex(*plain);
        Bytes().swap(*plain);
        if (!packs) return fail(packs.error());
        for (const auto& p : *packs) index->AddPack(p);
        if (files != nullptr) files->push_back(*id);
        return util::Ok();
      }));
  index->Finalize();
  return index;
}

Result<std::pair<ObjectId, uint64_t>> Repository::WriteIndex(const std::vector<IndexPack>& packs) {
  ObjectId id = NewObjectId();
  Bytes sealed = crypto::Seal(keys().encrypt, EncodeIndex(packs), LabelAad(kAadIndex, id));
  MLV_TRY_CTX(backend_->Put(IndexName(id), sealed), "cannot write index file");
  return std::make_pair(id, static_cast<uint64_t>(sealed.size()));
}

// ---- blobs -------------------------------------------------------------------------------------

Status Repository::OpenBlob(ByteView sealed, const BlobId& id, BlobType type, Compression comp,
                            uint32_t raw_len, bool check_id, Bytes& out) const {
  auto plain = crypto::Open(keys().encrypt, sealed, BlobAad(id, type, comp));
  if (!plain) return util::Corruption("blob " + IdHex(id) + " fails authentication");
  if (comp == Compression::kZstd) {
    MLV_TRY(CheckOpened(*plain, id, type, comp, raw_len, check_id, out));  // decompressed into out
  } else {
    out = std::move(*plain);
    MLV_TRY(CheckOpened(out, id, type, comp, raw_len, check_id, out));
  }
  return util::Ok();
}

Result<ByteView> Repository::OpenBlobInPlace(std::span<uint8_t> sealed, const BlobId& id,
                                             BlobType type, Compression comp, uint32_t raw_len,
                                             bool check_id, Bytes& scratch) const {
  auto opened = crypto::OpenInPlace(keys().encrypt, sealed, BlobAad(id, type, comp));
  if (!opened) return util::Corruption("blob " + IdHex(id) + " fails authentication");
  return CheckOpened(*opened, id, type, comp, raw_len, check_id, scratch);
}

Result<ByteView> Repository::CheckOpened(ByteView plain, const BlobId& id, BlobType type,
                                         Compression comp, uint32_t raw_len, bool check_id,
                                         Bytes& scratch) const {
  if (comp == Compression::kZstd) {
    if (auto st = Decompress(plain, raw_len, scratch); !st) {
      return util::Corruption("blob " + IdHex(id) + ": " + st.error().message());
    }
    plain = scratch;
  } else if (plain.size() != raw_len) {
    return util::Corruption("blob " + IdHex(id) + " has the wrong length");
  }
  if (check_id && HashBlob(type, plain) != id) {
    return util::Corruption("blob " + IdHex(id) + " does not hash to its id");
  }
  return plain;
}

Result<std::shared_ptr<const Bytes>> Repository::CachedTreePack(const ObjectId& pack) {
  {
    util::MutexLock lk(cache_mu_);
    while (true) {
      for (auto it = cache_.begin(); it != cache_.end(); ++it) {
        if (it->first == pack) {
          cache_.splice(cache_.begin(), cache_, it);
          return cache_.front().second;
        }
      }
      if (std::find(cache_loading_.begin(), cache_loading_.end(), pack) == cache_loading_.end())
        break;
      cache_cv_.Wait(cache_mu_);  // another thread is reading it (if that read fails, retry)
    }
    cache_loading_.push_back(pack);
  }
  auto read = backend_->Get(PackName(pack));
  util::MutexLock lk(cache_mu_);
  std::erase(cache_loading_, pack);
  cache_cv_.NotifyAll();
  if (!read) return std::unexpected(read.error());
  auto shared = std::make_shared<const Bytes>(std::move(*read));
  cache_.emplace_front(pack, shared);
  cache_bytes_ += shared->size();
  while (cache_bytes_ > kTreeCacheBytes && cache_.size() > 1) {
    cache_bytes_ -= cache_.back().second->size();
    cache_.pop_back();
  }
  return shared;
}

void Repository::DropTreeCache() {
  util::MutexLock lk(cache_mu_);
  cache_.clear();
  cache_bytes_ = 0;
}

Result<Bytes> Repository::ReadBlob(const MasterIndex& index, const BlobId& id) {
  const BlobLocation* loc = index.Find(id);
  if (loc == nullptr) return util::NotFound("blob " + IdHex(id) + " is in no index");
  const ObjectId& pack = index.packs()[loc->pack];
  Bytes out;
  if (loc->type == BlobType::kTree && index.IsTreePack(loc->pack)) {
    auto whole = CachedTreePack(pack);
    if (whole && (*whole)->size() <= kTreePackWholeReadMax + kMaxPackHeader) {
      if (static_cast<uint64_t>(loc->offset) + loc->stored_len > (*whole)->size()) {
        return util::Corruption("pack " + IdHex(pack) + " is shorter than its index says");
      }
      ByteView sealed((*whole)->data() + loc->offset, loc->stored_len);
      MLV_TRY(OpenBlob(sealed, id, loc->type, loc->comp, loc->raw_len, true, out));
      return out;
    }
    if (!whole) return std::unexpected(whole.error().WithContext("pack " + IdHex(pack)));
  }
  auto sealed = backend_->Get(PackName(pack), loc->offset, loc->stored_len);
  if (!sealed) return std::unexpected(sealed.error().WithContext("pack " + IdHex(pack)));
  MLV_TRY(OpenBlob(*sealed, id, loc->type, loc->comp, loc->raw_len, true, out));
  return out;
}

Result<Tree> Repository::LoadTree(const MasterIndex& index, const BlobId& id) {
  auto plain = MLV_TRY(ReadBlob(index, id));
  auto tree = DecodeTree(plain);
  if (!tree) return std::unexpected(tree.error().WithContext("tree " + IdHex(id)));
  return tree;
}

// ---- packs -------------------------------------------------------------------------------------

namespace {
Result<std::vector<BlobEntry>> HeaderFromTail(const VaultKeys& keys, const ObjectId& pack,
                                              ByteView sealed, uint64_t data_size) {
  auto plain = crypto::Open(keys.encrypt, sealed, LabelAad(kAadPack, pack));
  if (!plain) return util::Corruption("pack " + IdHex(pack) + ": header fails authentication");
  auto h = DecodePackHeader(*plain, data_size);
  if (!h) return std::unexpected(h.error().WithContext("pack " + IdHex(pack)));
  return h;
}
}  // namespace

Result<std::vector<BlobEntry>> Repository::ReadPackHeader(const ObjectId& pack, uint64_t size) {
  if (size < kPackTrailer + kSealOverhead || size > kMaxPackSize) {
    return util::Corruption(fmt::format("pack {} has an impossible size {}", IdHex(pack), size));
  }
  auto tail = MLV_TRY(backend_->Get(PackName(pack), size - kPackTrailer, kPackTrailer));
  uint32_t hlen = util::GetU32(tail.data());
  if (hlen < kSealOverhead || hlen > kMaxPackHeader || hlen > size - kPackTrailer) {
    return util::Corruption(fmt::format("pack {}: bad header length {}", IdHex(pack), hlen));
  }
  auto sealed = MLV_TRY(backend_->Get(PackName(pack), size - kPackTrailer - hlen, hlen));
  return HeaderFromTail(keys(), pack, sealed, size - kPackTrailer - hlen);
}

Result<std::vector<BlobEntry>> Repository::ParsePack(const ObjectId& pack, ByteView data) const {
  const uint64_t size = data.size();
  if (size < kPackTrailer + kSealOverhead) {
    return util::Corruption(fmt::format("pack {} is too short ({} bytes)", IdHex(pack), size));
  }
  uint32_t hlen = util::GetU32(data.data() + size - kPackTrailer);
  if (hlen < kSealOverhead || hlen > kMaxPackHeader || hlen > size - kPackTrailer) {
    return util::Corruption(fmt::format("pack {}: bad header length {}", IdHex(pack), hlen));
  }
  return HeaderFromTail(keys(), pack, data.subspan(size - kPackTrailer - hlen, hlen),
                        size - kPackTrailer - hlen);
}

// ---- manifests ---------------------------------------------------------------------------------

Status Repository::SaveManifest(const Manifest& m, uint64_t* size) {
  json labels = json::object();
  for (const auto& [k, v] : m.labels) labels[k] = v;
  json j = {{"version", kPointVersion},
            {"id", IdHex(m.id)},
            {"kind", VolumeKindName(m.kind)},
            {"source", m.source},
            {"hostname", m.hostname.empty() ? Hostname() : m.hostname},
            {"time", m.time},
            {"labels", labels},
            {"parent", m.parent},
            {"tree", IdHex(m.tree)},
            {"root",
             {{"mode", m.root_mode},
              {"uid", m.root_uid},
              {"gid", m.root_gid},
              {"mtimeSec", m.root_mtime_sec},
              {"mtimeNsec", m.root_mtime_nsec}}},
            {"stats",
             {{"files", m.stats.files},
              {"dirs", m.stats.dirs},
              {"otherEntries", m.stats.other_entries},
              {"bytesTotal", m.stats.bytes_total},
              {"bytesStored", m.stats.bytes_stored},
              {"durationSeconds", m.stats.duration_seconds}}}};
  if (!m.change_subvolume.empty()) {
    j["changeBase"] = {{"btrfsSubvolume", m.change_subvolume},
                       {"generation", m.change_generation}};
    if (m.change_otime_sec > 0) {
      j["changeBase"]["createdSec"] = m.change_otime_sec;
      j["changeBase"]["createdNsec"] = m.change_otime_nsec;
    }
    if (m.change_extents) {
      json ext = json::array();
      for (const auto& e : *m.change_extents)
        ext.push_back({e.offset, e.length, e.bytenr, e.extent_offset, e.generation, e.kind});
      j["changeBase"]["extents"] = std::move(ext);
    }
  }
  std::string text;
  try {
    text = j.dump();
  } catch (const json::exception& e) {
    return util::InvalidArgument(std::string("source path and labels must be UTF-8: ") + e.what());
  }
  Bytes sealed = crypto::Seal(keys().encrypt, util::AsBytes(text), LabelAad(kAadPoint, m.id));
  if (size != nullptr) *size = sealed.size();
  return backend_->Put(PointName(m.id), sealed);
}

namespace {
// The integer `v` holds as T. Throws json::type_error for anything else (a float such as 1e27,
// which get<T>() would convert with undefined behaviour) or a value out of T's range.
template <class T>
T Int(const json& v) {
  if (!v.is_number_integer()) throw json::type_error::create(302, "not an integer", &v);
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
      throw json::out_of_range::create(406, "integer out of range", &v);
    return static_cast<T>(u);
  }
  auto i = v.get<int64_t>();
  if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      (i > 0 && static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
    throw json::out_of_range::create(406, "integer out of range", &v);
  return static_cast<T>(i);
}
}  // namespace

Result<Manifest> DecodeManifest(std::string_view text, const ObjectId& id) {
  Manifest m;
  try {
    json j = json::parse(text);
    if (Int<int>(j.at("version")) != kPointVersion) {
      return util::Corruption("manifest of " + IdHex(id) + ": unsupported version");
    }
    if (j.at("id").get<std::string>() != IdHex(id)) {
      return util::Corruption("manifest of " + IdHex(id) + " names another id");
    }
    m.id = id;
    auto kind = ParseVolumeKind(j.at("kind").get<std::string>());
    auto tree = ParseBlobId(j.at("tree").get<std::string>());
    if (!kind || !tree) return util::Corruption("manifest of " + IdHex(id) + ": bad kind or tree");
    m.kind = *kind;
    m.tree = *tree;
    m.source = j.at("source").get<std::string>();
    m.hostname = j.at("hostname").get<std::string>();
    m.time = Int<int64_t>(j.at("time"));
    for (const auto& [k, v] : j.at("labels").items()) m.labels[k] = v.get<std::string>();
    m.parent = j.at("parent").get<std::string>();
    const json& r = j.at("root");
    m.root_mode = Int<uint32_t>(r.at("mode")) & 07777;
    m.root_uid = Int<uint32_t>(r.at("uid"));
    m.root_gid = Int<uint32_t>(r.at("gid"));
    m.root_mtime_sec = Int<int64_t>(r.at("mtimeSec"));
    m.root_mtime_nsec = Int<uint32_t>(r.at("mtimeNsec")) % 1000000000u;
    const json& s = j.at("stats");
    m.stats.files = Int<uint64_t>(s.at("files"));
    m.stats.dirs = Int<uint64_t>(s.at("dirs"));
    m.stats.other_entries = Int<uint64_t>(s.at("otherEntries"));
    m.stats.bytes_total = Int<uint64_t>(s.at("bytesTotal"));
    m.stats.bytes_stored = Int<uint64_t>(s.at("bytesStored"));
    m.stats.duration_seconds = s.at("durationSeconds").get<double>();
    if (auto c = j.find("changeBase"); c != j.end()) {
      m.change_subvolume = c->at("btrfsSubvolume").get<std::string>();
      m.change_generation = c->at("generation").get<uint64_t>();
      m.change_otime_sec = c->value("createdSec", int64_t{0});
      m.change_otime_nsec = c->value("createdNsec", uint32_t{0});
      if (auto x = c->find("extents"); x != c->end()) {
        std::vector<btrfs::Extent> ext;
        for (const json& e : *x) {
          if (!e.is_array() || e.size() != 6)
            return util::Corruption("manifest of " + IdHex(id) + " has a malformed extent");
          ext.push_back(btrfs::Extent{Int<uint64_t>(e[0]), Int<uint64_t>(e[1]),
                                      Int<uint64_t>(e[2]), Int<uint64_t>(e[3]),
                                      Int<uint64_t>(e[4]), Int<uint32_t>(e[5])});
        }
        m.change_extents = std::move(ext);
      }
    }
  } catch (const json::exception& e) {
    return util::Corruption("manifest of " + IdHex(id) + " is malformed: " + e.what());
  }
  return m;
}

Result<Manifest> Repository::LoadManifest(const ObjectId& id) {
  auto data = backend_->Get(PointName(id));
  if (!data) {
    if (data.error().code() == util::ErrorCode::kNotFound) {
      return util::NotFound("no recovery point " + IdHex(id));
    }
    return std::unexpected(data.error());
  }
  auto plain = crypto::Open(keys().encrypt, *data, LabelAad(kAadPoint, id));
  if (!plain)
    return util::Corruption("manifest of recovery point " + IdHex(id) + " fails authentication");
  return DecodeManifest(util::AsString(*plain), id);
}

Result<std::vector<Manifest>> Repository::ListManifests(std::vector<LoadProblem>* problems) {
  auto objects = MLV_TRY_CTX(backend_->List("points/"), "cannot list recovery points");
  std::vector<ObjectId> ids;
  std::vector<const backend::ObjectInfo*> named;
  for (const auto& o : objects) {
    if (auto id = IdFromName(o.name, "points/")) {
      ids.push_back(*id);
      named.push_back(&o);
    }
  }
  const size_t width = std::min<size_t>(
      kLoadReadsInFlight, static_cast<size_t>(std::max(1, backend_->ConcurrentReads())));
  std::vector<Manifest> out;
  MLV_TRY(InOrder<Result<Manifest>>(
      ids.size(), width, [&](size_t i) { return LoadManifest(ids[i]); },
      [&](size_t i, Result<Manifest> m) -> Status {
        if (!m) {
          if (m.error().code() == util::ErrorCode::kNotFound)
            return util::Ok();  // deleted meanwhile
          if (problems != nullptr) {
            problems->push_back({named[i]->name, m.error().message()});
            return util::Ok();
          }
          return std::unexpected(m.error());
        }
        out.push_back(std::move(*m));
        return util::Ok();
      }));
  std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) {
    return a.time != b.time ? a.time < b.time : a.id < b.id;
  });
  return out;
}

Result<ObjectId> Repository::ResolvePoint(const std::string& s) {
  if (auto id = ParseObjectId(s)) return *id;
  bool hex = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (!hex || s.size() < 6 || s.size() > 32) {
    return util::InvalidArgument("\"" + PrintablePath(s) +
                                 "\" is not a recovery point id (32 hex characters)");
  }
  auto objects = MLV_TRY(backend_->List("points/" + s));
  std::optional<ObjectId> found;
  for (const auto& o : objects) {
    auto id = IdFromName(o.name, "points/");
    if (!id) continue;
    if (found) return util::InvalidArgument("recovery point id prefix " + s + " is ambiguous");
    found = id;
  }
  if (!found) return util::NotFound("no recovery point " + s);
  return *found;
}

}  // namespace mlvault::vault
