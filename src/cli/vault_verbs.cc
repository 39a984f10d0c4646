// `mlvault vault ...`: direct access to one vault directory (init, backup, list, restore, verify,
// delete, gc, keygen). Parsing and printing only; the work is in vault/.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string_view>

#include "cli/app.h"
#include "util/clock.h"
#include "util/progress.h"
#include "util/test_hooks.h"
#include "vault/storage.h"
#include "vault/vault.h"

namespace mlvault::cli {
namespace {

using nlohmann::json;
using util::Result;

struct VaultFlags {
  std::string vault;
  std::string key_file;
  size_t threads = 0;
  int compression_level = 2;
};

void AddVaultFlags(CLI::App* verb, VaultFlags& f) {
  verb->add_option("--vault", f.vault, "Vault directory, or s3://bucket/prefix (settings from MLVAULT_S3_*)")->required();
  verb->add_option("--key-file", f.key_file,
                   "Key file (64 hex characters); without it the passphrase comes from "
                   "$MLVAULT_VAULT_PASSPHRASE");
  verb->add_option("--threads", f.threads, "Worker threads (default: one per core)");
}

Result<vault::KeySource> KeyFrom(const VaultFlags& f) {
  if (!f.key_file.empty()) return vault::KeySource::FromKeyFile(f.key_file);
  const char* pass = std::getenv("MLVAULT_VAULT_PASSPHRASE");
  if (pass != nullptr && *pass != '\0') return vault::KeySource::FromPassphrase(pass);
  return util::InvalidArgument("give --key-file FILE or set MLVAULT_VAULT_PASSPHRASE");
}

vault::Options OptionsFrom(const VaultFlags& f) {
  vault::Options o;
  o.threads = f.threads;
  o.compression_level = f.compression_level;
  return o;
}

// Crash testing (util/test_hooks.h, KillAfterWrites): the process kills itself with SIGKILL
// just before its (N+1)-th write or removal in the vault, so a test can stop an operation at
// every step it takes, deterministically.
vault::StorageFault KillAfterWrites() {
  auto limit_opt = util::test_hooks::KillAfterWrites();
  if (!limit_opt) return {};
  long long limit = *limit_opt;
  auto count = std::make_shared<std::atomic<long long>>(0);
  return [limit, count](std::string_view op, std::string_view) -> util::Status {
    if ((op == "put" || op == "remove") && count->fetch_add(1) >= limit) ::raise(SIGKILL);
    return util::Ok();
  };
}

Result<std::unique_ptr<vault::Vault>> OpenVault(const VaultFlags& f) {
  auto key = MLV_TRY(KeyFrom(f));
  auto storage = MLV_TRY(vault::OpenStorage(f.vault, {.fault = KillAfterWrites()}));
  return vault::Vault::Open(std::move(storage), key, OptionsFrom(f));
}

// A workspace vault of the control plane: <home>/vaults/mlv-<workspace id>, its key in
// <home>/keys/mlv-<workspace id>.key (control/vaults.cc). The engine verbs read such a vault
// (list, verify, restore) but do not change it: a recovery point removed or added behind the
// catalog's back leaves the catalog saying what is no longer true. kPermissionDenied names the
// control-plane verbs to use instead.
util::Status RefuseCatalogVault(const VaultFlags& f, std::string_view verb) {
  if (f.vault.find("://") != std::string::npos) return util::Ok();
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::weakly_canonical(f.vault, ec);
  if (ec) return util::Ok();
  std::string name = dir.filename().string();
  std::filesystem::path home = dir.parent_path().parent_path();
  if (!name.starts_with("mlv-") || dir.parent_path().filename() != "vaults" ||
      !std::filesystem::exists(home / "keys" / (name + ".key"), ec))
    return util::Ok();
  return util::PermissionDenied(
      "vault " + f.vault + " belongs to the mlvault catalog in " + home.string() +
      " (the vault of workspace " + name.substr(4) + "); `mlvault vault " + std::string(verb) +
      "` would change it behind the catalog's back. Use the control-plane verbs instead: "
      "backup-workspace, delete-backup (which also reclaims space), verify-backup");
}

json Labels(const std::map<std::string, std::string>& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

json PointJson(const vault::RecoveryPointInfo& p) {
  if (!p.problem.empty() && p.source.empty()) return {{"id", p.id}, {"problem", p.problem}};
  json j = {{"id", p.id},
          {"kind", vault::VolumeKindName(p.kind)},
          {"source", p.source},
          {"time", util::FormatTime(p.time)},
          {"labels", Labels(p.labels)},
          {"parent", p.parent},
          {"files", p.files},
          {"dirs", p.dirs},
          {"bytesTotal", p.bytes_total},
          {"bytesStored", p.bytes_stored},
          {"durationSeconds", p.duration_seconds}};
  if (!p.problem.empty()) j["problem"] = p.problem;
  return j;
}

// Runs `fn` with a terminal progress bar (drawn only when stderr is a terminal).
template <class F>
auto WithProgress(const std::string& label, F fn) {
  util::TerminalProgress bar(label);
  auto r = fn(&bar);
  bar.Finish();
  return r;
}

}  // namespace

void RegisterVaultVerbs(Application& app, CLI::App& root) {
  CLI::App* vault =
      app.AddCommand(root, "vault", "Work with one vault directory directly (engine-level verbs)",
              "mlvault vault init --vault /srv/vault --key-file vault.key");
  vault->require_subcommand(1);

  {
    auto path = std::make_shared<std::string>();
    auto* v = app.AddCommand(*vault, "keygen", "Write a new random key file (mode 0600)",
                      "mlvault vault keygen --key-file vault.key");
    v->add_option("--key-file", *path, "Where to write the key")->required();
    v->callback([path, &app] {
      app.Emit([&]() -> Result<json> {
        MLV_TRY(vault::WriteNewKeyFile(*path));
        return json{{"keyFile", *path}};
      }());
    });
  }
  {
    auto f = std::make_shared<VaultFlags>();
    auto* v = app.AddCommand(*vault, "init", "Create an empty vault in a directory",
                      "mlvault vault init --vault /srv/vault --key-file vault.key");
    AddVaultFlags(v, *f);
    v->callback([f, &app] {
      app.Emit([&]() -> Result<json> {
        MLV_TRY(RefuseCatalogVault(*f, "init"));
        auto key = MLV_TRY(KeyFrom(*f));
        auto storage = MLV_TRY(vault::OpenStorage(f->vault, {.create = true}));
        auto vt = MLV_TRY(vault::Vault::Init(std::move(storage), key, {}, OptionsFrom(*f)));
        return json{{"vault", f->vault}, {"vaultId", vt->id()}};
      }());
    });
  }
  {
    auto f = std::make_shared<VaultFlags>();
    auto kind = std::make_shared<std::string>("filesystem");
    auto source = std::make_shared<std::string>();
    auto labels = std::make_shared<std::vector<std::string>>();
    auto parent = std::make_shared<std::string>();
    auto* v =
        app.AddCommand(*vault, "backup", "Take a recovery point of a directory tree or an image file",
                "mlvault vault backup --vault /srv/vault --key-file vault.key --kind filesystem "
                "--source /data/projects --label volume=projects");
    AddVaultFlags(v, *f);
    v->add_option("--kind", *kind, "Volume kind")
        ->check(CLI::IsMember({"filesystem", "block"}))
        ->capture_default_str();
    v->add_option("--source", *source, "Directory (filesystem) or image file (block)")->required();
    v->add_option("--label", *labels, "Label K=V (repeatable)");
    v->add_option("--parent", *parent,
                  "Parent recovery point (default: the latest of the same source)");
    v->add_option("--compression-level", f->compression_level, "zstd level 1..19")
        ->capture_default_str();
    v->callback([=, &app] {
      app.Emit([&]() -> Result<json> {
        vault::BackupRequest req;
        req.kind = MLV_TRY(vault::ParseVolumeKind(*kind));
        req.source = *source;
        for (const auto& l : *labels) {
          auto eq = l.find('=');
          if (eq == std::string::npos || eq == 0)
            return util::InvalidArgument("label \"" + l + "\" is not K=V");
          req.labels[l.substr(0, eq)] = l.substr(eq + 1);
        }
        if (!parent->empty()) req.parent = *parent;
        MLV_TRY(RefuseCatalogVault(*f, "backup"));
        auto vt = MLV_TRY(OpenVault(*f));
        auto r = MLV_TRY(WithProgress(
            "backup", [&](util::ProgressSink* p) { return vt->Backup(req, p, nullptr); }));
        const auto& s = r.stats;
        return json{{"recoveryPointId", r.id},
                    {"files", s.files},
                    {"dirs", s.dirs},
                    {"otherEntries", s.other_entries},
                    {"filesUnchanged", s.files_unchanged},
                    {"bytesTotal", s.bytes_total},
                    {"bytesRead", s.bytes_read},
                    {"bytesReused", s.bytes_reused},
                    {"bytesNew", s.bytes_new},
                    {"bytesStored", s.bytes_stored},
                    {"chunks", s.chunks},
                    {"chunksNew", s.chunks_new},
                    {"dirsReused", s.dirs_reused},
                    {"inodesChanged", s.inodes_changed},
                    {"durationSeconds", s.duration_seconds},
                    {"warnings", r.warnings}};
      }());
    });
  }
  {
    auto f = std::make_shared<VaultFlags>();
    auto* v = app.AddCommand(*vault, "list", "List the recovery points of a vault, oldest first",
                      "mlvault vault list --vault /srv/vault --key-file vault.key");
    AddVaultFlags(v, *f);
    v->callback([f, &app] {
      app.Emit([&]() -> Result<json> {
        auto vt = MLV_TRY(OpenVault(*f));
        auto points = MLV_TRY(vt->List());
        json arr = json::array();
        for (const auto& p : points) arr.push_back(PointJson(p));
        return json{{"recoveryPoints", arr}};
      }());
    });
  }
  {
    auto f = std::make_shared<VaultFlags>();
    auto id = std::make_shared<std::string>();
    auto target = std::make_shared<std::string>();
    auto overwrite = std::make_shared<bool>(false);
    auto* v = app.AddCommand(
        *vault, "restore", "Restore a recovery point into an empty directory (or image file)",
        "mlvault vault restore --vault /srv/vault --key-file vault.key --recovery-point 3f09a1c2 "
        "--target /restore/projects");
    AddVaultFlags(v, *f);
    v->add_option("--recovery-point", *id, "Recovery point id (or a unique prefix)")->required();
    v->add_option("--target", *target, "Target directory (filesystem) or file (block)")->required();
    v->add_flag("--overwrite", *overwrite,
                "Allow a non-empty target; entries of the same name are replaced");
    v->callback([=, &app] {
      app.Emit([&]() -> Result<json> {
        auto vt = MLV_TRY(OpenVault(*f));
        vault::RestoreOptions opt;
        opt.allow_nonempty_target = *overwrite;
        auto s = MLV_TRY(WithProgress("restore", [&](util::ProgressSink* p) {
          return vt->Restore(*id, *target, opt, p, nullptr);
        }));
        return json{{"target", *target},
                    {"files", s.files},
                    {"dirs", s.dirs},
                    {"otherEntries", s.other_entries},
                    {"bytesWritten", s.bytes_written},
                    {"durationSeconds", s.duration_seconds},
                    {"warnings", s.warnings}};
      }());
    });
  }
  {
    auto f = std::make_shared<VaultFlags>();
    auto id = std::make_shared<std::string>();
    auto read_data = std::make_shared<bool>(false);
    auto* v = app.AddCommand(
        *vault, "verify",
        "Check a vault (exit code 1 when anything is damaged; the report names what is affected)",
        "mlvault vault verify --vault /srv/vault --key-file vault.key --read-data");
    AddVaultFlags(v, *f);
    v->add_option("--recovery-point", *id, "Check only this recovery point");
    v->add_flag("--read-data", *read_data,
                "Read, decrypt and re-hash every byte (otherwise structure only)");
    v->callback([=, &app] {
      auto result = [&]() -> Result<json> {
        auto vt = MLV_TRY(OpenVault(*f));
        std::optional<std::string> only;
        if (!id->empty()) only = *id;
        auto r = MLV_TRY(WithProgress("verify", [&](util::ProgressSink* p) {
          return vt->Verify(only, *read_data, p, nullptr);
        }));
        json damaged = json::array();
        for (const auto& d : r.damaged) {
          damaged.push_back(
              {{"object", d.object}, {"problem", d.problem}, {"affected", d.affected}});
        }
        return json{{"ok", r.ok},
                    {"recoveryPoints", r.recovery_points},
                    {"packs", r.packs},
                    {"chunks", r.chunks},
                    {"bytesRead", r.bytes_read},
                    {"durationSeconds", r.duration_seconds},
                    {"damaged", damaged}};
      }();
      app.Emit(result);
      if (result && !(*result)["ok"].get<bool>()) {
        app.output().Note("mlvault: the vault is damaged: " +
                          std::to_string((*result)["damaged"].size()) +
                          " problems (see \"damaged\")");
        app.SetExitCode(1);
      }
    });
  }
  {
    auto f = std::make_shared<VaultFlags>();
    auto id = std::make_shared<std::string>();
    auto* v = app.AddCommand(
        *vault, "delete", "Delete a recovery point (run gc to reclaim its space)",
        "mlvault vault delete --vault /srv/vault --key-file vault.key --recovery-point 3f09a1c2");
    AddVaultFlags(v, *f);
    v->add_option("--recovery-point", *id, "Recovery point id")->required();
    v->callback([=, &app] {
      app.Emit([&]() -> Result<json> {
        MLV_TRY(RefuseCatalogVault(*f, "delete"));
        auto vt = MLV_TRY(OpenVault(*f));
        auto info = MLV_TRY(vt->Get(*id));
        MLV_TRY(vt->Delete(info.id));
        return json{{"deleted", info.id}};
      }());
    });
  }
  {
    auto f = std::make_shared<VaultFlags>();
    auto* v = app.AddCommand(*vault, "gc",
                      "Reclaim space no recovery point uses (takes the vault's exclusive lock)",
                      "mlvault vault gc --vault /srv/vault --key-file vault.key");
    AddVaultFlags(v, *f);
    v->callback([f, &app] {
      app.Emit([&]() -> Result<json> {
        MLV_TRY(RefuseCatalogVault(*f, "gc"));
        auto vt = MLV_TRY(OpenVault(*f));
        auto s =
            MLV_TRY(WithProgress("gc", [&](util::ProgressSink* p) { return vt->Gc(p, nullptr); }));
        return json{
            {"recoveryPoints", s.recovery_points}, {"packsRemoved", s.packs_removed},
            {"packsRepacked", s.packs_repacked},   {"chunksRemoved", s.chunks_removed},
            {"bytesFreed", s.bytes_freed},         {"leftoversRemoved", s.leftovers_removed},
            {"packsAdopted", s.packs_adopted},     {"durationSeconds", s.duration_seconds},
            {"packsRetained", s.packs_retained},   {"pointsRetained", s.points_retained},
            {"notes", s.notes}};
      }());
    });
  }
}

}  // namespace mlvault::cli
