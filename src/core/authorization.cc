#include "core/authorization.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

namespace devauth {

std::string_view toString(AuthorizationState state) {
  switch (state) {
    case AuthorizationState::Pending:
      return "pending";
    case AuthorizationState::Approved:
      return "approved";
    case AuthorizationState::Denied:
      return "denied";
    case AuthorizationState::Redeemed:
      return "redeemed";
  }
  return "pending";
}

std::optional<AuthorizationState> parseAuthorizationState(std::string_view text) {
  for (auto state : {AuthorizationState::Pending, AuthorizationState::Approved,
                     AuthorizationState::Denied, AuthorizationState::Redeemed}) {
    if (toString(state) == text) {
      return state;
    }
  }
  return std::nullopt;
}

PollDecision decidePoll(const Authorization& authorization, TimePoint now,
                        const PollPolicy& policy) {
  if (authorization.state == AuthorizationState::Redeemed) {
    return {PollOutcome::Redeemed, std::nullopt, authorization.interval};
  }
  // Expiry wins over approval and denial: an approved code that was not redeemed in time
  // yields expired_token and no token.
  if (authorization.isExpired(now)) {
    return {PollOutcome::Expired, std::nullopt, authorization.interval};
  }
  if (authorization.state == AuthorizationState::Denied) {
    return {PollOutcome::Denied, std::nullopt, authorization.interval};
  }
  if (authorization.state == AuthorizationState::Approved) {
    return {PollOutcome::Approved, std::nullopt, authorization.interval};
  }

  if (authorization.last_poll_at) {
    const TimePoint earliest =
        *authorization.last_poll_at + authorization.interval - policy.tolerance;
    if (now < earliest) {
      const seconds raised =
          std::min(authorization.interval + policy.slow_down_step, policy.max_interval);
      return {PollOutcome::SlowDown, authorization.last_poll_at,
              std::max(raised, authorization.interval)};
    }
  }
  return {PollOutcome::Pending, now, authorization.interval};
}

std::optional<OAuthErrorCode> errorForOutcome(PollOutcome outcome) {
  switch (outcome) {
    case PollOutcome::Pending:
      return OAuthErrorCode::AuthorizationPending;
    case PollOutcome::SlowDown:
      return OAuthErrorCode::SlowDown;
    case PollOutcome::Denied:
      return OAuthErrorCode::AccessDenied;
    case PollOutcome::Expired:
      return OAuthErrorCode::ExpiredToken;
    case PollOutcome::Redeemed:
      return OAuthErrorCode::InvalidGrant;
    case PollOutcome::Approved:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string newAuthorizationId(RandomSource& random, TimePoint now) {
  constexpr std::size_t kTimeBytes = 6;
  constexpr std::size_t kIdBytes = kTimeBytes + kAuthorizationIdRandomBytes;
  std::array<std::uint8_t, kIdBytes> bytes{};
  putUnixMillis48(std::span(bytes).first<kTimeBytes>(), now);
  random.fill(std::span(bytes).subspan(kTimeBytes));
  std::array<char, 2 * kIdBytes + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  return std::string(hex.data(), 2 * kIdBytes);
}

}  // namespace devauth
