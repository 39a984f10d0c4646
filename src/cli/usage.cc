#include "cli/usage.h"

#include <algorithm>
#include <set>

#include "control/embedded.h"
#include "cli/version.h"  // generated: MLVAULT_VERSION, MLVAULT_COMMIT
#include "util/strings.h"

namespace mlvault::cli {
namespace {

struct Group {
  std::string_view title;
  std::vector<std::string_view> verbs;
};

// The verb groups of the README's "Using it" table, in its order.
const std::vector<Group>& Groups() {
  static const std::vector<Group> groups = {
      {"Environments", {"create-environment", "list-environments"}},
      {"Workspaces",
       {"create-workspace", "list-workspaces", "describe-workspace", "get-workspace-api-key",
        "delete-workspace"}},
      {"Backups",
       {"backup-workspace", "list-workspace-backups", "describe-workspace-backup",
        "verify-backup", "cancel-backup", "delete-backup"}},
      {"Restore", {"restore-workspace"}},
      {"Workflows", {"describe-workflow", "worker"}},
      {"Identity and access",
       {"init", "get-caller-identity", "create-user", "list-users", "create-access-key",
        "list-access-keys", "delete-access-key", "create-policy", "list-policies", "get-policy",
        "delete-policy", "attach-policy", "detach-policy", "simulate-policy",
        "grant-entitlement", "revoke-entitlement", "list-entitlements", "list-audit-events"}},
      {"One vault directly", {"vault"}},
      {"This command line", {"help", "version", "completion"}},
  };
  return groups;
}

constexpr std::string_view kExamples =
    "  mlvault create-environment --environment-name dev\n"
    "  mlvault create-workspace --environment-name dev --workspace-name ws1 --wait\n"
    "  mlvault backup-workspace --workspace-name ws1 --environment-name dev "
    "--backup-name nightly-1 --wait\n"
    "  mlvault list-workspace-backups --workspace-name ws1 --environment-name dev "
    "--output table\n";

std::vector<const CLI::App*> Verbs(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* a) { return !a->get_name().empty(); });
}

const CLI::App* FindVerb(const CLI::App& app, std::string_view name) {
  for (const CLI::App* v : Verbs(app))
    if (v->get_name() == name) return v;
  return nullptr;
}

// The option `name` ("--x") of `app` or of an ancestor (global flags fall through).
const CLI::Option* FindFlag(const CLI::App* app, const std::string& name) {
  for (; app != nullptr; app = app->get_parent())
    if (const CLI::Option* o = app->get_option_no_throw(name)) return o;
  return nullptr;
}

std::vector<std::string> FlagNames(const CLI::App* app) {
  std::vector<std::string> out;
  for (; app != nullptr; app = app->get_parent())
    for (const CLI::Option* o : app->get_options())
      for (const auto& l : o->get_lnames()) out.push_back("--" + l);
  return out;
}

std::string FirstLine(const std::string& s, size_t max) {
  std::string line = s.substr(0, s.find('\n'));
  if (line.size() <= max) return line;
  size_t cut = line.rfind(' ', max - 4);
  return line.substr(0, cut == std::string::npos ? max - 4 : cut) + " ...";
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  else s += "  ";
  return s;
}

}  // namespace

std::string Suggest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = util::EditDistance(word, c);
    // A prefix of a longer verb ("backup" -> "backup-workspace") is a likely intent too.
    if (word.size() >= 4 && c.starts_with(word)) d = std::min<size_t>(d, 1);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : "";
}

util::Status CheckArguments(const CLI::App& root, const std::vector<std::string>& args) {
  const CLI::App* cur = &root;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() > 1 && a[0] == '-') {
      std::string name = a.substr(0, a.find('='));
      if (name == "-h" || name == "--help" || name == "--help-all" || name == "--version")
        continue;
      const CLI::Option* o = FindFlag(cur, name);
      if (o == nullptr) {
        std::string where = cur == &root ? "" : " for " + cur->get_name();
        std::string hint = Suggest(name, FlagNames(cur));
        return util::InvalidArgument(
            "unknown flag " + name + where +
            (hint.empty() ? "" : "; did you mean " + hint + "?") + " (see mlvault help" +
            (cur == &root ? "" : " " + cur->get_name()) + ")");
      }
      // The next argument is this flag's value.
      if (a.find('=') == std::string::npos && o->get_type_size_max() > 0) ++i;
      continue;
    }
    std::vector<const CLI::App*> subs = Verbs(*cur);
    if (subs.empty()) break;  // a verb's positional arguments
    const CLI::App* next = FindVerb(*cur, a);
    if (next == nullptr) {
      std::vector<std::string> names;
      for (const CLI::App* s : subs) names.push_back(s->get_name());
      std::string hint = Suggest(a, names);
      std::string what = cur == &root ? "verb" : cur->get_name() + " verb";
      return util::InvalidArgument("unknown " + what + " \"" + a + "\"" +
                                   (hint.empty() ? "" : "; did you mean \"" + hint + "\"?") +
                                   (cur == &root ? " (mlvault help lists the verbs)" : ""));
    }
    cur = next;
  }
  return util::Ok();
}

const CLI::App* SelectedVerb(const CLI::App& root) {
  const CLI::App* cur = &root;
  for (;;) {
    auto chosen = cur->get_subcommands();
    if (chosen.empty()) return cur;
    cur = chosen.front();
  }
}

std::string GlobalFlagsHelp(const CLI::App& root) {
  std::string out = "Global flags (before or after the verb):\n";
  for (const CLI::Option* o : root.get_options()) {
    if (o->get_lnames().empty() || o == root.get_help_ptr()) continue;
    std::string name = "--" + o->get_lnames().front();
    if (name == "--help-all") continue;
    if (o->get_type_size_max() > 0) name += " " + (o->get_option_text().empty()
                                                       ? std::string("VALUE")
                                                       : o->get_option_text());
    out += "  " + Pad(name, 24) + FirstLine(o->get_description(), 96) + "\n";
  }
  return out;
}

