#include "cli/app.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/credentials.h"
#include "api/server/connect.h"
#include "api/operations.h"
#include "cli/usage.h"
#include "util/progress.h"

namespace mlvault::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted = true; }

// At most `limit` bytes of `path`; kInvalidArgument if it holds more (/dev/zero included).
util::Result<std::string> ReadLimited(const std::string& path, size_t limit) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return util::ErrnoError("open failed", errno);
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
    if (out.size() > limit) {
      std::fclose(f);
      return util::InvalidArgument("it holds more than the " + std::to_string(limit >> 20) +
                                   " MiB an input document may have");
    }
  }
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) return util::ErrnoError("read failed", err);
  return out;
}

}  // namespace

ClientFactory EmbeddedClientFactory() {
  return [](const Globals& g) -> util::Result<std::unique_ptr<api::Client>> {
    return api::Connect(api::ConnectOptions{g.endpoint, g.profile, "", ""});
  };
}

// ------------------------------------------------------------------------------ Verb

Verb& WorkspaceFlags(Verb& v) {
  return v.String("--workspace-crn", "Workspace CRN (or --workspace-name with --environment-name)")
      .String("--workspace-name", "Workspace name (with --environment-name)")
      .String("--environment-name", "The workspace's environment (with --workspace-name)");
}
Verb& BackupFlags(Verb& v) {
  v.String("--backup-crn", "Backup CRN (or --backup-name with its workspace)")
      .String("--backup-name",
              "Backup name, with --workspace-name + --environment-name (or --workspace-crn)");
  return WorkspaceFlags(v);
}

Verb::Verb(Application& app, CLI::App* cli, std::string service, std::string operation)
    : app_(app), cli_(cli), service_(std::move(service)), operation_(std::move(operation)) {
  cli_->callback([this] { RunDefault(); });
}

Verb::Binding& Verb::Add(const std::string& flag, char kind) {
  auto b = std::make_unique<Binding>();
  b->flag = flag;
  b->field = api::CamelCase(flag.substr(0, flag.find(',')));  // "--a-b,--c" -> "aB"
  b->kind = kind;
  bindings_.push_back(std::move(b));
  return *bindings_.back();
}

Verb& Verb::String(const std::string& flag, const std::string& help, bool required) {
  Binding& b = Add(flag, 's');
  b.option = cli_->add_option(flag, b.s, help);
  if (required) b.option->required();
  return *this;
}
Verb& Verb::Int(const std::string& flag, const std::string& help) {
  Binding& b = Add(flag, 'i');
  b.option = cli_->add_option(flag, b.i, help);
  return *this;
}
Verb& Verb::Flag(const std::string& flag, const std::string& help) {
  Binding& b = Add(flag, 'b');
  b.option = cli_->add_flag(flag, b.b, help);
  return *this;
}
Verb& Verb::Strings(const std::string& flag, const std::string& help, bool required) {
  Binding& b = Add(flag, 'l');
  b.option = cli_->add_option(flag, b.list, help);
  if (required) b.option->required();
  return *this;
}
Verb& Verb::Wait(const std::string& help) {
  cli_->add_flag("--wait", *wait_, help);
  return *this;
}

json Verb::Request() const {
  json r = json::object();
  for (const auto& b : bindings_) {
    if (b->option->count() == 0) continue;
    switch (b->kind) {
      case 's': r[b->field] = b->s; break;
      case 'i': r[b->field] = b->i; break;
      case 'b': r[b->field] = b->b; break;
      case 'l': r[b->field] = b->list; break;
    }
  }
  return r;
}

std::string Verb::Value(const std::string& flag) const {
  for (const auto& b : bindings_)
    if (b->flag == flag) return b->kind == 'i' ? std::to_string(b->i) : b->s;
  return "";
}
const std::vector<std::string>& Verb::Values(const std::string& flag) const {
  static const std::vector<std::string> none;
  for (const auto& b : bindings_)
    if (b->flag == flag) return b->list;
  return none;
}
bool Verb::Given(const std::string& flag) const {
  for (const auto& b : bindings_)
    if (b->flag == flag) return b->option->count() > 0;
  return false;
}

std::string Verb::WithFlagNames(std::string message) const {
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (const auto& b : bindings_) {
    const std::string& field = b->field;
    std::string flag = b->flag.substr(0, b->flag.find(','));
    // A one-word field ("since") only where it leads the message; a compound one anywhere.
    if (std::none_of(field.begin(), field.end(), [](char c) { return std::isupper(c); })) {
      if (message.starts_with(field + ":")) message.replace(0, field.size(), flag);
      continue;
    }
    for (size_t at = 0; (at = message.find(field, at)) != std::string::npos;) {
      size_t end = at + field.size();
      if ((at > 0 && (word_char(message[at - 1]) || message[at - 1] == '-')) ||
          (end < message.size() && word_char(message[end]))) {
        at = end;
        continue;
      }
      message.replace(at, field.size(), flag);
      at += flag.size();
    }
  }
  return message;
}

