// The HTTP server against a real catalog: every authentication refusal with its sentence,
// console sessions, request ids, limits, the operations endpoints and TLS. The dispatch
// function here echoes the caller it was given, so these tests see exactly what the transport
// hands to the operations.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "api/server/http_server.h"
#include "catalog/auth_state_store.h"
#include "control/iam_authorizer.h"
#include "control/iam_ops.h"
#include "control/iam_store.h"
#include "control/identity.h"
#include "util/files.h"

namespace mlvault::api {
namespace {

using nlohmann::json;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("MLVAULT_ACCESS_KEY_ID");
    unsetenv("MLVAULT_PRIVATE_KEY");
    home_ = *util::MakeTempDir("mlvault-server-test");
    db_ = std::move(*catalog::OpenSqlite(home_ + "/catalog.db"));
    auto migrations = control::IamMigrations();
    for (auto& m : catalog::AuthStateMigrations()) migrations.push_back(m);
    ASSERT_TRUE(db_->Migrate(migrations));
    ASSERT_TRUE(control::InitAccount(*db_, home_, {}, util::Clock::System()));
    auto admin = control::ResolveCaller(*db_, home_, "");
    ASSERT_TRUE(admin);
    admin_ = *admin;
    authz_ = control::MakeIamAuthorizer(*db_, util::Clock::System());
    ops_ = std::make_unique<control::IamOperations>(*db_, *authz_, util::Clock::System());
    ASSERT_TRUE(ops_->CreateUser(admin_, "ops"));
    auto k = ops_->CreateAccessKey(admin_, {"ops", ""});
    ASSERT_TRUE(k);
    key_id_ = k->access_key_id;
    private_key_ = k->private_key;
  }
  void TearDown() override {
    StopServer();
    db_.reset();
    (void)util::RemoveAll(home_);
  }

  void StartServer(ServerOptions o = {}, bool catalog_wide = false) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.access_log = home_ + "/access.log";
    server_ = std::make_unique<ApiServer>(o, MakeEnv(catalog_wide));
    auto st = server_->Bind();
    ASSERT_TRUE(st) << st.error().ToString();
    thread_ = std::thread([this] { server_->Serve(); });
  }
  ServerEnv MakeEnv(bool catalog_wide) {
    ServerEnv env;
    env.catalog_wide_auth = catalog_wide;
    std::string path = home_ + "/catalog.db";
    env.open_db = [path] { return catalog::OpenSqlite(path); };
    env.dispatch = [](const control::Caller& c, const std::string& service,
                      const std::string& operation, const json& body) -> util::Result<json> {
      if (operation == "fail") return util::NotFound("no such thing");
      // The answers' shapes of the two operations the independent client calls.
      if (operation == "getCallerIdentity")
        return json{{"userName", c.principal_name}, {"userCrn", c.principal_crn}};
      return json{{"principal", c.principal_name},
                  {"sourceIp", c.source_ip},
                  {"source", c.source},
                  {"secure", c.secure_transport},
                  {"service", service},
                  {"operation", operation},
                  {"body", body},
                  {"users", json::array()}};  // listUsers' shape, for the independent client
    };
    env.operations = {{"iam", "listUsers", "list-users", "iam:ListUsers", false, false},
                      {"iam", "getCallerIdentity", "get-caller-identity", "", false, false},
                      {"iam", "fail", "fail", "iam:Fail", false, false}};
    env.ready = [](catalog::Db& db) -> util::Status {
      MLV_TRY(db.Query("SELECT 1"));
      return util::Ok();
    };
    return env;
  }
  void StopServer() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(20, 0);
    return c;
  }

  // A signed POST; `mutate` may change the headers after signing.
  httplib::Result Signed(const std::string& path, const std::string& body,
                         const std::function<void(httplib::Headers&)>& mutate = nullptr,
                         util::TimeMicros when = 0, const std::string& key = "",
                         const std::string& secret = "") {
    auto h = SignRequest(key.empty() ? key_id_ : key, secret.empty() ? private_key_ : secret,
                         "test", "POST", path, "application/json", body,
                         when ? when : util::Clock::System().Now());
    EXPECT_TRUE(h) << h.error().ToString();
    httplib::Headers headers = {{"Authorization", h->authorization},
                                {std::string(kDateHeader), h->date},
                                {std::string(kNonceHeader), h->nonce}};
    if (mutate) mutate(headers);
    auto c = Client();
    return c.Post(path.c_str(), headers, body, "application/json");
  }

  static std::string Message(const httplib::Result& r) {
    json j = json::parse(r->body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"]["message"].get<std::string>()
                                                : r->body;
  }

  std::string home_;
  std::unique_ptr<catalog::Db> db_;
  control::Caller admin_;
  std::unique_ptr<control::Authorizer> authz_;
  std::unique_ptr<control::IamOperations> ops_;
  std::string key_id_, private_key_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
};

