// End-to-end tests of the devauth binary: the administrative commands, `devauth serve` and
// `devauth login` run as child processes, and the test acts as the person's phone.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e/child_process.h"
#include "support/http_client.h"

namespace devauth::testing {
namespace {

using namespace std::chrono_literals;

// Time allowed for a child that should exit at once, and for the whole approval round trip.
constexpr auto kCommandTimeout = 30s;
constexpr auto kLoginTimeout = 30s;

const std::string kBinary = DEVAUTH_BINARY;
const std::string kPassword = "correct horse battery staple";

// A user code as the login command prints it (RFC 8628 §6.1 alphabet, XXXX-XXXX).
const std::regex kUserCodePattern("[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}");

// Returns a port that was free a moment ago. Another process may take it before devauth binds
// it, so serve is started with a retry.
std::uint16_t pickFreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::string findCsrfToken(const std::string& html) {
  static const std::regex pattern("name=\"csrf_token\" value=\"([^\"]+)\"");
  std::smatch match;
  return std::regex_search(html, match, pattern) ? match[1].str() : "";
}

// The person's browser: keeps the session cookie and the CSRF token of the last page.
class Browser {
 public:
  explicit Browser(std::uint16_t port) : port_(port) {}

  HttpResult get(const std::string& target) {
    return remember(httpRequest(port_, "GET", target, {}, cookies()));
  }

  // POSTs `fields` plus the CSRF token of the last page.
  HttpResult post(const std::string& target, Fields fields) {
    fields.emplace_back("csrf_token", csrf_token_);
    return remember(postForm(port_, target, fields, cookies()));
  }

 private:
  Fields cookies() const { return cookie_.empty() ? Fields{} : Fields{{"Cookie", cookie_}}; }

  HttpResult remember(HttpResult result) {
    const std::string set_cookie = result.header("Set-Cookie");
    if (!set_cookie.empty()) {
      cookie_ = set_cookie.substr(0, set_cookie.find(';'));
    }
    const std::string token = findCsrfToken(result.body);
    if (!token.empty()) {
      csrf_token_ = token;
    }
    return result;
  }

  std::uint16_t port_;
  std::string cookie_;
  std::string csrf_token_;
};

class LoginEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("devauth-e2e-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    store_ = (directory_ / "devauth.db").string();
  }

  void TearDown() override {
    login_.reset();
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  // Runs `devauth ARGS... --store STORE` to completion with `input` on stdin.
  std::unique_ptr<ChildProcess> runCommand(std::vector<std::string> arguments,
                                           const std::string& input = {}) {
    arguments.insert(arguments.begin(), kBinary);
    arguments.insert(arguments.end(), {"--store", store_});
    auto child = std::make_unique<ChildProcess>(arguments);
    child->writeStdin(input);
    child->waitForExit(kCommandTimeout);
    return child;
  }

  void addClientAndUser() {
    auto client = runCommand({"client", "add", "tv-test", "--name", "Test TV", "--scopes", "read"});
    ASSERT_EQ(client->waitForExit(0ms), 0) << client->stderrText();
    auto user = runCommand({"user", "add", "alice"}, kPassword + "\n");
    ASSERT_EQ(user->waitForExit(0ms), 0) << user->stderrText();
  }

  // Starts `devauth serve` on a free port and waits until /healthz returns 200.
  void startServer() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = pickFreePort();
      server_ = std::make_unique<ChildProcess>(
          std::vector<std::string>{kBinary, "serve", "--port", std::to_string(port_), "--store",
                                   store_, "--interval", "1", "--threads", "2"});
      if (waitForHealthy()) {
        return;
      }
    }
    FAIL() << "devauth serve did not become healthy; stderr:\n" << server_->stderrText();
  }

  bool waitForHealthy() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (server_->waitForExit(0ms)) {
        return false;
      }
      try {
        if (httpRequest(port_, "GET", "/healthz").status == 200) {
          return true;
        }
      } catch (const boost::system::system_error&) {
        // Not listening yet.
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // Starts `devauth login` and returns the user code it shows.
  std::string startLogin() {
    login_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        kBinary, "login", "--server", "http://127.0.0.1:" + std::to_string(port_), "--client-id",
        "tv-test", "--no-qr"});
    std::smatch match;
    const bool shown = login_->waitForStderr(
        [&](const std::string& text) { return std::regex_search(text, kUserCodePattern); },
        kCommandTimeout);
    EXPECT_TRUE(shown) << "login stderr:\n" << login_->stderrText();
    const std::string text = login_->stderrText();
    return std::regex_search(text, match, kUserCodePattern) ? match[0].str() : "";
  }

  // Enters `user_code` on the verification pages, signs in as alice and sends `decision`.
  void decideOnPhone(const std::string& user_code, const std::string& decision) {
    Browser phone(port_);
    auto page = phone.get("/device");
    ASSERT_EQ(page.status, 200u);
    ASSERT_FALSE(findCsrfToken(page.body).empty()) << page.body;

    auto sign_in = phone.post("/device", {{"user_code", user_code}});
    ASSERT_EQ(sign_in.status, 200u) << sign_in.body;

    auto consent =
        phone.post("/device/login",
                   {{"username", "alice"}, {"password", kPassword}, {"user_code", user_code}});
    ASSERT_EQ(consent.status, 200u) << consent.body;
    EXPECT_NE(consent.body.find("Test TV"), std::string::npos);

    auto done = phone.post("/device/decision", {{"decision", decision}, {"user_code", user_code}});
    ASSERT_EQ(done.status, 200u) << done.body;
  }

  std::filesystem::path directory_;
  std::string store_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> server_;
  std::unique_ptr<ChildProcess> login_;
};

