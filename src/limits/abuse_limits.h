#pragma once

// Rate limits against guessing and flooding (RFC 8628 §5.1, RFC 6749 §2.3.1, RFC 6819 §4.4.1.11).
// The counters live in the store, so a limit holds across every instance that shares the
// database. Counter keys carry SHA-256 hashes of the addresses, sessions and client ids they
// count, never the values in clear.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/secret.h"
#include "http/message.h"
#include "store/store.h"

namespace devauth {

// At most `max_count` events per fixed window of `window`. A max_count of 0 turns the limit off.
struct RateLimit {
  std::int64_t max_count = 0;
  seconds window{60};
};

// The defaults and the odds they give are derived in docs/conformance.md.
struct AbuseLimits {
  // Failed user-code entries (verification page and approval API). An attacker needs
  // attempts x live_codes / 20^8 to be small: with 20 per address per minute, 10,000 live codes
  // and a 600-second code lifetime (at most 11 windows), the odds per address per lifetime are
  // at most 220 x 10^4 / 2.56 x 10^10, about 1 in 11,600.
  RateLimit user_code_failures_per_address{20, seconds(60)};
  RateLimit user_code_failures_per_session{10, seconds(60)};
  // Across all sources: bounds a distributed attack, at the price of blocking code entry for
  // everyone while the budget is spent.
  RateLimit user_code_failures_total{2000, seconds(60)};

  // Device authorization requests (RFC 8628 §3.1 flooding).
  RateLimit device_requests_per_client{600, seconds(60)};
  RateLimit device_requests_per_address{60, seconds(60)};
  // Pending, unexpired authorizations per client; 0 turns the cap off.
  std::int64_t max_live_authorizations_per_client = 10'000;

  // Failed client authentications (RFC 6749 §2.3.1: protect against brute force).
  RateLimit client_auth_failures_per_client{30, seconds(60)};
  RateLimit client_auth_failures_per_address{10, seconds(60)};

  // Introspection and revocation requests (RFC 7662 §4 against token scanning, RFC 7009 §5
  // against denial of service). Introspection callers are resource servers that may ask once
  // per request they serve, so their budget is larger.
  RateLimit introspection_requests_per_client{6000, seconds(60)};
  RateLimit revocation_requests_per_client{600, seconds(60)};
  RateLimit revocation_requests_per_address{120, seconds(60)};
};

namespace limits {

// One counter and the limit it is checked against.
struct Counter {
  std::string key;
  RateLimit limit;
};

// Returns how long to wait when any counter has reached its limit in the current window, or
// nullopt when every counter is below its limit.
StoreResult<std::optional<seconds>> exceededWait(Store& store, const std::vector<Counter>& counters,
                                                 TimePoint now);

// Adds one failure to each counter.
StoreResult<void> countFailure(Store& store, const std::vector<Counter>& counters, TimePoint now);

// Adds one request to each counter and returns how long to wait when this request went over a
// limit, or nullopt when it is allowed.
StoreResult<std::optional<seconds>> countRequest(Store& store, const std::vector<Counter>& counters,
                                                 TimePoint now);

// Converts `counters` into the form that Store::insertCountedThen counts, each with its limit.
std::vector<RequestCounter> requestCounters(const std::vector<Counter>& counters);

// Returns how long to wait when a request whose increments gave `counts` (one per counter, in
// order) went over a limit, or nullopt when it is allowed.
std::optional<seconds> waitAfter(const std::vector<Counter>& counters,
                                 const std::vector<std::int64_t>& counts, TimePoint now);

// Counters of failed user-code entries. `session` is the hash of the browser session id on the
// verification page; the approval API passes the approving client id as `caller` instead.
std::vector<Counter> userCodeFailureCounters(const AbuseLimits& limits, std::string_view address,
                                             std::string_view caller);

std::vector<Counter> deviceRequestCounters(const AbuseLimits& limits, std::string_view client_id,
                                           std::string_view address);

// Per address only when `client_id` is empty (the client is unknown).
std::vector<Counter> clientAuthFailureCounters(const AbuseLimits& limits,
                                               std::string_view client_id,
                                               std::string_view address);

std::vector<Counter> introspectionCounters(const AbuseLimits& limits, std::string_view client_id);

std::vector<Counter> revocationCounters(const AbuseLimits& limits, std::string_view client_id,
                                        std::string_view address);

// The address that limits count: the peer address, or, when `trust_forwarded_for` is set
// because a reverse proxy in front of devauth appends the client's address, the last entry of
// X-Forwarded-For.
std::string sourceAddress(const http::Request& request, bool trust_forwarded_for);

}  // namespace limits
}  // namespace devauth
