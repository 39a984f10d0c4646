// Writes the seed corpus of the vault fuzz targets (fuzz/corpus/vault_*/seed-*): small valid
// encodings made by the encoders themselves, so the fuzzers start from well-formed inputs.
//   build/fuzz/fuzz_make_seeds fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "vault/format.h"
#include "vault/keys.h"
#include "vault/repository.h"
#include "workspace/parameters.h"

#include <nlohmann/json.hpp>

namespace {
using namespace mlvault::vault;

void Write(const std::filesystem::path& dir, const std::string& name, std::string_view bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), bytes.size());
}
void Write(const std::filesystem::path& dir, const std::string& name, const Bytes& bytes) {
  Write(dir, name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

BlobId Id(uint8_t b) {
  BlobId id{};
  id.fill(b);
  return id;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
    return 2;
  }
  std::filesystem::path root(argv[1]);
  std::vector<BlobEntry> blobs = {
      {BlobType::kData, Compression::kNone, 0, 40, 12, Id(1)},
      {BlobType::kTree, Compression::kZstd, 0, 100, 300, Id(2)},
  };
  Bytes header = EncodePackHeader(blobs);
  Bytes pack(8, 0);
  pack[0] = 140;  // data size 140 = 40 + 100, little-endian
  pack.insert(pack.end(), header.begin(), header.end());
  Write(root / "vault_pack", "seed-two-blobs", pack);

  ObjectId pack_id{};
  pack_id.fill(7);
  Write(root / "vault_index", "seed-one-pack", EncodeIndex({IndexPack{pack_id, blobs}}));
  Write(root / "vault_index", "seed-empty", EncodeIndex({}));

  Tree tree;
  TreeEntry dir;
  dir.name = "data";
  dir.type = EntryType::kDir;
  dir.mode = 0755;
  dir.subtree = Id(3);
  TreeEntry file;
  file.name = "train.csv";
  file.type = EntryType::kFile;
  file.mode = 0644;
  file.size = 5000;
  file.pieces = {{4096, false, Id(4)}, {904, true, {}}};
  TreeEntry link;
  link.name = "zlink";
  link.type = EntryType::kSymlink;
  link.mode = 0777;
  link.target = "data/train.csv";
  tree.entries = {dir, file, link};
  Write(root / "vault_tree", "seed-three-entries", EncodeTree(tree));

  std::string key_file = "0101010101010101010101010101010101010101010101010101010101010101\n";
  Write(root / "vault_config", "seed-key-file", std::string(1, '\0') + key_file);
  auto tmp = std::filesystem::temp_directory_path() / "mlvault-seed-key";
  std::ofstream(tmp) << key_file;
  InitOptions init;
  auto cfg = CreateConfig(KeySource::FromKeyFile(tmp.string()), init);
  std::filesystem::remove(tmp);
  if (!cfg) {
    std::fprintf(stderr, "config: %s\n", cfg.error().ToString().c_str());
    return 1;
  }
  Write(root / "vault_config", "seed-config", std::string(1, '\1') + cfg->json);

  // workspace_input: the restore skeleton as printed, and filled in.
  std::string skeleton = mlvault::workspace::RestoreSkeleton();
  Write(root / "workspace_input", "seed-skeleton.json", skeleton);
  auto doc = nlohmann::json::parse(skeleton);
  doc["newWorkspaceParameters"]["workspaceName"] = "restored";
  doc["newWorkspaceParameters"]["environmentName"] = "dev";
  doc["backupCrn"] =
      "crn:mlvault:ml:us-west-1:0f8e5a1c-3b7d-4c2e-9a6f-1d2b3c4d5e6f:workspace_backup:"
      "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
  Write(root / "workspace_input", "seed-restore.json", doc.dump(2));
  Write(root / "workspace_input", "seed-create.json",
        nlohmann::json{{"newWorkspaceParameters", doc["newWorkspaceParameters"]}}.dump());
  return 0;
}