TEST_F(LoginEndToEndTest, ApprovedLoginPrintsTokenResponse) {
  ASSERT_NO_FATAL_FAILURE(addClientAndUser());
  ASSERT_NO_FATAL_FAILURE(startServer());
  const std::string user_code = startLogin();
  ASSERT_FALSE(user_code.empty());

  ASSERT_NO_FATAL_FAILURE(decideOnPhone(user_code, "approve"));

  ASSERT_EQ(login_->waitForExit(kLoginTimeout), 0) << login_->stderrText();
  const std::string output = login_->stdoutText();
  ASSERT_FALSE(output.empty());
  EXPECT_EQ(output.find('\n'), output.size() - 1) << "stdout is not one line: " << output;
  const auto token = boost::json::parse(output);
  ASSERT_TRUE(token.is_object()) << output;
  const auto& object = token.as_object();
  ASSERT_TRUE(object.contains("access_token"));
  ASSERT_TRUE(object.at("access_token").is_string());
  EXPECT_FALSE(object.at("access_token").as_string().empty());
  ASSERT_TRUE(object.contains("token_type"));
  ASSERT_TRUE(object.at("token_type").is_string());
  EXPECT_EQ(object.at("token_type").as_string(), "Bearer");
  // The user code is shown to the person, never as part of the JSON on stdout.
  EXPECT_EQ(output.find(user_code), std::string::npos);
}

// The server advertises devauth_device_poll_max_wait (20 s by default), so login polls with
// Prefer: wait. Its poll is held when the person approves, and the approval ends it.
TEST_F(LoginEndToEndTest, LoginPollIsHeldUntilApproval) {
  ASSERT_NO_FATAL_FAILURE(addClientAndUser());
  ASSERT_NO_FATAL_FAILURE(startServer());
  const std::string user_code = startLogin();
  ASSERT_FALSE(user_code.empty());

  bool held = false;
  const auto deadline = std::chrono::steady_clock::now() + kCommandTimeout;
  while (!held && std::chrono::steady_clock::now() < deadline) {
    held = httpRequest(port_, "GET", "/metrics").body.find("\ndevauth_held_polls 1\n") !=
           std::string::npos;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(held) << "login stderr:\n" << login_->stderrText();
  ASSERT_NO_FATAL_FAILURE(decideOnPhone(user_code, "approve"));

  ASSERT_EQ(login_->waitForExit(kLoginTimeout), 0) << login_->stderrText();
  const auto token = boost::json::parse(login_->stdoutText());
  ASSERT_TRUE(token.is_object()) << login_->stdoutText();
  EXPECT_TRUE(token.as_object().contains("access_token"));
}

TEST_F(LoginEndToEndTest, DeniedLoginExitsWithTwo) {
  ASSERT_NO_FATAL_FAILURE(addClientAndUser());
  ASSERT_NO_FATAL_FAILURE(startServer());
  const std::string user_code = startLogin();
  ASSERT_FALSE(user_code.empty());

  ASSERT_NO_FATAL_FAILURE(decideOnPhone(user_code, "deny"));

  EXPECT_EQ(login_->waitForExit(kLoginTimeout), 2) << login_->stderrText();
  EXPECT_EQ(login_->stdoutText(), "");
  EXPECT_NE(login_->stderrText().find("denied"), std::string::npos) << login_->stderrText();
}

TEST_F(LoginEndToEndTest, LoginWithUnknownClientExitsWithOne) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  login_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      kBinary, "login", "--server", "http://127.0.0.1:" + std::to_string(port_), "--client-id",
      "no-such-client", "--no-qr"});

  EXPECT_EQ(login_->waitForExit(kCommandTimeout), 1);
  EXPECT_NE(login_->stderrText().find("invalid_client"), std::string::npos) << login_->stderrText();
  EXPECT_EQ(login_->stdoutText(), "");
}

TEST_F(LoginEndToEndTest, ServeStopsCleanlyOnSigterm) {
  ASSERT_NO_FATAL_FAILURE(startServer());

  server_->signal(SIGTERM);

  EXPECT_EQ(server_->waitForExit(kCommandTimeout), 0) << server_->stderrText();
  EXPECT_NE(server_->stderrText().find("event=signal_received signal=SIGTERM"), std::string::npos)
      << server_->stderrText();
  EXPECT_NE(server_->stderrText().find("event=server_stopped"), std::string::npos)
      << server_->stderrText();
}

