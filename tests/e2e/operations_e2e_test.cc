// End-to-end tests of the operations features with the real binary: configuration layers and
// reload, /metrics, JSON logs without secrets, request ids, readiness, and the administrative
// commands.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/device_code.h"
#include "core/secret.h"
#include "core/user_code.h"
#include "e2e/child_process.h"
#include "store/postgres_test_database.h"
#include "store/store.h"
#include "support/http_client.h"

namespace devauth::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kCommandTimeout = 30s;
const std::string kBinary = DEVAUTH_BINARY;
const std::string kDeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";
const std::string kPassword = "tangerine-lighthouse-7841";

std::uint16_t pickFreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// Sets an environment variable for the child processes started while it lives.
class ScopedEnvironment {
 public:
  ScopedEnvironment(std::string name, const std::string& value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment() { ::unsetenv(name_.c_str()); }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  std::string name_;
};

// The value of the sample `name_and_labels` in a /metrics body, or -1 when it is missing.
double sample(const std::string& exposition, const std::string& name_and_labels) {
  const std::string prefix = name_and_labels + " ";
  std::size_t at = 0;
  while ((at = exposition.find(prefix, at)) != std::string::npos) {
    if (at == 0 || exposition[at - 1] == '\n') {
      return std::stod(exposition.substr(at + prefix.size()));
    }
    at += prefix.size();
  }
  return -1;
}

std::string findCsrfToken(const std::string& html) {
  static const std::regex pattern("name=\"csrf_token\" value=\"([^\"]+)\"");
  std::smatch match;
  return std::regex_search(html, match, pattern) ? match[1].str() : "";
}

// A browser that keeps the session cookie and the CSRF token of the last page.
class Browser {
 public:
  explicit Browser(std::uint16_t port) : port_(port) {}

  HttpResult get(const std::string& target) {
    return remember(httpRequest(port_, "GET", target, {}, cookies()));
  }

  HttpResult post(const std::string& target, Fields fields) {
    fields.emplace_back("csrf_token", csrf_token_);
    return remember(postForm(port_, target, fields, cookies()));
  }

  const std::string& cookie() const { return cookie_; }

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

struct DeviceCodes {
  std::string device_code;
  std::string user_code;
  long long interval = 0;
  long long expires_in = 0;
};

class OperationsEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("devauth-ops-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    store_ = (directory_ / "devauth.db").string();
  }

  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  // Runs `devauth ARGS... --store STORE` to completion.
  std::unique_ptr<ChildProcess> run(std::vector<std::string> arguments,
                                    const std::string& input = {}) {
    arguments.insert(arguments.begin(), kBinary);
    arguments.insert(arguments.end(), {"--store", store_});
    auto child = std::make_unique<ChildProcess>(arguments);
    child->writeStdin(input);
    child->waitForExit(kCommandTimeout);
    return child;
  }

  // Registers the public client tv-test, the approving backend (returning its secret) and the
  // user alice.
  std::string addClientsAndUser() {
    auto tv = run({"client", "add", "tv-test", "--name", "Test TV", "--scopes", "read"});
    EXPECT_EQ(tv->waitForExit(0ms), 0) << tv->stderrText();
    auto backend = run({"client", "add", "backend", "--confidential", "--may-approve"});
    EXPECT_EQ(backend->waitForExit(0ms), 0) << backend->stderrText();
    auto user = run({"user", "add", "alice"}, kPassword + "\n");
    EXPECT_EQ(user->waitForExit(0ms), 0) << user->stderrText();
    std::string secret = backend->stdoutText();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
      secret.pop_back();
    }
    // The secret is the last word printed.
    return secret.substr(secret.find_last_of(" \n") + 1);
  }

