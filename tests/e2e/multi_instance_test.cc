// Three `devauth serve` processes on one PostgreSQL database, as behind a load balancer. A flow
// may begin, be approved and be polled on different instances. Races between instances have one
// winner, slow_down state is shared, and an instance killed mid-flow loses nothing. Needs
// DEVAUTH_TEST_POSTGRES_URL (scripts/with-postgres.sh); skips without it, fails under CI=true.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e/child_process.h"
#include "jose/jws.h"
#include "store/postgres_test_database.h"
#include "support/http_client.h"

namespace devauth::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kCommandTimeout = 30s;
constexpr int kInstances = 3;
constexpr const char* kDeviceClient = "tv-multi";
constexpr const char* kApproverClient = "bank-backend";
constexpr const char* kDeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";
// With --interval 2 and the 1 s jitter tolerance, a poll less than 1 s after the last accepted
// one gets slow_down, and polls 1.1 s apart never do.
constexpr const char* kInterval = "2";
constexpr auto kPollSpacing = 1100ms;

const std::string kBinary = DEVAUTH_BINARY;

std::uint16_t pickFreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::string jsonString(const std::string& body, const char* key) {
  boost::system::error_code error;
  const auto value = boost::json::parse(body, error);
  if (error || !value.is_object() || !value.as_object().contains(key) ||
      !value.as_object().at(key).is_string()) {
    return "";
  }
  return std::string(value.as_object().at(key).as_string());
}

struct DeviceFlow {
  std::string device_code;
  std::string user_code;
};

class MultiInstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DEVAUTH_REQUIRE_POSTGRES_URL(url);
    database_.emplace(*url);
    store_ = database_->url();
    // Every instance must use the same key-encryption key; the first to sign creates the file.
    kek_file_ = ::testing::TempDir() + "devauth-multi-" + database_->name() + ".kek";

    auto device = runCommand({"client", "add", kDeviceClient, "--scopes", "read"});
    ASSERT_EQ(device->waitForExit(0ms), 0) << device->stderrText();
    auto approver = runCommand(
        {"client", "add", kApproverClient, "--confidential", "--may-approve", "--scopes", "read"});
    ASSERT_EQ(approver->waitForExit(0ms), 0) << approver->stderrText();
    approver_secret_ = approver->stdoutText();
    while (!approver_secret_.empty() && approver_secret_.back() == '\n') {
      approver_secret_.pop_back();
    }
    ASSERT_FALSE(approver_secret_.empty());

    for (int i = 0; i < kInstances; ++i) {
      startInstance(i);
    }
  }

  void TearDown() override {
    for (auto& instance : instances_) {
      if (instance) {
        instance->signal(SIGTERM);
        instance->waitForExit(10s);
      }
    }
    instances_.clear();
    std::remove(kek_file_.c_str());
  }

  std::unique_ptr<ChildProcess> runCommand(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), kBinary);
    arguments.insert(arguments.end(), {"--store", store_});
    auto child = std::make_unique<ChildProcess>(arguments);
    child->writeStdin("");
    child->waitForExit(kCommandTimeout);
    return child;
  }

  void startInstance(int index) {
    instances_.resize(kInstances);
    ports_.resize(kInstances);
    for (int attempt = 0; attempt < 3; ++attempt) {
      ports_[index] = pickFreePort();
      instances_[index] = std::make_unique<ChildProcess>(std::vector<std::string>{
          kBinary, "serve", "--port", std::to_string(ports_[index]), "--store", store_,
          "--interval", kInterval, "--threads", "2", "--purge-period", "1", "--log-level", "debug",
          "--key-encryption-key-file", kek_file_});
      if (waitForHealthy(index)) {
        return;
      }
    }
    FAIL() << "instance " << index << " did not become healthy; stderr:\n"
           << instances_[index]->stderrText();
  }

  bool waitForHealthy(int index) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (instances_[index]->waitForExit(0ms)) {
        return false;
      }
      try {
        if (httpRequest(ports_[index], "GET", "/healthz").status == 200) {
          return true;
        }
      } catch (const boost::system::system_error&) {
        // Not listening yet.
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  DeviceFlow begin(int index) {
    const auto result = postForm(ports_[index], "/oauth/device/begin",
                                 {{"client_id", kDeviceClient}, {"scope", "read"}});
    EXPECT_EQ(result.status, 200u) << result.body;
    return {jsonString(result.body, "device_code"), jsonString(result.body, "user_code")};
  }

  HttpResult poll(int index, const DeviceFlow& flow) {
    return postForm(ports_[index], "/oauth/device/token",
                    {{"grant_type", kDeviceCodeGrant},
                     {"device_code", flow.device_code},
                     {"client_id", kDeviceClient}});
  }

  HttpResult approve(int index, const DeviceFlow& flow) {
    return postForm(ports_[index], "/oauth/device/approve",
                    {{"user_code", flow.user_code}, {"subject", "customer-42"}},
                    {{"Authorization", basicAuthorization(kApproverClient, approver_secret_)}});
  }

  std::optional<TestDatabase> database_;
  std::string store_;
  std::string approver_secret_;
  std::string kek_file_;
  std::vector<std::unique_ptr<ChildProcess>> instances_;
  std::vector<std::uint16_t> ports_;
};

