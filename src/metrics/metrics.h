#pragma once

// Process-wide counters and histograms, exported in the Prometheus text format at /metrics.
//
// Every update is one or two relaxed atomic additions on a slot chosen by an enum or by an index
// fixed at start-up, with no lock, allocation or lookup by name, so it costs a few nanoseconds
// on the request path. Rendering reads the atomics without stopping writers, so one scrape may
// see a request counted but its latency not yet observed.
//
// The counters are global to the process, like the default registry of the Prometheus client
// libraries; tests assert differences between two scrapes.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace devauth::metrics {

// Answers to device access token requests (RFC 8628 §3.5).
enum class PollAnswer : std::uint8_t {
  Pending,   // authorization_pending
  SlowDown,  // slow_down
  Denied,    // access_denied
  Expired,   // expired_token
  Issued,    // the token response
  Redeemed,  // invalid_grant: the device code was already used
  Count
};

// Stages of the approval funnel that an authorization reaches.
enum class Stage : std::uint8_t {
  Begun,        // device authorization request answered (RFC 8628 §3.2)
  CodeEntered,  // a person or a trusted backend entered a live user code
  Approved,
  Denied,
  Redeemed,  // the device received its token
  Count
};

// The stage an authorization was at when it was seen expired.
enum class ExpiredAt : std::uint8_t {
  CodeEntry,  // a person entered the code after it expired
  Pending,    // a device polled after expiry without a decision
  Approved,   // a device polled after expiry, approved but never redeemed
  Count
};

// Rate limits (limits/abuse_limits.h) that rejected a request.
enum class Limit : std::uint8_t {
  UserCode,            // wrong user codes
  DeviceRequest,       // device authorization requests
  LiveAuthorizations,  // pending authorizations per client
  ClientAuth,          // failed client authentications
  Count
};

// Failures an attacker guessing secrets produces.
enum class Guess : std::uint8_t {
  UserCode,    // a wrong or unknown user code
  ClientAuth,  // a wrong client secret or unknown client
  Password,    // a failed sign-in on the verification page
  Count
};

// Latency buckets in seconds, from 100 µs to 5 s; the last bucket is +Inf.
inline constexpr std::array<double, 15> kLatencyBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                          0.005,  0.01,    0.025,  0.05,  0.1,
                                                          0.25,   0.5,     1.0,    2.5,   5.0};

class Histogram {
 public:
  void observe(std::chrono::nanoseconds duration);
  // Appends the _bucket, _sum and _count lines of `name` with `labels` ("" or `a="b"`).
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kLatencyBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_nanoseconds_{0};
};

// Status codes counted one by one; any other counts as "other".
inline constexpr std::array<unsigned, 15> kCountedStatuses = {
    200, 204, 302, 303, 400, 401, 403, 404, 405, 413, 429, 431, 500, 503, 0};

// The routes registered at start-up; registerEndpoint() returns a route's slot.
inline constexpr std::size_t kMaxEndpoints = 48;

void recordPoll(PollAnswer answer);
void recordStage(Stage stage);
void recordExpired(ExpiredAt stage);
void recordBlock(Limit limit);
void recordGuess(Guess guess);
void recordStoreStatement(std::chrono::nanoseconds duration);
// A device token poll held with Prefer: wait started or ended, or was answered at once because a
// bound on held polls was reached.
void recordHeldPollStarted();
void recordHeldPollEnded();
void recordHeldPollRefused();

// Returns the slot of `method path`, registering it on first use. Call at start-up only; the
// request path uses the slot. Beyond kMaxEndpoints routes share the last slot.
std::size_t registerEndpoint(std::string_view method, std::string_view path);
void recordRequest(std::size_t endpoint, unsigned status, std::chrono::nanoseconds duration);

// A gauge read when /metrics is rendered. Its reader runs at most once per `max_age`; scrapes in
// between get the cached value. A reader that fails returns nullopt and the gauge is left out.
struct GaugeSource {
  std::function<std::optional<double>()> read;
  std::chrono::steady_clock::duration max_age = std::chrono::seconds(5);
};
void setLiveAuthorizationsSource(GaugeSource source);

// Every metric in the Prometheus text exposition format 0.0.4.
std::string render();

}  // namespace devauth::metrics