std::string TopLevelHelp(const CLI::App& root) {
  std::string out = root.get_description() + "\n\n";
  out += "Usage: mlvault [global flags] <verb> [flags]\n";
  out += "       mlvault help <verb>      a verb's flags, with an example\n\n";
  std::set<std::string> shown;
  auto verb_line = [&](const CLI::App* v) {
    shown.insert(v->get_name());
    return "  " + Pad(v->get_name(), 28) + FirstLine(v->get_description(), 90) + "\n";
  };
  for (const Group& g : Groups()) {
    std::string lines;
    for (std::string_view name : g.verbs)
      if (const CLI::App* v = FindVerb(root, name)) lines += verb_line(v);
    if (!lines.empty()) out += std::string(g.title) + ":\n" + lines + "\n";
  }
  std::string other;
  for (const CLI::App* v : Verbs(root))
    if (!shown.contains(v->get_name())) other += verb_line(v);
  if (!other.empty()) out += "Other verbs:\n" + other + "\n";
  out += "Examples:\n" + std::string(kExamples) + "\n";
  out += GlobalFlagsHelp(root);
  out +=
      "\nExit codes: 0 success, 2 bad input, 3 not found, 4 permission denied, 5 conflict, "
      "1 otherwise.\n";
  return out;
}

VersionInfo Version() {
  VersionInfo v{MLVAULT_VERSION, MLVAULT_COMMIT, "", 0};
  auto migrations = control::AllMigrations();
  v.catalog_migrations = static_cast<int>(migrations.size());
  for (const auto& m : migrations) v.catalog_schema = std::max(v.catalog_schema, m.id);
  return v;
}

util::Result<std::string> CompletionScript(const CLI::App& root, std::string_view shell) {
  if (shell != "bash" && shell != "zsh")
    return util::InvalidArgument("completion: give bash or zsh, got \"" + std::string(shell) +
                                 "\"");
  auto words = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& w : v) s += (s.empty() ? "" : " ") + w;
    return s;
  };
  std::vector<std::string> verbs, globals;
  for (const CLI::App* v : Verbs(root)) verbs.push_back(v->get_name());
  for (const CLI::Option* o : root.get_options())
    for (const auto& l : o->get_lnames()) globals.push_back("--" + l);
  std::string cases;
  auto add_case = [&](const std::string& key, const CLI::App* v) {
    std::vector<std::string> flags;
    for (const CLI::Option* o : v->get_options())
      for (const auto& l : o->get_lnames()) flags.push_back("--" + l);
    cases += "    \"" + key + "\") flags=\"" + words(flags) + "\" ;;\n";
  };
  std::string nested;
  for (const CLI::App* v : Verbs(root)) {
    auto subs = Verbs(*v);
    if (subs.empty()) {
      add_case(v->get_name(), v);
      continue;
    }
    std::vector<std::string> names;
    for (const CLI::App* s : subs) {
      names.push_back(s->get_name());
      add_case(v->get_name() + " " + s->get_name(), s);
    }
    nested += "    " + v->get_name() + ") subs=\"" + words(names) + "\" ;;\n";
  }
  std::string script;
  if (shell == "zsh")
    script +=
        "#compdef mlvault\n# mlvault completion for zsh: eval \"$(mlvault completion zsh)\" in "
        "~/.zshrc\nautoload -U +X bashcompinit && bashcompinit\n";
  else
    script +=
        "# mlvault completion for bash: eval \"$(mlvault completion bash)\" in ~/.bashrc, or save "
        "as /etc/bash_completion.d/mlvault\n";
  script += "_mlvault() {\n"
            "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
            "  local verbs=\"" + words(verbs) + "\"\n"
            "  local globals=\"" + words(globals) + "\"\n"
            "  local verb=\"\" sub=\"\" subs=\"\" flags=\"\" w i\n"
            "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
            "    w=${COMP_WORDS[i]}\n"
            "    if [[ -z $verb && \" $verbs \" == *\" $w \"* ]]; then verb=$w\n"
            "    elif [[ -n $verb && -z $sub && -n $subs && \" $subs \" == *\" $w \"* ]]; then sub=$w\n"
            "    fi\n"
            "    if [[ $w == \"$verb\" && -z $sub ]]; then\n"
            "      case \"$verb\" in\n" + nested +
            "      esac\n"
            "    fi\n"
            "  done\n"
            "  case \"$prev\" in\n"
            "    --output) COMPREPLY=($(compgen -W \"json table wide text\" -- \"$cur\")); return ;;\n"
            "    completion) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")); return ;;\n"
            "    help) COMPREPLY=($(compgen -W \"$verbs query\" -- \"$cur\")); return ;;\n"
            "  esac\n"
            "  if [[ -z $verb ]]; then\n"
            "    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$globals\" -- \"$cur\"));\n"
            "    else COMPREPLY=($(compgen -W \"$verbs\" -- \"$cur\")); fi\n"
            "    return\n"
            "  fi\n"
            "  if [[ -n $subs && -z $sub && $cur != -* ]]; then\n"
            "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\")); return\n"
            "  fi\n"
            "  case \"$verb${sub:+ $sub}\" in\n" + cases +
            "  esac\n"
            "  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$flags $globals\" -- \"$cur\"));\n"
            "  else COMPREPLY=($(compgen -f -- \"$cur\")); fi\n"
            "}\n"
            "complete -F _mlvault mlvault\n";
  return script;
}

}  // namespace mlvault::cli
