#pragma once

// Grants and refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2).
//
// A grant is what a person approved for a client. Its id is the id of the device
// authorization, and every refresh token and access token minted from that approval carries it,
// so revoking the grant revokes the whole token family with one update of one row.

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/secret.h"

namespace devauth {

inline constexpr std::string_view kRefreshTokenGrantType = "refresh_token";

struct Grant {
  // The device authorization's id.
  std::string id;
  std::string client_id;
  std::string subject;
  // The approved scope. A refresh may narrow it for one access token but never widen it
  // (RFC 6749 §6), and every rotated refresh token keeps it.
  std::string scope;
  TimePoint created_at{};
  // The absolute lifetime: no refresh token of the grant is accepted from this time on, and no
  // access token minted from it lives longer.
  TimePoint expires_at{};
  // Set when the grant was revoked: by the revocation endpoint or by a replayed refresh token.
  std::optional<TimePoint> revoked_at;
};

// A refresh token; only its hash is stored.
struct RefreshToken {
  SecretHash token_hash{};
  std::string grant_id;
  TimePoint issued_at{};
  // The idle lifetime ends here: issued_at plus the idle lifetime, but not after the grant's
  // expires_at. Rotation issues a successor with a new idle lifetime.
  TimePoint expires_at{};
  // Set when the token was exchanged for its successor. Presenting it again is a replay.
  std::optional<TimePoint> used_at;
};

// A refresh token together with its grant, as the store finds it.
struct RefreshTokenRecord {
  RefreshToken token;
  Grant grant;
};

enum class RefreshTokenStatus {
  Active,
  // Used before: RFC 9700 §4.14.2 reuse detection revokes the grant.
  Replayed,
  // The grant is revoked, or the idle or absolute lifetime is over.
  Inactive,
};

// Classifies `record` at `now`. A replayed token of a revoked or expired grant is Inactive,
// because there is nothing left to revoke.
RefreshTokenStatus refreshTokenStatus(const RefreshTokenRecord& record, TimePoint now);

// Whether `grant` is unrevoked and unexpired at `now`.
bool isGrantActive(const Grant& grant, TimePoint now);

}  // namespace devauth
