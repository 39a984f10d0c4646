#include "control/credentials_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string_view>

#include "util/files.h"
#include "util/strings.h"

namespace mlvault::control {

namespace {

using Profiles = std::map<std::string, std::map<std::string, std::string>>;

// Reads the INI credentials file; nullopt if it does not exist.
util::Result<std::optional<Profiles>> ReadCredentialsFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<Profiles>();
    return util::ErrnoError("credentials file " + path, errno);
  }
  if (st.st_mode & 077) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return util::PermissionDenied("credentials file " + path + " holds secrets but has mode " +
                                  mode + " (readable or writable by others); run: chmod 600 " +
                                  path);
  }
  std::string text = MLV_TRY(util::ReadFile(path));
  Profiles profiles;
  std::string section;
  size_t line_no = 0, pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = util::Trim(
        std::string_view(text).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3)
        return util::InvalidArgument("credentials file " + path + " line " +
                                     std::to_string(line_no) +
                                     ": a profile header is written [name]");
      section = util::Trim(std::string_view(line).substr(1, line.size() - 2));
      profiles[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || section.empty())
      return util::InvalidArgument("credentials file " + path + " line " + std::to_string(line_no) +
                                   ": expected `key = value` inside a [profile]");
    profiles[section][util::Trim(std::string_view(line).substr(0, eq))] =
        util::Trim(std::string_view(line).substr(eq + 1));
  }
  return std::optional<Profiles>(std::move(profiles));
}

util::Result<Credentials> ProfileCredentials(const Profiles& profiles, const std::string& name,
                                             const std::string& path) {
  auto it = profiles.find(name);
  if (it == profiles.end()) {
    std::string names;
    for (const auto& [n, _] : profiles) names += (names.empty() ? "" : ", ") + n;
    return util::NotFound("profile '" + name + "' is not in " + path +
                          " (profiles there: " + (names.empty() ? "none" : names) + ")");
  }
  auto get = [&](const char* k) {
    auto f = it->second.find(k);
    return f == it->second.end() ? std::string() : f->second;
  };
  std::string id = get("access_key_id");
  // `secret_access_key` is the name used before access keys became key pairs.
  std::string key = get("private_key");
  if (key.empty()) key = get("secret_access_key");
  if (id.empty() || key.empty())
    return util::InvalidArgument("profile '" + name + "' in " + path +
                                 " needs both access_key_id and private_key");
  return Credentials{id, key, get("endpoint"), "profile '" + name + "' in " + path};
}

std::string RenderProfiles(const Profiles& profiles) {
  std::string out;
  for (const auto& [name, keys] : profiles) {
    if (!out.empty()) out += "\n";
    out += "[" + name + "]\n";
    for (const auto& [k, v] : keys) out.append(k).append(" = ").append(v).append("\n");
  }
  return out;
}

}  // namespace

std::string MlvaultHomeFromEnv() {
  const char* h = std::getenv("MLVAULT_HOME");
  if (h && *h) return h;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.mlvault";
}

std::string CredentialsPath(const std::string& home) { return home + "/credentials"; }

util::Result<std::optional<Credentials>> FindCredentials(const std::string& home,
                                                         const std::string& profile) {
  const std::string path = CredentialsPath(home);
  if (!profile.empty()) {
    auto profiles = MLV_TRY(ReadCredentialsFile(path));
    if (!profiles)
      return util::NotFound("--profile " + profile + " was given but the credentials file " + path +
                            " does not exist");
    return std::optional<Credentials>(MLV_TRY(ProfileCredentials(*profiles, profile, path)));
  }
  const char* env_id = std::getenv("MLVAULT_ACCESS_KEY_ID");
  const char* env_secret = std::getenv("MLVAULT_PRIVATE_KEY");
  bool has_id = env_id && *env_id, has_secret = env_secret && *env_secret;
  if (has_id != has_secret)
    return util::InvalidArgument(
        std::string(has_id ? "MLVAULT_ACCESS_KEY_ID" : "MLVAULT_PRIVATE_KEY") + " is set but " +
        (has_id ? "MLVAULT_PRIVATE_KEY" : "MLVAULT_ACCESS_KEY_ID") +
        " is not; set both, or neither to use " + path);
  if (has_id)
    return std::optional<Credentials>(Credentials{
        env_id, env_secret, /*endpoint=*/"", "environment variables MLVAULT_ACCESS_KEY_ID/MLVAULT_PRIVATE_KEY"});
  auto profiles = MLV_TRY(ReadCredentialsFile(path));
  if (!profiles || !profiles->contains("default")) return std::optional<Credentials>();
  return std::optional<Credentials>(MLV_TRY(ProfileCredentials(*profiles, "default", path)));
}

util::Result<bool> CredentialsFileHasProfile(const std::string& home, const std::string& profile) {
  auto profiles = MLV_TRY(ReadCredentialsFile(CredentialsPath(home)));
  return profiles && profiles->contains(profile);
}

util::Status SaveProfile(const std::string& home, const std::string& profile,
                         const std::string& access_key_id, const std::string& private_key) {
  if (profile.empty() || profile.find_first_of("[]\n\r=") != std::string::npos)
    return util::InvalidArgument("profile name '" + profile +
                                 "' must be non-empty without [ ] = or line breaks");
  MLV_TRY(util::MakeDirs(home, 0700));
  const std::string path = CredentialsPath(home);
  auto profiles = MLV_TRY(ReadCredentialsFile(path));
  Profiles p = profiles ? std::move(*profiles) : Profiles{};
  auto& entry = p[profile];
  entry.erase("secret_access_key");
  entry["access_key_id"] = access_key_id;
  entry["private_key"] = private_key;
  return util::WriteFileAtomic(path, RenderProfiles(p), true, 0600);
}

}  // namespace mlvault::control
