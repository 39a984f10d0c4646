// The workspace server's file and build handlers (docs/workspace-api.md): run and service logs,
// project file upload and download, and model builds. The routes that call them are in api.cc.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/server_internal.h"
#include "util/files.h"
#include "util/log.h"
#include "util/random.h"

namespace mlvault::runtime {

util::Result<Reply> WorkspaceServer::Impl::ReadLog(const std::string& path) {
  auto text = util::ReadFile(path);
  Reply r;
  r.content_type = "text/plain; charset=utf-8";
  if (!text) {
    if (text.error().code() != util::ErrorCode::kNotFound) return std::unexpected(text.error());
    r.raw = "";
  } else {
    r.raw = std::move(*text);
  }
  return r;
}

void WorkspaceServer::Impl::RemoveLog(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    util::Log(util::LogLevel::kWarn, "cannot remove log {}: {}", path, std::strerror(errno));
}

// ---- files

void WorkspaceServer::Impl::DropBody(const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
  uint64_t len = 0;
  if (req.has_header("Content-Length")) {
    try {
      len = std::stoull(req.get_header_value("Content-Length"));
    } catch (...) {
      len = kDrainLimit + 1;
    }
  }
  if (len > kDrainLimit) {
    res.set_header("Connection", "close");
    return;
  }
  uint64_t dropped = 0;
  reader([&](const char*, size_t n) {
    dropped += n;
    return dropped <= kDrainLimit;
  });
}

void WorkspaceServer::Impl::UploadFile(const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
  auto refuse = [&](const util::Error& e) {
    DropBody(req, res, reader);
    Send(res, std::unexpected(e));
  };
  if (gate_->refusing_writes()) {
    DropBody(req, res, reader);
    return SendBackupInProgress(res);
  }
  std::string project_id = req.matches[1];
  auto parts = SplitRelativePath(req.matches[2].str());
  if (!parts) return refuse(parts.error());
  if (auto p = store_->GetProject(project_id); !p) return refuse(p.error());
  uint64_t len = 0;
  if (req.has_header("Content-Length")) len = std::stoull(req.get_header_value("Content-Length"));
  if (len > options_.max_upload_bytes) {
    DropBody(req, res, reader);
    return SendError(res, 413, "too-large",
                     fmt::format("the file is {} bytes; uploads are limited to {} bytes", len,
                                 options_.max_upload_bytes));
  }
  auto staged = projects_->Stage();
  if (!staged) return refuse(staged.error());
  util::Status write_status = util::Ok();
  bool too_large = false;
  bool complete = reader([&](const char* data, size_t n) {
    if (staged->size() + n > options_.max_upload_bytes) {
      too_large = true;
      return false;
    }
    write_status = staged->Write(std::string_view(data, n));
    return static_cast<bool>(write_status);
  });
  if (too_large) {
    DropBody(req, res, reader);
    return SendError(res, 413, "too-large",
                     fmt::format("uploads are limited to {} bytes", options_.max_upload_bytes));
  }
  if (!write_status) return Send(res, std::unexpected(write_status.error()));
  if (!complete)
    return SendError(res, 400, "invalid-argument", "the upload ended before its body was complete");

  // The commit is the write: it holds a ticket, so a quiesce waits for it or refuses it.
  auto ticket = gate_->TryEnter();
  if (!ticket) return SendBackupInProgress(res);
  if (auto p = store_->GetProject(project_id); !p) return Send(res, std::unexpected(p.error()));
  PathParts full = {project_id};
  full.insert(full.end(), parts->begin(), parts->end());
  bool created = false;
  auto info = projects_->Commit(*staged, full, &created);
  if (!info) return Send(res, std::unexpected(info.error()));
  info->path = JoinPath(*parts);
  Reply r;
  r.status = created ? 201 : 200;
  r.body = ToJson(*info);
  Send(res, r);
}

util::Result<Reply> WorkspaceServer::Impl::DownloadFile(const std::string& project_id,
                                                        const std::string& path) {
  MLV_TRY(store_->GetProject(project_id));
  PathParts parts = MLV_TRY(SplitRelativePath(path));
  PathParts full = {project_id};
  full.insert(full.end(), parts.begin(), parts.end());
  util::UniqueFd fd = MLV_TRY(projects_->OpenFile(full));
  FileInfo info = MLV_TRY(projects_->Describe(fd.get(), path));
  std::string data;
  data.resize(info.size);
  if (info.size > 0)
    MLV_TRY(util::PreadExact(fd.get(), {reinterpret_cast<uint8_t*>(data.data()), data.size()}, 0,
                             path));
  // The file may have changed between hashing and reading (a job writing it); say what was sent.
  Reply r;
  r.raw = std::move(data);
  r.content_type = "application/octet-stream";
  r.headers.emplace("X-Content-SHA256", info.sha256);
  return r;
}

// ---- builds

util::Result<Reply> WorkspaceServer::Impl::CreateBuild(const httplib::Request& req,
                                                       const std::string& model_id) {
  if (gate_->refusing_writes()) return util::Unavailable("backup in progress");
  json body = MLV_TRY(ParseJsonBody(req, false));
  MLV_TRY(OnlyFields(body, {"files", "serveCommand", "sourcePrefix"}));
  std::string serve = MLV_TRY(CommandField(body, "serveCommand"));
  // sourcePrefix: the files are read from this folder of the project but keep their paths in
  // the build (how mlvault restores a build's exact files without touching the project's own).
  PathParts source_prefix;
  if (auto p = body.find("sourcePrefix"); p != body.end()) {
    if (!p->is_string()) return util::InvalidArgument("field 'sourcePrefix' must be a string");
    source_prefix = MLV_TRY_CTX(SplitRelativePath(p->get<std::string>()), "field 'sourcePrefix'");
  }
  auto files_it = body.find("files");
  if (files_it == body.end() || !files_it->is_array() || files_it->empty())
    return util::InvalidArgument("field 'files' must be a non-empty array of project file paths");
  if (files_it->size() > 1000)
    return util::InvalidArgument("field 'files' lists more than 1000 files");
  std::vector<std::pair<std::string, PathParts>> files;
  std::set<std::string> seen;
  for (size_t i = 0; i < files_it->size(); ++i) {
    const json& f = (*files_it)[i];
    if (!f.is_string()) return util::InvalidArgument(fmt::format("files[{}] must be a string", i));
    std::string path = f.get<std::string>();
    auto parts = SplitRelativePath(path);
    if (!parts) return std::unexpected(parts.error().WithContext(fmt::format("files[{}]", i)));
    if (*parts == PathParts{"manifest.json"})
      return util::InvalidArgument("files: 'manifest.json' is reserved for the build's manifest");
    if (!seen.insert(JoinPath(*parts)).second)
      return util::InvalidArgument("files: '" + path + "' is listed twice");
    files.emplace_back(JoinPath(*parts), *parts);
  }
  Model model = MLV_TRY(store_->GetModel(model_id));
  MLV_TRY_CTX(store_->GetProject(model.project_id), "the model's project");

  // Copy into a staging directory first; only the rename and the row are the write.
  PathParts stage = MLV_TRY(models_->StageDir());
  struct Cleanup {
    const Volume& v;
    PathParts p;
    bool keep = false;
    ~Cleanup() {
      if (!keep) (void)v.RemoveTree(p);
    }
  } cleanup{*models_, stage};
  Build build;
  build.id = util::NewUuid();
  build.model_id = model.id;
  build.serve_command = serve;
  build.created_at = clock_.Now();
  json manifest_files = json::array();
  for (const auto& [path, parts] : files) {
    PathParts src = {model.project_id};
    src.insert(src.end(), source_prefix.begin(), source_prefix.end());
    src.insert(src.end(), parts.begin(), parts.end());
    auto fd = projects_->OpenFile(src);
    if (!fd) return std::unexpected(fd.error().WithContext("files: '" + path + "'"));
    PathParts dst = stage;
    dst.insert(dst.end(), parts.begin(), parts.end());
    FileInfo info = MLV_TRY(models_->CopyIn(dst, fd->get()));
    build.files.push_back({path, info.size, info.sha256});
    manifest_files.push_back({{"path", path}, {"size", info.size}, {"sha256", info.sha256}});
  }
  json manifest = {{"buildId", build.id},     {"modelId", model.id},
                   {"modelName", model.name}, {"serveCommand", serve},
                   {"files", manifest_files}, {"createdAt", util::FormatTime(build.created_at)}};
  PathParts manifest_path = stage;
  manifest_path.push_back("manifest.json");
  FileInfo minfo = MLV_TRY(models_->WriteNew(manifest_path, manifest.dump(2) + "\n"));
  build.manifest_sha256 = minfo.sha256;

  auto ticket = gate_->TryEnter();
  if (!ticket) return util::Unavailable("backup in progress");
  PathParts final_dir = Workloads::BuildDir(model.id, build.id);
  MLV_TRY(models_->Rename(stage, final_dir));
  cleanup.p = final_dir;
  util::Status st = store_->CreateBuild(build);
  if (!st) return std::unexpected(st.error());  // the cleanup removes the directory again
  cleanup.keep = true;
  return Created(ToJson(build));
}

}  // namespace mlvault::runtime