TEST_F(MultiInstanceTest, FlowSpreadOverInstancesCompletes) {
  const DeviceFlow flow = begin(0);
  ASSERT_FALSE(flow.device_code.empty());

  const auto pending = poll(0, flow);
  EXPECT_EQ(pending.status, 400u);
  EXPECT_EQ(jsonString(pending.body, "error"), "authorization_pending");
  EXPECT_EQ(pending.header("Cache-Control"), "no-store");

  const auto approved = approve(1, flow);
  ASSERT_EQ(approved.status, 200u) << approved.body;
  EXPECT_EQ(jsonString(approved.body, "state"), "approved");

  std::this_thread::sleep_for(kPollSpacing);
  const auto token = poll(2, flow);
  ASSERT_EQ(token.status, 200u) << token.body;
  EXPECT_FALSE(jsonString(token.body, "access_token").empty());
  EXPECT_EQ(token.header("Cache-Control"), "no-store");

  // Every instance now rejects the used code.
  for (int i = 0; i < kInstances; ++i) {
    SCOPED_TRACE(i);
    const auto again = poll(i, flow);
    EXPECT_EQ(again.status, 400u);
    EXPECT_EQ(jsonString(again.body, "error"), "invalid_grant");
  }
}

// Instances that sign their first JWT access tokens at the same moment create one key between
// them, and the JWKS of any instance verifies the tokens of every instance.
TEST_F(MultiInstanceTest, InstancesSignWithOneSharedKey) {
  constexpr const char* kJwtClient = "tv-jwt";
  auto added =
      runCommand({"client", "add", kJwtClient, "--scopes", "read", "--access-token-format", "jwt"});
  ASSERT_EQ(added->waitForExit(0ms), 0) << added->stderrText();

  std::vector<DeviceFlow> flows;
  for (int i = 0; i < kInstances; ++i) {
    const auto begun =
        postForm(ports_[i], "/oauth/device/begin", {{"client_id", kJwtClient}, {"scope", "read"}});
    ASSERT_EQ(begun.status, 200u) << begun.body;
    flows.push_back({jsonString(begun.body, "device_code"), jsonString(begun.body, "user_code")});
    ASSERT_EQ(approve(i, flows.back()).status, 200u);
  }

  std::vector<HttpResult> tokens(kInstances);
  std::vector<std::thread> pollers;
  for (int i = 0; i < kInstances; ++i) {
    pollers.emplace_back([&, i] {
      tokens[i] = postForm(ports_[i], "/oauth/device/token",
                           {{"grant_type", kDeviceCodeGrant},
                            {"device_code", flows[i].device_code},
                            {"client_id", kJwtClient}});
    });
  }
  for (auto& poller : pollers) {
    poller.join();
  }

  for (int i = 0; i < kInstances; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(tokens[i].status, 200u) << tokens[i].body;
    const std::string token = jsonString(tokens[i].body, "access_token");
    const auto header = jose::decodeHeader(token);
    ASSERT_TRUE(header.hasValue()) << header.error();
    const std::string kid(header->at("kid").as_string());

    // The next instance's JWKS has exactly the one key, and it verifies this token.
    const auto jwks = httpRequest(ports_[(i + 1) % kInstances], "GET", "/oauth/jwks");
    ASSERT_EQ(jwks.status, 200u);
    const auto keys = boost::json::parse(jwks.body).as_object().at("keys").as_array();
    ASSERT_EQ(keys.size(), 1u) << jwks.body;
    EXPECT_EQ(keys[0].as_object().at("kid").as_string(), kid);
    auto key = jose::Key::fromPublicJwk(keys[0].as_object());
    ASSERT_TRUE(key.hasValue()) << key.error();
    auto verified = jose::verify(token, *key);
    ASSERT_TRUE(verified.hasValue()) << verified.error();
    EXPECT_EQ(verified->claims.at("client_id").as_string(), kJwtClient);
  }
}