TEST_F(ServerTest, SignedRequestReachesDispatchAsItsCaller) {
  StartServer();
  auto r = Signed("/api/v1/iam/listUsers", R"({"maxItems": 5})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["principal"], "ops");
  EXPECT_EQ(j["sourceIp"], "127.0.0.1");
  EXPECT_EQ(j["source"], "api");
  EXPECT_EQ(j["secure"], false);
  EXPECT_EQ(j["body"]["maxItems"], 5);
  EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  // An operation's error keeps its category and carries the request id.
  auto f = Signed("/api/v1/iam/fail", "{}");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status, 404);
  json e = json::parse(f->body)["error"];
  EXPECT_EQ(e["code"], "not-found");
  EXPECT_EQ(e["requestId"], f->get_header_value("X-Request-Id"));
  // The access log has one JSON line per request with the same id (written after the answer:
  // stop the server to be sure it is there).
  StopServer();
  auto log = util::ReadFile(home_ + "/access.log");
  ASSERT_TRUE(log);
  EXPECT_NE(log->find(f->get_header_value("X-Request-Id")), std::string::npos);
  EXPECT_NE(log->find("\"operation\":\"iam/fail\""), std::string::npos);
}

TEST_F(ServerTest, EveryAuthenticationRefusalIs401WithItsSentence) {
  StartServer();
  const std::string path = "/api/v1/iam/listUsers";
  auto c = Client();
  auto none = c.Post(path.c_str(), "{}", "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_NE(Message(none).find("the request is not signed"), std::string::npos);
  EXPECT_EQ(json::parse(none->body)["error"]["code"], "unauthenticated");

  auto scheme = Signed(path, "{}", [](httplib::Headers& h) {
    h.erase("Authorization");
    h.emplace("Authorization", "Bearer x");
  });
  EXPECT_EQ(scheme->status, 401);
  EXPECT_NE(Message(scheme).find("MLVAULT-ED25519 scheme"), std::string::npos);

  auto malformed_id = Signed(path, "{}", [](httplib::Headers& h) {
    h.erase("Authorization");
    h.emplace("Authorization", "MLVAULT-ED25519 Credential=bogus, Signature=AAAA");
  });
  EXPECT_EQ(malformed_id->status, 401);
  EXPECT_NE(Message(malformed_id).find("access key id 'bogus'"), std::string::npos);

  crypto::Ed25519KeyPair other = crypto::Ed25519Generate();
  auto unknown =
      Signed(path, "{}", nullptr, 0, "MLVKAAAAAAAAAAAAAAAA", crypto::Base64Encode(other.seed));
  EXPECT_EQ(unknown->status, 401);
  EXPECT_NE(Message(unknown).find("access key MLVKAAAAAAAAAAAAAAAA is not known"),
            std::string::npos);

  auto bad_sig = Signed(path, "{}", nullptr, 0, key_id_, crypto::Base64Encode(other.seed));
  EXPECT_EQ(bad_sig->status, 401);
  EXPECT_NE(Message(bad_sig).find("the signature does not match"), std::string::npos);
  EXPECT_NE(Message(bad_sig).find("MLVAULT-ED25519\\nPOST\\n/api/v1/iam/listUsers"),
            std::string::npos);

  auto tampered = Signed(path, "{}", [](httplib::Headers& h) {
    h.erase(std::string(kDateHeader));
    h.emplace(std::string(kDateHeader), FormatSigningDate(util::Clock::System().Now() - 1'000'000));
  });
  EXPECT_EQ(tampered->status, 401);
  EXPECT_NE(Message(tampered).find("does not match"), std::string::npos);

  auto old = Signed(path, "{}", nullptr, util::Clock::System().Now() - 600'000'000);
  EXPECT_EQ(old->status, 401);
  EXPECT_NE(Message(old).find("behind the server's clock"), std::string::npos);
  auto future = Signed(path, "{}", nullptr, util::Clock::System().Now() + 3 * 3600'000'000LL);
  EXPECT_EQ(future->status, 401);
  EXPECT_NE(Message(future).find("3 h ahead of the server's clock"), std::string::npos)
      << Message(future);

  auto no_date = Signed(path, "{}", [](httplib::Headers& h) { h.erase(std::string(kDateHeader)); });
  EXPECT_EQ(no_date->status, 401);
  EXPECT_NE(Message(no_date).find("no X-Mlvault-Date"), std::string::npos);
  auto no_nonce =
      Signed(path, "{}", [](httplib::Headers& h) { h.erase(std::string(kNonceHeader)); });
  EXPECT_EQ(no_nonce->status, 401);
  EXPECT_NE(Message(no_nonce).find("no X-Mlvault-Nonce"), std::string::npos);

  // A replay: the same signed headers twice.
  httplib::Headers saved;
  auto first = Signed(path, "{}", [&](httplib::Headers& h) { saved = h; });
  EXPECT_EQ(first->status, 200);
  auto again = c.Post(path.c_str(), saved, "{}", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 401);
  EXPECT_NE(Message(again).find("was already used within the last 5 minutes"), std::string::npos);

  // A revoked key.
  ASSERT_TRUE(ops_->DeleteAccessKey(admin_, key_id_));
  auto revoked = Signed(path, "{}");
  EXPECT_EQ(revoked->status, 401);
  EXPECT_NE(Message(revoked).find("was deleted at"), std::string::npos);
  // Failed authentications of known keys are audited with the source address.
  auto audit = db_->Query(
      "SELECT COUNT(*) FROM audit_events WHERE action = 'iam:Authenticate' AND source = 'api' AND "
      "source_ip = '127.0.0.1'");
  ASSERT_TRUE(audit);
  EXPECT_GE((*audit)[0].Int(0), 3);
}

TEST_F(ServerTest, LegacySecretKeysCannotSign) {
  control::IamStore store(*db_);
  auto users = store.ListUsers(admin_.account_id);
  ASSERT_TRUE(
      store.InsertAccessKey({"MLVKLEGACYAAAAAAAAAA", admin_.account_id, admin_.principal_crn,
                             "v1$00$00", "active", "2026-01-01T00:00:00Z", ""}));
  StartServer();
  crypto::Ed25519KeyPair kp = crypto::Ed25519Generate();
  auto r = Signed("/api/v1/iam/listUsers", "{}", nullptr, 0, "MLVKLEGACYAAAAAAAAAA",
                  crypto::Base64Encode(kp.seed));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(Message(r).find("from before access keys were key pairs"), std::string::npos);
}

TEST_F(ServerTest, BadInputIs400NamingIt) {
  StartServer();
  auto bad_json = Signed("/api/v1/iam/listUsers", R"({"a": 1,})");
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_NE(Message(bad_json).find("not valid JSON"), std::string::npos);
  auto array = Signed("/api/v1/iam/listUsers", "[1]");
  EXPECT_EQ(array->status, 400);
  EXPECT_NE(Message(array).find("must be a JSON object"), std::string::npos);
  auto unknown = Signed("/api/v1/iam/frobnicate", "{}");
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(Message(unknown).find("unknown operation iam/frobnicate"), std::string::npos);

  auto h = SignRequest(key_id_, private_key_, "t", "POST", "/api/v1/iam/listUsers", "text/plain",
                       "{}", util::Clock::System().Now());
  auto c = Client();
  auto ct = c.Post("/api/v1/iam/listUsers",
                   {{"Authorization", h->authorization},
                    {std::string(kDateHeader), h->date},
                    {std::string(kNonceHeader), h->nonce}},
                   "{}", "text/plain");
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->status, 400);
  EXPECT_NE(Message(ct).find("Content-Type must be application/json, got 'text/plain'"),
            std::string::npos);
}