std::string Verb::FlagFor(const std::string& field) const {
  for (const auto& b : bindings_)
    if (b->field == field) return b->flag.substr(0, b->flag.find(','));
  return "";
}

util::Result<json> Verb::Call(const json& request, const std::string& label,
                              const Summarizer& summary) {
  api::Client* client = MLV_TRY(app_.client());
  std::unique_ptr<ProgressBar> bar;
  if (!label.empty())
    bar = std::make_unique<ProgressBar>(app_.output().err(), label, app_.stderr_is_terminal());
  api::CallOptions o{*wait_, bar.get(), app_.interrupted()};
  if (o.wait) app_.CatchSignals();
  // The first command run in embedded mode creates the account: said once, on stderr.
  bool first_use = app_.globals().endpoint.empty() && operation_ != "init" &&
                   std::getenv("MLVAULT_ACCESS_KEY_ID") == nullptr &&
                   ::access(api::CredentialsFilePath().c_str(), F_OK) != 0;
  auto answer = client->Call(service_, operation_, request, o);
  if (first_use && ::access(api::CredentialsFilePath().c_str(), F_OK) == 0)
    app_.output().Note("mlvault: first use: created an account and its administrator \"admin\"; "
                       "its access key is in " + api::CredentialsFilePath() +
                       " (profile default). mlvault get-caller-identity shows who you are.");
  if (bar) {
    std::string line = answer && summary && bar->enabled() ? summary(*answer, bar->elapsed()) : "";
    if (!line.empty()) bar->Summary(line);
    else bar->Finish();
  }
  return answer;
}

Verb& Verb::Paginated(const std::string& list_field) {
  list_field_ = list_field;
  Int("--max-items", "At most this many items; the answer's nextToken continues the list");
  String("--starting-token", "Continue a list from the nextToken of an earlier answer");
  cli_->add_option("--page-size", page_size_, "Items fetched per request (at most 1000)")
      ->check(CLI::Range(1, 1000));
  cli_->add_flag("--no-paginate", no_paginate_, "Fetch one page only (with its nextToken)");
  return *this;
}

util::Result<json> Verb::CallPages(json request) {
  // --max-items N: N items in all (fetched in pages of --page-size), nextToken when more exist.
  const bool limited = request.contains("maxItems");
  const int64_t want = limited ? request["maxItems"].get<int64_t>() : 0;
  if (limited && want < 1)
    return util::InvalidArgument("--max-items must be at least 1 (got " + std::to_string(want) + ")");
  json all;
  for (;;) {
    int64_t size = page_size_ > 0 ? page_size_ : 1000;
    if (limited) size = std::min(size, want - static_cast<int64_t>(all.is_null() ? 0 : all[list_field_].size()));
    request["maxItems"] = size;
    json page = MLV_TRY(Call(request));
    std::string next = page.value("nextToken", "");
    if (all.is_null()) {
      all = std::move(page);
    } else {
      for (auto& item : page[list_field_]) all[list_field_].push_back(std::move(item));
    }
    all.erase("nextToken");
    const bool full = limited && static_cast<int64_t>(all[list_field_].size()) >= want;
    if (next.empty()) break;
    if (no_paginate_ || full) {
      all["nextToken"] = next;
      break;
    }
    request["startingToken"] = next;
  }
  return all;
}

void Verb::RunDefault() {
  if (list_field_.empty()) {
    app_.Emit(Call(Request()), this);
    return;
  }
  app_.Emit(CallPages(Request()), this);
}

void Verb::OnRun(std::function<void(Verb&)> run) {
  cli_->callback([this, run = std::move(run)] { run(*this); });
}

// ------------------------------------------------------------------------------ Application

Application::Application(std::ostream& out, std::ostream& err, ClientFactory clients)
    : out_(out),
      err_(err),
      clients_(std::move(clients)),
      output_(std::make_unique<Output>(out, err, globals_.output, output_settings_)) {}

Application::~Application() = default;

void Application::SetTerminal(size_t stdout_columns, bool stderr_is_terminal) {
  output_settings_.width = stdout_columns;
  stderr_is_terminal_ = stderr_is_terminal;
}

util::Result<api::Client*> Application::client() {
  if (!client_) client_ = MLV_TRY(clients_(globals_));
  return client_.get();
}

Verb& Application::AddVerb(CLI::App& parent, std::string_view service, std::string_view operation,
                           const std::string& verb, const std::string& description,
                           const std::string& example) {
  CLI::App* cli = AddCommand(parent, verb, description, example);
  verbs_.push_back(
      std::make_unique<Verb>(*this, cli, std::string(service), std::string(operation)));
  return *verbs_.back();
}

CLI::App* Application::AddCommand(CLI::App& parent, const std::string& name,
                                  const std::string& description, const std::string& example) {
  CLI::App* cli = parent.add_subcommand(name, description);
  cli->footer("Example:\n  " + example);
  cli->fallthrough();  // global flags (--output, --profile) after the verb, as users type them
  return cli;
}

