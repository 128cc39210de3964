// Device token polls held with Prefer: wait (RFC 7240 §4.3) until the authorization is decided.
// Each test records when the decision was sent and checks that the held response came after
// it, so none depends on timing thresholds.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <regex>
#include <thread>

#include "metrics/metrics.h"
#include "oauth/oauth_fixture.h"
#include "store/postgres_test_database.h"

namespace devauth::testing {
namespace {

using namespace std::chrono_literals;

// The devauth_held_polls gauge of this process.
long heldPolls() {
  static const std::regex gauge("\\ndevauth_held_polls (-?[0-9]+)\\n");
  std::smatch match;
  const std::string text = metrics::render();
  if (!std::regex_search(text, match, gauge)) {
    return -1;
  }
  return std::stol(match[1]);
}

// The devauth_held_polls_total counter of `outcome` (held or refused) in this process.
long heldPollsTotal(const std::string& outcome) {
  const std::regex counter("\\ndevauth_held_polls_total\\{outcome=\"" + outcome +
                           "\"\\} ([0-9]+)\\n");
  std::smatch match;
  const std::string text = metrics::render();
  if (!std::regex_search(text, match, counter)) {
    return -1;
  }
  return std::stol(match[1]);
}

// Waits up to 5 s for the gauge to reach `count`; returns whether it did.
bool waitForHeldPolls(long count) {
  for (int i = 0; i < 1000; ++i) {
    if (heldPolls() == count) {
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

struct HeldResult {
  HttpResult response;
  // Whether the test had sent the decision (or the stop) when the response arrived.
  bool after_event = false;
  std::chrono::steady_clock::time_point received_at;
};

// Without a wake-up, a held poll whose authorization was approved is answered only when its
// wait of 10 s ends. A response within half of that shows that the decision woke it.
constexpr auto kWokenWithin = 5s;

class HeldPollTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override {
    config.max_poll_wait = 10s;
    config.poll_interval = 1s;
    config.poll_policy.tolerance = 0ms;
    config.max_held_polls_per_client = 2;
    config.max_held_polls = 3;
  }

  void SetUp() override {
    OAuthFixture::SetUp();
    ASSERT_EQ(heldPolls(), 0);
  }

  // Sends a poll with Prefer: wait=`wait` to `port` on another thread.
  std::future<HeldResult> startHeldPoll(std::uint16_t port, const std::string& device_code,
                                        const std::string& wait,
                                        const std::string& client_id = "pub1") {
    return std::async(std::launch::async, [this, port, device_code, wait, client_id] {
      HeldResult held;
      held.response = postForm(
          port, kTokenPath,
          {{"grant_type", kDeviceCodeUrn}, {"device_code", device_code}, {"client_id", client_id}},
          {{"Prefer", "wait=" + wait}});
      held.after_event = event_sent_.load();
      held.received_at = std::chrono::steady_clock::now();
      return held;
    });
  }

  HttpResult decide(std::uint16_t port, const char* path, const std::string& user_code) {
    return postForm(port, path, {{"user_code", user_code}, {"subject", "customer-42"}},
                    {{"Authorization", basicAuthorization("bank", kApproverSecret)}});
  }

  // Marks the moment after which held responses count as answers to the event.
  void markEvent() {
    event_sent_ = true;
    event_sent_at_ = std::chrono::steady_clock::now();
  }

  // Whether `result` came soon enough after the event to have been woken by it.
  bool woken(const HeldResult& result) const {
    return result.received_at - event_sent_at_ < kWokenWithin;
  }

  std::atomic<bool> event_sent_{false};
  std::chrono::steady_clock::time_point event_sent_at_;
};

TEST_F(HeldPollTest, ApprovalThroughApiEndsHoldWithToken) {
  const DeviceCodes codes = beginFor("pub1");

  auto held = startHeldPoll(port(), codes.device_code, "10");
  ASSERT_TRUE(waitForHeldPolls(1));
  markEvent();
  ASSERT_EQ(decide(port(), kApprovePath, codes.user_code).status, 200u);
  const HeldResult result = held.get();

  EXPECT_TRUE(result.after_event);
  EXPECT_TRUE(woken(result));
  ASSERT_EQ(result.response.status, 200u) << result.response.body;
  expectNoStoreJson(result.response);
  EXPECT_FALSE(stringField(jsonObject(result.response), "access_token").empty());
  EXPECT_EQ(result.response.header("Preference-Applied"), "wait=10");
  EXPECT_TRUE(waitForHeldPolls(0));
}

TEST_F(HeldPollTest, ApprovalInStoreEndsHoldWithToken) {
  const DeviceCodes codes = beginFor("pub1");

  auto held = startHeldPoll(port(), codes.device_code, "10");
  ASSERT_TRUE(waitForHeldPolls(1));
  markEvent();
  approveInStore(codes.device_code);
  const HeldResult result = held.get();

  EXPECT_TRUE(result.after_event);
  EXPECT_TRUE(woken(result));
  ASSERT_EQ(result.response.status, 200u) << result.response.body;
  EXPECT_FALSE(stringField(jsonObject(result.response), "access_token").empty());
}

TEST_F(HeldPollTest, DenialEndsHoldWithAccessDenied) {
  const DeviceCodes codes = beginFor("pub1");

  auto held = startHeldPoll(port(), codes.device_code, "10");
  ASSERT_TRUE(waitForHeldPolls(1));
  markEvent();
  ASSERT_EQ(decide(port(), kDenyPath, codes.user_code).status, 200u);
  const HeldResult result = held.get();

  EXPECT_TRUE(result.after_event);
  EXPECT_TRUE(woken(result));
  expectOAuthError(result.response, 400, "access_denied");
  EXPECT_EQ(result.response.header("Preference-Applied"), "wait=10");
}

// The manual clock passes expires_at during a one-second hold, so the check at the end of the
// wait finds the code expired.
TEST_F(HeldPollTest, ExpiryDuringHoldAnswersExpiredToken) {
  const DeviceCodes codes = beginFor("pub1");

  auto held = startHeldPoll(port(), codes.device_code, "1");
  ASSERT_TRUE(waitForHeldPolls(1));
  server().clock().advance(server().config().device_code_ttl + 1s);
  const HeldResult result = held.get();

  expectOAuthError(result.response, 400, "expired_token");
  EXPECT_EQ(result.response.header("Preference-Applied"), "wait=1");
}

TEST_F(HeldPollTest, EndOfWaitAnswersAuthorizationPending) {
  const DeviceCodes codes = beginFor("pub1");

  const HeldResult result = startHeldPoll(port(), codes.device_code, "1").get();

  expectOAuthError(result.response, 400, "authorization_pending");
  EXPECT_EQ(result.response.header("Preference-Applied"), "wait=1");
  EXPECT_EQ(heldPolls(), 0);
}

TEST_F(HeldPollTest, WaitOfZeroIsAnsweredAtOnce) {
  const DeviceCodes codes = beginFor("pub1");

  const HeldResult result = startHeldPoll(port(), codes.device_code, "0").get();

  expectOAuthError(result.response, 400, "authorization_pending");
  EXPECT_EQ(result.response.header("Preference-Applied"), "");
}

// RFC 8628 §3.5 with interval 1 s: the held poll counts once, at its start. A hold that lasted
// the interval (on the server's clock) lets the device poll again at once.
TEST_F(HeldPollTest, PollRightAfterFullHoldIsAccepted) {
  const DeviceCodes codes = beginFor("pub1");

  auto held = startHeldPoll(port(), codes.device_code, "1");
  ASSERT_TRUE(waitForHeldPolls(1));
  server().clock().advance(1s);
  expectOAuthError(held.get().response, 400, "authorization_pending");
  const HttpResult next = poll(codes.device_code);

  expectOAuthError(next, 400, "authorization_pending");
  EXPECT_EQ(stored(codes.device_code).interval, 1s);
}

// A hold shorter than the interval does not stand in for the rest of the interval.
TEST_F(HeldPollTest, PollRightAfterShortHoldGetsSlowDown) {
  const DeviceCodes codes = beginFor("pub1");

  expectOAuthError(startHeldPoll(port(), codes.device_code, "1").get().response, 400,
                   "authorization_pending");
  server().clock().advance(500ms);
  const HttpResult next = poll(codes.device_code);

  expectOAuthError(next, 400, "slow_down");
}

TEST_F(HeldPollTest, EarlyPollIsNotHeld) {
  const DeviceCodes codes = beginFor("pub1");
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");

  const HeldResult result = startHeldPoll(port(), codes.device_code, "10").get();

  expectOAuthError(result.response, 400, "slow_down");
  EXPECT_EQ(result.response.header("Preference-Applied"), "");
  EXPECT_EQ(heldPolls(), 0);
}

// Bounds of this fixture: 2 held polls per client, 3 in total. Polls beyond them are answered
// at once as without Prefer.
TEST_F(HeldPollTest, BoundsAnswerExtraPollsAtOnce) {
  std::vector<DeviceCodes> codes;
  for (const char* client : {"pub1", "pub1", "pub1", "pub2", "pub2"}) {
    codes.push_back(beginFor(client));
  }
  const long held_before = heldPollsTotal("held");
  const long refused_before = heldPollsTotal("refused");
  auto first = startHeldPoll(port(), codes[0].device_code, "10");
  auto second = startHeldPoll(port(), codes[1].device_code, "10");
  ASSERT_TRUE(waitForHeldPolls(2));

  const HeldResult third_of_client = startHeldPoll(port(), codes[2].device_code, "10").get();
  auto other_client = startHeldPoll(port(), codes[3].device_code, "10", "pub2");
  ASSERT_TRUE(waitForHeldPolls(3));
  const HeldResult over_total = startHeldPoll(port(), codes[4].device_code, "10", "pub2").get();

  expectOAuthError(third_of_client.response, 400, "authorization_pending");
  EXPECT_EQ(third_of_client.response.header("Preference-Applied"), "");
  expectOAuthError(over_total.response, 400, "authorization_pending");
  EXPECT_EQ(over_total.response.header("Preference-Applied"), "");
  EXPECT_EQ(heldPollsTotal("held") - held_before, 3);
  EXPECT_EQ(heldPollsTotal("refused") - refused_before, 2);

  markEvent();
  for (const std::size_t i : {0, 1, 3}) {
    ASSERT_EQ(decide(port(), kDenyPath, codes[i].user_code).status, 200u);
  }
  for (auto* held : {&first, &second, &other_client}) {
    const HeldResult result = held->get();
    EXPECT_TRUE(result.after_event);
    expectOAuthError(result.response, 400, "access_denied");
  }
}

TEST_F(HeldPollTest, ShutdownAnswersHeldPollAtOnce) {
  const DeviceCodes codes = beginFor("pub1");

  auto held = startHeldPoll(port(), codes.device_code, "10");
  ASSERT_TRUE(waitForHeldPolls(1));
  markEvent();
  const auto stop_started = std::chrono::steady_clock::now();
  server().stop();
  const auto stop_took = std::chrono::steady_clock::now() - stop_started;
  const HeldResult result = held.get();

  EXPECT_TRUE(result.after_event);
  expectOAuthError(result.response, 400, "authorization_pending");
  EXPECT_EQ(result.response.header("Preference-Applied"), "wait=10");
  EXPECT_EQ(result.response.header("Connection"), "close");
  // The stop did not wait for the 10 s hold (shutdown_grace is 10 s too).
  EXPECT_LT(stop_took, 9s);
  EXPECT_EQ(heldPolls(), 0);
}

TEST_F(HeldPollTest, ClientDisconnectEndsHold) {
  const DeviceCodes codes = beginFor("pub1");
  const std::string body = encodeForm(
      {{"grant_type", kDeviceCodeUrn}, {"device_code", codes.device_code}, {"client_id", "pub1"}});

  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port()});
  boost::asio::write(socket, boost::asio::buffer("POST /oauth/device/token HTTP/1.1\r\n"
                                                 "Host: 127.0.0.1\r\nPrefer: wait=10\r\n"
                                                 "Content-Type: application/x-www-form-urlencoded"
                                                 "\r\nContent-Length: " +
                                                 std::to_string(body.size()) + "\r\n\r\n" + body));
  ASSERT_TRUE(waitForHeldPolls(1));
  socket.close();

  EXPECT_TRUE(waitForHeldPolls(0));
  // The device code still works: the decision reaches the next poll.
  approveInStore(codes.device_code);
  server().clock().advance(1s);
  EXPECT_EQ(poll(codes.device_code).status, 200u);
}

// SIGHUP turns holding off. The poll held before keeps its wait and still ends at the approval,
// and a new poll is answered at once.
TEST_F(HeldPollTest, ReloadKeepsHeldPollAndAppliesToNewOnes) {
  const DeviceCodes held_codes = beginFor("pub1");
  const DeviceCodes later_codes = beginFor("pub1");

  auto held = startHeldPoll(port(), held_codes.device_code, "10");
  ASSERT_TRUE(waitForHeldPolls(1));
  Config reloaded = server().config();
  reloaded.max_poll_wait = 0s;
  server().reload(reloaded);
  const HeldResult later = startHeldPoll(port(), later_codes.device_code, "10").get();
  markEvent();
  ASSERT_EQ(decide(port(), kApprovePath, held_codes.user_code).status, 200u);
  const HeldResult result = held.get();

  expectOAuthError(later.response, 400, "authorization_pending");
  EXPECT_EQ(later.response.header("Preference-Applied"), "");
  EXPECT_TRUE(result.after_event);
  EXPECT_TRUE(woken(result));
  ASSERT_EQ(result.response.status, 200u) << result.response.body;
  EXPECT_EQ(result.response.header("Preference-Applied"), "wait=10");
}

TEST_F(HeldPollTest, MetadataAdvertisesMaximumWait) {
  const HttpResult result = httpRequest(port(), "GET", "/.well-known/oauth-authorization-server");

  ASSERT_EQ(result.status, 200u);
  const boost::json::object metadata = jsonObject(result);
  const auto* member = metadata.if_contains("devauth_device_poll_max_wait");
  ASSERT_NE(member, nullptr) << result.body;
  EXPECT_EQ(member->as_int64(), 10);
}

// A second instance on the same SQLite file approves; the first notices the commit through
// PRAGMA data_version and answers its held poll.
TEST_F(HeldPollTest, ApprovalOnSecondSqliteInstanceEndsHold) {
  const std::string location = (server().directory() / "devauth.db").string();
  TestServer second([&](Config& config) {
    adjustConfig(config);
    config.store = location;
  });
  const DeviceCodes codes = beginFor("pub1");

  auto held = startHeldPoll(port(), codes.device_code, "10");
  ASSERT_TRUE(waitForHeldPolls(1));
  markEvent();
  ASSERT_EQ(decide(second.port(), kApprovePath, codes.user_code).status, 200u);
  const HeldResult result = held.get();

  EXPECT_TRUE(result.after_event);
  EXPECT_TRUE(woken(result));
  ASSERT_EQ(result.response.status, 200u) << result.response.body;
  EXPECT_FALSE(stringField(jsonObject(result.response), "access_token").empty());
}

class MetadataWithoutHoldTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override { config.max_poll_wait = 0s; }
};

TEST_F(MetadataWithoutHoldTest, NoMemberAndNoHoldWhenTurnedOff) {
  const DeviceCodes codes = beginFor("pub1");
  const HttpResult metadata = httpRequest(port(), "GET", "/.well-known/oauth-authorization-server");
  const HttpResult result = postForm(
      port(), kTokenPath,
      {{"grant_type", kDeviceCodeUrn}, {"device_code", codes.device_code}, {"client_id", "pub1"}},
      {{"Prefer", "wait=10"}});

  EXPECT_EQ(jsonObject(metadata).if_contains("devauth_device_poll_max_wait"), nullptr);
  expectOAuthError(result, 400, "authorization_pending");
  EXPECT_EQ(result.header("Preference-Applied"), "");
}

// Two instances on one PostgreSQL database: the approval on the second reaches the first
// through LISTEN/NOTIFY.
TEST(HeldPollPostgresTest, ApprovalOnSecondInstanceEndsHold) {
  DEVAUTH_REQUIRE_POSTGRES_URL(server_url);
  TestDatabase database(*server_url);
  const auto adjust = [&](Config& config) {
    config.store = database.url();
    config.max_poll_wait = 10s;
  };
  TestServer first(adjust);
  TestServer second(adjust);
  first.addPublicClient("pub1");
  first.addConfidentialClient("bank", kApproverSecret, /*may_approve=*/true);

  const HttpResult begun = postForm(first.port(), kBeginPath, {{"client_id", "pub1"}});
  ASSERT_EQ(begun.status, 200u) << begun.body;
  const boost::json::object codes = boost::json::parse(begun.body).as_object();
  const std::string device_code(codes.at("device_code").as_string());
  const std::string user_code(codes.at("user_code").as_string());

  std::atomic<bool> approval_sent{false};
  auto held = std::async(std::launch::async, [&] {
    HeldResult result;
    result.response = postForm(
        first.port(), kTokenPath,
        {{"grant_type", kDeviceCodeUrn}, {"device_code", device_code}, {"client_id", "pub1"}},
        {{"Prefer", "wait=10"}});
    result.after_event = approval_sent.load();
    result.received_at = std::chrono::steady_clock::now();
    return result;
  });
  ASSERT_TRUE(waitForHeldPolls(1));
  approval_sent = true;
  const auto approval_sent_at = std::chrono::steady_clock::now();
  const HttpResult approved =
      postForm(second.port(), kApprovePath, {{"user_code", user_code}, {"subject", "sub-1"}},
               {{"Authorization", basicAuthorization("bank", kApproverSecret)}});
  ASSERT_EQ(approved.status, 200u) << approved.body;
  const HeldResult result = held.get();

  EXPECT_TRUE(result.after_event);
  EXPECT_LT(result.received_at - approval_sent_at, kWokenWithin);
  ASSERT_EQ(result.response.status, 200u) << result.response.body;
  EXPECT_EQ(result.response.header("Preference-Applied"), "wait=10");
}

// The instance's LISTEN connection is terminated on the server. The feed reconnects, and an
// approval on the second instance still ends the hold on the first.
TEST(HeldPollPostgresTest, ListenerReconnectsAfterTermination) {
  DEVAUTH_REQUIRE_POSTGRES_URL(server_url);
  TestDatabase database(*server_url);
  const auto adjust = [&](Config& config) {
    config.store = database.url();
    config.max_poll_wait = 10s;
  };
  TestServer first(adjust);
  first.addPublicClient("pub1");
  first.addConfidentialClient("bank", kApproverSecret, /*may_approve=*/true);
  const std::string listener_pid =
      "SELECT coalesce(min(pid), 0) FROM pg_stat_activity WHERE datname = current_database() "
      "AND query LIKE 'LISTEN %'";
  // Waits up to 5 s for a listening connection other than `previous` ("0": none).
  const auto wait_for_new_listener = [&](const std::string& previous) {
    for (int i = 0; i < 250; ++i) {
      const std::string pid = database.query(listener_pid);
      if (pid != "0" && pid != previous) {
        return pid;
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::string();
  };
  const std::string old_pid = wait_for_new_listener("0");
  ASSERT_FALSE(old_pid.empty());
  // The terminated backend's FATAL message reaches the idle connection as a notice, which
  // libpq would print to stderr on a line of its own.
  ::testing::internal::CaptureStderr();
  database.query("SELECT pg_terminate_backend(" + old_pid + ")");
  // The feed waits 250 ms, then reconnects.
  const std::string new_pid = wait_for_new_listener(old_pid);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(new_pid.empty());
  EXPECT_NE(printed.rfind("FATAL:", 0), 0u) << printed;
  EXPECT_EQ(printed.find("\nFATAL:"), std::string::npos) << printed;
  TestServer second(adjust);

  const HttpResult begun = postForm(first.port(), kBeginPath, {{"client_id", "pub1"}});
  ASSERT_EQ(begun.status, 200u) << begun.body;
  const boost::json::object codes = boost::json::parse(begun.body).as_object();
  const std::string device_code(codes.at("device_code").as_string());
  const std::string user_code(codes.at("user_code").as_string());
  auto held = std::async(std::launch::async, [&] {
    return postForm(
        first.port(), kTokenPath,
        {{"grant_type", kDeviceCodeUrn}, {"device_code", device_code}, {"client_id", "pub1"}},
        {{"Prefer", "wait=10"}});
  });
  ASSERT_TRUE(waitForHeldPolls(1));
  const auto approval_sent_at = std::chrono::steady_clock::now();
  ASSERT_EQ(postForm(second.port(), kApprovePath, {{"user_code", user_code}, {"subject", "s"}},
                     {{"Authorization", basicAuthorization("bank", kApproverSecret)}})
                .status,
            200u);
  const HttpResult result = held.get();

  EXPECT_LT(std::chrono::steady_clock::now() - approval_sent_at, kWokenWithin);
  EXPECT_EQ(result.status, 200u) << result.body;
}

}  // namespace
}  // namespace devauth::testing