TEST_F(ServerTest, OversizedBodiesAreRefusedByTheirLength) {
  ServerOptions o;
  o.max_body_bytes = 1024;
  StartServer(o);
  std::string big = "{\"x\": \"" + std::string(4096, 'a') + "\"}";
  auto r = Signed("/api/v1/iam/listUsers", big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(Message(r).find("the limit is 1024"), std::string::npos);
}

TEST_F(ServerTest, RateLimitAnswers429WithRetryAfter) {
  ServerOptions o;
  o.rate_limit_per_second = 0.5;
  o.rate_limit_burst = 2;
  StartServer(o);
  EXPECT_EQ(Signed("/api/v1/iam/listUsers", "{}")->status, 200);
  EXPECT_EQ(Signed("/api/v1/iam/listUsers", "{}")->status, 200);
  auto r = Signed("/api/v1/iam/listUsers", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_GE(std::stoi(r->get_header_value("Retry-After")), 1);
}

TEST_F(ServerTest, ConsoleSessionLoginCsrfAndLogout) {
  StartServer();
  auto c = Client();
  auto ch = c.Post("/api/v1/console/challenge", json{{"accessKeyId", key_id_}}.dump(),
                   "application/json");
  ASSERT_TRUE(ch);
  ASSERT_EQ(ch->status, 200) << ch->body;
  std::string challenge = json::parse(ch->body)["challenge"];
  auto seed_bytes = *crypto::Base64Decode(private_key_);
  crypto::Ed25519Seed seed;
  std::copy(seed_bytes.begin(), seed_bytes.end(), seed.begin());
  std::string msg = "mlvault-console-login\n" + challenge;
  std::string sig = crypto::Base64Encode(crypto::Ed25519Sign(seed, util::AsBytes(msg)));

  // A wrong signature is refused and burns the challenge.
  crypto::Ed25519KeyPair other = crypto::Ed25519Generate();
  auto bad = c.Post(
      "/api/v1/console/login",
      json{{"accessKeyId", key_id_},
           {"challenge", challenge},
           {"signature", crypto::Base64Encode(crypto::Ed25519Sign(other.seed, util::AsBytes(msg)))}}
          .dump(),
      "application/json");
  EXPECT_EQ(bad->status, 401);
  auto reused =
      c.Post("/api/v1/console/login",
             json{{"accessKeyId", key_id_}, {"challenge", challenge}, {"signature", sig}}.dump(),
             "application/json");
  EXPECT_EQ(reused->status, 401);
  EXPECT_NE(Message(reused).find("challenge is unknown"), std::string::npos);

  ch = c.Post("/api/v1/console/challenge", json{{"accessKeyId", key_id_}}.dump(),
              "application/json");
  challenge = json::parse(ch->body)["challenge"];
  msg = "mlvault-console-login\n" + challenge;
  sig = crypto::Base64Encode(crypto::Ed25519Sign(seed, util::AsBytes(msg)));
  auto login =
      c.Post("/api/v1/console/login",
             json{{"accessKeyId", key_id_}, {"challenge", challenge}, {"signature", sig}}.dump(),
             "application/json");
  ASSERT_EQ(login->status, 200) << login->body;
  json lj = json::parse(login->body);
  EXPECT_EQ(lj["user"]["userName"], "ops");
  std::string set_cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly; SameSite=Strict; Path=/; Max-Age=28800"), std::string::npos);
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos);
  std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  std::string csrf = lj["csrfToken"];

  auto session = c.Get("/api/v1/console/session", {{"Cookie", cookie}});
  ASSERT_EQ(session->status, 200);
  EXPECT_EQ(json::parse(session->body)["csrfToken"], csrf);

  auto no_csrf = c.Post("/api/v1/iam/listUsers", {{"Cookie", cookie}}, "{}", "application/json");
  EXPECT_EQ(no_csrf->status, 403);
  EXPECT_NE(Message(no_csrf).find("no X-CSRF-Token"), std::string::npos);
  auto wrong_csrf = c.Post("/api/v1/iam/listUsers", {{"Cookie", cookie}, {"X-CSRF-Token", "x"}},
                           "{}", "application/json");
  EXPECT_EQ(wrong_csrf->status, 403);
  auto ok = c.Post("/api/v1/iam/listUsers", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, "{}",
                   "application/json");
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["principal"], "ops");

  auto out = c.Post("/api/v1/console/logout", {{"Cookie", cookie}}, "", "application/json");
  EXPECT_EQ(out->status, 204);
  EXPECT_NE(out->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(c.Get("/api/v1/console/session", {{"Cookie", cookie}})->status, 401);
  EXPECT_EQ(c.Post("/api/v1/iam/listUsers", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, "{}",
                   "application/json")
                ->status,
            401);
}

// Two servers on one catalog with the authentication state in the catalog (as with PostgreSQL):
// a signed request accepted by one is a replay to the other; a challenge of one logs in once on
// the other; a session of one works on the other and a logout on either ends it.
TEST_F(ServerTest, CatalogWideNoncesAndSessionsSpanServers) {
  StartServer({}, /*catalog_wide=*/true);
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  ApiServer other(o, MakeEnv(true));
  ASSERT_TRUE(other.Bind());
  std::thread other_thread([&] { other.Serve(); });
  httplib::Client a = Client();
  httplib::Client b("127.0.0.1", other.port());
  b.set_read_timeout(20, 0);

  auto h = SignRequest(key_id_, private_key_, "test", "POST", "/api/v1/iam/listUsers",
                       "application/json", "{}", util::Clock::System().Now());
  ASSERT_TRUE(h);
  httplib::Headers headers = {{"Authorization", h->authorization},
                              {std::string(kDateHeader), h->date},
                              {std::string(kNonceHeader), h->nonce}};
  auto first = a.Post("/api/v1/iam/listUsers", headers, "{}", "application/json");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200) << first->body;
  auto replay = b.Post("/api/v1/iam/listUsers", headers, "{}", "application/json");
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 401);
  EXPECT_NE(Message(replay).find("already used"), std::string::npos) << Message(replay);
  auto again = a.Post("/api/v1/iam/listUsers", headers, "{}", "application/json");
  EXPECT_EQ(again->status, 401);

  auto ch = a.Post("/api/v1/console/challenge", json{{"accessKeyId", key_id_}}.dump(),
                   "application/json");
  ASSERT_EQ(ch->status, 200) << ch->body;
  std::string challenge = json::parse(ch->body)["challenge"];
  auto seed_bytes = *crypto::Base64Decode(private_key_);
  crypto::Ed25519Seed seed;
  std::copy(seed_bytes.begin(), seed_bytes.end(), seed.begin());
  std::string sig = crypto::Base64Encode(
      crypto::Ed25519Sign(seed, util::AsBytes("mlvault-console-login\n" + challenge)));
  std::string login_body =
      json{{"accessKeyId", key_id_}, {"challenge", challenge}, {"signature", sig}}.dump();
  auto login = b.Post("/api/v1/console/login", login_body, "application/json");
  ASSERT_EQ(login->status, 200) << login->body;
  EXPECT_EQ(a.Post("/api/v1/console/login", login_body, "application/json")->status, 401);
  std::string set_cookie = login->get_header_value("Set-Cookie");
  std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  std::string csrf = json::parse(login->body)["csrfToken"];
  // The catalog holds no session id or challenge in the clear.
  auto rows = db_->Query("SELECT session_hash FROM console_sessions");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Text(0).find(cookie.substr(cookie.find('=') + 1)), std::string::npos);

  auto session = a.Get("/api/v1/console/session", {{"Cookie", cookie}});
  ASSERT_EQ(session->status, 200) << session->body;
  EXPECT_EQ(json::parse(session->body)["user"]["userName"], "ops");
  EXPECT_EQ(json::parse(session->body)["csrfToken"], csrf);
  EXPECT_EQ(a.Post("/api/v1/iam/listUsers", {{"Cookie", cookie}}, "{}", "application/json")->status,
            403);
  auto ok = a.Post("/api/v1/iam/listUsers", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, "{}",
                   "application/json");
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["principal"], "ops");
  EXPECT_EQ(a.Post("/api/v1/console/logout", {{"Cookie", cookie}}, "", "application/json")->status,
            204);
  EXPECT_EQ(b.Get("/api/v1/console/session", {{"Cookie", cookie}})->status, 401);

  other.Stop();
  other_thread.join();
}