TEST_F(LoginEndToEndTest, ServeExitsWithOneWhenPortIsTaken) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const std::string port = std::to_string(taken.local_endpoint().port());

  ChildProcess server({kBinary, "serve", "--port", port, "--store", store_});

  EXPECT_EQ(server.waitForExit(kCommandTimeout), 1);
  EXPECT_NE(server.stderrText().find("cannot listen"), std::string::npos) << server.stderrText();
}

TEST_F(LoginEndToEndTest, ClientSecretPrintedOnlyAtCreation) {
  auto added = runCommand({"client", "add", "backend", "--confidential", "--may-approve"});
  ASSERT_EQ(added->waitForExit(0ms), 0) << added->stderrText();
  const std::string secret = added->stdoutText();
  // 32 random bytes as unpadded base64url, then a newline.
  ASSERT_EQ(secret.size(), 44u) << secret;

  auto listed = runCommand({"client", "list"});
  ASSERT_EQ(listed->waitForExit(0ms), 0) << listed->stderrText();
  EXPECT_NE(listed->stdoutText().find("backend"), std::string::npos) << listed->stdoutText();
  EXPECT_NE(listed->stdoutText().find("may-approve"), std::string::npos);
  EXPECT_EQ(listed->stdoutText().find(secret.substr(0, 43)), std::string::npos);
}

TEST_F(LoginEndToEndTest, ClientRelayTokensFlagIsStoredAndShown) {
  auto plain = runCommand({"client", "add", "tv-plain"});
  ASSERT_EQ(plain->waitForExit(0ms), 0) << plain->stderrText();
  auto relaying = runCommand({"client", "add", "tv-relay", "--relay-tokens"});
  ASSERT_EQ(relaying->waitForExit(0ms), 0) << relaying->stderrText();

  auto listed = runCommand({"client", "list"});
  ASSERT_EQ(listed->waitForExit(0ms), 0) << listed->stderrText();
  const std::string table = listed->stdoutText();
  const auto relay_row = table.find("tv-relay");
  const auto plain_row = table.find("tv-plain");
  ASSERT_NE(relay_row, std::string::npos) << table;
  ASSERT_NE(plain_row, std::string::npos) << table;
  EXPECT_NE(table.substr(relay_row, table.find('\n', relay_row) - relay_row).find("relay-tokens"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.substr(plain_row, table.find('\n', plain_row) - plain_row).find("relay-tokens"),
            std::string::npos)
      << table;

  auto shown = runCommand({"client", "show", "tv-relay"});
  ASSERT_EQ(shown->waitForExit(0ms), 0) << shown->stderrText();
  EXPECT_NE(shown->stdoutText().find("relayed tokens:        yes\n"), std::string::npos)
      << shown->stdoutText();

  auto turned_off = runCommand({"client", "update", "tv-relay", "--no-relay-tokens"});
  ASSERT_EQ(turned_off->waitForExit(0ms), 0) << turned_off->stderrText();
  shown = runCommand({"client", "show", "tv-relay"});
  EXPECT_NE(shown->stdoutText().find("relayed tokens:        no\n"), std::string::npos)
      << shown->stdoutText();

  auto turned_on = runCommand({"client", "update", "tv-plain", "--relay-tokens"});
  ASSERT_EQ(turned_on->waitForExit(0ms), 0) << turned_on->stderrText();
  shown = runCommand({"client", "show", "tv-plain"});
  EXPECT_NE(shown->stdoutText().find("relayed tokens:        yes\n"), std::string::npos)
      << shown->stdoutText();

  auto both = runCommand({"client", "update", "tv-plain", "--relay-tokens", "--no-relay-tokens"});
  EXPECT_NE(both->waitForExit(0ms), 0);
  shown = runCommand({"client", "show", "tv-plain"});
  EXPECT_NE(shown->stdoutText().find("relayed tokens:        yes\n"), std::string::npos)
      << shown->stdoutText();
}

TEST_F(LoginEndToEndTest, UserAddRejectsEmptyPassword) {
  auto added = runCommand({"user", "add", "bob"}, "\n");

  EXPECT_EQ(added->waitForExit(0ms), 1);
  EXPECT_NE(added->stderrText().find("password is empty"), std::string::npos)
      << added->stderrText();
}

TEST_F(LoginEndToEndTest, ClientAddRejectsDuplicateId) {
  auto first = runCommand({"client", "add", "tv-test"});
  ASSERT_EQ(first->waitForExit(0ms), 0) << first->stderrText();

  auto second = runCommand({"client", "add", "tv-test"});

  EXPECT_EQ(second->waitForExit(0ms), 1);
  EXPECT_NE(second->stderrText().find("already exists"), std::string::npos) << second->stderrText();
}

}  // namespace
}  // namespace devauth::testing
