#pragma once

// The fixture of the black-box conformance tests: a real `devauth serve` binary started as a
// child process, and helpers that assert RFC 6749 §5.2 error responses. Each test file of this
// folder includes it; the definitions are in an unnamed namespace, so each file gets its own.

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "e2e/child_process.h"
#include "support/http_client.h"

namespace devauth::testing {
namespace {

using namespace std::chrono_literals;

const std::string kBinary = DEVAUTH_BINARY;
const std::string kUrn = "urn:ietf:params:oauth:grant-type:device_code";
const std::string kPassword = "correct horse battery staple";
constexpr auto kCommandTimeout = 20s;

std::uint16_t pickFreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

boost::json::object jsonObject(const HttpResult& result) {
  boost::system::error_code error;
  auto value = boost::json::parse(result.body, error);
  if (error || !value.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << result.body;
    return {};
  }
  return value.get_object();
}

std::string stringField(const HttpResult& result, const char* name) {
  const auto body = jsonObject(result);
  const auto* value = body.if_contains(name);
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

// RFC 6749 §5.2: status, JSON, no-store, the error code, and the allowed description
// characters (%x20-21 / %x23-5B / %x5D-7E).
void expectError(const HttpResult& result, unsigned status, const std::string& error) {
  EXPECT_EQ(result.status, status) << result.body;
  EXPECT_EQ(result.header("Content-Type").rfind("application/json", 0), 0u);
  EXPECT_EQ(result.header("Cache-Control"), "no-store");
  EXPECT_EQ(stringField(result, "error"), error) << result.body;
  for (char c : stringField(result, "error_description")) {
    EXPECT_TRUE(c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') << result.body;
  }
}

// A running `devauth serve` with the fixture clients pub1, pub2, conf1, nodev and bank (an
// approver), and the user u1, all created with the CLI.
class DevauthServer {
 public:
  explicit DevauthServer(std::vector<std::string> extra_flags) {
    directory_ = std::filesystem::temp_directory_path() /
                 ("devauth-conformance-" + std::to_string(::getpid()) + "-" +
                  std::to_string(pickFreePort()));
    std::filesystem::create_directories(directory_);
    store_ = (directory_ / "devauth.db").string();
    run({"client", "add", "pub1", "--name", "Public One", "--scopes", "read write",
         "--default-scopes", "read"});
    run({"client", "add", "pub2", "--scopes", "read"});
    conf1_secret_ = run({"client", "add", "conf1", "--confidential", "--scopes", "read"});
    bank_secret_ =
        run({"client", "add", "bank", "--confidential", "--may-approve", "--scopes", "read"});
    run({"client", "add", "nodev", "--no-device-grant", "--scopes", "read"});
    run({"user", "add", "u1"}, kPassword + "\n");

    for (int attempt = 0; attempt < 3 && !healthy_; ++attempt) {
      port_ = pickFreePort();
      std::vector<std::string> arguments{
          kBinary, "serve",        "--port", std::to_string(port_), "--store", store_, "--interval",
          "2",     "--expires-in", "10",     "--threads",           "2"};
      arguments.insert(arguments.end(), extra_flags.begin(), extra_flags.end());
      process_ = std::make_unique<ChildProcess>(arguments);
      healthy_ = waitForHealthy();
    }
  }
  ~DevauthServer() {
    process_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  bool healthy() const { return healthy_; }
  std::uint16_t port() const { return port_; }
  const std::string& conf1Secret() const { return conf1_secret_; }
  const std::string& bankSecret() const { return bank_secret_; }
  std::string log() const { return process_->stderrText(); }
  // True when the server's log shows `needle` at least `times` times within 5 s. The log
  // reaches the test through a pipe and a reader thread, so a line may arrive after the
  // response that caused it.
  bool logs(const std::string& needle, std::size_t times = 1) const {
    return process_->waitForStderr(
        [&](const std::string& text) { return occurrences(text, needle) >= times; }, 5s);
  }
  static std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++count;
    }
    return count;
  }

  // Runs a CLI command on the server's store to completion and returns its stdout without the
  // final newline. The running server sees clients added this way at its next request.
  std::string run(std::vector<std::string> arguments, const std::string& input = {}) {
    arguments.insert(arguments.begin(), kBinary);
    arguments.insert(arguments.end(), {"--store", store_});
    ChildProcess child(arguments);
    child.writeStdin(input);
    EXPECT_EQ(child.waitForExit(kCommandTimeout), 0) << child.stderrText();
    std::string output = child.stdoutText();
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) {
      output.pop_back();
    }
    return output;
  }

 private:
  bool waitForHealthy() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (process_->waitForExit(0ms)) {
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
  std::string conf1_secret_;
  std::string bank_secret_;
  std::uint16_t port_ = 0;
  bool healthy_ = false;
  std::unique_ptr<ChildProcess> process_;
};

struct Codes {
  std::string device_code;
  std::string user_code;
};

class ConformanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new DevauthServer(
        {"--client-auth-failures-per-address", "0", "--client-auth-failures-per-client", "0",
         "--device-requests-per-address", "0", "--device-requests-per-client", "0",
         "--user-code-failures-per-address", "0", "--user-code-failures-per-session", "0",
         "--user-code-failures-total", "0"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->healthy()) << server_->log(); }

  std::uint16_t port() const { return server_->port(); }

  HttpResult post(const std::string& target, const Fields& fields, const Fields& headers = {}) {
    return postForm(port(), target, fields, headers);
  }
  HttpResult begin(const Fields& fields, const Fields& headers = {}) {
    return post("/oauth/device/begin", fields, headers);
  }
  HttpResult token(const Fields& fields, const Fields& headers = {}) {
    return post("/oauth/device/token", fields, headers);
  }
  HttpResult poll(const Codes& codes, const std::string& client_id = "pub1") {
    return token(
        {{"grant_type", kUrn}, {"device_code", codes.device_code}, {"client_id", client_id}});
  }
  Codes beginFor(const std::string& client_id) {
    const HttpResult result = begin({{"client_id", client_id}});
    EXPECT_EQ(result.status, 200u) << result.body;
    return Codes{stringField(result, "device_code"), stringField(result, "user_code")};
  }
  HttpResult decide(const std::string& path, const std::string& user_code) {
    return post(path, {{"user_code", user_code}, {"subject", "customer-1"}},
                {{"Authorization", basicAuthorization("bank", server_->bankSecret())}});
  }
  void approve(const Codes& codes) {
    ASSERT_EQ(decide("/oauth/device/approve", codes.user_code).status, 200u);
  }

  static DevauthServer* server_;
};

}  // namespace
}  // namespace devauth::testing
