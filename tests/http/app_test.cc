#include "server/app.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/system/system_error.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "core/secret.h"
#include "support/fixed_random.h"
#include "support/http_client.h"
#include "support/manual_clock.h"

namespace devauth {
namespace {

class AppTest : public ::testing::Test {
 protected:
  AppTest()
      : directory_(std::filesystem::temp_directory_path() /
                   ("devauth-app-test-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    config_.http.port = 0;
    config_.http.io_threads = 1;
    config_.store = (directory_ / "devauth.db").string();
  }

  ~AppTest() override {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::filesystem::path directory_;
  Config config_;
  testing::ManualClock clock_;
  testing::FixedRandom random_;
};

TEST_F(AppTest, StartsAnswersHealthzAndStops) {
  App app(config_, clock_, random_);
  auto started = app.start();
  ASSERT_TRUE(started.hasValue()) << started.error().message;
  const std::uint16_t port = app.port();

  const auto result = testing::httpRequest(port, "GET", "/healthz");
  EXPECT_EQ(result.status, 200U);
  EXPECT_EQ(result.body, "ok\n");

  app.stop();
  app.stop();
  EXPECT_THROW(testing::httpRequest(port, "GET", "/healthz"), boost::system::system_error);
}

// GET /healthz and the page's static files, run by their quick handlers on the I/O thread,
// still count in the request metrics.
TEST_F(AppTest, QuickAnswersCountInMetrics) {
  App app(config_, clock_, random_);
  auto started = app.start();
  ASSERT_TRUE(started.hasValue()) << started.error().message;
  const std::uint16_t port = app.port();
  const auto answered = [port](const std::string& path) {
    const std::string body = testing::httpRequest(port, "GET", "/metrics").body;
    const std::string sample =
        "devauth_http_requests_total{method=\"GET\",path=\"" + path + "\",status=\"200\"} ";
    const std::size_t at = body.find(sample);
    return at == std::string::npos ? 0L : std::stol(body.substr(at + sample.size()));
  };

  for (const std::string path : {"/healthz", "/device/style.css", "/assets/device.js"}) {
    const long before = answered(path);
    EXPECT_EQ(testing::httpRequest(port, "GET", path).status, 200U) << path;
    EXPECT_EQ(testing::httpRequest(port, "GET", path).status, 200U) << path;
    EXPECT_EQ(answered(path), before + 2) << path;
  }
  app.stop();
}

TEST_F(AppTest, StoreInMissingDirectoryFailsStart) {
  config_.store = (directory_ / "missing" / "devauth.db").string();
  App app(config_, clock_, random_);

  StoreResult<void> started;
  EXPECT_NO_THROW(started = app.start());
  ASSERT_FALSE(started.hasValue());
  EXPECT_FALSE(started.error().message.empty());
  app.stop();
}

TEST_F(AppTest, WaitReturnsAfterStopFromAnotherThread) {
  App app(config_, clock_, random_);
  ASSERT_TRUE(app.start().hasValue());
  std::thread stopper([&app] { app.stop(); });
  app.wait();
  stopper.join();
}

TEST_F(AppTest, PurgeRemovesAuthorizationsPastGrace) {
  config_.purge_period = seconds(1);
  config_.purge_grace = seconds(60);
  App app(config_, clock_, random_);
  ASSERT_TRUE(app.start().hasValue());

  Client client;
  client.id = "pub1";
  client.name = "Client pub1";
  client.type = ClientType::Public;
  client.allowed_scopes = {"read"};
  client.created_at = clock_.now();
  ASSERT_TRUE(app.store().insertClient(client).hasValue());

  Authorization old;
  old.id = "auth-old";
  old.device_code_hash = hashSecret("device-code-old");
  old.user_code_hash = hashSecret("BCDFGHJK");
  old.client_id = "pub1";
  old.scope = "read";
  old.created_at = clock_.now() - seconds(700);
  old.expires_at = clock_.now() - seconds(100);
  ASSERT_TRUE(app.store().insertAuthorization(old).hasValue());

  Authorization recent = old;
  recent.id = "auth-recent";
  recent.device_code_hash = hashSecret("device-code-recent");
  recent.user_code_hash = hashSecret("LMNPQRST");
  recent.expires_at = clock_.now() - seconds(10);
  ASSERT_TRUE(app.store().insertAuthorization(recent).hasValue());

  // The purge runs every second. The loop allows a few periods on a loaded machine.
  bool purged = false;
  for (int attempt = 0; attempt < 50 && !purged; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto found = app.store().findByDeviceCode(old.device_code_hash);
    ASSERT_TRUE(found.hasValue()) << found.error().message;
    purged = !found->has_value();
  }
  EXPECT_TRUE(purged);

  // Expired 10 s ago, within the 60 s grace, so it is kept and polls still get expired_token.
  auto kept = app.store().findByDeviceCode(recent.device_code_hash);
  ASSERT_TRUE(kept.hasValue()) << kept.error().message;
  EXPECT_TRUE(kept->has_value());
  app.stop();
}

}  // namespace
}  // namespace devauth
