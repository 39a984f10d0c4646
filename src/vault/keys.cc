#include "vault/keys.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "util/files.h"
#include "util/random.h"

namespace mlvault::vault {
namespace {

using nlohmann::json;

Status CheckKeySource(const KeySource& key) {
  if (key.key_file.empty() == key.passphrase.empty()) {
    return util::InvalidArgument("give exactly one of a key file and a passphrase");
  }
  return util::Ok();
}

Result<crypto::Key> KekFromKeyFile(const std::string& path) {
  auto file_key = MLV_TRY(ReadKeyFile(path));
  return crypto::DeriveSubkey(file_key, "mlvault/v1/kek/keyfile");
}

Status ValidateParams(const VaultParams& p) {
  // Upper limits keep a reader's slab (1.5 x the largest chunk) small; see the format doc.
  if (!(64 <= p.chunk_min && p.chunk_min < p.chunk_avg && p.chunk_avg < p.chunk_max &&
        p.chunk_max <= (16u << 20) && (p.chunk_avg & (p.chunk_avg - 1)) == 0)) {
    return util::InvalidArgument(
        fmt::format("bad chunk sizes {}/{}/{}", p.chunk_min, p.chunk_avg, p.chunk_max));
  }
  if (p.block_size < 4096 || p.block_size > (16u << 20) ||
      (p.block_size & (p.block_size - 1)) != 0) {
    return util::InvalidArgument(fmt::format("bad block size {}", p.block_size));
  }
  return util::Ok();
}

}  // namespace

Result<crypto::Key> ReadKeyFile(const std::string& path) {
  auto text = util::ReadFile(path);
  if (!text) return std::unexpected(text.error().WithContext("key file " + path));
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  auto bytes = util::FromHex(s);
  if (s.size() != 2 * crypto::kKeySize || !bytes) {
    return util::InvalidArgument(fmt::format(
        "key file {} must hold {} hex characters (make one with `mlvault vault keygen`)", path,
        2 * crypto::kKeySize));
  }
  return crypto::Key::FromBytes(*bytes);
}

VaultKeys DeriveKeys(const crypto::Key& master) {
  VaultKeys k;
  k.encrypt = crypto::DeriveSubkey(master, "mlvault/v1/encrypt");
  k.id_data = crypto::DeriveSubkey(master, "mlvault/v1/id/data");
  k.id_tree = crypto::DeriveSubkey(master, "mlvault/v1/id/tree");
  crypto::Key seed = crypto::DeriveSubkey(master, "mlvault/v1/chunker");
  k.chunker_seed = util::GetU64(seed.view().data());
  return k;
}

Result<NewConfig> CreateConfig(const KeySource& key, const InitOptions& init) {
  MLV_TRY(CheckKeySource(key));
  VaultParams params{init.chunk_min_size, init.chunk_avg_size, init.chunk_max_size,
                     init.block_size};
  MLV_TRY(ValidateParams(params));
  NewConfig out;
  out.opened.id = NewObjectId();
  out.opened.params = params;
  json kdf;
  crypto::Key kek;
  if (!key.key_file.empty()) {
    kek = MLV_TRY(KekFromKeyFile(key.key_file));
    kdf = {{"type", "keyfile"}};
  } else {
    if (init.scrypt_log_n < 10 || init.scrypt_log_n > 24 || init.scrypt_r < 1 ||
        init.scrypt_r > 64 || init.scrypt_p < 1 || init.scrypt_p > 16) {
      return util::InvalidArgument("scrypt parameters out of range");
    }
    Bytes salt = util::RandomBytes(16);
    crypto::ScryptParams sp{1ull << init.scrypt_log_n, init.scrypt_r, init.scrypt_p};
    kek = MLV_TRY(crypto::DeriveFromPassphrase(key.passphrase, salt, sp));
    kdf = {{"type", "scrypt"},
           {"salt", util::ToHex(salt)},
           {"logN", init.scrypt_log_n},
           {"r", init.scrypt_r},
           {"p", init.scrypt_p}};
  }
  crypto::Key master = crypto::Key::Random();
  out.opened.keys = DeriveKeys(master);
  Bytes wrapped = crypto::Seal(kek, master.view(), LabelAad(kAadKey, out.opened.id));
  json pj = {{"idHash", "hmac-sha256"},
             {"cipher", "aes-256-gcm"},
             {"compression", "zstd"},
             {"chunker",
              {{"algorithm", "fastcdc"},
               {"minSize", params.chunk_min},
               {"avgSize", params.chunk_avg},
               {"maxSize", params.chunk_max}}},
             {"blockSize", params.block_size},
             {"packVersion", kPackVersion},
             {"indexVersion", kIndexVersion},
             {"treeVersion", kTreeVersion},
             {"pointVersion", kPointVersion}};
  Bytes sealed_params = crypto::Seal(out.opened.keys.encrypt, util::AsBytes(pj.dump()),
                                     LabelAad(kAadParams, out.opened.id));
  json cfg = {{"format", "mlvault-vault"},          {"version", kFormatVersion},
              {"id", IdHex(out.opened.id)},         {"kdf", kdf},
              {"wrappedKey", util::ToHex(wrapped)}, {"params", util::ToHex(sealed_params)}};
  out.json = cfg.dump(2) + "\n";
  return out;
}

Result<OpenedConfig> OpenConfig(std::string_view text, const KeySource& key) {
  MLV_TRY(CheckKeySource(key));
  OpenedConfig out;
  std::string kdf_type;
  Bytes wrapped, sealed_params, salt;
  uint32_t log_n = 0, r = 0, p = 0;
  try {
    json cfg = json::parse(text);
    if (cfg.value("format", "") != "mlvault-vault")
      return util::Corruption("config: not an mlvault vault");
    if (cfg.at("version") != kFormatVersion) {
      return util::Corruption(
          fmt::format("unsupported vault version {}", cfg.at("version").dump()));
    }
    auto id = ParseObjectId(cfg.at("id").get<std::string>());
    auto w = util::FromHex(cfg.at("wrappedKey").get<std::string>());
    auto sp = util::FromHex(cfg.at("params").get<std::string>());
    if (!id || !w || !sp) return util::Corruption("config: malformed id, wrappedKey or params");
    out.id = *id;
    wrapped = std::move(*w);
    sealed_params = std::move(*sp);
    const json& kdf = cfg.at("kdf");
    kdf_type = kdf.at("type").get<std::string>();
    if (kdf_type == "scrypt") {
      auto s = util::FromHex(kdf.at("salt").get<std::string>());
      if (!s) return util::Corruption("config: malformed scrypt salt");
      salt = std::move(*s);
      log_n = kdf.at("logN").get<uint32_t>();
      r = kdf.at("r").get<uint32_t>();
      p = kdf.at("p").get<uint32_t>();
      if (log_n < 1 || log_n > 30 || r < 1 || r > 64 || p < 1 || p > 16) {
        return util::Corruption("config: scrypt parameters out of range");
      }
    } else if (kdf_type != "keyfile") {
      return util::Corruption("config: unknown key derivation \"" + kdf_type + "\"");
    }
  } catch (const json::exception& e) {
    return util::Corruption(std::string("config is malformed: ") + e.what());
  }
  const std::string vault = IdHex(out.id);
  crypto::Key kek;
  if (kdf_type == "keyfile") {
    if (key.key_file.empty()) {
      return util::PermissionDenied("wrong key for vault " + vault +
                                    ": it is protected by a key file, not a passphrase");
    }
    kek = MLV_TRY(KekFromKeyFile(key.key_file));
  } else {
    if (key.passphrase.empty()) {
      return util::PermissionDenied("wrong key for vault " + vault +
                                    ": it is protected by a passphrase, not a key file");
    }
    kek = MLV_TRY(crypto::DeriveFromPassphrase(key.passphrase, salt,
                                               crypto::ScryptParams{1ull << log_n, r, p}));
  }
  auto master_bytes = crypto::Open(kek, wrapped, LabelAad(kAadKey, out.id));
  if (!master_bytes) {
    return util::PermissionDenied("wrong key for vault " + vault + " (or its config is damaged)");
  }
  auto master = MLV_TRY(crypto::Key::FromBytes(*master_bytes));
  out.keys = DeriveKeys(master);
  auto params_plain = crypto::Open(out.keys.encrypt, sealed_params, LabelAad(kAadParams, out.id));
  if (!params_plain) return util::Corruption("config: parameters fail authentication");
  try {
    json pj = json::parse(util::AsString(*params_plain));
    if (pj.at("idHash") != "hmac-sha256" || pj.at("cipher") != "aes-256-gcm" ||
        pj.at("compression") != "zstd" || pj.at("chunker").at("algorithm") != "fastcdc") {
      return util::Corruption("config: unsupported algorithms " + pj.dump());
    }
    if (pj.at("packVersion") != kPackVersion || pj.at("indexVersion") != kIndexVersion ||
        pj.at("treeVersion").get<int>() < kTreeVersionMin ||
        pj.at("treeVersion").get<int>() > kTreeVersion || pj.at("pointVersion") != kPointVersion) {
      return util::Corruption("config: unsupported object versions " + pj.dump());
    }
    out.params.chunk_min = pj.at("chunker").at("minSize").get<uint32_t>();
    out.params.chunk_avg = pj.at("chunker").at("avgSize").get<uint32_t>();
    out.params.chunk_max = pj.at("chunker").at("maxSize").get<uint32_t>();
    out.params.block_size = pj.at("blockSize").get<uint32_t>();
  } catch (const json::exception& e) {
    return util::Corruption(std::string("config parameters are malformed: ") + e.what());
  }
  if (auto st = ValidateParams(out.params); !st)
    return util::Corruption("config: " + st.error().message());
  return out;
}

}  // namespace mlvault::vault