TEST_F(ServerTest, ConsoleFilesAreServedWithCsp) {
  ASSERT_TRUE(util::MakeDirs(home_ + "/console", 0755));
  ASSERT_TRUE(
      util::WriteFileAtomic(home_ + "/console/index.html", "<html>console</html>", false, 0644));
  ServerOptions o;
  o.console_dir = home_ + "/console";
  StartServer(o);
  auto c = Client();
  auto r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("console"), std::string::npos);
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("script-src 'self'"),
            std::string::npos);
  EXPECT_EQ(c.Get("/../catalog.db")->status, 404);
}

TEST_F(ServerTest, OperationsEndpoints) {
  StartServer();
  auto c = Client();
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  auto ready = c.Get("/readyz");
  EXPECT_EQ(ready->status, 200) << ready->body;
  Signed("/api/v1/iam/listUsers", "{}");
  auto m = c.Get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_NE(
      m->body.find("mlvault_http_requests_total{operation=\"iam/listUsers\",status=\"200\"} 1"),
      std::string::npos)
      << m->body;
  EXPECT_NE(
      m->body.find("mlvault_http_request_duration_seconds_bucket{operation=\"iam/listUsers\""),
      std::string::npos);
  auto api = c.Get("/api/v1/openapi.json");
  ASSERT_EQ(api->status, 200);
  json doc = json::parse(api->body);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_TRUE(doc["paths"].contains("/api/v1/iam/listUsers"));
  EXPECT_EQ(c.Get("/nothing")->status, 404);
}