void Application::Emit(const util::Result<json>& result, const Verb* verb) {
  if (result) {
    exit_code_ = output_->Result(*result);
    return;
  }
  util::Error e = result.error();
  // The request fields the verb takes as flags are named by their flags ("backupCrn: ..." ->
  // "--backup-crn: ...", "give backupCrn, or backupName" -> "give --backup-crn, or ...").
  if (verb) e = util::Error(e.code(), verb->WithFlagNames(e.message()), e.field());
  exit_code_ = output_->Error(e);
}

util::Result<std::string> Application::ReadInput(const std::string& flag,
                                                 const std::string& value, bool keep_category) {
  if (value.starts_with("file://")) {
    std::string path = value.substr(7);
    auto text = ReadLimited(path, kMaxInputBytes);
    if (!text)
      return util::MakeError(
          keep_category ? text.error().code() : util::ErrorCode::kInvalidArgument,
          flag + ": cannot read " + path + ": " + text.error().message());
    return *text;
  }
  size_t first = value.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || value[first] != '{')
    return util::InvalidArgument(flag + ": give file://<path> or the JSON document itself, got \"" +
                                 value.substr(0, 64) + "\"");
  return value;
}

const std::atomic<bool>* Application::interrupted() const { return &g_interrupted; }

// SIGINT/SIGTERM during a waited run cancel the workflow cleanly (the workspace is resumed).
void Application::CatchSignals() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

void Application::RegisterVerbs(CLI::App& app) {
  RegisterVaultVerbs(*this, app);
  RegisterWorkspaceVerbs(*this, app);
  RegisterContentsVerbs(*this, app);
  RegisterIamVerbs(*this, app);
  RegisterServerVerbs(*this, app);
  RegisterPlanVerbs(*this, app);
  RegisterHelpVerbs(*this, app);
}

namespace {
// Every verb's help ends with the global flags (they are accepted after the verb too).
void AddGlobalFlagsToHelp(CLI::App& verb, const std::string& text) {
  for (CLI::App* sub : verb.get_subcommands([](CLI::App*) { return true; })) {
    sub->footer(sub->get_footer() + "\n\n" + text);
    AddGlobalFlagsToHelp(*sub, text);
  }
}
}  // namespace

int Application::Run(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"mlvault"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return Run(static_cast<int>(argv.size()), argv.data());
}

int Application::Run(int argc, const char* const* argv) {
  CLI::App app{"mlvault: consistent, deduplicated, encrypted backups of ML platform workspaces"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show every verb's help");
  app.add_option("--output", globals_.output,
                 "json (default), table (fits the terminal), wide (every column) or text (one "
                 "value per line)")
      ->check(CLI::IsMember({"json", "table", "wide", "text"}))
      ->each([this](const std::string&) { output_settings_.format_given = true; })
      ->option_text("FORMAT");
  app.add_option("--query", output_settings_.query,
                 "Select part of the answer, e.g. 'backups[].backupCrn' (mlvault help query)")
      ->option_text("EXPR");
  app.add_option("--endpoint", globals_.endpoint,
                 "Talk to an mlvault server at this URL instead of running embedded")
      ->envname("MLVAULT_ENDPOINT");
  app.add_option("--profile", globals_.profile,
                 "Credentials profile (from $MLVAULT_HOME/credentials)")
      ->envname("MLVAULT_PROFILE");
  // Exported to the environment: the embedded catalog reads it there, and workers inherit it.
  app.add_option_function<std::string>(
         "--catalog",
         [](const std::string& v) { setenv("MLVAULT_CATALOG", v.c_str(), 1); },
         "Catalog: a SQLite file or postgresql://user@host:port/db (default "
         "$MLVAULT_HOME/catalog.db)")
      ->envname("MLVAULT_CATALOG");
  RegisterVerbs(app);
  AddGlobalFlagsToHelp(app, GlobalFlagsHelp(app));
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  if (args.empty()) {
    err_ << TopLevelHelp(app);
    output_->Error(util::Error(util::ErrorCode::kInvalidArgument,
                               "give a verb (mlvault help lists them)"));
    return 2;
  }
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "--version") {
      output_->Text(VersionLine());
      return 0;
    }
  }
  if (auto checked = CheckArguments(app, args); !checked) return output_->Error(checked.error());
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    const CLI::App* verb = SelectedVerb(app);
    if (verb == &app) {
      output_->Text(TopLevelHelp(app));
      return 0;
    }
    std::string prefix = "mlvault";
    for (const CLI::App* p = verb->get_parent(); p != nullptr && p != &app; p = p->get_parent())
      prefix += " " + p->get_name();
    output_->Text(verb->help(prefix));
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out_, err_);
  } catch (const CLI::ParseError& e) {
    output_->Error(util::Error(util::ErrorCode::kInvalidArgument, e.what()));
    return 2;
  }
  return exit_code_;
}

}  // namespace mlvault::cli
