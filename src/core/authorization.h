#pragma once

// The device authorization and its state machine (RFC 8628 §3.4-3.5):
//
//   pending --approve--> approved --redeem (once)--> redeemed
//   pending --deny--> denied
//   pending or approved --expires_at passes--> expired
//
// Expiry is computed on every read, not stored by a job. Denied, redeemed and expired are
// final. Each arrow is one conditional update in the store; this file only decides.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/oauth_error.h"
#include "core/secret.h"

namespace devauth {

enum class AuthorizationState { Pending, Approved, Denied, Redeemed };

std::string_view toString(AuthorizationState state);
std::optional<AuthorizationState> parseAuthorizationState(std::string_view text);

struct Authorization {
  // Random, non-secret identifier used in logs, admin commands and the store's primary key.
  std::string id;
  SecretHash device_code_hash{};
  // SHA-256 of the canonical user code; the code itself is not stored.
  SecretHash user_code_hash{};
  std::string client_id;
  // Space-separated scopes, already checked against the client's allowed scopes.
  std::string scope;
  AuthorizationState state = AuthorizationState::Pending;
  TimePoint created_at{};
  TimePoint expires_at{};

  // Polling state (RFC 8628 §3.5). `interval` starts at the advertised value and grows by
  // 5 seconds with each slow_down. `last_poll_at` is the time of the last poll that was
  // accepted (with authorization_pending); empty before the first poll.
  seconds interval{5};
  std::optional<TimePoint> last_poll_at;

  // Set when the person approved or denied.
  std::optional<std::string> subject;
  std::optional<TimePoint> decided_at;

  // The only subject that may approve or deny, when a trusted backend bound the code to a
  // customer (assisted approval). Empty while anyone who signs in may decide.
  std::optional<std::string> bound_subject;

  // A token handed in by a trusted backend at approval, sealed to relay_public_key; the device
  // receives it in place of a token minted here. The key is set only when the client accepts
  // relayed tokens (Client::accepts_relayed_tokens) at the time of the device request.
  std::optional<RelayPublicKey> relay_public_key;
  std::optional<std::string> sealed_relay_token;

  // The origin of the device authorization request, shown on the consent page so that a
  // person can notice a request from an unexpected place (RFC 8628 §5.4). `request_address` is
  // a canonical IP address and `request_user_agent` the device's User-Agent as
  // http::shortenUserAgent shortens it. Either is empty when unknown. The device chooses its
  // User-Agent freely, so it describes the device only as the device claims to be.
  std::string request_address;
  std::string request_user_agent;

  bool isExpired(TimePoint now) const { return now >= expires_at; }
};

// Tuning of the slow_down rule.
struct PollPolicy {
  // RFC 8628 §3.5: each slow_down raises the interval by 5 seconds.
  seconds slow_down_step{5};
  // Network jitter allowance: a poll this much earlier than the interval is still accepted, so
  // a client that keeps to the interval is never throttled.
  milliseconds tolerance{1000};
  // The interval stops growing here, so a misbehaving client cannot push it without bound.
  seconds max_interval{120};
};

enum class PollOutcome {
  Pending,   // accepted: answer authorization_pending and record the poll
  SlowDown,  // too early: answer slow_down and raise the interval
  Approved,  // redeem the device code and issue the token
  Denied,    // access_denied
  Expired,   // expired_token
  Redeemed,  // invalid_grant: the device code was already used
};

struct PollDecision {
  PollOutcome outcome;
  // For Pending and SlowDown: the polling state to store with a compare-and-set against the
  // state that was read. Empty for the other outcomes, which change nothing here.
  std::optional<TimePoint> new_last_poll_at;
  seconds new_interval{0};
};

// Decides how to answer a poll of `authorization` at `now`. The checks run in this order:
// redeemed, expired, denied, approved (an approved code is redeemed even when polled early),
// then the interval. The first poll is never throttled, and later polls are measured from the
// last accepted poll. A rejected poll therefore does not push the next allowed time further
// away.
PollDecision decidePoll(const Authorization& authorization, TimePoint now,
                        const PollPolicy& policy);

// Maps an outcome that ends in an error to its protocol error code.
std::optional<OAuthErrorCode> errorForOutcome(PollOutcome outcome);

// Returns a new authorization id of 32 lower-case hex digits: the creation time `now` in Unix
// milliseconds as 6 bytes, most significant first, then 10 bytes from `random`. The time comes
// first as in a version 7 UUID (RFC 9562 §5.7), without its version and variant bits. Ids made
// close together in time sort together, so a burst of inserts fills the end of the id index
// instead of one random index page each. The 80 random bits keep an id unguessable.
std::string newAuthorizationId(RandomSource& random, TimePoint now);

// How many bytes newAuthorizationId draws from its RandomSource.
inline constexpr std::size_t kAuthorizationIdRandomBytes = 10;

}  // namespace devauth