// RFC 8628 §3.5: a poll faster than the interval gets slow_down, whichever instance took the
// previous poll.
TEST_F(MultiInstanceTest, SlowDownHoldsAcrossInstances) {
  const DeviceFlow flow = begin(0);

  const auto first = poll(0, flow);
  EXPECT_EQ(jsonString(first.body, "error"), "authorization_pending");
  const auto second = poll(1, flow);
  EXPECT_EQ(second.status, 400u);
  EXPECT_EQ(jsonString(second.body, "error"), "slow_down");
}

TEST_F(MultiInstanceTest, ConcurrentApprovalsHaveOneWinner) {
  const DeviceFlow flow = begin(0);
  constexpr int kApprovers = 9;

  std::vector<HttpResult> results(kApprovers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kApprovers; ++i) {
    threads.emplace_back([&, i] { results[i] = approve(i % kInstances, flow); });
  }
  for (auto& thread : threads) {
    thread.join();
  }

  int winners = 0;
  for (const auto& result : results) {
    if (result.status == 200u) {
      ++winners;
    } else {
      EXPECT_EQ(result.status, 400u) << result.body;
      EXPECT_EQ(jsonString(result.body, "error"), "invalid_grant") << result.body;
    }
  }
  EXPECT_EQ(winners, 1);
}

TEST_F(MultiInstanceTest, ConcurrentRedemptionsHaveOneWinner) {
  const DeviceFlow flow = begin(0);
  ASSERT_EQ(approve(1, flow).status, 200u);
  constexpr int kPollers = 9;

  std::vector<HttpResult> results(kPollers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPollers; ++i) {
    threads.emplace_back([&, i] { results[i] = poll(i % kInstances, flow); });
  }
  for (auto& thread : threads) {
    thread.join();
  }

  int tokens = 0;
  for (const auto& result : results) {
    if (result.status == 200u) {
      ++tokens;
      EXPECT_FALSE(jsonString(result.body, "access_token").empty());
    } else {
      EXPECT_EQ(result.status, 400u) << result.body;
      EXPECT_EQ(jsonString(result.body, "error"), "invalid_grant") << result.body;
    }
  }
  EXPECT_EQ(tokens, 1);
}

// An instance keeps no state outside the database, so SIGKILL, without any shutdown, loses
// nothing.
TEST_F(MultiInstanceTest, KilledInstanceLosesNothing) {
  const DeviceFlow flow = begin(0);
  ASSERT_EQ(jsonString(poll(0, flow).body, "error"), "authorization_pending");

  instances_[0]->signal(SIGKILL);
  EXPECT_EQ(instances_[0]->waitForExit(10s), std::nullopt);
  instances_[0].reset();

  // The poll just accepted on the killed instance still counts.
  const auto early = poll(1, flow);
  EXPECT_EQ(jsonString(early.body, "error"), "slow_down");

  ASSERT_EQ(approve(1, flow).status, 200u);
  const auto token = poll(2, flow);
  ASSERT_EQ(token.status, 200u) << token.body;
  EXPECT_FALSE(jsonString(token.body, "access_token").empty());
}

// Each instance purges every second (--purge-period 1); the purges overlap without failing.
TEST_F(MultiInstanceTest, PurgeRunsOnEveryInstanceWithoutErrors) {
  const std::regex purged("event=purge_done");
  for (int i = 0; i < kInstances; ++i) {
    SCOPED_TRACE(i);
    const bool purged_twice = instances_[i]->waitForStderr(
        [&](const std::string& text) {
          return std::distance(std::sregex_iterator(text.begin(), text.end(), purged),
                               std::sregex_iterator()) >= 2;
        },
        10s);
    EXPECT_TRUE(purged_twice) << instances_[i]->stderrText();
    const std::string log = instances_[i]->stderrText();
    EXPECT_EQ(log.find("purge_failed"), std::string::npos) << log;
    // A PostgreSQL store runs handlers on a handler pool, off the I/O threads.
    EXPECT_TRUE(std::regex_search(log, std::regex("handler_threads=[1-9]"))) << log;
  }
}

}  // namespace
}  // namespace devauth::testing
