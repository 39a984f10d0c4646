// Browsing a recovery point without restoring it: the list of its entries (trees only) and the
// bytes of one file (its chunks, each authenticated). What inventories, diffs and single-file
// restores of the control plane are built on.
#include <algorithm>
#include <utility>

#include "crypto/crypto.h"
#include "vault/engine.h"

namespace mlvault::vault {
namespace {

std::string ContentId(const TreeEntry& e) {
  std::string ids;
  for (const auto& p : e.pieces) {
    ids.append(reinterpret_cast<const char*>(p.id.data()), p.id.size());
    ids += p.hole ? 'h' : 'd';
    ids.append(std::to_string(p.length));
  }
  auto d = crypto::Sha256(util::AsBytes(ids));
  return util::ToHex(util::ByteView(d.data(), d.size()));
}

EntryInfo::Type TypeOf(EntryType t) {
  switch (t) {
    case EntryType::kFile: return EntryInfo::Type::kFile;
    case EntryType::kDir: return EntryInfo::Type::kDir;
    case EntryType::kSymlink: return EntryInfo::Type::kSymlink;
    default: return EntryInfo::Type::kOther;
  }
}

}  // namespace

Status RunForEachEntry(Repository* repo, const Manifest& point,
                       const std::function<Status(const EntryInfo&)>& visit,
                       const util::CancelToken* cancel) {
  auto index = MLV_TRY(repo->LoadIndex(nullptr, nullptr, /*keep_raw=*/false));
  EntryInfo info;
  // Depth-first with an explicit stack: (tree, path prefix). What it holds is the directories
  // still to visit, never the entries visited.
  std::vector<std::pair<BlobId, std::string>> stack = {{point.tree, ""}};
  while (!stack.empty()) {
    if (cancel != nullptr && cancel->cancelled()) return util::Cancelled("listing cancelled");
    auto [id, prefix] = std::move(stack.back());
    stack.pop_back();
    Tree tree = MLV_TRY(repo->LoadTree(*index, id));
    std::vector<std::pair<BlobId, std::string>> subdirs;
    for (const auto& e : tree.entries) {
      info.path = prefix;
      if (!prefix.empty()) info.path += '/';
      info.path += e.name;
      info.type = TypeOf(e.type);
      info.mtime_sec = e.mtime_sec;
      info.mode = e.mode;
      info.size = e.type == EntryType::kFile ? e.size : 0;
      info.content_id = e.type == EntryType::kFile ? ContentId(e) : std::string();
      if (e.type == EntryType::kDir) subdirs.emplace_back(e.subtree, info.path);
      MLV_TRY(visit(info));
    }
    // Pushed in reverse so that subdirectories are visited in name order.
    for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) stack.push_back(std::move(*it));
  }
  return util::Ok();
}

Status RunReadFile(Repository* repo, const Manifest& point, const std::string& path,
                   const std::function<Status(util::ByteView)>& sink,
                   const util::CancelToken* cancel) {
  auto index = MLV_TRY(repo->LoadIndex(nullptr, nullptr, /*keep_raw=*/false));
  BlobId tree_id = point.tree;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string name = path.substr(start, slash == std::string::npos ? slash : slash - start);
    if (name.empty() || name == "." || name == "..")
      return util::InvalidArgument("path \"" + PrintablePath(path) + "\" is not a file path");
    Tree tree = MLV_TRY(repo->LoadTree(*index, tree_id));
    const TreeEntry* found = nullptr;
    for (const auto& e : tree.entries)
      if (e.name == name) found = &e;
    if (found == nullptr)
      return util::NotFound("no file \"" + PrintablePath(path) + "\" in recovery point " +
                            IdHex(point.id));
    if (slash == std::string::npos) {
      if (found->type != EntryType::kFile)
        return util::InvalidArgument("\"" + PrintablePath(path) + "\" is not a regular file");
      util::Bytes zeros;
      for (const auto& p : found->pieces) {
        if (cancel != nullptr && cancel->cancelled()) return util::Cancelled("read cancelled");
        if (p.hole) {
          zeros.assign(std::min<uint64_t>(p.length, 1u << 20), 0);
          for (uint64_t left = p.length; left > 0;) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(left, zeros.size()));
            MLV_TRY(sink(util::ByteView(zeros.data(), n)));
            left -= n;
          }
          continue;
        }
        auto bytes = MLV_TRY(repo->ReadBlob(*index, p.id));
        MLV_TRY(sink(util::ByteView(bytes.data(), bytes.size())));
      }
      return util::Ok();
    }
    if (found->type != EntryType::kDir)
      return util::NotFound("no file \"" + PrintablePath(path) + "\" in recovery point " +
                            IdHex(point.id) + " (\"" + name + "\" is not a directory)");
    tree_id = found->subtree;
    start = slash + 1;
  }
}

}  // namespace mlvault::vault
