// The S3 backend against a deliberately failing HTTP server (cpp-httplib on 127.0.0.1): 503
// SlowDown answers are retried by WithRetry with backoff until the server recovers; a server
// that stops sending is cut off by the stall timeout; both surface as kUnavailable.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "backend/s3.h"

namespace mlvault::backend {
namespace {

class FailingServer {
 public:
  FailingServer() {
    server_.Get("/b", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
                      "application/xml");
    });
    server_.Put("/b/flaky", [this](const httplib::Request&, httplib::Response& res) {
      if (puts_.fetch_add(1) < 2) {
        res.status = 503;
        res.set_content(
            "<Error><Code>SlowDown</Code><Message>Please reduce your request "
            "rate.</Message></Error>",
            "application/xml");
      } else {
        res.set_header("ETag", "\"x\"");
      }
    });
    server_.Get("/b/stalls", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      res.set_content("late", "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FailingServer() {
    server_.stop();
    thread_.join();
  }
  S3Config Config() const {
    S3Config c;
    c.endpoint = "http://127.0.0.1:" + std::to_string(port_);
    c.access_key = "k";
    c.secret_key = "s";
    c.bucket = "b";
    c.stall_timeout_seconds = 1;
    return c;
  }
  int puts() const { return puts_.load(); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::atomic<int> puts_{0};
  std::thread thread_;
};

TEST(S3FailingServer, SlowDownIsRetriedUntilTheServerRecovers) {
  FailingServer server;
  auto s3 = S3Backend::Open(server.Config(), false);
  ASSERT_TRUE(s3.has_value()) << s3.error().ToString();
  // Without retries the first 503 is the answer, as kUnavailable naming the code.
  auto once = (*s3)->Put("flaky", util::AsBytes("data"));
  ASSERT_FALSE(once.has_value());
  EXPECT_EQ(once.error().code(), util::ErrorCode::kUnavailable);
  EXPECT_NE(once.error().message().find("SlowDown"), std::string::npos) << once.error().message();
  auto b = WithRetry(std::move(*s3), {.attempts = 4, .initial_backoff_ms = 5});
  auto st = b->Put("flaky", util::AsBytes("data"));
  EXPECT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(server.puts(), 3);  // 503, 503, 200
}

TEST(S3FailingServer, StalledAnswersTimeOutAndRetriesGiveUp) {
  FailingServer server;
  auto s3 = S3Backend::Open(server.Config(), false);
  ASSERT_TRUE(s3.has_value()) << s3.error().ToString();
  auto b = WithRetry(std::move(*s3), {.attempts = 2, .initial_backoff_ms = 5});
  auto r = b->Get("stalls");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), util::ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_NE(r.error().message().find("gave up after 2 attempts"), std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace mlvault::backend
