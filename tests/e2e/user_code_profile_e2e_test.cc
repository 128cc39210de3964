// End-to-end tests of per-client user code profiles with the real binary. `client add` and
// `client update` reject profiles that are too easy to guess, and `client show` prints them.
// `serve` and `config check` reject stored clients whose odds the limits no longer cover.
// `login --speak` prints the code as it is read aloud.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
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

constexpr auto kCommandTimeout = 30s;
const std::string kBinary = DEVAUTH_BINARY;

// Limits under which a 9-digit code with a check digit passes: 1 wrong code per address per
// minute and 10 live codes give 11 x 10 / 10^8 = 1.1 x 10^-6.
constexpr char kStrictLimits[] =
    "[limits]\nuser_code_failures_per_address = 1\nmax_live_authorizations = 10\n";

std::uint16_t pickFreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

class UserCodeProfileEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("devauth-voice-e2e-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    store_ = (directory_ / "devauth.db").string();
  }

  void TearDown() override {
    if (server_) {
      server_->signal(SIGTERM);
      server_->waitForExit(10s);
      server_.reset();
    }
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::unique_ptr<ChildProcess> run(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), kBinary);
    auto child = std::make_unique<ChildProcess>(arguments);
    child->writeStdin("");
    child->waitForExit(kCommandTimeout);
    return child;
  }

  std::string writeFile(const std::string& name, const std::string& text) {
    const std::string path = (directory_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  bool startServer(const std::vector<std::string>& extra = {}) {
    port_ = pickFreePort();
    std::vector<std::string> arguments{
        kBinary, "serve", "--threads", "2", "--port", std::to_string(port_), "--store", store_};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ChildProcess>(arguments);
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

  std::filesystem::path directory_;
  std::string store_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

TEST_F(UserCodeProfileEndToEndTest, ClientAddRejectsEasyProfile) {
  auto added =
      run({"client", "add", "keypad", "--user-code-profile", "digits:9:3:damm", "--store", store_});

  EXPECT_EQ(added->waitForExit(0ms), 1);
  EXPECT_NE(added->stderrText().find(
                "devauth client add: the user codes of client 'keypad' (digits:9:3:damm, 1e+08 "
                "codes, 600 s lifetime) are too easy to guess: 220 wrong codes per address per "
                "lifetime x 10000 live codes / 1e+08 codes = odds of 0.022"),
            std::string::npos)
      << added->stderrText();

  const std::string config = writeFile("strict.toml", kStrictLimits);
  auto strict = run({"client", "add", "keypad", "--user-code-profile", "digits:9:3:damm",
                     "--config", config, "--store", store_});
  EXPECT_EQ(strict->waitForExit(0ms), 0) << strict->stderrText();
}

TEST_F(UserCodeProfileEndToEndTest, ClientAddRejectsBadProfileText) {
  auto added =
      run({"client", "add", "keypad", "--user-code-profile", "digits:9", "--store", store_});

  EXPECT_EQ(added->waitForExit(0ms), 1);
  EXPECT_EQ(added->stderrText(),
            "devauth client add: invalid user code profile 'digits:9': use letters:LENGTH:GROUP "
            "or digits:LENGTH:GROUP[:damm]\n");
}

TEST_F(UserCodeProfileEndToEndTest, ClientAddRejectsNegativeLifetimeAndInterval) {
  for (const char* flag : {"--interval", "--expires-in"}) {
    auto added = run({"client", "add", "keypad", flag, "-1", "--store", store_});

    EXPECT_NE(added->waitForExit(0ms), 0) << flag;
    EXPECT_NE(added->stderrText().find(flag), std::string::npos) << added->stderrText();
  }
  auto shown = run({"client", "show", "keypad", "--store", store_});
  EXPECT_NE(shown->waitForExit(0ms), 0) << shown->stdoutText();
}

TEST_F(UserCodeProfileEndToEndTest, ClientUpdateChangesWhatShowPrints) {
  auto added = run({"client", "add", "keypad", "--user-code-profile", "digits:12:3:damm",
                    "--expires-in", "300", "--store", store_});
  ASSERT_EQ(added->waitForExit(0ms), 0) << added->stderrText();

  auto shown = run({"client", "show", "keypad", "--store", store_});
  EXPECT_NE(shown->stdoutText().find("user code profile:     digits:12:3:damm\n"
                                     "code lifetime:         300 seconds\n"
                                     "poll interval:         the server's setting\n"),
            std::string::npos)
      << shown->stdoutText();

  auto updated = run({"client", "update", "keypad", "--interval", "7", "--expires-in", "0",
                      "--user-code-profile", "letters:10:5", "--store", store_});
  ASSERT_EQ(updated->waitForExit(0ms), 0) << updated->stderrText();
  shown = run({"client", "show", "keypad", "--store", store_});
  EXPECT_NE(shown->stdoutText().find("user code profile:     letters:10:5\n"
                                     "code lifetime:         the server's setting\n"
                                     "poll interval:         7 seconds\n"),
            std::string::npos)
      << shown->stdoutText();

  auto rejected =
      run({"client", "update", "keypad", "--user-code-profile", "digits:8:4", "--store", store_});
  EXPECT_EQ(rejected->waitForExit(0ms), 1);
  EXPECT_NE(rejected->stderrText().find("are too easy to guess"), std::string::npos);
  shown = run({"client", "show", "keypad", "--store", store_});
  EXPECT_NE(shown->stdoutText().find("user code profile:     letters:10:5\n"), std::string::npos);
}

// A client added under strict limits is rejected once the server runs with the defaults.
TEST_F(UserCodeProfileEndToEndTest, ServeAndConfigCheckRejectStoredEasyProfile) {
  const std::string strict = writeFile("strict.toml", kStrictLimits);
  auto added = run({"client", "add", "keypad", "--user-code-profile", "digits:9:3:damm", "--config",
                    strict, "--store", store_});
  ASSERT_EQ(added->waitForExit(0ms), 0) << added->stderrText();

  EXPECT_FALSE(startServer());
  EXPECT_EQ(server_->waitForExit(10s), 1);
  EXPECT_NE(server_->stderrText().find(
                "devauth serve: the user codes of client 'keypad' (digits:9:3:damm"),
            std::string::npos)
      << server_->stderrText();
  server_.reset();

  const std::string defaults = writeFile("defaults.toml", "[server]\nstore = \"" + store_ + "\"\n");
  auto checked = run({"config", "check", defaults});
  EXPECT_EQ(checked->waitForExit(0ms), 1) << checked->stdoutText();
  EXPECT_NE(checked->stderrText().find("devauth config check: the user codes of client 'keypad'"),
            std::string::npos)
      << checked->stderrText();

  const std::string strict_with_store = writeFile(
      "strict-store.toml", std::string(kStrictLimits) + "[server]\nstore = \"" + store_ + "\"\n");
  auto passed = run({"config", "check", strict_with_store});
  EXPECT_EQ(passed->waitForExit(0ms), 0) << passed->stderrText();
}

TEST_F(UserCodeProfileEndToEndTest, ReloadRejectsLimitsTooLooseForStoredProfile) {
  const std::string config =
      writeFile("serve.toml", std::string(kStrictLimits) + "[device]\ninterval = 7\n");
  auto keypad = run({"client", "add", "keypad", "--user-code-profile", "digits:9:3:damm",
                     "--config", config, "--store", store_});
  ASSERT_EQ(keypad->waitForExit(0ms), 0) << keypad->stderrText();
  auto tv = run({"client", "add", "tv", "--store", store_});
  ASSERT_EQ(tv->waitForExit(0ms), 0) << tv->stderrText();
  ASSERT_TRUE(startServer({"--config", config})) << server_->stderrText();

  // The default limits make keypad's codes too easy to guess, so the whole file is rejected,
  // the new interval included.
  writeFile("serve.toml", "[device]\ninterval = 9\n");
  server_->signal(SIGHUP);
  ASSERT_TRUE(server_->waitForStderr(
      [](const std::string& text) {
        return text.find("event=config_reload_failed") != std::string::npos;
      },
      kCommandTimeout))
      << server_->stderrText();
  EXPECT_NE(server_->stderrText().find("the user codes of client 'keypad' (digits:9:3:damm"),
            std::string::npos)
      << server_->stderrText();
  EXPECT_EQ(server_->stderrText().find("event=config_reloaded"), std::string::npos);

  const HttpResult begun = httpRequest(port_, "POST", "/oauth/device/begin", "client_id=tv",
                                       {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(begun.status, 200u) << begun.body;
  EXPECT_NE(begun.body.find("\"interval\":7"), std::string::npos) << begun.body;
}

TEST_F(UserCodeProfileEndToEndTest, LoginSpeakPrintsSpokenCode) {
  auto added = run(
      {"client", "add", "keypad", "--user-code-profile", "digits:12:3:damm", "--store", store_});
  ASSERT_EQ(added->waitForExit(0ms), 0) << added->stderrText();
  ASSERT_TRUE(startServer()) << server_->stderrText();

  ChildProcess login({kBinary, "login", "--server", "http://127.0.0.1:" + std::to_string(port_),
                      "--client-id", "keypad", "--no-qr", "--speak"});
  const std::regex spoken_line(
      "\\|  ([0-9]{3})-([0-9]{3})-([0-9]{3})-([0-9]{3})  \\|[^]*"
      "Read aloud: ([a-z ,]+)\n");
  ASSERT_TRUE(login.waitForStderr(
      [&](const std::string& text) { return std::regex_search(text, spoken_line); }, 10s))
      << login.stderrText();

  std::smatch match;
  const std::string text = login.stderrText();
  ASSERT_TRUE(std::regex_search(text, match, spoken_line));
  static const char* const kWords[] = {"zero", "one", "two",   "three", "four",
                                       "five", "six", "seven", "eight", "nine"};
  std::string expected;
  for (int group = 1; group <= 4; ++group) {
    const std::string digits = match[group].str();
    expected += group > 1 ? ", " : "";
    for (std::size_t i = 0; i < digits.size(); ++i) {
      expected += std::string(i > 0 ? " " : "") + kWords[digits[i] - '0'];
    }
  }
  EXPECT_EQ(match[5].str(), expected);
  login.signal(SIGTERM);
  login.waitForExit(10s);
}

}  // namespace
}  // namespace devauth::testing