  // Starts `devauth serve` on a free port, or on `port` when a configuration file sets it, with
  // the test's store unless `arguments` name another, and waits for /healthz.
  void startServer(const std::vector<std::string>& arguments = {}, std::uint16_t port = 0) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = port != 0 ? port : pickFreePort();
      std::vector<std::string> command = {kBinary, "serve", "--threads", "2"};
      if (port == 0) {
        command.insert(command.end(), {"--port", std::to_string(port_)});
      }
      if (std::find(arguments.begin(), arguments.end(), "--store") == arguments.end()) {
        command.insert(command.end(), {"--store", store_});
      }
      command.insert(command.end(), arguments.begin(), arguments.end());
      server_ = std::make_unique<ChildProcess>(command);
      if (waitForStatus(port_, "/healthz", 200)) {
        return;
      }
    }
    FAIL() << "devauth serve did not become healthy; stderr:\n" << server_->stderrText();
  }

  bool waitForStatus(std::uint16_t port, const std::string& target, unsigned status) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (server_->waitForExit(0ms)) {
        return false;
      }
      try {
        if (httpRequest(port, "GET", target).status == status) {
          return true;
        }
      } catch (const boost::system::system_error&) {
        // Not listening yet.
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  DeviceCodes begin(const std::string& client_id = "tv-test") {
    const HttpResult result = postForm(port_, "/oauth/device/begin", {{"client_id", client_id}});
    EXPECT_EQ(result.status, 200u) << result.body;
    const auto body = boost::json::parse(result.body).as_object();
    return DeviceCodes{std::string(body.at("device_code").as_string()),
                       std::string(body.at("user_code").as_string()),
                       body.at("interval").as_int64(), body.at("expires_in").as_int64()};
  }

  HttpResult poll(const DeviceCodes& codes, const std::string& client_id = "tv-test") {
    return postForm(port_, "/oauth/device/token",
                    {{"grant_type", kDeviceGrant},
                     {"device_code", codes.device_code},
                     {"client_id", client_id}});
  }

  HttpResult approveByBackend(const DeviceCodes& codes, const std::string& secret) {
    return postForm(port_, "/oauth/device/approve",
                    {{"user_code", codes.user_code}, {"subject", "customer-42"}},
                    {{"Authorization", basicAuthorization("backend", secret)}});
  }

  // Enters the code in a browser, signs in as alice and approves. Returns the session cookie.
  std::string approveOnPhone(const DeviceCodes& codes) {
    Browser phone(port_);
    EXPECT_EQ(phone.get("/device").status, 200u);
    EXPECT_EQ(phone.post("/device", {{"user_code", codes.user_code}}).status, 200u);
    const HttpResult consent = phone.post(
        "/device/login",
        {{"username", "alice"}, {"password", kPassword}, {"user_code", codes.user_code}});
    EXPECT_EQ(consent.status, 200u) << consent.body;
    const HttpResult done =
        phone.post("/device/decision", {{"decision", "approve"}, {"user_code", codes.user_code}});
    EXPECT_EQ(done.status, 200u) << done.body;
    return phone.cookie();
  }

  std::string accessToken(const HttpResult& result) {
    EXPECT_EQ(result.status, 200u) << result.body;
    if (result.status != 200u) {
      return "";
    }
    return std::string(boost::json::parse(result.body).as_object().at("access_token").as_string());
  }

  std::unique_ptr<Store> openTestStore() {
    auto opened = openStore(store_);
    EXPECT_TRUE(opened) << opened.error().message;
    return opened ? std::move(opened).value() : nullptr;
  }

  std::string writeConfig(const std::string& text) {
    const std::string path = (directory_ / "devauth.toml").string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path directory_;
  std::string store_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

// --- Configuration -----------------------------------------------------------------------

TEST_F(OperationsEndToEndTest, FlagOverridesEnvironmentOverridesFile) {
  addClientsAndUser();
  const std::uint16_t port = pickFreePort();
  const std::string config =
      writeConfig("[listen]\nport = " + std::to_string(port) + "\n[server]\nstore = \"" + store_ +
                  "\"\n[device]\ninterval = 11\nexpires_in = 100\n");
  ScopedEnvironment interval("DEVAUTH_DEVICE_INTERVAL", "12");
  ScopedEnvironment expires_in("DEVAUTH_DEVICE_EXPIRES_IN", "150");
  ASSERT_NO_FATAL_FAILURE(startServer({"--config", config, "--expires-in", "200"}, port));

  const DeviceCodes codes = begin();
  EXPECT_EQ(codes.interval, 12);     // the variable over the file
  EXPECT_EQ(codes.expires_in, 200);  // the flag over the variable and the file
}

TEST_F(OperationsEndToEndTest, InvalidVariableStopsStartWithItsName) {
  ScopedEnvironment port("DEVAUTH_LISTEN_PORT", "eighty");
  ChildProcess server({kBinary, "serve", "--store", store_});
  EXPECT_EQ(server.waitForExit(kCommandTimeout), 1);
  EXPECT_EQ(server.stderrText(),
            "devauth serve: DEVAUTH_LISTEN_PORT=eighty: expected an integer (listen.port)\n");
}

TEST_F(OperationsEndToEndTest, ConfigCheckNamesOffendingKey) {
  const std::string bad = writeConfig("[limits]\ndevice_request_per_client = 5\n");
  ChildProcess check({kBinary, "config", "check", bad});
  EXPECT_EQ(check.waitForExit(kCommandTimeout), 1);
  EXPECT_EQ(check.stderrText(), "devauth config check: " + bad +
                                    ":2:29: unknown key \"limits.device_request_per_client\"; "
                                    "did you mean \"limits.device_requests_per_client\"?\n");

  ChildProcess example(
      {kBinary, "config", "check", std::string(DEVAUTH_SOURCE_DIR) + "/docs/devauth.example.toml"});
  EXPECT_EQ(example.waitForExit(kCommandTimeout), 0) << example.stderrText();
}

TEST_F(OperationsEndToEndTest, SighupReloadsIntervalButNotIssuer) {
  addClientsAndUser();
  const std::string path = writeConfig("[device]\ninterval = 5\n");
  ASSERT_NO_FATAL_FAILURE(startServer({"--config", path}));
  EXPECT_EQ(begin().interval, 5);

  writeConfig("[device]\ninterval = 9\n[server]\nissuer = \"https://changed.example.com\"\n");
  server_->signal(SIGHUP);
  ASSERT_TRUE(server_->waitForStderr(
      [](const std::string& text) {
        return text.find("event=config_reloaded") != std::string::npos;
      },
      kCommandTimeout))
      << server_->stderrText();

  EXPECT_EQ(begin().interval, 9);
  EXPECT_NE(server_->stderrText().find("event=config_reload_skipped key=server.issuer"),
            std::string::npos)
      << server_->stderrText();
  EXPECT_EQ(httpRequest(port_, "GET", "/healthz").status, 200u);
}

// --- Metrics -----------------------------------------------------------------------------

TEST_F(OperationsEndToEndTest, MetricsFollowOneApprovedFlow) {
  const std::string secret = addClientsAndUser();
  ASSERT_NO_FATAL_FAILURE(startServer({"--interval", "5"}));

  const DeviceCodes codes = begin();
  const std::string live = httpRequest(port_, "GET", "/metrics").body;
  EXPECT_EQ(sample(live, "devauth_live_authorizations"), 1) << live;

  EXPECT_EQ(poll(codes).status, 400u);  // authorization_pending
  EXPECT_EQ(poll(codes).status, 400u);  // slow_down: polled at once
  EXPECT_EQ(approveByBackend(codes, secret).status, 200u);
  EXPECT_FALSE(accessToken(poll(codes)).empty());
  EXPECT_EQ(approveByBackend(codes, "wrong secret").status, 401u);

  const HttpResult scraped = httpRequest(port_, "GET", "/metrics");
  ASSERT_EQ(scraped.status, 200u);
  EXPECT_EQ(scraped.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = scraped.body;
  EXPECT_EQ(sample(text, "devauth_authorizations_total{stage=\"begun\"}"), 1) << text;
  EXPECT_EQ(sample(text, "devauth_authorizations_total{stage=\"code_entered\"}"), 1);
  EXPECT_EQ(sample(text, "devauth_authorizations_total{stage=\"approved\"}"), 1);
  EXPECT_EQ(sample(text, "devauth_authorizations_total{stage=\"denied\"}"), 0);
  EXPECT_EQ(sample(text, "devauth_authorizations_total{stage=\"redeemed\"}"), 1);
  EXPECT_EQ(sample(text, "devauth_polls_total{answer=\"pending\"}"), 1);
  EXPECT_EQ(sample(text, "devauth_polls_total{answer=\"slow_down\"}"), 1);
  EXPECT_EQ(sample(text, "devauth_polls_total{answer=\"issued\"}"), 1);
  EXPECT_EQ(sample(text, "devauth_guess_failures_total{kind=\"client_auth\"}"), 1);
  EXPECT_EQ(sample(text,
                   "devauth_http_requests_total{method=\"POST\",path=\"/oauth/device/token\","
                   "status=\"400\"}"),
            2);
  EXPECT_EQ(sample(text,
                   "devauth_http_requests_total{method=\"POST\",path=\"/oauth/device/token\","
                   "status=\"200\"}"),
            1);
  EXPECT_EQ(sample(text,
                   "devauth_http_request_duration_seconds_count{method=\"POST\","
                   "path=\"/oauth/device/token\"}"),
            3);
  EXPECT_GT(sample(text, "devauth_store_statement_duration_seconds_count"), 5);
}

TEST_F(OperationsEndToEndTest, MetricsOnSeparateListener) {
  const std::uint16_t metrics_port = pickFreePort();
  ASSERT_NO_FATAL_FAILURE(
      startServer({"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)}));
  EXPECT_EQ(httpRequest(metrics_port, "GET", "/metrics").status, 200u);
  EXPECT_EQ(httpRequest(port_, "GET", "/metrics").status, 404u);
}

// --- Logs --------------------------------------------------------------------------------

// Runs two whole flows with debug JSON logs and checks that no secret used in them appears.
TEST_F(OperationsEndToEndTest, DebugLogsCarryNoSecrets) {
  const std::string secret = addClientsAndUser();
  ASSERT_FALSE(secret.empty());
  ASSERT_NO_FATAL_FAILURE(
      startServer({"--interval", "1", "--log-level", "debug", "--log-format", "json"}));

  const DeviceCodes web = begin();
  EXPECT_EQ(poll(web).status, 400u);
  const std::string cookie = approveOnPhone(web);
  std::this_thread::sleep_for(1100ms);
  const std::string web_token = accessToken(poll(web));

  const DeviceCodes api = begin();
  EXPECT_EQ(approveByBackend(api, secret).status, 200u);
  const std::string api_token = accessToken(poll(api));
  // A failed sign-in and a wrong secret log their rejections too.
  Browser stranger(port_);
  stranger.get("/device");
  stranger.post("/device/login", {{"username", "alice"}, {"password", kPassword + "x"}});
  approveByBackend(api, secret + "x");

  server_->signal(SIGTERM);
  ASSERT_EQ(server_->waitForExit(kCommandTimeout), 0);
  const std::string logs = server_->stderrText();

  const std::vector<std::string> secrets = {
      web.device_code, web.user_code, *normalizeUserCode(web.user_code),  web_token,
      api.device_code, api.user_code, *normalizeUserCode(api.user_code),  api_token,
      kPassword,       secret,        cookie.substr(cookie.find('=') + 1)};
  for (const auto& value : secrets) {
    ASSERT_GE(value.size(), 8u);
    EXPECT_EQ(logs.find(value), std::string::npos) << "secret " << value << " in the logs";
  }

  // Every line is one JSON object with ts, level and msg; requests and audit lines are there.
  std::istringstream lines(logs);
  std::string line;
  int requests = 0;
  int audits = 0;
  while (std::getline(lines, line)) {
    boost::system::error_code error;
    const auto parsed = boost::json::parse(line, error);
    ASSERT_FALSE(error) << line;
    const auto& object = parsed.as_object();
    ASSERT_TRUE(object.contains("ts")) << line;
    ASSERT_TRUE(object.contains("level")) << line;
    ASSERT_TRUE(object.contains("msg")) << line;
    if (object.at("msg") == "request") {
      ++requests;
      EXPECT_TRUE(object.contains("request_id")) << line;
      EXPECT_TRUE(object.contains("method")) << line;
      EXPECT_TRUE(object.contains("path")) << line;
      EXPECT_TRUE(object.at("status").is_int64()) << line;
      EXPECT_TRUE(object.contains("duration_ms")) << line;
    }
    if (object.contains("audit")) {
      ++audits;
    }
  }
  EXPECT_GE(requests, 10);
  // Two approvals and two token issuances.
  EXPECT_EQ(audits, 4) << logs;
}

TEST_F(OperationsEndToEndTest, WellFormedRequestIdIsReturned) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  const HttpResult kept =
      httpRequest(port_, "GET", "/healthz", {}, {{"X-Request-Id", "lb-7f3a.9_Z-1"}});
  EXPECT_EQ(kept.header("X-Request-Id"), "lb-7f3a.9_Z-1");

  const HttpResult replaced =
      httpRequest(port_, "GET", "/healthz", {}, {{"X-Request-Id", "bad id\" injected=1"}});
  EXPECT_TRUE(std::regex_match(replaced.header("X-Request-Id"), std::regex("[0-9a-f]{16}")))
      << replaced.header("X-Request-Id");
}

// --- Health ------------------------------------------------------------------------------

TEST_F(OperationsEndToEndTest, ReadyzFailsWhilePostgresRefusesConnections) {
  DEVAUTH_REQUIRE_POSTGRES_URL(server_url);
  TestDatabase database(*server_url);
  // One pooled connection, so that the test knows which one to end.
  const std::string location = database.url("pool_size=1&pool_timeout=1");
  ASSERT_NO_FATAL_FAILURE(startServer({"--store", location}));
  ASSERT_EQ(httpRequest(port_, "GET", "/readyz").status, 200u);

  // The database stops taking connections and its open ones end, as when a server goes away.
  runAdminSql(*server_url, "ALTER DATABASE " + database.name() + " ALLOW_CONNECTIONS false");
  runAdminSql(*server_url,
              "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" +
                  database.name() + "'");
  const HttpResult unready = httpRequest(port_, "GET", "/readyz");
  EXPECT_EQ(unready.status, 503u) << unready.body;
  EXPECT_EQ(unready.header("Retry-After"), "5");
  EXPECT_EQ(httpRequest(port_, "GET", "/healthz").status, 200u);

  runAdminSql(*server_url, "ALTER DATABASE " + database.name() + " ALLOW_CONNECTIONS true");
  EXPECT_TRUE(waitForStatus(port_, "/readyz", 200));
  server_.reset();
}

// --- Administrative commands -------------------------------------------------------------

TEST_F(OperationsEndToEndTest, AuthorizationListAndCancel) {
  addClientsAndUser();
  ASSERT_NO_FATAL_FAILURE(startServer());
  const DeviceCodes first = begin();
  const DeviceCodes second = begin();
  const DeviceCodes third = begin();
  // The person who enters the second code signs in as alice and has not decided yet.
  std::string second_id;
  {
    auto store = openTestStore();
    ASSERT_NE(store, nullptr);
    auto found = store->findByDeviceCode(deviceCodeKey(second.device_code));
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->has_value());
    second_id = (*found)->id;
    auto bound = store->bindSubject(second_id, "alice", SystemClock().now());
    ASSERT_TRUE(bound) << bound.error().message;
    ASSERT_TRUE(*bound);
  }

  auto listed = run({"authorization", "list", "--client", "tv-test"});
  ASSERT_EQ(listed->waitForExit(0ms), 0) << listed->stderrText();
  const std::string table = listed->stdoutText();
  EXPECT_EQ(table.rfind("ID", 0), 0u) << table;
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 4) << table;
  const std::string header = table.substr(0, table.find('\n'));
  EXPECT_NE(header.find("FROM"), std::string::npos) << header;
  EXPECT_NE(header.find("SIGNED IN"), std::string::npos) << header;
  // Each row shows the loopback address the code was requested from, and the signed-in
  // account or "-".
  std::istringstream lines(table.substr(header.size() + 1));
  std::size_t rows = 0;
  for (std::string row; std::getline(lines, row); ++rows) {
    EXPECT_NE(row.find("127.0.0.1"), std::string::npos) << row;
    const bool is_second = row.rfind(second_id, 0) == 0;
    EXPECT_EQ(row.ends_with("  alice"), is_second) << row;
    EXPECT_EQ(row.ends_with("  -"), !is_second) << row;
  }
  EXPECT_EQ(rows, 3u);
  EXPECT_EQ(table.find(first.user_code), std::string::npos);

  auto by_code = run({"authorization", "cancel", "--user-code", first.user_code});
  ASSERT_EQ(by_code->waitForExit(0ms), 0) << by_code->stderrText();
  EXPECT_EQ(by_code->stdoutText(), "Cancelled 1 pending authorization.\n");
  EXPECT_NE(by_code->stderrText().find("event=authorization_cancelled audit=true"),
            std::string::npos);
  const HttpResult denied = poll(first);
  EXPECT_EQ(denied.status, 400u);
  EXPECT_NE(denied.body.find("\"access_denied\""), std::string::npos) << denied.body;

  auto again = run({"authorization", "cancel", "--user-code", first.user_code});
  EXPECT_EQ(again->waitForExit(0ms), 1);
  EXPECT_EQ(again->stderrText(),
            "devauth authorization cancel: no pending authorization matches\n");

  auto by_client = run({"authorization", "cancel", "--client", "tv-test"});
  ASSERT_EQ(by_client->waitForExit(0ms), 0) << by_client->stderrText();
  EXPECT_EQ(by_client->stdoutText(), "Cancelled 2 pending authorizations.\n");
  EXPECT_NE(poll(second).body.find("\"access_denied\""), std::string::npos);
  EXPECT_NE(poll(third).body.find("\"access_denied\""), std::string::npos);

  auto none = run({"authorization", "list"});
  ASSERT_EQ(none->waitForExit(0ms), 0);
  const std::string header_only = none->stdoutText();
  EXPECT_EQ(std::count(header_only.begin(), header_only.end(), '\n'), 1) << header_only;
}

TEST_F(OperationsEndToEndTest, GrantListAndRevoke) {
  addClientsAndUser();
  auto refreshing = run({"client", "add", "tv-refresh", "--scopes", "read", "--refresh-tokens"});
  ASSERT_EQ(refreshing->waitForExit(0ms), 0) << refreshing->stderrText();
  ASSERT_NO_FATAL_FAILURE(startServer({"--interval", "1"}));
  const DeviceCodes codes = begin("tv-refresh");
  approveOnPhone(codes);
  const HttpResult issued = poll(codes, "tv-refresh");
  const std::string token = accessToken(issued);
  ASSERT_FALSE(token.empty());
  const auto issued_body = boost::json::parse(issued.body).as_object();
  ASSERT_TRUE(issued_body.contains("refresh_token")) << issued.body;
  const std::string refresh_token(issued_body.at("refresh_token").as_string());

  auto listed = run({"grant", "list", "alice"});
  ASSERT_EQ(listed->waitForExit(0ms), 0) << listed->stderrText();
  const std::string table = listed->stdoutText();
  std::smatch match;
  ASSERT_TRUE(std::regex_search(table, match,
                                std::regex("\\n([0-9a-f]+) +tv-refresh +read +redeemed "
                                           "+[0-9T:Z-]+ +1 ")))
      << table;
  const std::string authorization_id = match[1].str();

  auto unknown = run({"grant", "revoke", "alice", "0000"});
  EXPECT_EQ(unknown->waitForExit(0ms), 1);
  EXPECT_EQ(unknown->stderrText(), "devauth grant revoke: user 'alice' has no grant 0000\n");

  auto revoked = run({"grant", "revoke", "alice", authorization_id});
  ASSERT_EQ(revoked->waitForExit(0ms), 0) << revoked->stderrText();
  EXPECT_EQ(revoked->stdoutText(), "Revoked 1 grant.\n");
  auto store = openTestStore();
  ASSERT_NE(store, nullptr);
  auto found = store->findToken(hashSecret(token));
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_FALSE(found->has_value());
  const HttpResult refreshed = postForm(port_, "/oauth/device/token",
                                        {{"grant_type", "refresh_token"},
                                         {"refresh_token", refresh_token},
                                         {"client_id", "tv-refresh"}});
  EXPECT_EQ(refreshed.status, 400u) << refreshed.body;
  EXPECT_NE(refreshed.body.find("\"invalid_grant\""), std::string::npos) << refreshed.body;

  auto after = run({"grant", "list", "alice"});
  ASSERT_EQ(after->waitForExit(0ms), 0);
  EXPECT_TRUE(std::regex_search(after->stdoutText(), std::regex(" 0 +- *\\n")))
      << after->stdoutText();

  auto nobody = run({"grant", "list", "bob"});
  EXPECT_EQ(nobody->waitForExit(0ms), 1);
  EXPECT_EQ(nobody->stderrText(), "devauth grant list: no user named 'bob'\n");
}

TEST_F(OperationsEndToEndTest, ClientShowAndRotateSecret) {
  const std::string old_secret = addClientsAndUser();
  ASSERT_NO_FATAL_FAILURE(startServer());

  auto shown = run({"client", "show", "backend"});
  ASSERT_EQ(shown->waitForExit(0ms), 0) << shown->stderrText();
  EXPECT_NE(shown->stdoutText().find("type:                  confidential\n"), std::string::npos)
      << shown->stdoutText();
  EXPECT_NE(shown->stdoutText().find("may approve:           yes\n"), std::string::npos);
  EXPECT_EQ(shown->stdoutText().find(old_secret), std::string::npos);

  auto rotated = run({"client", "rotate-secret", "backend"});
  ASSERT_EQ(rotated->waitForExit(0ms), 0) << rotated->stderrText();
  std::string new_secret = rotated->stdoutText();
  ASSERT_FALSE(new_secret.empty());
  new_secret.pop_back();
  EXPECT_NE(new_secret, old_secret);
  EXPECT_EQ(rotated->stderrText().find(new_secret), std::string::npos);

  const DeviceCodes codes = begin();
  EXPECT_EQ(approveByBackend(codes, old_secret).status, 401u);
  EXPECT_EQ(approveByBackend(codes, new_secret).status, 200u);

  auto public_client = run({"client", "rotate-secret", "tv-test"});
  EXPECT_EQ(public_client->waitForExit(0ms), 1);
  EXPECT_EQ(public_client->stderrText(),
            "devauth client rotate-secret: client 'tv-test' is public and has no secret\n");
}

}  // namespace
}  // namespace devauth::testing
