// Crash recovery of `devauth serve` on a SQLite file: device, approval API and polling traffic
// runs against the real binary, which is killed with SIGKILL at seeded random points and
// restarted on the same file. Whatever the server acknowledged before a kill must survive it:
// approvals, denials and issued tokens. No device code is redeemed twice, pending flows go on
// after a restart, and the database passes PRAGMA integrity_check after every kill.

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/secret.h"
#include "e2e/child_process.h"
#include "support/http_client.h"

namespace devauth::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kCommandTimeout = 30s;
constexpr char kDeviceCodeUrn[] = "urn:ietf:params:oauth:grant-type:device_code";
constexpr char kDeviceClient[] = "tv-crash";
constexpr char kApproverClient[] = "backend-crash";
// Fixed, so that a failure reproduces with the same kill points.
constexpr std::uint32_t kSeed = 8628;
constexpr int kRounds = 10;
// Bounds of the traffic in one round: at most this many requests, killed within this time.
constexpr int kMaxRequestsPerRound = 300;
constexpr int kMinKillDelayMs = 30;
// Flows are re-checked after every restart, so their number is capped.
constexpr std::size_t kMaxFlows = 60;
constexpr int kMaxKillDelayMs = 400;

const std::string kBinary = DEVAUTH_BINARY;

std::uint16_t pickFreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::string errorOf(const HttpResult& result) {
  boost::system::error_code ignored;
  const auto value = boost::json::parse(result.body, ignored);
  if (ignored || !value.is_object()) {
    return "";
  }
  const auto* error = value.as_object().if_contains("error");
  return error && error->is_string() ? std::string(error->get_string()) : "";
}

std::string stringField(const HttpResult& result, const char* name) {
  boost::system::error_code ignored;
  const auto value = boost::json::parse(result.body, ignored);
  if (ignored || !value.is_object()) {
    return "";
  }
  const auto* field = value.as_object().if_contains(name);
  return field && field->is_string() ? std::string(field->get_string()) : "";
}

enum class Decision { None, Approve, Deny };

// One device authorization as the client side saw it. "Acknowledged" means the server returned
// 200; a request that got no response before the kill leaves its outcome unknown.
struct Flow {
  std::string device_code;
  std::string user_code;
  Decision acknowledged = Decision::None;
  Decision in_flight = Decision::None;
  // Access tokens received for this device code; more than one is a double issuance.
  std::vector<std::string> tokens;
  // A poll got no response, and no later response showed the code unredeemed, so the code may
  // have been redeemed without the token reaching us.
  bool poll_unanswered = false;
};

// Opens the database file with the sqlite3 C API while no server runs.
class Database {
 public:
  explicit Database(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
  }
  ~Database() { sqlite3_close(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Returns the first column of the first row of `sql` as text, or nullopt when no row.
  std::optional<std::string> queryText(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return std::nullopt;
    }
    std::optional<std::string> text;
    if (sqlite3_step(statement) == SQLITE_ROW) {
      const auto* column = sqlite3_column_text(statement, 0);
      text = column ? reinterpret_cast<const char*>(column) : "";
    }
    sqlite3_finalize(statement);
    return text;
  }

  bool hasToken(const std::string& access_token) {
    const SecretHash hash = hashSecret(access_token);
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT 1 FROM tokens WHERE token_hash = ?", -1, &statement,
                           nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_);
      return false;
    }
    sqlite3_bind_blob(statement, 1, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
    const bool found = sqlite3_step(statement) == SQLITE_ROW;
    sqlite3_finalize(statement);
    return found;
  }

 private:
  sqlite3* db_ = nullptr;
};

class CrashRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        std::filesystem::temp_directory_path() / ("devauth-crash-" + std::to_string(::getpid()));
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    store_ = (directory_ / "devauth.db").string();
  }

  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::unique_ptr<ChildProcess> runCommand(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), kBinary);
    arguments.insert(arguments.end(), {"--store", store_});
    auto child = std::make_unique<ChildProcess>(arguments);
    child->writeStdin("");
    child->waitForExit(kCommandTimeout);
    return child;
  }

  void addClients() {
    auto device = runCommand({"client", "add", kDeviceClient, "--scopes", "read"});
    ASSERT_EQ(device->waitForExit(0ms), 0) << device->stderrText();
    auto approver =
        runCommand({"client", "add", kApproverClient, "--confidential", "--may-approve"});
    ASSERT_EQ(approver->waitForExit(0ms), 0) << approver->stderrText();
    approver_secret_ = approver->stdoutText();
    while (!approver_secret_.empty() && approver_secret_.back() == '\n') {
      approver_secret_.pop_back();
    }
    ASSERT_FALSE(approver_secret_.empty());
  }

  void startServer() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = pickFreePort();
      // The flood limits are off: the rounds begin more flows a minute than one address may,
      // and begins lost in a kill still count. This test is about state surviving a kill.
      server_ = std::make_unique<ChildProcess>(std::vector<std::string>{
          kBinary, "serve", "--port", std::to_string(port_), "--store", store_, "--interval", "1",
          "--threads", "2", "--device-requests-per-address", "0", "--device-requests-per-client",
          "0"});
      if (waitForHealthy()) {
        return;
      }
    }
    FAIL() << "devauth serve did not become healthy; stderr:\n" << server_->stderrText();
  }

  bool waitForHealthy() {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
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

  void killServer() {
    server_->signal(SIGKILL);
    server_->waitForExit(kCommandTimeout);
    server_.reset();
  }

  HttpResult begin() {
    return postForm(port_, "/oauth/device/begin", {{"client_id", kDeviceClient}});
  }

  HttpResult decide(const Flow& flow, Decision decision) {
    const std::string path =
        decision == Decision::Approve ? "/oauth/device/approve" : "/oauth/device/deny";
    const Fields fields = {{"user_code", flow.user_code},
                           {"subject", "customer-" + flow.user_code.substr(0, 4)}};
    return postForm(port_, path, fields,
                    {{"Authorization", basicAuthorization(kApproverClient, approver_secret_)}});
  }

  HttpResult poll(const Flow& flow) {
    return postForm(port_, "/oauth/device/token",
                    {{"grant_type", kDeviceCodeUrn},
                     {"device_code", flow.device_code},
                     {"client_id", kDeviceClient}});
  }

  // Records what a poll response shows about `flow`, and fails when it contradicts what the server
  // acknowledged before.
  void recordPoll(Flow& flow, const HttpResult& result) {
    const std::string error = errorOf(result);
    if (result.status == 200) {
      const std::string token = stringField(result, "access_token");
      EXPECT_FALSE(token.empty()) << result.body;
      EXPECT_NE(flow.acknowledged, Decision::Deny) << "token issued for a denied code";
      EXPECT_TRUE(flow.acknowledged == Decision::Approve || flow.in_flight == Decision::Approve)
          << "token issued without an approval";
      flow.tokens.push_back(token);
      EXPECT_EQ(flow.tokens.size(), 1u) << "device code redeemed twice";
      flow.acknowledged = Decision::Approve;
      flow.in_flight = Decision::None;
      flow.poll_unanswered = false;
      return;
    }
    ASSERT_EQ(result.status, 400u) << result.body;
    if (error == "access_denied") {
      EXPECT_NE(flow.acknowledged, Decision::Approve) << "approved code answered access_denied";
      EXPECT_TRUE(flow.acknowledged == Decision::Deny || flow.in_flight == Decision::Deny);
      flow.acknowledged = Decision::Deny;
      flow.in_flight = Decision::None;
      flow.poll_unanswered = false;
    } else if (error == "invalid_grant") {
      // Redeemed: allowed only when a token was delivered or a poll went unanswered.
      EXPECT_TRUE(!flow.tokens.empty() || flow.poll_unanswered)
          << "code reported redeemed, but no token was delivered";
      EXPECT_NE(flow.acknowledged, Decision::Deny);
    } else if (error == "authorization_pending" || error == "slow_down") {
      EXPECT_EQ(flow.acknowledged, Decision::None) << "acknowledged decision lost: " << error;
      flow.in_flight = Decision::None;
      flow.poll_unanswered = false;
    } else {
      ADD_FAILURE() << "unexpected poll answer " << result.status << " " << result.body;
    }
  }

  // Sends seeded random traffic until `stop` is set, a request fails (the server was killed),
  // or kMaxRequestsPerRound requests were sent.
  void sendTraffic(std::mt19937& random, const std::atomic<bool>& stop) {
    for (int request = 0; request < kMaxRequestsPerRound && !stop; ++request) {
      const int choice = static_cast<int>(random() % 10);
      Flow* flow = flows_.empty() ? nullptr : &flows_[random() % flows_.size()];
      try {
        if (flow == nullptr || (choice < 3 && flows_.size() < kMaxFlows)) {
          const HttpResult result = begin();
          ASSERT_EQ(result.status, 200u) << result.body;
          Flow added;
          added.device_code = stringField(result, "device_code");
          added.user_code = stringField(result, "user_code");
          flows_.push_back(added);
        } else if (choice < 6) {
          if (flow->acknowledged != Decision::None || flow->in_flight != Decision::None) {
            continue;
          }
          const Decision decision = random() % 4 == 0 ? Decision::Deny : Decision::Approve;
          flow->in_flight = decision;
          const HttpResult result = decide(*flow, decision);
          ASSERT_EQ(result.status, 200u) << result.body;
          flow->acknowledged = decision;
          flow->in_flight = Decision::None;
        } else {
          // A poll whose answer is lost may have redeemed the code, and that stays possible
          // until an answer shows the code unredeemed (recordPoll).
          const bool earlier_unanswered = flow->poll_unanswered;
          flow->poll_unanswered = true;
          const HttpResult result = poll(*flow);
          flow->poll_unanswered = earlier_unanswered;
          ASSERT_NO_FATAL_FAILURE(recordPoll(*flow, result));
        }
      } catch (const boost::system::system_error&) {
        return;
      }
    }
  }

  // With the server stopped: the file is intact, every delivered token is stored, and no
  // authorization has two tokens.
  void checkDatabase() {
    Database database(store_);
    EXPECT_EQ(database.queryText("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(database.queryText("SELECT count(*) FROM (SELECT authorization_id FROM tokens "
                                 "GROUP BY authorization_id HAVING count(*) > 1)"),
              "0");
    for (const Flow& flow : flows_) {
      for (const std::string& token : flow.tokens) {
        EXPECT_TRUE(database.hasToken(token)) << "delivered token missing after restart";
      }
    }
  }

  // After a restart: every flow answers as acknowledged, and approved codes not yet redeemed
  // redeem now.
  void checkFlowsAfterRestart() {
    for (Flow& flow : flows_) {
      const HttpResult result = poll(flow);
      ASSERT_NO_FATAL_FAILURE(recordPoll(flow, result));
      if (flow.acknowledged == Decision::Approve && flow.tokens.empty() && !flow.poll_unanswered) {
        ADD_FAILURE() << "approved code did not redeem after restart: " << result.body;
      }
    }
  }

  std::filesystem::path directory_;
  std::string store_;
  std::string approver_secret_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> server_;
  std::vector<Flow> flows_;
};

TEST_F(CrashRecoveryTest, AcknowledgedStateSurvivesSigkill) {
  ASSERT_NO_FATAL_FAILURE(addClients());
  std::mt19937 random(kSeed);

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(startServer());
    ASSERT_NO_FATAL_FAILURE(checkFlowsAfterRestart());

    std::mt19937 traffic_random(random());
    const auto kill_delay = std::chrono::milliseconds(
        kMinKillDelayMs + static_cast<int>(random() % (kMaxKillDelayMs - kMinKillDelayMs)));
    std::atomic<bool> stop{false};
    std::thread traffic([&] { sendTraffic(traffic_random, stop); });
    std::this_thread::sleep_for(kill_delay);
    killServer();
    stop = true;
    traffic.join();

    ASSERT_NO_FATAL_FAILURE(checkDatabase());
  }

  // Pending flows continue: after the last restart, approve each and redeem it once.
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(checkFlowsAfterRestart());
  int continued = 0;
  for (Flow& flow : flows_) {
    if (flow.acknowledged != Decision::None || flow.poll_unanswered) {
      continue;
    }
    const HttpResult approved = decide(flow, Decision::Approve);
    ASSERT_EQ(approved.status, 200u) << approved.body;
    flow.acknowledged = Decision::Approve;
    const HttpResult redeemed = poll(flow);
    ASSERT_EQ(redeemed.status, 200u) << redeemed.body;
    ASSERT_NO_FATAL_FAILURE(recordPoll(flow, redeemed));
    ++continued;
  }
  killServer();
  ASSERT_NO_FATAL_FAILURE(checkDatabase());

  std::size_t redeemed = 0;
  for (const Flow& flow : flows_) {
    redeemed += flow.tokens.size();
  }
  RecordProperty("flows", static_cast<int>(flows_.size()));
  EXPECT_GT(flows_.size(), 0u);
  EXPECT_GT(redeemed, 0u);
  std::cout << "crash recovery: " << flows_.size() << " flows, " << redeemed << " tokens, "
            << continued << " pending flows continued\n";
}

}  // namespace
}  // namespace devauth::testing