// A client that sends its request one byte a second must not hold a worker: with 2 workers
// and 4 such clients, a normal request is still answered, and the slow ones are cut.
TEST_F(ServerTest, SlowClientsAreCutAndDoNotHoldWorkers) {
  ServerOptions o;
  o.workers = 2;
  o.header_timeout_seconds = 2;
  StartServer(o);
  std::vector<int> socks;
  for (int i = 0; i < 4; ++i) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(server_->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socks.push_back(s);
  }
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string req = "POST /api/v1/iam/listUsers HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i < req.size() && !stop; ++i) {
      for (int s : socks) (void)send(s, &req[i], 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  auto c = Client();
  c.set_read_timeout(60, 0);
  auto r = c.Get("/healthz");
  stop = true;
  trickle.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The slow connections were cut: reading them gives end of file (or a reset).
  for (int s : socks) {
    char buf[256];
    timeval tv{10, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(s, buf, sizeof buf, 0);
    EXPECT_LE(n, 0) << std::string(buf, n > 0 ? n : 0);
    close(s);
  }
}

TEST_F(ServerTest, TlsWithASelfSignedCertificate) {
  std::string cert = home_ + "/cert.pem", key = home_ + "/key.pem";
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + key +
      " -out " + cert +
      " -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ServerOptions o;
  o.tls_cert = cert;
  o.tls_key = key;
  StartServer(o);
  httplib::SSLClient c("127.0.0.1", server_->port());
  c.set_ca_cert_path(cert.c_str());
  c.enable_server_certificate_verification(true);
  auto h = SignRequest(key_id_, private_key_, "t", "POST", "/api/v1/iam/listUsers",
                       "application/json", R"({"tls":true})", util::Clock::System().Now());
  auto r = c.Post("/api/v1/iam/listUsers",
                  {{"Authorization", h->authorization},
                   {std::string(kDateHeader), h->date},
                   {std::string(kNonceHeader), h->nonce}},
                  R"({"tls":true})", "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["secure"], true);
  // Plain HTTP to the TLS port gets no answer.
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_read_timeout(5, 0);
  auto p = plain.Get("/healthz");
  EXPECT_TRUE(!p || p->status != 200);
}

// A client written only from docs/api.md (Python cryptography + urllib, no mlvault code) signs
// requests, is refused as documented, and logs in to the console.
TEST_F(ServerTest, IndependentPythonClientFromTheDocs) {
  StartServer();
  std::string cmd = "/usr/bin/python3 " MLVAULT_SOURCE_DIR
                    "/tests/server/independent_client.py "
                    "http://127.0.0.1:" +
                    std::to_string(server_->port()) + " " + key_id_ + " " + private_key_;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace mlvault::api
